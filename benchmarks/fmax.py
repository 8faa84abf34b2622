"""Post-route Fmax of the generated RTL per model, with and without the pipeline stages (issue #11 goal:
>= 125 MHz worst of 3 seeds on LFE5U-85F speed 6, at least 100 MHz).

For each ``NAME=BUILD_DIR`` (a `surge-hw build` + `surge-hw rtl` directory) the Verilog is regenerated from the
build's IR with ``pipeline="none"`` and ``pipeline="auto"`` and placed and routed with the open ECP5 flow (yosys
synth_ecp5 + nextpnr-ecp5, LFE5U-85F CABGA381, speed 6, ``--freq 100``), ``--seeds`` seeds each. Per variant:
Fmax per seed and the worst, LUT4/FF/EBR, the critical path by layer and stage, what the block-RAM
output-register pass moved (``ebr_output_registers``: on by default since 2026-12-07, absent in older runs),
the II (analytic, FINN's estimate, and the RTL simulation's if BUILD/rtlsim.json exists) and the images/s at
the worst measured Fmax.
``--first-mvau-only`` also places the first MVAU alone, which isolates its own critical path. Results are merged
into ``--out`` (one JSON, keyed by NAME, a model's other variants kept), so models and variants can be run one
at a time.

    python benchmarks/fmax.py tfc=runs/demo/build --seeds 3 --out benchmarks/results/pnr/fmax.json
    python benchmarks/fmax.py cnv=runs/cnv_build --seeds 1 --variants auto --out benchmarks/results/pnr/fmax.json
    python benchmarks/fmax.py cnv=runs/cnv_build --from-pnr --out benchmarks/results/pnr/fmax.json  # after pnr
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

KEEP = ("fmax_mhz", "fmax_mhz_worst", "fmax_mhz_best", "meets_target", "critical_path", "utilization",
        "device", "package", "speed_grade", "freq_target_mhz", "nextpnr_options", "ebr_output_registers", "synth_s",
        "tools")
STAGE_PARAMS = ("SIMD", "PE", "W_REG", "W_BANK", "W_SLICE", "POP_CHUNK", "SUM_GROUP", "SUM_REG", "THR_REG", "CMP_REG",
                "N_THRES")


def summarize(man: dict, res: dict, ii_cycles: float | None = None) -> dict:
    """One variant's entry from the RTL project's manifest and its ``pnr.json``."""
    ii = ii_cycles or man["analytic"]["initiation_interval"]
    out = {"layers": [lay["name"] for lay in man["layers"]], "input_format": man.get("input_format", "uint8"),
           "stage_params": {lay["name"]: {k: v for k, v in lay.get("params", {}).items() if k in STAGE_PARAMS}
                            for lay in man["layers"] if lay["kind"].startswith(("mvau", "threshold"))},
           "ii_analytic_cycles": man["analytic"]["initiation_interval"],
           **{k: res.get(k) for k in KEEP}}
    out["images_per_s_at_worst_fmax"] = round(res["fmax_mhz_worst"] * 1e6 / ii, 1)
    return out


def run(accel: Accelerator, work: Path, seeds: int, ii_cycles: float | None = None, **kw) -> dict:
    project = generate_rtl(accel, work / "rtl")
    man = json.loads((project / "manifest.json").read_text())
    return summarize(man, pnr_project(project, work / "pnr", seeds=seeds, **kw), ii_cycles)


def recorded(build: Path, ii_cycles: float | None, label: str | None = None) -> tuple[str, dict]:
    """``--from-pnr``: the run `surge-hw rtl BUILD` + `surge-hw pnr BUILD` already made (BUILD/rtl, BUILD/pnr),
    as the variant of the project's own pipeline setting."""
    man = json.loads((build / "rtl" / "manifest.json").read_text())
    res = json.loads((build / "pnr" / "pnr.json").read_text())
    out = summarize(man, res, ii_cycles)
    out["from"] = f"surge-hw pnr {build} ({len(res['fmax_mhz'])} seeds)"
    return label or man.get("pipeline", "auto"), out


