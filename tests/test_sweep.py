"""Sweep: runs every cell, summarizes honestly (table = per-run JSON), skips finished cells, rejects bad configs."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from surge_hw.train import sweep as sweep_mod
from surge_hw.train.sweep import load_config, run_sweep, summarize

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "benchmarks" / "configs" / "tiny.yaml"


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("sweep")
    res = run_sweep(TINY, out, progress=False)
    return out, res


def _row(table: str, *cells: str) -> list[str]:
    for line in table.splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if parts[:len(cells)] == list(cells):
            return parts
    raise AssertionError(f"no row starting with {cells} in table.md:\n{table}")


def test_sweep_writes_everything(tiny_sweep):
    out, res = tiny_sweep
    cfg = yaml.safe_load(TINY.read_text())
    n_cells = len(cfg["seeds"]) * (len(cfg["estimators"]) + len(cfg["ablations"]))
    assert len(res["ran"]) == n_cells and not res["failed"] and not res["skipped"]
    for f in ("results.json", "table.md", "accuracy.png", "curves.png", "epoch_time.png"):
        assert (out / f).stat().st_size > 0, f
    results = json.loads((out / "results.json").read_text())
    assert results["cells_finished"] == n_cells and not results["missing"]
    assert {"cpu", "cores", "torch", "device"} <= set(results["hardware"]) and results["total_wall_s"] > 0
    for name in res["ran"]:
        r = json.loads((out / "runs" / name / "result.json").read_text())
        assert (out / "runs" / name / "last.pt").exists() and len(r["history"]) == r["epochs"] == 1
        assert r["train_size"] == 1024 and r["steps_per_epoch"] == 4
    table = (out / "table.md").read_text()
    assert "Hardware" in table and "Total wall time" in table and "1024 imgs" in table and "Ablations" in table


def test_table_numbers_equal_per_run_json(tiny_sweep):
    from scipy.stats import ttest_rel

    out, _ = tiny_sweep
    table = (out / "table.md").read_text()
    acc = {}
    for f in (out / "runs").glob("*/result.json"):
        r = json.loads(f.read_text())
        acc.setdefault(r["variant"], {})[r["seed"]] = 100 * r["test_acc"]
    for variant, by_seed in acc.items():
        a = np.array([by_seed[s] for s in sorted(by_seed)])
        want = f"{a.mean():.2f} ± {a.std(ddof=1):.2f}"
        if variant in ("ste", "surge"):
            row = _row(table, "tfc", "mnist", variant)  # long-form per-estimator table
            assert row[3] == want, (variant, row)
        else:
            row = _row(table, "tfc", "mnist", "1", variant)  # ablation table
            assert row[5] == want, (variant, row)
    # SURGE - best baseline (only STE here): paired per-seed differences and the paired t-test
    seeds = sorted(acc["surge"])
    d = np.array([acc["surge"][s] - acc["ste"][s] for s in seeds])
    main = _row(table, "tfc", "mnist", "1")
    assert main[6].startswith(f"{d.mean():+.2f} ± {d.std(ddof=1):.2f} pp") and main[6].endswith("vs ste")
    p = ttest_rel([acc["surge"][s] for s in seeds], [acc["ste"][s] for s in seeds]).pvalue
    assert main[7] == f"{p:.3g}"
    assert re.search(r"wins \d/2", main[6])


def test_rerun_skips_finished_cells(tiny_sweep, monkeypatch):
    out, _ = tiny_sweep
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/last.pt")}
    calls = []
    monkeypatch.setattr(sweep_mod, "run_cell", lambda *a, **k: calls.append(a))
    res = run_sweep(TINY, out, progress=False)
    assert res["ran"] == [] and len(res["skipped"]) == len(mtimes) and calls == []
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_half_finished_sweep_resumes(tmp_path, monkeypatch):
    cfg = {**yaml.safe_load(TINY.read_text()), "seeds": [0], "ablations": []}
    first = run_sweep({**cfg, "estimators": ["ste"]}, tmp_path, progress=False, summarize_after=False)
    assert first["ran"] == ["tfc_mnist_ste_s0"]
    # A run killed after its checkpoint but before summary.json: the next sweep resumes it (resume=True).
    (tmp_path / "runs" / "tfc_mnist_ste_s0" / "summary.json").unlink()
    seen = []
    from surge_hw.train import trainer

    orig = trainer.train
    monkeypatch.setattr(trainer, "train", lambda c, d, resume=False: (seen.append((c.estimator, resume)),
                                                                        orig(c, d, resume=resume))[1])
    res = run_sweep(cfg, tmp_path, progress=False)
    assert sorted(seen) == [("ste", True), ("surge", False)]
    assert sorted(res["ran"]) == ["tfc_mnist_ste_s0", "tfc_mnist_surge_s0"]
    summarize(tmp_path)
    assert json.loads((tmp_path / "results.json").read_text())["cells_finished"] == 2
    # One seed has no spread: the table says so instead of printing "± 0.00".
    table = (tmp_path / "table.md").read_text()
    assert "± 0.00" not in table
    acc = 100 * json.loads((tmp_path / "runs" / "tfc_mnist_surge_s0" / "result.json").read_text())["test_acc"]
    assert f"{acc:.2f} (1 seed)" in _row(table, "tfc", "mnist", "surge")[3]


@pytest.mark.parametrize("patch, msg", [
    ({"estimators": ["ste", "sureg"]}, "unknown estimator 'sureg'"),
    ({"models": ["tfc", "xfc"]}, "unknown model 'xfc'"),
    ({"datasets": ["mnist", "imagenet"]}, "unknown dataset 'imagenet'"),
    ({"models": ["cnv"]}, "cannot train on"),
    ({"ablations": [{"name": "x", "estimator": "nope"}]}, "unknown estimator 'nope'"),
    ({"ablations": [{"name": "ste"}]}, "duplicate variant"),
    ({"ablations": [{"name": "e", "surge": {"eta": 2.0}}]}, "eta must be in"),
    ({"ablations": [{"name": "e", "surge": {"etta": 0.1}}]}, "unknown option"),
    ({"epochs": {"sfc": 3}}, "no value for"),
    ({"learning_rate": 0.1}, "unknown sweep config key"),
])
def test_bad_config_raises_clear_value_error(patch, msg, tmp_path):
    cfg = {**yaml.safe_load(TINY.read_text()), **patch}
    with pytest.raises(ValueError, match=re.escape(msg)):
        run_sweep(cfg, tmp_path, progress=False)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_repo_configs_are_valid():
    for f in sorted((ROOT / "benchmarks" / "configs").glob("*.yaml")):
        cfg = load_config(f)
        assert cfg["variants"], f
    main = load_config(ROOT / "benchmarks" / "configs" / "cpu_main.yaml")
    assert [v["name"] for v in main["variants"]] == ["ste", "approx_sign", "ede", "reste", "surge"]
    assert main["seeds"] == [0, 1, 2] and main["threads"] == 1 and main["parallel"] == 1


def test_subprocess_runner(tmp_path):
    """The --parallel path (one subprocess per cell), here with one run in flight."""
    cfg = {**yaml.safe_load(TINY.read_text()), "seeds": [0], "estimators": ["surge"], "ablations": [],
           "isolate": True, "max_steps": 2}
    res = run_sweep(cfg, tmp_path, progress=False)
    assert res["ran"] == ["tfc_mnist_surge_s0"] and not res["failed"]
    r = json.loads((tmp_path / "runs" / "tfc_mnist_surge_s0" / "result.json").read_text())
    assert r["steps_per_epoch"] == 2 and r["estimator"] == "surge"


def test_a_failing_cell_is_reported_without_progress_and_the_rest_runs(tmp_path, monkeypatch, capsys):
    cfg = {**yaml.safe_load(TINY.read_text()), "seeds": [0], "ablations": [], "max_steps": 1}
    real = sweep_mod.run_cell

    def run_cell(cell, run_dir, threads):
        if cell.name.endswith("_ste_s0"):
            raise FileNotFoundError("no such dataset file")
        return real(cell, run_dir, threads)
    monkeypatch.setattr(sweep_mod, "run_cell", run_cell)
    res = run_sweep(cfg, tmp_path, progress=False, summarize_after=False)
    assert res["ran"] == ["tfc_mnist_surge_s0"]
    assert [f["run"] for f in res["failed"]] == ["tfc_mnist_ste_s0"]
    out, err = capsys.readouterr()
    assert "tfc_mnist_ste_s0: FAILED FileNotFoundError: no such dataset file" in err and "top-1" not in out


@pytest.mark.slow
def test_gpu_budget_sweep_probes_then_runs_with_the_epochs_that_fit(tmp_path):
    """benchmarks/gpu_budget_sweep.py (used on lent GPUs) on CPU: probe, plan, run, budget.json; the cap holds."""
    import yaml

    base = dict(models=["tfc"], datasets=["mnist"], seeds=[0], batch_size=128, lr=0.01, max_train=512,
                device="cpu", threads=1)
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump({**base, "name": "a", "estimators": ["ste", "surge"], "epochs": 2}))
    b.write_text(yaml.safe_dump({**base, "name": "b", "estimators": ["ste"], "epochs": 50, "augment_shift": 1}))
    r = subprocess.run([sys.executable, "benchmarks/gpu_budget_sweep.py", "--budget-s", "30", "--probe-steps", "2",
                        "--scratch", str(tmp_path / "probe"), f"{a}={tmp_path / 'ra'}", f"{b}={tmp_path / 'rb'}"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    ja = json.loads((tmp_path / "ra" / "budget.json").read_text())
    jb = json.loads((tmp_path / "rb" / "budget.json").read_text())
    left = json.loads(r.stdout[:r.stdout.index("\n}\n") + 3])["left_s"]  # the plan, printed before the runs

    def planned(j, cap):  # what fits in what was left, at least 1, at most the config's epochs
        fits = int(left // j["epoch_s_estimate"]) if j["epoch_s_estimate"] > 0 else cap
        return max(1, min(cap, fits))
    assert ja["cells"] == 2 and abs(ja["epochs"] - planned(ja, 2)) <= 1 and ja["epochs"] <= 2
    assert abs(jb["epochs"] - planned(jb, 50)) <= 1 and jb["steps_per_epoch"] == 4  # 512 / 128
    assert len(list((tmp_path / "rb" / "runs").glob("*/result.json"))) == 1
    ran = json.loads(next((tmp_path / "rb" / "runs").glob("*/config.json")).read_text())["train"]
    assert ran["epochs"] == jb["epochs"] and ran["augment_shift"] == 1
    assert (tmp_path / "ra" / "table.md").exists()
