"""Trainer: learns on real MNIST, deterministic, resumable after a kill, clear checkpoint errors, DDP."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from surge_hw.train.checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint
from surge_hw.train.trainer import TrainConfig, train

TINY = dict(model="tfc", dataset="mnist", max_train=2048, batch_size=128, progress=False, tensorboard=False)


def _same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_surge_trains_and_writes_artefacts(tmp_path):
    r = train(TrainConfig(estimator="surge", epochs=3, **{**TINY, "max_train": 8192}), tmp_path)
    assert r.test_acc > 0.70  # 3 short epochs on 8k real images; chance is 0.10
    for f in ("last.pt", "summary.json", "history.csv", "curves.png", "config.json"):
        assert (tmp_path / f).exists(), f
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["test_acc"] == r.test_acc and summary["estimator"] == "surge"
    assert 0 < r.history[-1]["lambda_mean"] < 1


def test_deterministic_on_cpu(tmp_path):
    cfg = TrainConfig(estimator="ede", epochs=1, max_steps=6, **TINY)
    a = train(cfg, tmp_path / "a")
    b = train(cfg, tmp_path / "b")
    _same_state(load_checkpoint(tmp_path / "a")["model"], load_checkpoint(tmp_path / "b")["model"])
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]


def test_resume_after_kill_matches_uninterrupted(tmp_path):
    args = [sys.executable, "-m", "surge_hw.cli", "train", "--model", "tfc", "--estimator", "surge", "--epochs", "4",
            "--max-train", "4096", "--batch-size", "64", "--seed", "3", "--no-progress"]
    full = subprocess.run(args + ["--out", str(tmp_path / "full")], capture_output=True, text=True)
    assert full.returncode == 0, full.stderr[-2000:]
    killed_dir = tmp_path / "killed"
    proc = subprocess.Popen(args + ["--out", str(killed_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (killed_dir / "last.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    epoch_at_kill = load_checkpoint(killed_dir)["epoch"]
    assert epoch_at_kill < 4, "run finished before it could be killed; make it longer"
    resumed = subprocess.run(args + ["--out", str(killed_dir), "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = load_checkpoint(tmp_path / "full"), load_checkpoint(killed_dir)
    assert b["epoch"] == 4
    _same_state(a["model"], b["model"])
    assert [h["test_acc"] for h in a["history"]] == [h["test_acc"] for h in b["history"]]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="not a readable surge_hw checkpoint"):
        load_checkpoint(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weight": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a surge_hw checkpoint"):
        load_checkpoint(foreign)


def test_model_from_checkpoint_drops_aux(tmp_path):
    train(TrainConfig(estimator="surge", epochs=1, max_steps=3, **TINY), tmp_path)
    model, state = model_from_checkpoint(tmp_path)
    assert not model.training
    assert not any("aux_weight" in k for k in model.state_dict())
    assert any("aux_weight" in k for k in state["model"])


def test_cli_reports_missing_config_and_bad_estimator(tmp_path):
    r = subprocess.run([sys.executable, "-m", "surge_hw.cli", "train", "--estimator", "nope", "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "unknown estimator 'nope'" in r.stderr


def test_config_file(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("model: tfc\nestimator: ste\nepochs: 1\nmax_train: 512\nmax_steps: 2\n")
    r = subprocess.run([sys.executable, "-m", "surge_hw.cli", "train", "--config", str(cfg), "--out",
                        str(tmp_path / "run"), "--no-progress"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["estimator"] == "ste"


def test_ddp_two_cpu_processes_gloo(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                        "29517", "-m", "surge_hw.cli", "train", "--model", "tfc", "--estimator", "surge", "--epochs",
                        "2", "--max-train", "4096", "--batch-size", "64", "--no-progress", "--out", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["test_acc"] > 0.5


def test_sgd_momentum_trains_and_changes_weights(tmp_path):
    from surge_hw.train.config import comparable
    from surge_hw.train.trainer import build_for_training

    cfg = TrainConfig(estimator="surge", optimizer="sgd", momentum=0.9, lr=0.05, epochs=1, max_steps=4, **TINY)
    r = train(cfg, tmp_path)
    init, _ = build_for_training(cfg, (1, 28, 28), 10)
    trained = load_checkpoint(tmp_path)
    assert "momentum_buffer" in str(trained["optimizer"]["state"])
    assert not torch.equal(init.state_dict()["blocks.1.op.weight"], trained["model"]["blocks.1.op.weight"])
    assert r.history[0]["train_loss"] > 0
    # momentum only counts for sgd: Adam runs saved before the option existed still resume
    assert "momentum" not in comparable({"optimizer": "adam", "momentum": 0.9})
    assert comparable({"optimizer": "sgd", "momentum": 0.5})["momentum"] == 0.5
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="rmsprop")


def test_cnv_small_is_cnv_at_a_quarter_width_and_learns(tmp_path):
    """The sweep convnet (benchmarks/configs/cpu_convnet.yaml): CNV's layer structure with a quarter of the
    channels; SURGE trains it on real padded Fashion-MNIST well above chance in a few hundred steps."""
    from brevitas.nn import QuantConv2d, QuantLinear

    from surge_hw.train.models import build_model

    small, full = build_model("cnv_small"), build_model("cnv")
    kinds = [(type(b.op).__name__, b.post_act is not None) for b in small.blocks]
    assert kinds == [(type(b.op).__name__, b.post_act is not None) for b in full.blocks]  # same topology
    assert [b.op.out_channels for b in small.blocks if isinstance(b.op, QuantConv2d)] == [16, 16, 32, 32, 64, 64]
    assert [b.op.out_features for b in small.blocks if isinstance(b.op, QuantLinear)] == [128, 128, 10]
    assert small(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    r = train(TrainConfig(model="cnv_small", dataset="fashion_mnist", estimator="surge", epochs=1, max_train=4096,
                          batch_size=64, progress=False, tensorboard=False), tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text())["dataset"] == "fashion_mnist32"  # padded to 32x32
    assert r.test_acc > 0.5, r.test_acc  # 64 steps; chance is 0.10


def test_shift_augmentation_moves_each_image_and_zero_fills(tmp_path):
    """augment_shift: every training image moved by its own whole-pixel (dy, dx), zero background filled in,
    drawn from (seed, epoch); 0 keeps the old behaviour (and the old checkpoints resumable)."""
    from surge_hw.train.config import comparable
    from surge_hw.train.trainer import epoch_shifts, shift_images

    x = torch.rand(6, 1, 7, 9) + 0.5  # no zeros, so every zero below is fill
    shifts = torch.tensor([[0, 0], [1, 0], [0, -2], [-3, 2], [2, 2], [-1, -1]])
    y = shift_images(x, shifts)
    for img, out, (dy, dx) in zip(x, y, shifts.tolist()):
        want = torch.zeros_like(img)
        h, w = img.shape[-2:]
        want[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            img[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        assert torch.equal(out, want), (dy, dx)
    assert torch.equal(shift_images(x, torch.zeros(6, 2, dtype=torch.long)), x)
    s = epoch_shifts(60000, seed=3, epoch=5, max_shift=2)
    assert s.shape == (60000, 2) and int(s.min()) == -2 and int(s.max()) == 2
    assert torch.equal(s, epoch_shifts(60000, 3, 5, 2)) and not torch.equal(s, epoch_shifts(60000, 3, 6, 2))

    base = dict(estimator="ste", epochs=1, max_steps=3, **TINY)
    plain = train(TrainConfig(**base), tmp_path / "plain")
    aug = train(TrainConfig(**base, augment_shift=2), tmp_path / "aug")
    assert plain.history[0]["train_loss"] != aug.history[0]["train_loss"]  # the batches differ
    assert json.loads((tmp_path / "aug" / "config.json").read_text())["train"]["augment_shift"] == 2
    assert "augment_shift" not in comparable({"augment_shift": 0}) and comparable({"augment_shift": 2})
    for bad in (-1, 9, 1.5):
        with pytest.raises(ValueError, match="augment_shift must be a whole number"):
            TrainConfig(augment_shift=bad)
