"""``surge-hw``: one command per stage, plus ``demo`` that chains them.

Each stage reads the previous stage's artefact from disk and prints where it wrote its own.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields
from pathlib import Path


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
                "max_train", "act_bits", "optimizer", "base_estimator", "dropout"):
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="surge-hw", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a BNN with SURGE or a baseline estimator")
    t.add_argument("--model", choices=["tfc", "sfc", "lfc", "cnv"])
    t.add_argument("--dataset", choices=["mnist", "fashion_mnist", "cifar10"])
    t.add_argument("--estimator", help="surge | ste | identity | approx_sign | ede | reste")
    t.add_argument("--base-estimator", dest="base_estimator", help="SURGE's binary-path surrogate (default ste)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", dest="batch_size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--optimizer", choices=["adam", "adamw"])
    t.add_argument("--seed", type=int)
    t.add_argument("--device", help="cpu | cuda | cuda:N")
    t.add_argument("--act-bits", dest="act_bits", type=int, choices=[1, 2])
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
    return p


def main(argv: list[str] | None = None) -> int:
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
