"""`surge-hw demo`: train -> export -> FINN -> RTL -> cocotb simulation -> report, on real MNIST (FC models) or
Fashion-MNIST zero-padded to 32x32 (``--model cnv``).

CNV defaults to 1 epoch (an epoch is ~25 min on 2 CPU cores), golden checks on 200 images during the FINN build
(CNV executes ~10x slower than TFC in FINN's python) and a folding for finn-examples' cnv-w1a1 rate (3,000 img/s).

Each step writes its artefact under OUT (train/, export/, build/) and prints where; a step whose artefact
already exists and matches is not redone, so an interrupted demo resumes.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

CNV_TARGET_FPS = 3000  # finn-examples cnv-w1a1 on the Pynq-Z1 measures 3,020 img/s (3,052 estimated)


def run_demo(args) -> int:
    from .compare.stage import compare_build
    from .export.stage import export_checkpoint
    from .finn.stage import build_from_export
    from .rtl.stage import generate_from_build
    from .train.trainer import TrainConfig, train

    out = Path(args.out)
    t0 = time.time()
    times = {}

    def step(name):
        print(f"\n=== demo: {name} ===", flush=True)
        times[name] = time.time()

    step("train")
    # FC: one thread: these models are small, and on a busy 2-core machine two OpenMP threads per process spin
    # against other work and run 10-100x slower. CNV's convolutions use both cores well.
    cnv = args.model == "cnv"
    epochs = args.epochs if args.epochs is not None else (1 if cnv else 10)
    dataset = args.dataset or ("fashion_mnist" if cnv else "mnist")
    cfg = TrainConfig(model=args.model, dataset=dataset, estimator=args.estimator, epochs=epochs,
                      seed=args.seed, threads=None if cnv else 1)
    result = train(cfg, out / "train", resume=True)
    step("export")
    export_checkpoint(out / "train", out / "export", n_images=10000)
    step("finn build")
    build_from_export(out / "export", out / "build", golden_images=200 if cnv else 1000,
                      target_fps=CNV_TARGET_FPS if cnv else None)
    step("rtl")
    generate_from_build(out / "build", synth=not args.no_synth)
    step("compare (FINN exec + cocotb/Verilator RTL simulation)")
    stages = compare_build(out / "build", n_images=args.images or None, jobs=2 if cnv else 1)  # CNV: a sim per core
    times["end"] = time.time()
    names = list(times)
    durations = {n: round(times[names[i + 1]] - times[n], 1) for i, n in enumerate(names[:-1])}
    est = json.loads((out / "build" / "estimates.json").read_text())
    res_path = out / "build" / "rtl_resources.json"
    luts = json.loads(res_path.read_text())["yosys"]["lut_total"] if res_path.is_file() else None
    summary = {"wall_s": round(time.time() - t0, 1), "step_s": durations, "test_acc_torch": result.test_acc,
               "stages": {s.name: (None if not s.available else {"top1": s.accuracy, "int_agree": s.int_agree,
                                                                 "n": s.n_images}) for s in stages},
               "finn_fps_estimate": est["fps"], "finn_lut_estimate": est["totals"].get("LUT"), "yosys_luts": luts,
               "report": str(out / "build" / "report" / "report.html")}
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2))
    print("\n=== demo summary ===")
    for s in stages:
        if s.available:
            print(f"  {s.name:22s} top-1 {100 * s.accuracy:6.2f} %   integer outputs = PyTorch: {s.int_agree}/{s.n_images}")
        else:
            print(f"  {s.name:22s} not run ({s.reason.split(':')[0]})")
    print(f"  FINN estimate: {est['fps']:,.0f} images/s @ {est['fclk_mhz']:.0f} MHz, {est['totals'].get('LUT', 0):,.0f} LUT"
          + (f"; yosys: {luts:,} LUT" if luts else ""))
    print(f"  wall time {summary['wall_s']:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in durations.items())})")
    print(f"  report: {summary['report']}")
    ok = all(s.bit_exact is not False for s in stages)
    return 0 if ok else 1
