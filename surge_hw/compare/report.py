"""The hardware-vs-software report: one table over every stage, as Markdown, JSON and HTML with plots."""
from __future__ import annotations

import base64
import html
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from ..artefacts import write_text_atomic


@dataclass
class StageResult:
    """One stage's outputs on the same images as the PyTorch reference."""

    name: str
    available: bool
    reason: str = ""  # why a stage did not run (tool missing, not built yet)
    n_images: int = 0
    accuracy: float | None = None
    label_agree: int | None = None  # images whose top-1 label equals PyTorch's
    int_agree: int | None = None  # images whose integer outputs equal PyTorch's, all elements
    wall_s: float | None = None
    divergence: str | None = None  # first diverging layer, when the locator ran
    extra: dict = field(default_factory=dict)
    labels: np.ndarray | None = field(default=None, repr=False)  # per-image top-1, for the agreement matrix

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("labels")
        return d

    @classmethod
    def measured(cls, name: str, labels: np.ndarray, ints: np.ndarray | None, ref_labels: np.ndarray,
                 ref_ints: np.ndarray, true_labels: np.ndarray, wall_s: float | None = None, **kw) -> "StageResult":
        n = len(labels)
        return cls(name=name, available=True, n_images=n,
                   accuracy=float((labels == true_labels[:n]).mean()),
                   label_agree=int((labels == ref_labels[:n]).sum()),
                   int_agree=None if ints is None else int((ints.reshape(n, -1) == ref_ints[:n].reshape(n, -1)).all(1).sum()),
                   wall_s=wall_s, labels=np.asarray(labels), **kw)

    @property
    def bit_exact(self) -> bool | None:
        if not self.available or self.int_agree is None:
            return None
        return self.int_agree == self.n_images


def markdown_table(stages: list[StageResult]) -> str:
    rows = ["| stage | images | top-1 % | label = PyTorch | integer outputs = PyTorch | time s | note |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for s in stages:
        if not s.available:
            rows.append(f"| {s.name} | – | – | – | – | – | not run: {s.reason} |")
            continue
        ints = "–" if s.int_agree is None else f"{s.int_agree}/{s.n_images}"
        note = s.divergence or ("bit-exact" if s.bit_exact else "")
        wall = "" if s.wall_s is None else f"{s.wall_s:.1f}"
        rows.append(f"| {s.name} | {s.n_images} | {100 * s.accuracy:.2f} | {s.label_agree}/{s.n_images} | {ints} | "
                    f"{wall} | {note} |")
    return "\n".join(rows)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def plots(stages: list[StageResult], estimates: dict | None, history: list | None) -> dict[str, str]:
    """Base64 PNGs: accuracy per stage, agreement, training curve, per-layer cycles/resources."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    ran = [s for s in stages if s.available]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar([s.name for s in ran], [100 * s.accuracy for s in ran], color="#4472c4")
    lo = min([100 * s.accuracy for s in ran] + [100]) - 2
    ax.set_ylim(max(0, lo), 100), ax.set_ylabel("top-1 %"), ax.set_title("accuracy per stage")
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    out["accuracy"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3))
    x = np.arange(len(ran))
    ax.bar(x - 0.2, [100 * s.label_agree / s.n_images for s in ran], 0.4, label="label = PyTorch")
    ax.bar(x + 0.2, [100 * (s.int_agree or 0) / s.n_images if s.int_agree is not None else 0 for s in ran], 0.4,
           label="integers = PyTorch")
    ax.set_xticks(x, [s.name for s in ran], rotation=20, ha="right")
    ax.set_ylabel("% of images"), ax.set_title("agreement with PyTorch"), ax.legend(loc="lower left")
    out["agreement"] = _png(fig)
    plt.close(fig)

    with_labels = [s for s in ran if s.labels is not None]
    if len(with_labels) >= 2:
        n = min(len(s.labels) for s in with_labels)
        m = np.array([[100 * np.mean(a.labels[:n] == b.labels[:n]) for b in with_labels] for a in with_labels])
        fig, ax = plt.subplots(figsize=(6, 5))
        im = ax.imshow(m, vmin=min(90, m.min()), vmax=100, cmap="viridis")
        names = [s.name for s in with_labels]
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right"), ax.set_yticks(range(len(names)), names)
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, f"{m[i, j]:.1f}", ha="center", va="center", fontsize=7, color="w" if m[i, j] < 99 else "k")
        ax.set_title(f"label agreement between stages (% of {n} images)")
        fig.colorbar(im, ax=ax)
        out["agreement_matrix"] = _png(fig)
        plt.close(fig)

    if history:
        fig, ax = plt.subplots(figsize=(7, 3))
        ep = [r["epoch"] for r in history]
        ax.plot(ep, [100 * r["train_acc"] for r in history], "o-", label="train")
        ax.plot(ep, [100 * r["test_acc"] for r in history], "s-", label="test")
        ax.set_xlabel("epoch"), ax.set_ylabel("top-1 %"), ax.set_title("training"), ax.legend()
        out["training"] = _png(fig)
        plt.close(fig)

    layers = (estimates or {}).get("layers") or []
    if layers:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3))
        names = [l.get("name", str(i)) for i, l in enumerate(layers)]
        a1.bar(names, [l.get("cycles", 0) for l in layers], color="#ed7d31")
        a1.set_title("cycles per image"), a1.tick_params(axis="x", rotation=30)
        a2.bar(names, [l.get("lut", l.get("LUT", 0)) or 0 for l in layers], color="#70ad47")
        a2.set_title("LUT estimate"), a2.tick_params(axis="x", rotation=30)
        out["layers"] = _png(fig)
        plt.close(fig)
    return out


def write_report(out_dir: str | os.PathLike, stages: list[StageResult], meta: dict,
                 estimates: dict | None = None, history: list | None = None) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = markdown_table(stages)
    md = [f"# Hardware vs software: {meta.get('title', '')}", "",
          f"Images: {meta.get('images')} real test images of {meta.get('dataset', '?')}; reference: PyTorch eval.", "",
          table, ""]
    for k, v in meta.get("notes", {}).items():
        md.append(f"- **{k}**: {v}")
    paths = {"md": out_dir / "report.md", "json": out_dir / "report.json", "html": out_dir / "report.html"}
    write_text_atomic(paths["md"], "\n".join(md) + "\n")
    write_text_atomic(paths["json"], json.dumps({"meta": meta, "stages": [s.to_dict() for s in stages],
                                            "estimates": estimates}, indent=2, default=str))
    imgs = plots(stages, estimates, history)
    body = [f"<h1>Hardware vs software — {html.escape(str(meta.get('title', '')))}</h1>",
            _md_table_to_html(table)]
    for k, v in meta.get("notes", {}).items():
        body.append(f"<p><b>{html.escape(k)}</b>: {html.escape(str(v))}</p>")
    for name, b64 in imgs.items():
        body.append(f'<h2>{name}</h2><img alt="{name}" src="data:image/png;base64,{b64}">')
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>surge_hw report</title><style>"
            "body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}td:first-child{text-align:left}"
            "</style></head><body>" + "\n".join(body) + "</body></html>")
    write_text_atomic(paths["html"], page)
    return paths


def _md_table_to_html(table: str) -> str:
    lines = [l.strip("|").split("|") for l in table.splitlines()]
    head, rows = lines[0], lines[2:]
    h = "".join(f"<th>{html.escape(c.strip())}</th>" for c in head)
    r = "".join("<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{h}</tr>{r}</table>"

