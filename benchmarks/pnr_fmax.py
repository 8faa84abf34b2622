"""Post-route Fmax of the generated RTL with and without the MVAU pipeline stages (issue #11 goal: >= 125 MHz).

For a `surge-hw build` directory, regenerates the Verilog from the same IR with ``pipeline="none"`` and
``pipeline="auto"`` and places and routes each with the open ECP5 flow (yosys synth_ecp5 + nextpnr-ecp5,
LFE5U-85F CABGA381, speed 6, ``--freq 100``), several seeds. Optionally the first MVAU alone (no
width converters or other layers), which isolates the MVAU's own critical path.

    python benchmarks/pnr_fmax.py runs/demo/build --seeds 3 --out benchmarks/results/pnr/tfc_demo.json
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from surge_hw.rtl.generate import generate_rtl
from surge_hw.rtl.ir import Accelerator, BinaryMVAU
from surge_hw.rtl.pnr import pnr_project
from surge_hw.rtl.stage import load_ir


def run(accel: Accelerator, work: Path, seeds: int, **kw) -> dict:
    project = generate_rtl(accel, work / "rtl")
    man = json.loads((project / "manifest.json").read_text())
    res = pnr_project(project, work / "pnr", seeds=seeds, **kw)
    keep = ("fmax_mhz", "fmax_mhz_worst", "fmax_mhz_best", "meets_target", "critical_path", "utilization",
            "device", "package", "speed_grade", "freq_target_mhz", "synth_s", "tools")
    return {"layers": [lay["name"] for lay in man["layers"]],
            "mvau_params": {lay["name"]: {k: v for k, v in lay.get("params", {}).items()
                                          if k in ("SIMD", "PE", "W_REG", "POP_CHUNK", "SUM_REG")}
                            for lay in man["layers"] if lay["kind"].startswith("mvau")},
            **{k: res.get(k) for k in keep}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default=None, help="scratch dir (default BUILD/pnr_bench)")
    ap.add_argument("--first-mvau-only", action="store_true", help="also place the first MVAU on its own")
    args = ap.parse_args()
    build = Path(args.build_dir)
    work = Path(args.work or build / "pnr_bench")
    accel = load_ir(build)
    results = {"build": str(build), "machine": platform.processor() or platform.machine(),
               "date": time.strftime("%Y-%m-%d"), "runs": {}}
    variants = [("whole", accel)]
    if args.first_mvau_only:
        first = next(lay for lay in accel.layers if isinstance(lay, BinaryMVAU))
        variants.append(("first_mvau", Accelerator(f"{accel.name}_mvau", [first])))
    for name, acc in variants:
        for pipeline in ("none", "auto"):
            acc.pipeline = pipeline
            t = time.perf_counter()
            r = run(acc, work / f"{name}_{pipeline}", args.seeds)
            r["wall_s"] = round(time.perf_counter() - t, 1)
            results["runs"][f"{name}/{pipeline}"] = r
            print(f"{name:>10} pipeline={pipeline:<4} Fmax {r['fmax_mhz']} MHz (worst {r['fmax_mhz_worst']}), "
                  f"{r['utilization']['lut4']} LUT4, {r['utilization']['ff']} FF; critical: "
                  f"{r['critical_path']['from']} -> {r['critical_path']['to']}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
