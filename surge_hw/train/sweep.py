"""Estimator sweep: models x datasets x estimators (+ named SURGE ablations) x seeds, then a paired summary.

Every cell of a sweep trains with the same epochs, optimizer, LR schedule and data order (the trainer's order
depends only on (seed, epoch)), so seed s of SURGE and seed s of STE see the same batches and can be compared
pairwise. A config (YAML or dict)::

    models: [tfc, sfc]
    datasets: [mnist, fashion_mnist]
    estimators: [ste, approx_sign, ede, reste, surge]
    seeds: [0, 1, 2]
    epochs: {tfc: 10, sfc: 5}     # an int, or one per model (same for every estimator of that model)
    batch_size: 256
    lr: 0.01
    surge: {eta: 0.25}           # SurgeConfig defaults for every SURGE variant
    ablations:                   # optional named variants; compared with `reference` (default: surge)
      - {name: eta0.1, estimator: surge, surge: {eta: 0.1}}

Layout: ``out/runs/<model>_<dataset>_<variant>_s<seed>/`` holds the trainer's files (summary.json, last.pt, ...)
and ``result.json``. Re-running skips finished cells and resumes half-finished ones from last.pt.
:func:`summarize` writes ``results.json``, ``table.md`` and the plots.

    python -m surge_hw.train.sweep --config benchmarks/configs/tiny.yaml --out /tmp/sweep
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..data import DATASETS
from .estimators import ESTIMATOR_NAMES, EstimatorState
from .config import CONV_MODELS
from .models import MODELS
from .surge import SurgeConfig
from ..artefacts import write_json_atomic, write_text_atomic

# TrainConfig options a sweep sets for every cell when its config names them
TRAIN_PASSTHROUGH = ("weight_decay", "optimizer", "momentum", "dropout", "augment_shift")
TOP_KEYS = {"name", "description", "models", "datasets", "estimators", "seeds", "epochs", "batch_size", "lr",
            "base_estimator", "max_train", "max_steps", "surge", "estimator_state", "device", "parallel", "threads",
            "isolate", "ablations", "reference", *TRAIN_PASSTHROUGH}
ABLATION_KEYS = {"name", "estimator", "base_estimator", "surge", "estimator_state", "description"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]*$")  # becomes part of a run directory's name
_IMAGE_28 = {"mnist", "fashion_mnist"}


@dataclass
class Cell:
    """One training run of the sweep."""

    model: str
    dataset: str
    variant: str  # estimator name, or an ablation's name
    estimator: str
    seed: int
    train: dict  # TrainConfig kwargs (without out_dir)

    @property
    def name(self) -> str:
        return f"{self.model}_{self.dataset}_{self.variant}_s{self.seed}"


# ---------------------------------------------------------------------------------------------- config


def load_config(config: dict | str | os.PathLike) -> dict:
    """Read (YAML path or dict) and validate a sweep config; returns a normalized copy. Raises ValueError."""
    if isinstance(config, (str, os.PathLike)):
        import yaml

        path = Path(config)
        if not path.exists():
            raise ValueError(f"sweep config {path} does not exist")
        config = yaml.safe_load(path.read_text()) or {}
    if not isinstance(config, dict):
        raise ValueError(f"a sweep config must be a mapping, got {type(config).__name__}")
    cfg = copy.deepcopy(config)
    unknown = set(cfg) - TOP_KEYS
    if unknown:
        raise ValueError(f"unknown sweep config key(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}")

    def as_list(key, default=None):
        v = cfg.get(key, default)
        if v is None:
            raise ValueError(f"sweep config needs {key!r}")
        v = [v] if isinstance(v, (str, int)) else list(v)
        if not v and key != "estimators":
            raise ValueError(f"sweep config {key!r} is empty")
        return v

    cfg["models"] = [str(m).lower() for m in as_list("models")]
    cfg["datasets"] = [str(d).lower() for d in as_list("datasets")]
    cfg["estimators"] = [str(e).lower() for e in as_list("estimators", [])]
    cfg["seeds"] = [int(s) for s in as_list("seeds", [0])]
    for m in cfg["models"]:
        if m not in MODELS:
            raise ValueError(f"unknown model {m!r} in sweep config; choose from {', '.join(MODELS)}")
    for d in cfg["datasets"]:
        if d not in DATASETS:
            raise ValueError(f"unknown dataset {d!r} in sweep config; choose from {', '.join(DATASETS)}")
        for m in cfg["models"]:
            if (m in CONV_MODELS) == (d in _IMAGE_28):
                raise ValueError(f"model {m!r} cannot train on {d!r} (tfc/sfc/lfc take 28x28 MNIST-like "
                                 f"images, cnv/cnv_small take 32x32 CIFAR-10 or padded sets)")
    for e in cfg["estimators"]:
        if e not in ESTIMATOR_NAMES:
            raise ValueError(f"unknown estimator {e!r} in sweep config; choose from {', '.join(ESTIMATOR_NAMES)}")
    for key in ("models", "datasets", "estimators", "seeds"):
        if len(set(cfg[key])) != len(cfg[key]):
            raise ValueError(f"sweep config {key!r} has duplicates: {cfg[key]}")

    epochs = cfg.get("epochs", 10)
    if isinstance(epochs, dict):
        missing = [m for m in cfg["models"] if m not in epochs]
        if missing:
            raise ValueError(f"epochs per model: no value for {missing}")
        cfg["epochs"] = {m: int(epochs[m]) for m in cfg["models"]}
    else:
        cfg["epochs"] = {m: int(epochs) for m in cfg["models"]}
    if any(e < 1 for e in cfg["epochs"].values()):
        raise ValueError("epochs must be >= 1")
    cfg.setdefault("batch_size", 256)
    cfg.setdefault("lr", 0.01)
    cfg.setdefault("device", "cpu")
    cfg.setdefault("parallel", 1)
    cfg.setdefault("threads", 1)
    cfg.setdefault("isolate", False)
    cfg["surge"] = _check_fields(cfg.get("surge") or {}, SurgeConfig, "surge")
    cfg["estimator_state"] = _check_fields(cfg.get("estimator_state") or {}, EstimatorState, "estimator_state")
    if int(cfg["parallel"]) < 1:
        raise ValueError("parallel must be >= 1")

    variants = [{"name": e, "estimator": e, "ablation": False} for e in cfg["estimators"]]
    for i, ab in enumerate(cfg.get("ablations") or []):
        if not isinstance(ab, dict) or "name" not in ab:
            raise ValueError(f"ablation #{i} needs a 'name' (got {ab!r})")
        bad = set(ab) - ABLATION_KEYS
        if bad:
            raise ValueError(f"ablation {ab['name']!r}: unknown key(s) {sorted(bad)}; allowed {sorted(ABLATION_KEYS)}")
        est = str(ab.get("estimator", "surge")).lower()
        if est not in ESTIMATOR_NAMES:
            raise ValueError(f"ablation {ab['name']!r}: unknown estimator {est!r}; choose from "
                             f"{', '.join(ESTIMATOR_NAMES)}")
        v = {"name": str(ab["name"]), "estimator": est, "ablation": True}
        if "surge" in ab:
            v["surge"] = _check_fields(ab["surge"] or {}, SurgeConfig, f"ablation {ab['name']!r} surge")
        if "estimator_state" in ab:
            v["estimator_state"] = _check_fields(ab["estimator_state"] or {}, EstimatorState,
                                                 f"ablation {ab['name']!r} estimator_state")
        if "base_estimator" in ab:
            v["base_estimator"] = str(ab["base_estimator"])
        if ab.get("description"):
            v["description"] = str(ab["description"])
        variants.append(v)
    if not variants:
        raise ValueError("sweep config has no estimators and no ablations")
    names = [v["name"] for v in variants]
    for n in names:
        if not _NAME_RE.match(n):
            raise ValueError(f"variant name {n!r}: use letters, digits, '.', '_', '+', '-' (it becomes a directory name)")
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"duplicate variant name(s) {sorted(dup)} (an ablation may not reuse an estimator's name)")
    cfg["variants"] = variants
    cfg.setdefault("reference", "surge")
    cfg.pop("ablations", None)
    cells(cfg)  # builds every TrainConfig now: a bad option fails before any training starts
    return cfg


def _check_fields(d: dict, cls, what: str) -> dict:
    if not isinstance(d, dict):
        raise ValueError(f"{what} must be a mapping, got {d!r}")
    allowed = {f.name for f in fields(cls)}
    bad = set(d) - allowed
    if bad:
        raise ValueError(f"{what}: unknown option(s) {sorted(bad)}; allowed {sorted(allowed)}")
    return dict(d)


def cells(cfg: dict) -> list[Cell]:
    """All cells, ordered model -> dataset -> seed -> variant, so a stopped sweep has whole paired seeds."""
    from .trainer import TrainConfig

    out = []
    for model in cfg["models"]:
        for dataset in cfg["datasets"]:
            for seed in cfg["seeds"]:
                for v in cfg["variants"]:
                    kw = dict(model=model, dataset=dataset, estimator=v["estimator"], seed=seed,
                              epochs=cfg["epochs"][model], batch_size=int(cfg["batch_size"]), lr=float(cfg["lr"]),
                              device=str(cfg["device"]), max_train=cfg.get("max_train"),
                              max_steps=cfg.get("max_steps"), progress=False, tensorboard=False,
                              estimator_state={**cfg["estimator_state"], **v.get("estimator_state", {})})
                    for k in TRAIN_PASSTHROUGH:
                        if k in cfg:
                            kw[k] = cfg[k]
                    if "base_estimator" in v or "base_estimator" in cfg:
                        kw["base_estimator"] = v.get("base_estimator", cfg.get("base_estimator"))
                    if v["estimator"] == "surge":
                        kw["surge"] = {**cfg["surge"], **v.get("surge", {})}
                    try:
                        tc = TrainConfig(**kw)
                        if tc.estimator == "surge":
                            SurgeConfig(**tc.surge)
                        EstimatorState(**tc.estimator_state)
                    except (TypeError, ValueError) as e:
                        raise ValueError(f"variant {v['name']!r}: {e}") from e
                    out.append(Cell(model, dataset, v["name"], v["estimator"], seed, kw))
    return out


# ---------------------------------------------------------------------------------------------- running


def _optimizer_words(cfg: dict) -> str:
    opt = cfg.get("optimizer", "adam")
    return f"SGD momentum {cfg.get('momentum', 0.9)}" if opt == "sgd" else {"adam": "Adam", "adamw": "AdamW"}[opt]


def hardware_info(device: str, threads: int | None) -> dict:
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "device": device,
            "torch_threads": threads, "python": platform.python_version(), "host": platform.node()}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
    try:
        info["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def _cell_state(cell: Cell, run_dir: Path) -> str:
    """'done' (summary with the expected epochs), 'partial' (checkpoint only) or 'new'."""
    from .trainer import TrainConfig, _comparable

    cfg_file, summary = run_dir / "config.json", run_dir / "summary.json"
    if cfg_file.exists():
        stored = json.loads(json.dumps(_comparable(TrainConfig(**json.loads(cfg_file.read_text())["train"])),
                                       default=str))
        want = json.loads(json.dumps(_comparable(TrainConfig(**cell.train)), default=str))
        if stored != want:
            diff = sorted(k for k in set(stored) | set(want) if stored.get(k) != want.get(k))
            raise ValueError(f"{run_dir} was trained with a different configuration (differs in {diff}); "
                             f"use a new --out directory or the sweep config that produced it")
    if summary.exists() and json.loads(summary.read_text()).get("epochs") == cell.train["epochs"]:
        return "done"
    if (run_dir / "last.pt").exists():
        return "partial"
    return "new"


def _train_size(dataset: str, max_train: int | None) -> int:
    from ..data import load_dataset  # cached in memory by the data stage

    n = len(load_dataset(dataset, "train"))
    return min(n, max_train) if max_train else n


def run_cell(cell: Cell, run_dir: Path, threads: int | None = 1) -> dict:
    """Train one cell (resuming from last.pt if present) and write its result.json."""
    import torch

    from .trainer import TrainConfig, train

    if threads:
        torch.set_num_threads(int(threads))
    state = _cell_state(cell, run_dir)
    if state != "done":
        train(TrainConfig(**cell.train), run_dir, resume=state == "partial")
    return write_result(cell, run_dir)


def write_result(cell: Cell, run_dir: Path) -> dict:
    from .checkpoint import load_checkpoint

    summary = json.loads((run_dir / "summary.json").read_text())
    history = load_checkpoint(run_dir / "last.pt")["history"]
    max_steps = cell.train.get("max_steps")
    n_train = _train_size(cell.dataset, cell.train.get("max_train"))
    steps = math.ceil(n_train / cell.train["batch_size"])
    result = {
        "run": cell.name, "model": cell.model, "dataset": cell.dataset, "variant": cell.variant,
        "estimator": cell.estimator, "seed": cell.seed, "epochs": cell.train["epochs"],
        "batch_size": cell.train["batch_size"], "lr": cell.train["lr"], "train_size": n_train,
        "steps_per_epoch": min(steps, max_steps) if max_steps else steps,
        "surge": cell.train.get("surge") if cell.estimator == "surge" else None,
        "test_acc": summary["test_acc"], "best_test_acc": summary["best_test_acc"],
        "epoch_s_mean": summary["epoch_s_mean"], "train_s_total": round(sum(r["epoch_s"] for r in history), 3),
        "device": summary.get("device"), "history": history, "train_config": cell.train,
    }
    write_json_atomic(run_dir / "result.json", result)
    return result


def _cell_from_file(run_dir: Path) -> Cell:
    return Cell(**json.loads((run_dir / "cell.json").read_text()))


def run_sweep(config: dict | str | os.PathLike, out_dir: str | os.PathLike, progress: bool = True,
              parallel: int | None = None, device: str | None = None, summarize_after: bool = True) -> dict:
    """Run every unfinished cell of ``config`` into ``out_dir``; returns {'ran', 'skipped', 'failed', ...}.

    ``parallel`` > 1 (or ``isolate: true``) runs each cell in its own subprocess, K at a time (for CUDA;
    on a shared CPU keep 1). ``device``/``parallel`` override the config's values.
    """
    cfg = load_config(config)
    if device is not None:
        cfg["device"] = device
    if parallel is not None:
        if int(parallel) < 1:
            raise ValueError("parallel must be >= 1")
        cfg["parallel"] = int(parallel)
    if str(cfg["device"]).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"sweep device {cfg['device']!r} but CUDA is not available here; use --device cpu")
    out_dir = Path(out_dir)
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    all_cells = cells(cfg)
    # Fail on a stale/different run dir before training anything.
    states = {c.name: _cell_state(c, out_dir / "runs" / c.name) for c in all_cells}
    state_file = out_dir / "sweep_state.json"
    sweep_state = json.loads(state_file.read_text()) if state_file.exists() else {"sessions": []}
    stored_cfg = out_dir / "sweep_config.json"
    stored_cfg.write_text(json.dumps(cfg, indent=2))
    session = {"start": time.strftime("%Y-%m-%d %H:%M:%S"), "hardware": hardware_info(cfg["device"], cfg["threads"]),
               "parallel": cfg["parallel"], "ran": [], "failed": []}
    t0 = time.time()

    def save_state():
        session["wall_s"] = round(time.time() - t0, 2)
        try:
            session["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        except OSError:
            pass
        write_json_atomic(state_file, sweep_state)

    todo = [c for c in all_cells if states[c.name] != "done"]
    skipped = [c.name for c in all_cells if states[c.name] == "done"]
    if todo:  # a session that only skips adds no wall time and no hardware record
        sweep_state["sessions"].append(session)
    for c in all_cells:  # a finished cell whose result.json is missing (killed in between) gets one
        if states[c.name] == "done" and not (out_dir / "runs" / c.name / "result.json").exists():
            write_result(c, out_dir / "runs" / c.name)
    _log(progress, f"sweep: {len(all_cells)} cells, {len(skipped)} already finished, {len(todo)} to run "
                   f"({sum(states[c.name] == 'partial' for c in todo)} resume) -> {out_dir}")
    save_state()
    isolate = cfg["parallel"] > 1 or bool(cfg.get("isolate"))
    try:
        if isolate:
            _run_subprocesses(todo, out_dir, cfg, session, progress, save_state)
        else:
            _run_in_process(todo, out_dir, cfg, session, progress, save_state)
    finally:
        save_state()
    res = {"ran": list(session["ran"]), "skipped": skipped, "failed": list(session["failed"]),
           "wall_s": session["wall_s"], "out_dir": str(out_dir)}
    if summarize_after:
        res["summary"] = summarize(out_dir)
    return res


def _log(progress: bool, msg: str) -> None:
    """A progress line (failures are printed to stderr whatever ``progress`` says)."""
    if progress:
        print(msg, flush=True)


def _run_in_process(todo, out_dir, cfg, session, progress, save_state):
    import torch

    old_threads = torch.get_num_threads()
    try:
        for i, c in enumerate(todo, 1):
            t = time.time()
            try:
                r = run_cell(c, out_dir / "runs" / c.name, cfg["threads"])
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as e:  # one broken cell must not lose the rest of a long sweep
                session["failed"].append({"run": c.name, "error": f"{type(e).__name__}: {e}"})
                print(f"[{i}/{len(todo)}] {c.name}: FAILED {type(e).__name__}: {e}", file=sys.stderr, flush=True)
                save_state()
                continue
            session["ran"].append(c.name)
            save_state()
            _log(progress, f"[{i}/{len(todo)}] {c.name}: top-1 {100 * r['test_acc']:.2f}% "
                           f"({r['epoch_s_mean']:.2f} s/epoch, {time.time() - t:.0f} s)")
    finally:
        torch.set_num_threads(old_threads)


def _run_subprocesses(todo, out_dir, cfg, session, progress, save_state):
    import torch

    gpus = torch.cuda.device_count() if str(cfg["device"]) == "cuda" and torch.cuda.is_available() else 0
    pending = list(todo)
    running: dict = {}  # slot -> (cell, proc, log, t0)
    done = 0
    env = dict(os.environ)
    if cfg["threads"]:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(cfg["threads"])
    try:
        while pending or running:
            free = [s for s in range(cfg["parallel"]) if s not in running]
            while pending and free:
                slot, c = free.pop(0), pending.pop(0)
                run_dir = out_dir / "runs" / c.name
                run_dir.mkdir(parents=True, exist_ok=True)
                cell = copy.deepcopy(c)
                if gpus > 1:
                    cell.train["device"] = f"cuda:{slot % gpus}"
                (run_dir / "cell.json").write_text(json.dumps(asdict(cell), indent=2))
                log = open(run_dir / "train.log", "a")
                proc = subprocess.Popen([sys.executable, "-m", "surge_hw.train.sweep", "--run-cell", str(run_dir),
                                         "--threads", str(cfg["threads"] or 0)],
                                        stdout=log, stderr=subprocess.STDOUT, env=env)
                running[slot] = (c, proc, log, time.time())
            time.sleep(0.5)
            for slot, (c, proc, log, t) in list(running.items()):
                if proc.poll() is None:
                    continue
                log.close()
                del running[slot]
                done += 1
                res_file = out_dir / "runs" / c.name / "result.json"
                if proc.returncode == 0 and res_file.exists():
                    r = json.loads(res_file.read_text())
                    session["ran"].append(c.name)
                    _log(progress, f"[{done}/{len(todo)}] {c.name}: top-1 {100 * r['test_acc']:.2f}% "
                                   f"({r['epoch_s_mean']:.2f} s/epoch, {time.time() - t:.0f} s)")
                else:
                    tail = (out_dir / "runs" / c.name / "train.log").read_text()[-1500:]
                    session["failed"].append({"run": c.name, "error": f"exit {proc.returncode}: {tail}"})
                    print(f"[{done}/{len(todo)}] {c.name}: FAILED (exit {proc.returncode}), see "
                          f"{out_dir / 'runs' / c.name / 'train.log'}", file=sys.stderr, flush=True)  # even without progress
                save_state()
    finally:
        for c, proc, log, _ in running.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
            log.close()


# ---------------------------------------------------------------------------------------------- summary


def _stats(vals):
    a = np.asarray(vals, dtype=float)
    if len(a) == 0:
        return float("nan"), float("nan")
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def paired(a: dict, b: dict) -> dict:
    """Per-seed differences a - b (in percentage points) on the seeds both have, with a paired t-test."""
    seeds = sorted(set(a) & set(b))
    d = [100 * (a[s] - b[s]) for s in seeds]
    out = {"seeds": seeds, "diffs_pp": d, "n": len(d)}
    out["mean_pp"], out["std_pp"] = _stats(d)
    out["wins"] = int(sum(x > 0 for x in d))
    out["p"] = None
    if len(d) >= 2:
        from scipy.stats import ttest_rel

        p = float(ttest_rel([100 * a[s] for s in seeds], [100 * b[s] for s in seeds]).pvalue)
        out["p"] = None if math.isnan(p) else p
    return out


def _fmt_pm(m, s, n, digits=2):
    """'mean ± std'; one seed has no spread, so it is shown as 'mean (1 seed)', never '± 0.00'."""
    if m is None or (isinstance(m, float) and math.isnan(m)):
        return "—"
    if n < 2:
        return f"{m:.{digits}f} (1 seed)"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def _fmt_p(p, n):
    if n < 2:
        return f"n/a (n={n})"
    if p is None:
        return "n/a (identical diffs)"
    return f"{p:.3g}"


def _fmt_diff(pr: dict) -> str:
    if pr["n"] == 0:
        return "—"
    if pr["n"] == 1:
        return f"{pr['mean_pp']:+.2f} pp (1 seed)"
    return f"{pr['mean_pp']:+.2f} ± {pr['std_pp']:.2f} pp (wins {pr['wins']}/{pr['n']})"


def summarize(out_dir: str | os.PathLike) -> dict:
    """Collect runs/*/result.json and write results.json, table.md, accuracy.png, curves.png, epoch_time.png."""
    out_dir = Path(out_dir)
    cfg = json.loads((out_dir / "sweep_config.json").read_text())
    state = json.loads((out_dir / "sweep_state.json").read_text()) if (out_dir / "sweep_state.json").exists() \
        else {"sessions": []}
    expected = cells(cfg)
    runs = []
    for c in expected:
        f = out_dir / "runs" / c.name / "result.json"
        if f.exists():
            runs.append(json.loads(f.read_text()))
    variants = cfg["variants"]
    main_names = [v["name"] for v in variants if not v["ablation"]]
    ab_names = [v["name"] for v in variants if v["ablation"]]
    baselines = [n for n in main_names if n != "surge" and next(v for v in variants if v["name"] == n)["estimator"]
                 != "surge"]
    groups = []
    for model in cfg["models"]:
        for dataset in cfg["datasets"]:
            g = {"model": model, "dataset": dataset, "epochs": cfg["epochs"][model], "variants": {}}
            for v in variants:
                rs = sorted((r for r in runs if r["model"] == model and r["dataset"] == dataset
                             and r["variant"] == v["name"]), key=lambda r: r["seed"])
                if not rs:
                    continue
                m, s = _stats([100 * r["test_acc"] for r in rs])
                ne = min(len(r["history"]) for r in rs)
                g["variants"][v["name"]] = {
                    "estimator": v["estimator"], "ablation": v["ablation"], "n": len(rs),
                    "seeds": [r["seed"] for r in rs], "acc_by_seed": {r["seed"]: r["test_acc"] for r in rs},
                    "top1_mean": m, "top1_std": s,
                    "epoch_s_mean": float(np.mean([r["epoch_s_mean"] for r in rs])),
                    "curve_mean": [float(np.mean([r["history"][e]["test_acc"] for r in rs])) for e in range(ne)],
                    "curve_std": [float(np.std([r["history"][e]["test_acc"] for r in rs])) for e in range(ne)],
                    "train_size": rs[0]["train_size"], "steps_per_epoch": rs[0]["steps_per_epoch"],
                    "surge": v.get("surge"),
                }
            gv = g["variants"]
            present = [b for b in baselines if b in gv]
            if "surge" in gv and present:
                best = max(present, key=lambda b: gv[b]["top1_mean"])
                g["best_baseline"] = best
                g["surge_minus_best"] = paired(gv["surge"]["acc_by_seed"], gv[best]["acc_by_seed"])
                if "ste" in gv:
                    g["surge_minus_ste"] = paired(gv["surge"]["acc_by_seed"], gv["ste"]["acc_by_seed"])
                g["surge_minus_each"] = {b: paired(gv["surge"]["acc_by_seed"], gv[b]["acc_by_seed"])
                                         for b in present}
            ref = cfg.get("reference", "surge")
            if ref in gv:
                g["ablation_vs_ref"] = {n: paired(gv[n]["acc_by_seed"], gv[ref]["acc_by_seed"])
                                        for n in ab_names if n in gv}
            groups.append(g)

    sessions = state.get("sessions", [])
    hw = sessions[-1]["hardware"] if sessions else hardware_info(cfg["device"], cfg.get("threads"))
    hw_all = []
    for sess in sessions:
        h = {k: sess["hardware"].get(k) for k in ("cpu", "cores", "torch", "device", "gpu", "torch_threads")}
        if h not in hw_all:
            hw_all.append(h)
    total_wall = round(sum(s.get("wall_s", 0.0) for s in sessions), 1)
    budget = {m: {"epochs": cfg["epochs"][m], "batch_size": cfg["batch_size"], "lr": cfg["lr"],
                  "max_train": cfg.get("max_train"), "max_steps": cfg.get("max_steps")} for m in cfg["models"]}
    for g in groups:
        for v in g["variants"].values():
            budget[g["model"]].setdefault("train_size", {})[g["dataset"]] = v["train_size"]
            budget[g["model"]].setdefault("steps_per_epoch", {})[g["dataset"]] = v["steps_per_epoch"]
    results = {"config": cfg, "hardware": hw, "hardware_all_sessions": hw_all, "sessions": sessions, "total_wall_s": total_wall,
               "train_s_sum": round(sum(r["train_s_total"] for r in runs), 1), "budget": budget,
               "cells_expected": len(expected), "cells_finished": len(runs),
               "missing": [c.name for c in expected if not (out_dir / "runs" / c.name / "result.json").exists()],
               "groups": groups, "runs": runs}
    write_json_atomic(out_dir / "results.json", results)
    write_text_atomic(out_dir / "table.md", _table_md(results, main_names, ab_names, baselines))
    _plots(out_dir, groups, main_names, ab_names)
    print(f"summary: wrote {out_dir / 'results.json'}, {out_dir / 'table.md'}, accuracy.png, curves.png, "
          f"epoch_time.png in {out_dir}")
    return results


def _table_md(res: dict, main_names, ab_names, baselines) -> str:
    cfg, hw, groups = res["config"], res["hardware"], res["groups"]
    L = [f"# Sweep `{cfg.get('name', '')}`: top-1 test accuracy (%)", ""]
    L.append(f"- **Hardware**: {hw.get('cpu')} ({hw.get('cores')} cores), torch {hw.get('torch')}, device "
             f"`{hw.get('device')}`{' (' + hw['gpu'] + ')' if hw.get('gpu') else ''}, torch threads per run "
             f"{hw.get('torch_threads')}, {res['sessions'][-1]['parallel'] if res['sessions'] else 1} run(s) in "
             f"flight; load average at start {hw.get('loadavg_at_start')} (shared machine: epoch times are noisy)")
    L.append(f"- **Total wall time**: {res['total_wall_s']:.0f} s over {len(res['sessions'])} session(s) "
             f"(sum of training time {res['train_s_sum']:.1f} s)")
    if len(res.get("hardware_all_sessions", [])) > 1:
        L.append(f"- **Note**: sessions ran on different setups: {res['hardware_all_sessions']}")
    budget = "; ".join(
        f"{m}: {b['epochs']} epochs × {', '.join(f'{d} {n} imgs' for d, n in b.get('train_size', {}).items())}"
        f"{', max ' + str(b['max_steps']) + ' steps/epoch' if b.get('max_steps') else ''}"
        for m, b in res["budget"].items())
    L.append(f"- **Budget**: {budget}; batch {cfg['batch_size']}, {_optimizer_words(cfg)} lr {cfg['lr']}, cosine "
             f"schedule, same data order per seed for every estimator; seeds {cfg['seeds']}")
    L.append(f"- **Cells finished**: {res['cells_finished']}/{res['cells_expected']}"
             + (f" — MISSING: {', '.join(res['missing'][:12])}{' …' if len(res['missing']) > 12 else ''}"
                if res["missing"] else ""))
    L.append("- Top-1 = final-epoch test accuracy (no best-epoch selection), mean ± sample std (ddof=1) over seeds. "
             "Differences are paired by seed (same init seed and data order), in percentage points; p = two-sided "
             "paired t-test (scipy.stats.ttest_rel). 'Best baseline' = the baseline with the highest mean here, "
             "picked on these same test numbers (favours the baseline). wins = seeds where SURGE is higher.")
    L.append("")
    if main_names:
        L += ["## Main comparison", ""]
        hdr = ["model", "dataset", "epochs"] + main_names + ["n seeds", "SURGE − best baseline", "p",
                                                              "SURGE − STE", "p (STE)"]
        L += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
        for g in groups:
            gv = g["variants"]
            present = [n for n in main_names if n in gv]
            if not present:
                continue
            top = max(present, key=lambda n: gv[n]["top1_mean"])
            row = [g["model"], g["dataset"], str(g["epochs"])]
            for n in main_names:
                cell = _fmt_pm(gv[n]["top1_mean"], gv[n]["top1_std"], gv[n]["n"]) if n in gv else "—"
                row.append(f"**{cell}**" if n == top else cell)
            ns = sorted({gv[n]["n"] for n in present})
            row.append("/".join(map(str, ns)))
            if "surge_minus_best" in g:
                pb = g["surge_minus_best"]
                row += [f"{_fmt_diff(pb)} vs {g['best_baseline']}", _fmt_p(pb["p"], pb["n"])]
            else:
                row += ["—", "—"]
            if "surge_minus_ste" in g:
                ps = g["surge_minus_ste"]
                row += [_fmt_diff(ps), _fmt_p(ps["p"], ps["n"])]
            else:
                row += ["—", "—"]
            L.append("| " + " | ".join(row) + " |")
        L += ["", "Bold = highest mean in the row.", ""]
        L += ["### Per estimator (long form)", ""]
        hdr = ["model", "dataset", "estimator", "top-1 % mean ± std", "n", "s/epoch (train)", "× STE time",
               "SURGE − this (paired)", "p"]
        L += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
        for g in groups:
            gv = g["variants"]
            ste_t = gv["ste"]["epoch_s_mean"] if "ste" in gv else None
            for n in main_names:
                if n not in gv:
                    continue
                v = gv[n]
                pr = g.get("surge_minus_each", {}).get(n)
                L.append("| " + " | ".join([
                    g["model"], g["dataset"], n, _fmt_pm(v["top1_mean"], v["top1_std"], v["n"]), str(v["n"]),
                    f"{v['epoch_s_mean']:.2f}", f"{v['epoch_s_mean'] / ste_t:.2f}" if ste_t else "—",
                    _fmt_diff(pr) if pr else "—", _fmt_p(pr["p"], pr["n"]) if pr else "—"]) + " |")
        L.append("")
    if ab_names:
        ref = cfg.get("reference", "surge")
        L += [f"## Ablations (compared with `{ref}`, the default SURGE: "
              f"{json.dumps(cfg.get('surge') or {})} over SurgeConfig defaults)", ""]
        hdr = ["model", "dataset", "epochs", "variant", "settings", "top-1 % mean ± std", "n", "s/epoch (train)",
               f"variant − {ref} (paired)", "p"]
        L += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
        for g in groups:
            gv = g["variants"]
            for n in [ref] + [a for a in ab_names if a != ref]:
                if n not in gv:
                    continue
                v = gv[n]
                pr = g.get("ablation_vs_ref", {}).get(n)
                settings = json.dumps(v["surge"]) if v.get("surge") else (v["estimator"] if n != ref else "default")
                L.append("| " + " | ".join([
                    g["model"], g["dataset"], str(g["epochs"]), n, settings.replace("|", "/"),
                    _fmt_pm(v["top1_mean"], v["top1_std"], v["n"]), str(v["n"]), f"{v['epoch_s_mean']:.2f}",
                    _fmt_diff(pr) if pr else "(reference)", _fmt_p(pr["p"], pr["n"]) if pr else "—"]) + " |")
        L.append("")
    L += ["Plots: accuracy.png (mean ± std, dots = seeds), curves.png (test accuracy per epoch, mean over seeds), "
          "epoch_time.png. Per-run data: runs/*/result.json; everything: results.json.", ""]
    return "\n".join(L)


