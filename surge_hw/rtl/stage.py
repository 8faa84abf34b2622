"""`surge-hw rtl`: folded FINN graph -> accelerator IR -> Verilog project (+ open-synthesis resources).

Writes into BUILD_DIR: ``rtl/`` (Verilog, .mem files, manifest.json, filelist.f), ``rtl_ir/`` (the IR the
generator and the golden model share) and, with synthesis, ``rtl_resources.json`` (Yosys synth_xilinx
counts next to FINN's estimate and the xc7z020's capacity).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .from_finn import accelerator_from_finn
from .generate import generate_rtl
from .ir import Accelerator
from ..artefacts import write_json_atomic

RTL_DIR, IR_DIR, RESOURCES = "rtl", "rtl_ir", "rtl_resources.json"


def folded_graph(build_dir: Path) -> Path:
    """The parent graph (its partition holds the folded layers) or, for a bare graph, folded.onnx."""
    for name in ("folded.onnx",):
        if (build_dir / name).is_file():
            return build_dir / name
    raise FileNotFoundError(f"{build_dir} has no folded.onnx: run `surge-hw build` first (it folds the graph)")


def generate_from_build(build_dir: str | os.PathLike, fifo_depth: int = 0, synth: bool = True) -> Path:
    build_dir = Path(build_dir)
    accel = accelerator_from_finn(folded_graph(build_dir), name=build_dir.name.replace("-", "_") or "accel")
    accel.fifo_depth = fifo_depth
    accel.save(build_dir / IR_DIR)
    project = generate_rtl(accel, build_dir / RTL_DIR)
    man = json.loads((project / "manifest.json").read_text())
    print(f"rtl: wrote {project} ({len(accel.layers)} layers, analytic II {man['analytic']['initiation_interval']} "
          f"cycles, bottleneck {man['analytic']['bottleneck']})")
    if synth:
        synth_resources(build_dir)
    return project


def synth_resources(build_dir: str | os.PathLike) -> dict:
    from .synth import ZYNQ_7020, synth_luts

    build_dir = Path(build_dir)
    print(f"rtl: yosys synth_xilinx of {build_dir / RTL_DIR} (single-threaded WebAssembly: ~1 min for TFC, ~10 min "
          f"for CNV; --no-synth skips it)", flush=True)
    res = synth_luts(build_dir / RTL_DIR)
    finn_est = {}
    est_path = build_dir / "estimates.json"
    if est_path.is_file():
        finn_est = json.loads(est_path.read_text()).get("totals", {})
    out = {"yosys": {k: v for k, v in res.items() if k != "cells_by_type"}, "finn_estimate": finn_est,
           "xc7z020": ZYNQ_7020,
           "lut_utilisation_pct": 100.0 * res["lut_total"] / ZYNQ_7020["lut"]}
    write_json_atomic(build_dir / RESOURCES, out)
    print(f"rtl: yosys synth_xilinx: {res['lut_total']:,} LUT ({out['lut_utilisation_pct']:.1f} % of xc7z020), "
          f"{res['ff']:,} FF, {res['bram36']} BRAM36; FINN estimate {finn_est.get('LUT', '?')} LUT -> "
          f"{build_dir / RESOURCES}")
    return out


def load_ir(build_dir: str | os.PathLike) -> Accelerator:
    path = Path(build_dir) / IR_DIR
    if not (path / "accel.json").is_file():
        raise FileNotFoundError(f"{path} not found: run `surge-hw rtl {build_dir}` first")
    return Accelerator.load(path)
