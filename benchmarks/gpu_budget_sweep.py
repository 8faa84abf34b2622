"""Fit one or more sweeps into a fixed wall-clock budget on a lent GPU, and run them all at once.

A lent accelerator comes with minutes, not hours, and the checkpoints cannot outlive it, so a sweep has to finish
inside the lease. This driver:

1. loads each sweep config (``surge_hw.train.sweep.load_config``: a bad option fails before anything runs);
2. probes: every cell of every sweep trains two epochs of ``--probe-steps`` steps, all at the same time, so the
   per-step time is measured under the real contention (one subprocess per cell, as ``--parallel`` does); the
   second epoch's time is used, because the first holds the warm-up (CUDA context, kernel selection), which
   made a one-epoch probe of the 2026-12-04 lease overestimate LFC's epoch 2.3x (8.6 s estimated, 3.8 run);
3. sets each sweep's ``epochs`` to what fits in what is left of ``--budget-s`` (never more than the config's
   own ``epochs``, which acts as the cap), with ``--margin`` for the per-epoch test pass and slower steps;
4. runs the sweeps together with those epochs (each with ``parallel`` = its cell count) and writes
   ``budget.json`` beside each sweep's results: the probe's per-step times, the chosen epochs, the walls.

    python benchmarks/gpu_budget_sweep.py --budget-s 420 \\
        benchmarks/configs/gpu_convnet.yaml=benchmarks/results/sweep_gpu_convnet \\
        benchmarks/configs/gpu_lfc.yaml=benchmarks/results/sweep_gpu_lfc_d1s1
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from surge_hw.data.datasets import load_dataset
from surge_hw.train.sweep import cells, load_config


def _launch(config: dict, out: Path, parallel: int, log: Path) -> subprocess.Popen:
    out.mkdir(parents=True, exist_ok=True)
    cfg_file = out / "budget_config.yaml"  # the config as run (epochs set by the probe)
    cfg_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return subprocess.Popen([sys.executable, "-m", "surge_hw.train.sweep", "--config", str(cfg_file), "--out",
                             str(out), "--parallel", str(parallel)],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)


def _raw(path: Path) -> dict:
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise SystemExit(f"error: {path} is not a YAML mapping")
    return raw


def _steps_per_epoch(cfg: dict) -> int:
    n = len(load_dataset(cfg["datasets"][0], "train").labels)
    if cfg.get("max_train"):
        n = min(n, int(cfg["max_train"]))
    return math.ceil(n / int(cfg["batch_size"]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweeps", nargs="+", metavar="CONFIG=OUT", help="a sweep config and its results directory")
    p.add_argument("--budget-s", type=float, required=True, help="wall seconds for the probe and the sweeps")
    p.add_argument("--probe-steps", type=int, default=25)
    p.add_argument("--margin", type=float, default=1.25,
                   help="multiply the probed epoch time by this (test pass, slower steps); default 1.25")
    p.add_argument("--scratch", default=None, help="where the probe runs (default: a temporary directory)")
    a = p.parse_args(argv)
    t_start = time.time()
    pairs = []
    for s in a.sweeps:
        if "=" not in s:
            raise SystemExit(f"error: {s!r}: give CONFIG=OUT")
        c, o = s.split("=", 1)
        raw = _raw(Path(c))
        cfg = load_config(raw)
        pairs.append((Path(c), Path(o), raw, cfg, len(cells(cfg))))
    scratch = Path(a.scratch or tempfile.mkdtemp(prefix="budget_probe_"))

    # 1. probe: all cells of all sweeps at once, probe_steps steps each
    procs = []
    for i, (c, o, raw, cfg, n) in enumerate(pairs):
        probe = dict(raw, epochs=2, max_steps=a.probe_steps, name=f"{raw.get('name', 'sweep')}_probe")
        pout = scratch / f"probe{i}"
        procs.append(_launch(probe, pout, n, scratch / f"probe{i}.log"))
    for pr in procs:
        pr.wait()
    probe_wall = time.time() - t_start
    plan = []
    for i, (c, o, raw, cfg, n) in enumerate(pairs):
        epoch_s = []
        for h in sorted((scratch / f"probe{i}" / "runs").glob("*/history.csv")):
            rows = h.read_text().strip().splitlines()
            head = rows[0].split(",")
            epoch_s.append(float(rows[-1].split(",")[head.index("epoch_s")]))  # the warm epoch
        if len(epoch_s) != n:
            print((scratch / f"probe{i}.log").read_text()[-3000:])
            raise SystemExit(f"error: probe of {c}: {len(epoch_s)} of {n} cells finished (log above)")
        step_s = max(epoch_s) / a.probe_steps
        spe = _steps_per_epoch(cfg)
        plan.append({"config": str(c), "out": str(o), "cells": n, "probe_step_s_max": round(step_s, 4),
                     "probe_step_s_all": [round(e / a.probe_steps, 4) for e in epoch_s],
                     "steps_per_epoch": spe, "epoch_s_estimate": round(step_s * spe * a.margin, 2),
                     "_estimate": max(step_s * spe * a.margin, 1e-3)})
    left = a.budget_s - (time.time() - t_start) - probe_wall * 0.5  # startup of the real runs ~ half the probe's
    for pl, (c, o, raw, cfg, n) in zip(plan, pairs):
        cap = max(cfg["epochs"].values())
        pl["epochs"] = max(1, min(cap, int(left // pl.pop("_estimate"))))
        pl["epochs_cap"] = cap
    print(json.dumps({"probe_wall_s": round(probe_wall, 1), "left_s": round(left, 1), "plan": plan}, indent=1),
          flush=True)

    # 2. the sweeps, all at once
    t_run = time.time()
    procs = []
    for pl, (c, o, raw, cfg, n) in zip(plan, pairs):
        final = dict(raw, epochs=pl["epochs"])
        procs.append(_launch(final, o, n, o / "sweep.log"))
    while any(pr.poll() is None for pr in procs):
        for pl, pr in zip(plan, procs):
            if pr.poll() is not None and "sweep_wall_s" not in pl:
                pl["sweep_wall_s"] = round(time.time() - t_run, 1)
        time.sleep(1.0)
    for pl, pr in zip(plan, procs):
        pl["returncode"] = pr.returncode
        pl.setdefault("sweep_wall_s", round(time.time() - t_run, 1))
        runs = [json.loads(f.read_text()) for f in sorted(Path(pl["out"], "runs").glob("*/result.json"))]
        if runs:
            pl["epoch_s_measured_max"] = round(max(r["epoch_s_mean"] for r in runs), 2)
        Path(pl["out"], "budget.json").write_text(json.dumps(
            {"budget_s": a.budget_s, "probe_steps": a.probe_steps, "margin": a.margin,
             "probe_wall_s": round(probe_wall, 1), "total_wall_s": round(time.time() - t_start, 1), **pl}, indent=2))
    print(json.dumps(plan, indent=1))
    return 0 if all(pr.returncode == 0 for pr in procs) else 1


if __name__ == "__main__":
    sys.exit(main())