def _plots(out_dir: Path, groups: list, main_names: list, ab_names: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = main_names + ab_names
    groups = [g for g in groups if g["variants"]]
    n = max(1, len(groups))
    colors = {nm: plt.cm.tab10(i % 10) for i, nm in enumerate(names)}

    def panels(width=4.2, height=3.4):
        fig, axes = plt.subplots(1, n, figsize=(max(width * n, 5), height), squeeze=False)
        return fig, axes[0]

    def save(fig, name):
        fig.tight_layout()
        tmp = out_dir / (name + ".tmp.png")
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        os.replace(tmp, out_dir / (name + ".png"))

    fig, axes = panels(width=max(4.2, 0.55 * len(names) + 1.5))
    for ax, g in zip(axes, groups):
        present = [nm for nm in names if nm in g["variants"]]
        ms = [g["variants"][nm]["top1_mean"] for nm in present]
        ss = [g["variants"][nm]["top1_std"] for nm in present]
        ax.bar(range(len(present)), ms, yerr=ss, capsize=3, color=[colors[nm] for nm in present], alpha=0.8)
        for i, nm in enumerate(present):
            seeds = list(g["variants"][nm]["acc_by_seed"].values())
            ax.plot([i] * len(seeds), [100 * a for a in seeds], "k.", ms=4)
        lo = min(m - s for m, s in zip(ms, ss))
        hi = max(max(m + s for m, s in zip(ms, ss)),
                 max(100 * max(g["variants"][nm]["acc_by_seed"].values()) for nm in present))
        lo = min(lo, min(100 * min(g["variants"][nm]["acc_by_seed"].values()) for nm in present))
        pad = max(0.5, 0.15 * (hi - lo))
        ax.set_ylim(max(0, lo - pad), min(100, hi + pad))  # zoomed: the bars' base is not 0
        ax.set_xticks(range(len(present)), present, rotation=40, ha="right", fontsize=8)
        ax.set_ylabel("top-1 % (axis zoomed)")
        ax.set_title(f"{g['model']} {g['dataset']} ({g['epochs']} ep)", fontsize=9)
    save(fig, "accuracy")

    fig, axes = panels()
    for ax, g in zip(axes, groups):
        for nm in names:
            if nm not in g["variants"]:
                continue
            v = g["variants"][nm]
            ep = np.arange(1, len(v["curve_mean"]) + 1)
            m, s = 100 * np.asarray(v["curve_mean"]), 100 * np.asarray(v["curve_std"])
            ax.plot(ep, m, "o-" if len(ep) < 15 else "-", ms=3, label=f"{nm} (n={v['n']})", color=colors[nm])
            ax.fill_between(ep, m - s, m + s, color=colors[nm], alpha=0.12)
        ax.set_xlabel("epoch"), ax.set_ylabel("test top-1 %")
        ax.set_title(f"{g['model']} {g['dataset']}", fontsize=9)
        ax.legend(fontsize=7)
    save(fig, "curves")

    fig, axes = panels(width=max(4.2, 0.55 * len(names) + 1.5))
    for ax, g in zip(axes, groups):
        present = [nm for nm in names if nm in g["variants"]]
        ax.bar(range(len(present)), [g["variants"][nm]["epoch_s_mean"] for nm in present],
               color=[colors[nm] for nm in present], alpha=0.8)
        ax.set_xticks(range(len(present)), present, rotation=40, ha="right", fontsize=8)
        ax.set_ylabel("s / epoch (training, mean over seeds)")
        ax.set_title(f"{g['model']} {g['dataset']}", fontsize=9)
    save(fig, "epoch_time")


# ---------------------------------------------------------------------------------------------- CLI


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Run an estimator sweep (or one cell of it) and summarize it.")
    p.add_argument("--config", help="sweep YAML")
    p.add_argument("--out", help="sweep output directory")
    p.add_argument("--parallel", type=int, default=None, help="runs in flight (subprocesses; keep 1 on a shared CPU)")
    p.add_argument("--device", default=None, help="override the config's device (cpu, cuda)")
    p.add_argument("--summarize-only", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--run-cell", help=argparse.SUPPRESS)  # internal: one cell in a subprocess
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.run_cell:
        run_dir = Path(a.run_cell)
        run_cell(_cell_from_file(run_dir), run_dir, a.threads or None)
        return 0
    if not a.out:
        p.error("--out is required")
    if a.summarize_only:
        summarize(a.out)
        return 0
    if not a.config:
        p.error("--config is required (or --summarize-only)")
    res = run_sweep(a.config, a.out, progress=not a.no_progress, parallel=a.parallel, device=a.device)
    print(f"sweep: ran {len(res['ran'])}, skipped {len(res['skipped'])} finished, failed {len(res['failed'])}; "
          f"{res['wall_s']:.0f} s; see {Path(a.out) / 'table.md'}")
    return 1 if res["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
