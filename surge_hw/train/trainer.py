"""Training loop: SURGE or a baseline estimator, resumable, deterministic on CPU, DDP under torchrun.

Data order is a function of (seed, epoch) only, so a resumed run sees exactly the batches an
uninterrupted one would, and every estimator in a comparison sees the same order.
"""
from __future__ import annotations

import csv
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from ..artefacts import write_json_atomic
from ..console import progress_bar
from ..data import load_dataset
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig, comparable
from .estimators import EstimatorState
from .models import BNN, ModelConfig
from .quantizers import set_estimator
from .surge import SurgeConfig, enable_surge, last_lambdas, surge_blocks


@dataclass
class TrainResult:
    out_dir: Path
    test_acc: float
    history: list
    wall_s: float


def _dist_info() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _maybe_init_distributed(device: str) -> None:
    """Under torchrun (WORLD_SIZE>1) join the process group: gloo on CPU, nccl on CUDA."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")


def build_for_training(cfg: TrainConfig, in_shape: tuple, num_classes: int) -> tuple[BNN, EstimatorState]:
    torch.manual_seed(cfg.seed)
    model = BNN(ModelConfig(name=cfg.model, act_bits=cfg.act_bits, in_shape=in_shape, num_classes=num_classes,
                            dropout=cfg.dropout))
    est_state = set_estimator(model, cfg.base_estimator if cfg.estimator == "surge" else cfg.estimator,
                              EstimatorState(**cfg.estimator_state))
    if cfg.estimator == "surge":
        enable_surge(model, SurgeConfig(**cfg.surge), torch.Generator().manual_seed(cfg.seed + 1))
    return model, est_state


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    """Adam / AdamW (PyTorch defaults: betas 0.9, 0.999) or SGD with heavy-ball ``momentum``; lr and weight decay
    from ``cfg``, the same cosine schedule for all."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return opt_cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of the training set for this epoch: same (seed, epoch) -> same order."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


