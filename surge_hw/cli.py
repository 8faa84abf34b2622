"""``surge-hw``: one command per stage, plus ``demo`` that chains them.

Each stage reads the previous stage's artefact from disk and prints where it wrote its own.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from dataclasses import fields
from pathlib import Path

from .boards import BOARDS


def _load_config_file(path: str | None) -> dict:
    if not path:
        return {}
    p = Path(path)
    if not p.exists():
        raise SystemExit(f"surge-hw: config file {p} not found")
    text = p.read_text()
    if p.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise SystemExit(f"surge-hw: {p} must hold a mapping of training options")
    return data


def cmd_train(args) -> int:
    from .train.trainer import TrainConfig, train

    known = {f.name for f in fields(TrainConfig)}
    cfg = _load_config_file(args.config)
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise SystemExit(f"surge-hw train: unknown option(s) {unknown} in {args.config}; valid: {sorted(known)}")
    for key in ("model", "dataset", "estimator", "epochs", "batch_size", "lr", "seed", "device", "data_dir",
                "max_train", "act_bits", "optimizer", "base_estimator", "dropout", "threads"):
        val = getattr(args, key, None)
        if val is not None:
            cfg[key] = val
    if args.download:
        cfg["download"] = True
    surge = dict(cfg.get("surge", {}))
    if args.eta is not None:
        surge["eta"] = args.eta
    if args.fixed_lambda is not None:
        surge["fixed_lambda"] = args.fixed_lambda
    cfg["surge"] = surge
    cfg["progress"] = not args.no_progress
    train(TrainConfig(**cfg), args.out, resume=args.resume)
    return 0


def cmd_export(args) -> int:
    from .export.stage import export_checkpoint

    export_checkpoint(args.checkpoint, args.out, n_images=args.images, data_dir=args.data_dir)
    return 0


def cmd_build(args) -> int:
    from .finn.stage import build_from_export

    build_from_export(args.source, args.out, board=args.board, target_fps=args.target_fps, max_luts=args.max_luts,
                      golden_images=args.golden_images or None, progress=not args.no_progress,
                      input_format=args.input_format, fclk_mhz=args.fclk_mhz)
    return 0


def cmd_rtl(args) -> int:
    from .rtl.stage import generate_from_build

    generate_from_build(args.build_dir, fifo_depth=args.fifo_depth, synth=not args.no_synth, pipeline=args.pipeline)
    return 0


def cmd_pnr(args) -> int:
    from .rtl.stage import pnr_from_build

    res = pnr_from_build(args.build_dir, device=args.device, package=args.package, speed=args.speed,
                         freq_mhz=args.freq, seeds=args.seeds, jobs=args.jobs)
    return 0 if res["meets_target"] or not args.fail_on_timing else 1


def cmd_rtlsim(args) -> int:
    from .sim.stage import rtlsim_from_build

    summary, _ = rtlsim_from_build(args.build_dir, n_images=args.images or None, simulator=args.simulator,
                                   out_stall=args.stall, in_gap=args.gap, progress=not args.no_progress,
                                   jobs=args.jobs)
    return 0 if summary["int_equal_images"] == summary["n_images"] else 1


def cmd_compare(args) -> int:
    from .compare.stage import compare_build

    stages = compare_build(args.build_dir, n_images=args.images or None, simulator=args.simulator, jobs=args.jobs)
    return 0 if all(s.bit_exact is not False for s in stages) else 1


def cmd_deploy(args) -> int:
    from .deploy.stage import deploy_from_build

    deploy_from_build(args.build_dir, args.out, n_images=args.images, board=args.board, fclk_mhz=args.fclk_mhz,
                      bitfile=args.bitfile)
    return 0


def cmd_sweep(args) -> int:
    from .train.sweep import run_sweep, summarize

    if args.summarize_only:
        summarize(args.out)
    else:
        run_sweep(args.config, args.out, parallel=args.parallel)  # summarizes when done
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="surge-hw", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a BNN with SURGE or a baseline estimator")
    t.add_argument("--model", choices=["tfc", "sfc", "lfc", "cnv"])
    t.add_argument("--dataset", choices=["mnist", "fashion_mnist", "cifar10", "mnist32", "fashion_mnist32"],
                   help="cnv takes 32x32 images: mnist/fashion_mnist become mnist32/fashion_mnist32 (zero-padded)")
    t.add_argument("--estimator", help="surge | ste | identity | approx_sign | ede | reste")
    t.add_argument("--base-estimator", dest="base_estimator", help="SURGE's binary-path surrogate (default ste)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", dest="batch_size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--optimizer", choices=["adam", "adamw"])
    t.add_argument("--seed", type=int)
    t.add_argument("--device", help="cpu | cuda | cuda:N")
    t.add_argument("--act-bits", dest="act_bits", type=int, choices=[1, 2])
    t.add_argument("--threads", type=int, help="torch CPU threads (1 avoids oversubscription on a busy machine)")
    t.add_argument("--dropout", type=float, help="dropout after each binary activation (bnn_pynq: 0.2)")
    t.add_argument("--eta", type=float, help="SURGE eta (0 < eta < 1)")
    t.add_argument("--fixed-lambda", dest="fixed_lambda", type=float, help="SURGE ablation: constant lambda")
    t.add_argument("--data-dir", dest="data_dir")
    t.add_argument("--download", action="store_true", help="allow a torchvision download (needs network)")
    t.add_argument("--max-train", dest="max_train", type=int, help="use only the first N training images")
    t.add_argument("--config", help="YAML/JSON file of training options (CLI flags override it)")
    t.add_argument("--out", required=True, help="run directory (checkpoints, logs, curves)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("export", help="checkpoint -> pure-BNN QONNX + golden set of real test images")
    e.add_argument("checkpoint", help="RUN_DIR or RUN_DIR/last.pt from `surge-hw train`")
    e.add_argument("--out", required=True, help="export directory")
    e.add_argument("--images", type=int, default=10000, help="test images in the golden set (default all 10k)")
    e.add_argument("--data-dir", dest="data_dir")
    e.set_defaults(func=cmd_export)

    b = sub.add_parser("build", help="FINN flow: streamline -> HW layers -> folding -> estimates (+bitfile w/ Vivado)")
    b.add_argument("source", help="export directory (or a .onnx file)")
    b.add_argument("--out", required=True, help="build directory")
    b.add_argument("--board", default="Pynq-Z2", choices=list(BOARDS),
                   help="target board (surge_hw/boards.py; default Pynq-Z2)")
    b.add_argument("--fclk", dest="fclk_mhz", type=float, default=None,
                   help="PL clock in MHz for folding and estimates (default: the board's, 100)")
    b.add_argument("--target-fps", dest="target_fps", type=float)
    b.add_argument("--max-luts", dest="max_luts", type=float)
    b.add_argument("--golden-images", dest="golden_images", type=int, default=1000,
                   help="real test images checked bit-exact after every step (0 = all)")
    b.add_argument("--input-format", dest="input_format", default="uint8", choices=["uint8", "packed"],
                   help="uint8: the accelerator takes raw pixels (default, as FINN's examples); packed: the host "
                        "applies the binarizing first layer and streams 1 bit per pixel (TFC/SFC/LFC)")
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(func=cmd_build)

    r = sub.add_parser("rtl", help="folded graph -> open Verilog project (+ yosys resources)")
    r.add_argument("build_dir")
    r.add_argument("--fifo-depth", dest="fifo_depth", type=int, default=0,
                   help="FIFO depth between layers (default 0: one input vector per link)")
    r.add_argument("--no-synth", action="store_true", help="skip yosys synth_xilinx")
    r.add_argument("--pipeline", default="auto", choices=["auto", "none"],
                   help="MVAU pipeline registers for the clock (default auto; none: shortest latency)")
    r.set_defaults(func=cmd_rtl)

    q = sub.add_parser("pnr", help="open place-and-route (yosys synth_ecp5 + nextpnr-ecp5): measured Fmax, "
                                   "critical path, bitstream")
    q.add_argument("build_dir")
    q.add_argument("--device", default="LFE5U-85F", help="ECP5 device (default LFE5U-85F)")
    q.add_argument("--package", default="CABGA381")
    q.add_argument("--speed", type=int, default=6, choices=[6, 7, 8], help="speed grade (default 6, the slowest)")
    q.add_argument("--freq", type=float, default=100.0, help="target clock in MHz (default 100)")
    q.add_argument("--seeds", type=int, default=3, help="placement seeds; the worst Fmax is reported")
    q.add_argument("--jobs", type=int, default=None, help="seeds placed in parallel (default: one per core)")
    q.add_argument("--fail-on-timing", action="store_true", help="exit 1 when a seed misses --freq")
    q.set_defaults(func=cmd_pnr)

    s = sub.add_parser("rtlsim", help="simulate real test images through the RTL, bit-exact vs PyTorch")
    s.add_argument("build_dir")
    s.add_argument("--images", type=int, default=1000, help="0 = all images of the golden set")
    s.add_argument("--simulator", default="verilator", choices=["verilator", "icarus"])
    s.add_argument("--stall", type=float, default=0.0, help="probability of m_axis tready low per cycle")
    s.add_argument("--gap", type=float, default=0.0, help="probability of s_axis tvalid low per cycle")
    s.add_argument("--jobs", type=int, default=1, help="parallel simulations, one core each (images split)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_rtlsim)

    c = sub.add_parser("compare", help="every stage on the same images: one report (md/json/html)")
    c.add_argument("build_dir")
    c.add_argument("--images", type=int, default=1000, help="0 = all images of the golden set")
    c.add_argument("--simulator", default="verilator", choices=["verilator", "icarus"])
    c.add_argument("--jobs", type=int, default=1, help="parallel RTL simulations, one core each (images split)")
    c.set_defaults(func=cmd_compare)

    d = sub.add_parser("deploy", help="folder for a PYNQ board: driver, test data, validate.py, Vivado project "
                                      "(+bitfile with --bitfile and Vivado)")
    d.add_argument("build_dir")
    d.add_argument("--out", help="default BUILD_DIR/deploy")
    d.add_argument("--images", type=int, default=10000)
    d.add_argument("--board", choices=list(BOARDS), default=None, help="default: the build's board")
    d.add_argument("--fclk", dest="fclk_mhz", type=float, default=None, help="PL clock in MHz (default: the build's)")
    d.add_argument("--bitfile", action="store_true",
                   help="run the Vivado project (needs vivado on PATH; without it, says what to run where)")
    d.set_defaults(func=cmd_deploy)

    w = sub.add_parser("sweep", help="SURGE vs baselines: models x datasets x estimators x seeds, table + plots")
    w.add_argument("config", help="sweep YAML (see benchmarks/configs/)")
    w.add_argument("--out", required=True)
    w.add_argument("--parallel", type=int, default=None, help="runs in flight (subprocesses; GPUs round-robin)")
    w.add_argument("--summarize-only", action="store_true")
    w.set_defaults(func=cmd_sweep)

    m = sub.add_parser("demo", help="train -> export -> FINN -> RTL -> cocotb -> report, on real MNIST / "
                                    "Fashion-MNIST (cnv: padded to 32x32)")
    m.add_argument("--out", default="runs/demo")
    m.add_argument("--model", default="tfc", choices=["tfc", "sfc", "lfc", "cnv"])
    m.add_argument("--dataset", default=None, choices=["mnist", "fashion_mnist"],
                   help="default mnist (cnv: fashion_mnist, zero-padded to 32x32)")
    m.add_argument("--estimator", default="surge")
    m.add_argument("--epochs", type=int, default=None, help="default 10 (cnv: 1)")
    m.add_argument("--images", type=int, default=1000, help="test images through RTL simulation and the report")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--no-synth", action="store_true")
    m.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message="fast_hadamard_transform")  # Brevitas import-time notice
    if not sys.stderr.isatty():  # logs and CI: a progress line every 10 s, not a redraw every 0.1 s
        os.environ.setdefault("TQDM_MININTERVAL", "10")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("surge-hw: interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        # User-facing errors (bad data, checkpoint, graph, folding, missing simulator) carry their fix in the
        # message; SURGE_HW_DEBUG=1 shows the traceback instead.
        if os.environ.get("SURGE_HW_DEBUG"):
            raise
        print(f"surge-hw {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
