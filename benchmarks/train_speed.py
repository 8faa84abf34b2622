"""SURGE vs STE training cost on the same model, data and batches, measured in one run.

Goal (issue #3/#7): SURGE epoch time <= 1.5x STE. Timing alternates the two estimators in rounds so that
machine noise (other processes, thermal) hits both alike; the median round is reported.

    python benchmarks/train_speed.py --model lfc --out benchmarks/results/train_speed.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from surge_hw.data import load_dataset
from surge_hw.train.trainer import TrainConfig, build_for_training, epoch_order


def time_steps(model, opt, x, y, order, batch, steps, device):
    model.train()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    for s in range(steps):
        idx = order[s * batch:(s + 1) * batch]
        xb, yb = x[idx].to(device, non_blocking=True), y[idx].to(device, non_blocking=True)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.clip_weights()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="lfc")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=40, help="steps per timed round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default="benchmarks/results/train_speed.json")
    args = p.parse_args(argv)

    ds = load_dataset(args.dataset, "train")
    x, y = ds.to_tensors()
    if args.device.startswith("cuda"):
        x, y = x.to(args.device), y.to(args.device)
    order = epoch_order(len(x), 0, 0)
    steps_per_epoch = -(-len(x) // args.batch_size)
    runs = {}
    for est in ("ste", "surge"):
        model, _ = build_for_training(TrainConfig(model=args.model, estimator=est), tuple(x.shape[1:]), 10)
        model.to(args.device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        time_steps(model, opt, x, y, order, args.batch_size, 5, args.device)  # warm-up
        runs[est] = (model, opt, [])
    for _ in range(args.rounds):
        for est, (model, opt, times) in runs.items():
            times.append(time_steps(model, opt, x, y, order, args.batch_size, args.steps, args.device) / args.steps)
    result = {"model": args.model, "dataset": args.dataset, "batch_size": args.batch_size, "device": args.device,
              "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
              "cores": os.cpu_count(), "steps_per_round": args.steps, "rounds": args.rounds}
    for est, (_, _, times) in runs.items():
        med = statistics.median(times)
        result[est] = {"ms_per_step_median": 1e3 * med, "ms_per_step_all": [1e3 * t for t in times],
                       "epoch_s_estimate": med * steps_per_epoch}
    result["surge_over_ste"] = result["surge"]["ms_per_step_median"] / result["ste"]["ms_per_step_median"]
    result["goal_surge_over_ste_max"] = 1.5
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"{args.model} on {args.device}: STE {result['ste']['ms_per_step_median']:.2f} ms/step, SURGE "
          f"{result['surge']['ms_per_step_median']:.2f} ms/step, ratio {result['surge_over_ste']:.2f} -> {out}")
    return result


if __name__ == "__main__":
    main()
