"""`surge-hw rtlsim`: real test images through the generated accelerator, compared with PyTorch exactly.

Reads BUILD_DIR/rtl (from `surge-hw rtl`) and the export's golden set; writes ``rtlsim.json`` (per-image
integer/label equality, accuracy, latency and initiation interval vs the analytic and FINN estimates) and
``rtlsim_outputs.npz``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..export.golden import GoldenSet
from ..finn.stage import read_build_info
from ..rtl.packing import accelerator_inputs
from .rtlsim import SimResult, simulate
from ..artefacts import write_json_atomic
from ..stage_dirs import need_rtl

RESULT_NAME, OUTPUTS_NAME = "rtlsim.json", "rtlsim_outputs.npz"


def load_golden(build_dir: str | os.PathLike, n_images: int | None) -> tuple[GoldenSet, dict]:
    info = read_build_info(build_dir)
    if not info.get("golden"):
        raise FileNotFoundError(f"{build_dir} was built from a bare .onnx without a golden set; rebuild it with "
                                f"test vectors (`surge-hw build MODEL.onnx --golden VECTORS.npz` or `--dataset "
                                f"NAME`, see README) or from an export dir (`surge-hw build EXPORT_DIR`)")
    return GoldenSet.load(info["golden"]).first(n_images), info


def popcounts_to_dots(popcounts: np.ndarray, mw_last: int) -> np.ndarray:
    return 2 * np.asarray(popcounts, dtype=np.int64) - mw_last


def labels_from_dots(dots: np.ndarray, info: dict) -> np.ndarray:
    """Top-1 labels from the last layer's integer dots: the trailing per-tensor scale only flips the order
    when negative (``label_sign``), so no float post-processing is needed. A model with a per-class scale or
    bias behind its last layer (``label_sign`` None) gets that affine, ``output_affine``, applied to the
    popcounts, as its graph does."""
    if info.get("label_sign") is None and info.get("output_affine"):
        aff = info["output_affine"]
        p = (np.asarray(dots, dtype=np.float64) + info["mw_last"]) / 2
        return (p * np.asarray(aff["scale"]) + np.asarray(aff["bias"])).argmax(1)
    return (info["label_sign"] * np.asarray(dots)).argmax(1)


def accuracy(labels: np.ndarray, true_labels: np.ndarray | None) -> float | None:
    """Top-1 accuracy; None for a golden set without labels (a user's expected integer outputs only)."""
    return None if true_labels is None else float((np.asarray(labels) == true_labels).mean())


def reference_name(info: dict) -> str:
    """What the golden set's integer outputs come from, in two or three words: PyTorch for an export, the
    user's vectors or QONNX execution for a bare .onnx build (``build_info["reference"]``)."""
    ref = info.get("reference")
    if not ref:
        return "PyTorch"
    return "the expected outputs" if ref.startswith("the expected") else "QONNX execution"


def equality_summary(popcounts: np.ndarray, golden: GoldenSet, info: dict) -> tuple[dict, np.ndarray, np.ndarray]:
    """The accelerator's last-layer popcounts against the golden set: (the summary fields every simulated
    stage writes, the integer dots, the labels)."""
    dots = popcounts_to_dots(popcounts, info["mw_last"])
    labels = labels_from_dots(dots, info)
    torch_labels = golden.logits.argmax(1)
    int_eq = (dots == golden.int_dots).all(1)
    summary = {
        "n_images": len(golden), "reference": reference_name(info), "int_equal_images": int(int_eq.sum()),
        "label_equal_images": int((labels == torch_labels).sum()),
        "accuracy": accuracy(labels, golden.labels), "torch_accuracy": accuracy(torch_labels, golden.labels),
        "first_mismatching_images": np.flatnonzero(~int_eq)[:5].tolist(),
        "per_image_int_equal": int_eq.astype(int).tolist(),
    }
    return summary, dots, labels


def write_results(build_dir: Path, result_name: str, outputs_name: str, summary: dict, popcounts: np.ndarray,
                  dots: np.ndarray, labels: np.ndarray) -> str:
    """Write a simulated stage's ``<stage>.json`` and ``<stage>_outputs.npz``; return the one-line verdict
    (bit-exact images, labels, accuracy) its command prints."""
    np.savez_compressed(build_dir / outputs_name, popcounts=popcounts, dots=dots, labels=labels)
    write_json_atomic(build_dir / result_name, summary, indent=1)
    n = summary["n_images"]
    acc = "accuracy – (no labels)" if summary["accuracy"] is None else f"accuracy {100 * summary['accuracy']:.2f} %"
    return (f"{summary['int_equal_images']}/{n} images bit-exact vs {summary['reference']}, labels "
            f"{summary['label_equal_images']}/{n}, {acc}")


def rtlsim_from_build(build_dir: str | os.PathLike, n_images: int | None = 500, simulator: str = "verilator",
                      out_stall: float = 0.0, in_gap: float = 0.0, taps: bool = False,
                      progress: bool = True, jobs: int = 1) -> tuple[dict, SimResult]:
    build_dir = Path(build_dir)
    for name, p in (("out_stall", out_stall), ("in_gap", in_gap)):
        if not 0 <= p < 1:  # at 1 the stream never moves: the simulation would run to its cycle limit
            raise ValueError(f"{name} is a probability per cycle in [0, 1), got {p}")
    golden, info = load_golden(build_dir, n_images)
    rtl = build_dir / "rtl"
    need_rtl(build_dir)
    man = json.loads((rtl / "manifest.json").read_text())
    res = simulate(rtl, accelerator_inputs(golden.images, man.get("host")), simulator=simulator, progress=progress, taps=taps,
                   out_stall=out_stall, in_gap=in_gap, jobs=jobs)
    common, dots, labels = equality_summary(res.outputs, golden, info)
    est = json.loads((build_dir / "estimates.json").read_text()) if (build_dir / "estimates.json").is_file() else {}
    finn_cycles = est.get("max_cycles") or est.get("totals", {}).get("max_cycles")
    summary = {
        "simulator": simulator, "input_format": man.get("input_format", "uint8"), **common,
        "latency_cycles": res.cycles_per_image, "initiation_interval": res.initiation_interval,
        "analytic_initiation_interval": man["analytic"]["initiation_interval"],
        "finn_estimate_cycles": finn_cycles,
        "ii_vs_finn_pct": (100.0 * (res.initiation_interval / finn_cycles - 1)) if finn_cycles else None,
        "images_per_s_at_100mhz": res.images_per_s_at_100mhz, "cycles_total": res.cycles_total,
        "wall_s": res.wall_s, "build_s": res.build_s, "jobs": jobs, "out_stall": out_stall, "in_gap": in_gap,
    }
    verdict = write_results(build_dir, RESULT_NAME, OUTPUTS_NAME, summary, res.outputs, dots, labels)
    print(f"rtlsim: {verdict}; II {res.initiation_interval:.1f} cycles "
          f"(FINN estimate {finn_cycles}), latency {res.cycles_per_image} cycles; {res.wall_s:.1f} s -> "
          f"{build_dir / RESULT_NAME}")
    return summary, res