def bench_model(name: str, build: Path, seeds: int, variants: list[str], first_mvau: bool, work: Path,
                jobs: int | None = None, from_pnr: bool = False, label: str | None = None) -> dict:
    accel = load_ir(build)
    est = json.loads((build / "estimates.json").read_text()) if (build / "estimates.json").is_file() else {}
    sim = json.loads((build / "rtlsim.json").read_text()) if (build / "rtlsim.json").is_file() else {}
    ii = sim.get("initiation_interval") or est.get("max_cycles")
    entry = {"build": str(build), "input_format": accel.input_format, "finn_estimate_cycles": est.get("max_cycles"),
             "rtlsim_ii_cycles": sim.get("initiation_interval"), "rtlsim_images": sim.get("n_images"),
             "rtlsim_int_equal_images": sim.get("int_equal_images"), "date": time.strftime("%Y-%m-%d"),
             "machine": platform.processor() or platform.machine(), "runs": {}}
    if from_pnr:
        pipeline, r = recorded(build, ii, label)
        entry["runs"][f"whole/{pipeline}"] = r
        print(f"{name} recorded pipeline={pipeline} Fmax {r['fmax_mhz']} MHz (worst {r['fmax_mhz_worst']})")
        return entry
    cases = [("whole", accel)]
    if first_mvau:
        first = next(lay for lay in accel.layers if isinstance(lay, BinaryMVAU))
        cases.append(("first_mvau", Accelerator(f"{accel.name}_mvau", [first])))
    for case, acc in cases:
        for pipeline in variants:
            acc.pipeline = pipeline
            t = time.perf_counter()
            r = run(acc, work / f"{case}_{pipeline}", seeds, ii_cycles=ii if case == "whole" else None, jobs=jobs)
            r["wall_s"] = round(time.perf_counter() - t, 1)
            entry["runs"][f"{case}/{pipeline}"] = r
            print(f"{name} {case:>10} pipeline={pipeline:<4} Fmax {r['fmax_mhz']} MHz (worst {r['fmax_mhz_worst']}), "
                  f"{r['utilization']['lut4']} LUT4, {r['utilization']['ff']} FF, {r['utilization']['ebr']} EBR, "
                  f"{r['images_per_s_at_worst_fmax']:,.0f} img/s; critical: {r['critical_path']['from']} -> "
                  f"{r['critical_path']['to']}", flush=True)
    return entry


def pipelining_cost(runs: dict) -> dict | None:
    """LUT4/FF/EBR of ``whole/auto`` minus ``whole/none``, where both were placed."""
    if "whole/none" in runs and "whole/auto" in runs:
        a, n = runs["whole/auto"]["utilization"], runs["whole/none"]["utilization"]
        return {"lut4": a["lut4"] - n["lut4"], "ff": a["ff"] - n["ff"], "ebr": a["ebr"] - n["ebr"]}
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", metavar="NAME=BUILD_DIR")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", required=True, help="results JSON (merged: other models' entries are kept)")
    ap.add_argument("--variants", default="none,auto", help="comma-separated pipeline settings (default none,auto)")
    ap.add_argument("--first-mvau-only", action="store_true", help="also place the first MVAU on its own")
    ap.add_argument("--jobs", type=int, default=None, help="seeds placed in parallel (default: one per core)")
    ap.add_argument("--from-pnr", action="store_true",
                    help="record BUILD/pnr/pnr.json (from `surge-hw pnr BUILD`) instead of placing again")
    ap.add_argument("--label", help="with --from-pnr: record the run as whole/LABEL (default: its pipeline setting)")
    ap.add_argument("--note", help="a sentence stored with the recorded run (what differs from the others)")
    args = ap.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    variants = [v for v in args.variants.split(",") if v]
    for spec in args.models:
        name, _, build = spec.partition("=")
        if not build:
            ap.error(f"{spec!r}: give NAME=BUILD_DIR")
        build = Path(build)
        entry = bench_model(name, build, args.seeds, variants, args.first_mvau_only, build / "pnr_bench",
                            jobs=args.jobs, from_pnr=args.from_pnr, label=args.label)
        if args.note:
            for r in entry["runs"].values():
                r["note"] = args.note
        entry["runs"] = {**results.get(name, {}).get("runs", {}), **entry["runs"]}  # other variants are kept
        if (cost := pipelining_cost(entry["runs"])) is not None:  # also when only one of them was run now
            entry["pipelining_cost"] = cost
        results[name] = entry
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(out)
        print(f"wrote {out} ({name})")


if __name__ == "__main__":
    main()