def epoch_shifts(n: int, seed: int, epoch: int, max_shift: int) -> torch.Tensor:
    """(n, 2) whole-pixel shifts (dy, dx) in [-max_shift, max_shift] for this epoch's augmentation, one per
    training image (indexed like the dataset): same (seed, epoch) -> same shifts, independent of the data order."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch + 7_919_000)
    return torch.randint(-max_shift, max_shift + 1, (n, 2), generator=g)


def shift_images(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Each image of ``x`` (B, C, H, W) moved by its own (dy, dx): pixel (i, j) of the result is pixel
    (i - dy, j - dx) of the input, 0 where that falls outside (the zero background of MNIST-like sets)."""
    m = int(shifts.abs().max()) if len(shifts) else 0
    if m == 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (m, m, m, m))
    shifts = shifts.to(x.device)
    rows = torch.arange(h, device=x.device)[None, :] + (m - shifts[:, 0])[:, None]  # (B, H)
    cols = torch.arange(w, device=x.device)[None, :] + (m - shifts[:, 1])[:, None]  # (B, W)
    out = padded[torch.arange(b, device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()  # advanced indexing put C last: (B, H, W, C) -> (B, C, H, W)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000,
             device: str = "cpu") -> float:
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = model(x[i:i + batch_size].to(device))
        correct += (logits.argmax(1).cpu() == y[i:i + batch_size]).sum().item()
    return correct / max(1, len(x))


def train(cfg: TrainConfig, out_dir: str | os.PathLike, resume: bool = False) -> TrainResult:
    out_dir = Path(out_dir)
    device = cfg.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"--device {device} requested but CUDA is not available; use --device cpu")
    _maybe_init_distributed(device)
    rank, world = _dist_info()
    if device.startswith("cuda") and world > 1:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
        torch.cuda.set_device(device)
    torch.use_deterministic_algorithms(device == "cpu", warn_only=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)

    train_ds = load_dataset(cfg.dataset, "train", cfg.data_dir, cfg.download)
    test_ds = load_dataset(cfg.dataset, "test", cfg.data_dir, cfg.download)
    if cfg.max_train:
        train_ds = train_ds.subset(cfg.max_train)
    x_train, y_train = train_ds.to_tensors()
    x_test, y_test = test_ds.to_tensors()
    in_shape = tuple(x_train.shape[1:])
    if cfg.model in ("tfc", "sfc", "lfc") and in_shape[-2:] != (28, 28):
        raise ValueError(f"{cfg.model} expects 28x28 images; {cfg.dataset} has {in_shape}. Use --model cnv")

    model, est_state = build_for_training(cfg, in_shape, train_ds.num_classes)
    model.to(device)
    opt = make_optimizer(cfg, model.parameters())
    steps_per_epoch = math.ceil(len(x_train) / world / cfg.batch_size)
    if cfg.max_steps:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * steps_per_epoch)

    start_epoch, history = 0, []
    ckpt_path = out_dir / "last.pt"
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        if state.get("train_config", {}) != _comparable(cfg):
            raise RuntimeError(f"--resume: {ckpt_path} was trained with a different configuration; "
                               f"use the same options to continue it, --force (without --resume) to replace it, "
                               f"or a new --out directory")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        start_epoch, history = state["epoch"], list(state["history"])
    elif resume and rank == 0:
        print(f"--resume: no checkpoint at {ckpt_path}, starting from scratch")

    ddp_model = model
    if world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(model)

    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out_dir / "config.json", {"train": asdict(cfg), "model": model.cfg.to_dict()})
    writer = _tensorboard(out_dir, cfg) if rank == 0 else None
    t0 = time.time()
    epochs = progress_bar(range(start_epoch, cfg.epochs), desc="epochs", enabled=cfg.progress and rank == 0,
                          initial=start_epoch, total=cfg.epochs)
    for epoch in epochs:
        progress = epoch / cfg.epochs
        est_state.progress = progress
        for block in surge_blocks(model):
            block.progress = progress
        ddp_model.train()
        order = epoch_order(len(x_train), cfg.seed, epoch)[rank::world]
        shifts = epoch_shifts(len(x_train), cfg.seed, epoch, cfg.augment_shift) if cfg.augment_shift else None
        t_epoch = time.time()
        loss_sum, correct, seen, lam_sum = 0.0, 0, 0, None
        batches = progress_bar(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                               enabled=cfg.progress and rank == 0)
        for step in batches:
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            xb, yb = x_train[idx].to(device), y_train[idx].to(device)
            if shifts is not None:
                xb = shift_images(xb, shifts[idx])
            logits = ddp_model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            model.clip_weights()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(idx)
            lams = last_lambdas(model)
            if lams and lams[0] is not None:
                lam_sum = np.add(lam_sum if lam_sum is not None else 0.0, lams)
            if step % 20 == 0:
                batches.set_postfix(loss=f"{loss.item():.3f}")
        epoch_s = time.time() - t_epoch
        test_acc = evaluate(model, x_test, y_test, device=device)
        row = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_acc": correct / seen,
               "test_acc": test_acc, "lr": sched.get_last_lr()[0], "epoch_s": round(epoch_s, 3)}
        if lam_sum is not None:
            row["lambda_mean"] = float(np.mean(lam_sum) / steps_per_epoch)
        history.append(row)
        epochs.set_postfix(test_acc=f"{test_acc:.4f}")
        if rank == 0:
            if writer is not None:
                for k, v in row.items():
                    if k != "epoch":
                        writer.add_scalar(k, v, epoch + 1)
            save_checkpoint({
                "model_config": model.cfg.to_dict(), "model": model.state_dict(), "epoch": epoch + 1,
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": torch.get_rng_state(),
                "history": history, "train_config": _comparable(cfg),
                "surge": asdict(SurgeConfig(**cfg.surge)) if cfg.estimator == "surge" else None,
                "dataset": cfg.dataset,
            }, ckpt_path)
            _write_history(out_dir, history)
    wall = time.time() - t0
    final_acc = history[-1]["test_acc"] if history else evaluate(model, x_test, y_test, device=device)
    if rank == 0:
        write_json_atomic(out_dir / "summary.json", {
            "model": cfg.model, "dataset": cfg.dataset, "estimator": cfg.estimator, "seed": cfg.seed,
            "epochs": cfg.epochs, "test_acc": final_acc, "best_test_acc": max(r["test_acc"] for r in history),
            "wall_s_this_run": round(wall, 2), "epoch_s_mean": float(np.mean([r["epoch_s"] for r in history])),
            "checkpoint": str(ckpt_path), "world_size": world, "device": device,
        })
        plot_curves(history, out_dir / "curves.png", title=f"{cfg.model} {cfg.dataset} {cfg.estimator}")
        if writer is not None:
            writer.close()
        print(f"train: test accuracy {final_acc:.4f}; wrote {ckpt_path}, {out_dir / 'summary.json'}, "
              f"{out_dir / 'curves.png'}")
    return TrainResult(out_dir, final_acc, history, wall)


def _comparable(cfg: TrainConfig) -> dict:
    """The config fields that must match to resume (not progress bars or device)."""
    return comparable(asdict(cfg))


def _tensorboard(out_dir: Path, cfg: TrainConfig):
    if not cfg.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out_dir / "tb"))


def _write_history(out_dir: Path, history: list) -> None:
    keys = sorted({k for r in history for k in r}, key=lambda k: (k != "epoch", k))
    tmp = out_dir / "history.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, out_dir / "history.csv")


def plot_curves(history: list, path: Path, title: str = "") -> Path:
    """curves.png: loss and accuracy per epoch (one epoch: labelled points), see surge_hw.figures."""
    from ..figures import save_png, training_curves

    return save_png(training_curves(history, title), path)
