"""`surge-hw rtl`: folded FINN graph -> accelerator IR -> Verilog project (+ open-synthesis resources).

Writes into BUILD_DIR: ``rtl/`` (Verilog, .mem files, manifest.json, filelist.f), ``rtl_ir/`` (the IR the
generator and the golden model share) and, with synthesis, ``rtl_resources.json`` (Yosys synth_xilinx
counts next to FINN's estimate and the xc7z020's capacity).

`surge-hw pnr` (:func:`pnr_from_build`) places and routes ``rtl/`` with the open ECP5 flow and writes
``pnr/pnr.json`` (measured Fmax per seed, critical path by layer and pipeline stage, utilization) and
``pnr/accel.bit``; it adds its figures to the build's ``report.md``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .from_finn import accelerator_from_finn
from .generate import generate_rtl
from .ir import Accelerator
from ..artefacts import write_json_atomic

RTL_DIR, IR_DIR, RESOURCES, PNR_DIR = "rtl", "rtl_ir", "rtl_resources.json", "pnr"


def folded_graph(build_dir: Path) -> Path:
    """The parent graph (its partition holds the folded layers) or, for a bare graph, folded.onnx."""
    for name in ("folded.onnx",):
        if (build_dir / name).is_file():
            return build_dir / name
    raise FileNotFoundError(f"{build_dir} has no folded.onnx: run `surge-hw build` first (it folds the graph)")


def ir_from_build(build_dir: str | os.PathLike, fifo_depth: int = 0, pipeline: str = "auto") -> Accelerator:
    """The build's folded graph as accelerator IR, saved to ``BUILD/rtl_ir`` (what the RTL and HLS generators
    and the golden model read)."""
    build_dir = Path(build_dir)
    parent = build_dir / "06_dataflow_parent.onnx"
    accel = accelerator_from_finn(folded_graph(build_dir), name=build_dir.name.replace("-", "_") or "accel",
                                  parent=parent if parent.is_file() else None)
    accel.fifo_depth = fifo_depth
    accel.pipeline = pipeline
    accel.save(build_dir / IR_DIR)
    return accel


def generate_from_build(build_dir: str | os.PathLike, fifo_depth: int = 0, synth: bool = True,
                        pipeline: str = "auto") -> Path:
    build_dir = Path(build_dir)
    accel = ir_from_build(build_dir, fifo_depth, pipeline)
    project = generate_rtl(accel, build_dir / RTL_DIR)
    man = json.loads((project / "manifest.json").read_text())
    print(f"rtl: wrote {project} ({len(accel.layers)} layers, analytic II {man['analytic']['initiation_interval']} "
          f"cycles, bottleneck {man['analytic']['bottleneck']}, pipeline {pipeline}, input {man['input_format']}"
          f"{' (host: ' + ', '.join(h['name'] for h in man['host']) + ')' if man['host'] else ''}; "
          f"`surge-hw pnr {build_dir}` "
          f"measures its clock)")
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
          f"{res['ff']:,} FF, {res['bram36']:g} BRAM36; FINN estimate "
          f"{format(finn_est['LUT'], ',.0f') if 'LUT' in finn_est else '?'} LUT -> "
          f"{build_dir / RESOURCES}")
    return out


def load_ir(build_dir: str | os.PathLike) -> Accelerator:
    path = Path(build_dir) / IR_DIR
    if not (path / "accel.json").is_file():
        raise FileNotFoundError(f"{path} not found: run `surge-hw rtl {build_dir}` first")
    return Accelerator.load(path)


def pnr_from_build(build_dir: str | os.PathLike, device: str = "LFE5U-85F", package: str = "CABGA381",
                   speed: int = 6, freq_mhz: float = 100.0, seeds: int = 3, jobs: int | None = None,
                   ebr_outreg: bool = True, progress: bool = True, placer_timing_weight: int | None = None,
                   timeout_s: float = 3600) -> dict:
    """Open place-and-route of BUILD/rtl (see :func:`surge_hw.rtl.pnr.pnr_project`) -> BUILD/pnr/pnr.json."""
    from .pnr import pnr_project

    build_dir = Path(build_dir)
    if not (build_dir / RTL_DIR / "manifest.json").is_file():
        raise FileNotFoundError(f"{build_dir / RTL_DIR} not found: run `surge-hw rtl {build_dir}` first")
    res = pnr_project(build_dir / RTL_DIR, build_dir / PNR_DIR, device=device, package=package, speed=speed,
                      freq_mhz=freq_mhz, seeds=seeds, jobs=jobs, ebr_outreg=ebr_outreg, progress=progress,
                      placer_timing_weight=placer_timing_weight, timeout_s=timeout_s)
    est_path = build_dir / "estimates.json"
    est = json.loads(est_path.read_text()) if est_path.is_file() else None
    lines = pnr_summary_lines(res, est)
    for line in lines:
        print("pnr: " + line)
    print(f"pnr: wrote {build_dir / PNR_DIR / 'pnr.json'}" + (f" and {build_dir / PNR_DIR / res['bitstream']}"
                                                               if res["bitstream"] else ""))
    report = build_dir / "report.md"
    if report.is_file():
        _replace_section(report, "## Open place-and-route (ECP5)", lines)
    return res


def pnr_summary_lines(res: dict, estimates: dict | None = None) -> list[str]:
    """Human-readable lines for the build report, the compare report and the console."""
    u = res["utilization"]
    lines = [f"Fmax {res['fmax_mhz_worst']:.1f} MHz worst of {len(res['fmax_mhz'])} seed(s) "
             f"({', '.join(f'{f:.1f}' for f in res['fmax_mhz'])}), target {res['freq_target_mhz']:g} MHz, "
             f"{res['device']} {res['package']} speed {res['speed_grade']} (yosys synth_ecp5 + nextpnr-ecp5)",
             f"utilization: {u['lut4']:,} LUT4, {u['ff']:,} FF, {u['ebr']} EBR, {u['dsp']} DSP, {u['carry']:,} CCU2C"]
    reg = res.get("ebr_output_registers")
    if reg:
        kept = "; ".join(f"{n} left: {why}" for why, n in reg.get("kept_because", {}).items())
        lines.append(f"block-RAM output registers: {reg['absorbed_ff']:,} read-data flip-flops moved into "
                     f"{reg['absorbed_ebr']} of {reg['absorbed_ebr'] + reg['kept_ebr']} EBRs"
                     + (f" ({kept})" if kept else ""))
    elif reg is None and "ebr_output_registers" in res:
        lines.append("block-RAM output registers: not used (--no-ebr-outreg)")
    cp = res.get("critical_path")
    if cp:
        lines.append(f"critical path: {cp['from']} -> {cp['to']}, {cp['delay_ns']:.2f} ns "
                     f"({cp['logic_ns']:.2f} logic + {cp['routing_ns']:.2f} routing)")
    if estimates and estimates.get("max_cycles"):
        fps = res["fmax_mhz_worst"] * 1e6 / estimates["max_cycles"]
        lines.append(f"at the measured clock: {fps:,.0f} images/s (FINN estimate {estimates['fps']:,.0f} at "
                     f"{estimates['fclk_mhz']} MHz, {estimates['max_cycles']} cycles)")
    return lines


def _replace_section(path: Path, heading: str, lines: list[str]) -> None:
    text = path.read_text()
    body = heading + "\n\n" + "\n".join(f"- {line}" for line in lines) + "\n"
    if heading in text:
        head, _, rest = text.partition(heading)
        nxt = rest.find("\n## ")
        text = head + body + (rest[nxt + 1:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
