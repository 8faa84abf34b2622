"""What SURGE's compensation actually changes, per block, under Adam and under SGD with momentum (issue 15).

    python benchmarks/surge_diagnostics.py --model tfc --epochs 10 --seeds 0 1 2 --optimizers adam sgd \
        --out benchmarks/results/surge_diagnostics
    python benchmarks/surge_diagnostics.py --out benchmarks/results/surge_diagnostics --summarize-only

Trains exactly as ``surge_hw.train.trainer.train`` does (same init, data order, cosine schedule, weight clipping;
the final test accuracy of an Adam run equals the trainer's for the same seed), and every ``--every`` steps
measures, for each binary block:

* **local** (inside one backward, same upstream gradient): the binary-path gradient ``g_b`` and the aux-path
  gradient ``g_a`` that the block's compensator receives (``LambdaRecord.keep_grads``), at the block input and at
  the latent weights: ``cos(g_b + lam*g_a, g_b)``, ``cos(g_a, g_b)``, ``|lam*g_a| / |g_b|``, the part of
  ``lam*g_a`` orthogonal to ``g_b`` (``perp_ratio_w``), and lam (with ``compensation: orthogonal``, ``lam*g_a``
  reads as the term actually added);
* **global**: the gradient of the same weights on the same batch with *every* block's compensation off (a pure
  STE network, second forward/backward; BN running statistics restored after it), against the SURGE gradient;
* **after the optimizer** (latent weights): the update the optimizer takes with the compensated gradient vs the
  one it would take with ``g_b`` alone, computed in closed form from the same optimizer state (Adam: m, v, step,
  bias correction, eps; SGD: momentum buffer) -- ``one_step``; and vs a *shadow* optimizer state that was fed
  ``g_b`` instead of the compensated gradient at every step along the same trajectory -- ``shadow`` (what the
  accumulated moments make of the compensation). Reported as the angle between the two updates and
  ``|du| / |u_b|``, to compare with ``|lam*g_a| / |g_b|`` before the optimizer.

Writes ``<out>/measurements/<model>_<opt>[_<tag>]_s<seed>.json`` (every measurement), ``summary.json``, ``cosine.png``,
``update_ratio.png``, ``lambda.png``. One thread, one run at a time.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from surge_hw.artefacts import write_json_atomic  # noqa: E402
from surge_hw.data import load_dataset  # noqa: E402
from surge_hw.train.config import TrainConfig  # noqa: E402
from surge_hw.train.surge import surge_blocks  # noqa: E402
from surge_hw.train.trainer import build_for_training, epoch_order, evaluate, make_optimizer  # noqa: E402


def _cos(a, b) -> float:
    na, nb = a.norm(), b.norm()
    if na == 0 or nb == 0:
        return float("nan")
    return float((a * b).sum() / (na * nb))


def _ratio(a, b) -> float:
    nb = b.norm()
    return float(a.norm() / nb) if nb > 0 else float("nan")


def _deg(c: float) -> float:
    return math.degrees(math.acos(max(-1.0, min(1.0, c)))) if c == c else float("nan")


class UpdateModel:
    """The update an optimizer would take for one parameter given a gradient, in closed form from its state.

    Adam (PyTorch, no weight decay, amsgrad off): ``m' = b1 m + (1-b1) g``, ``v' = b2 v + (1-b2) g^2``,
    ``u = -lr (m'/(1-b1^t)) / (sqrt(v'/(1-b2^t)) + eps)``. SGD (dampening 0, no Nesterov):
    ``buf' = mu buf + g`` (``buf' = g`` at the first step), ``u = -lr buf'``.
    """

    def __init__(self, opt: torch.optim.Optimizer, name: str):
        self.opt, self.name = opt, name

    def update(self, p, g, state=None) -> torch.Tensor:
        group = next(gr for gr in self.opt.param_groups if any(q is p for q in gr["params"]))
        state = self.opt.state.get(p, {}) if state is None else state
        lr = group["lr"]
        if self.name == "sgd":
            mu = group["momentum"]
            buf = state.get("momentum_buffer")
            return -lr * (g if buf is None or mu == 0 else mu * buf + g)
        b1, b2 = group["betas"]
        t = int(state["step"]) + 1 if "step" in state else 1
        m = state.get("exp_avg", torch.zeros_like(p))
        v = state.get("exp_avg_sq", torch.zeros_like(p))
        m2 = b1 * m + (1 - b1) * g
        v2 = b2 * v + (1 - b2) * g * g
        return -(lr / (1 - b1 ** t)) * m2 / ((v2 / (1 - b2 ** t)).sqrt() + group["eps"])

    def advance(self, p, g, state: dict) -> None:
        """Move a shadow state (a dict like the optimizer's) by one step with gradient g."""
        group = next(gr for gr in self.opt.param_groups if any(q is p for q in gr["params"]))
        if self.name == "sgd":
            buf = state.get("momentum_buffer")
            state["momentum_buffer"] = g.clone() if buf is None else group["momentum"] * buf + g
            return
        b1, b2 = group["betas"]
        state["step"] = state.get("step", 0) + 1
        state["exp_avg"] = b1 * state.get("exp_avg", torch.zeros_like(p)) + (1 - b1) * g
        state["exp_avg_sq"] = b2 * state.get("exp_avg_sq", torch.zeros_like(p)) + (1 - b2) * g * g


def _ste_gradients(model, blocks, xb, yb):
    """Gradients of the latent weights and of each block's input with every compensation off (pure STE net)."""
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    saved = [b.surge for b in blocks]
    inputs = {}

    def grab(i):
        def hook(module, args):
            if args[0].requires_grad:
                inputs[i] = args[0]
        return hook

    handles = [b.register_forward_pre_hook(grab(i)) for i, b in enumerate(blocks)]
    try:
        for b in blocks:
            b.surge = None
        loss = F.cross_entropy(model(xb), yb)
        keys = sorted(inputs)
        outs = torch.autograd.grad(loss, [b.op.weight for b in blocks] + [inputs[i] for i in keys])
    finally:
        for b, s in zip(blocks, saved):
            b.surge = s
        for h in handles:
            h.remove()
        with torch.no_grad():
            for k, v in model.named_buffers():
                v.copy_(buffers[k])
    gw = list(outs[:len(blocks)])
    gx = {i: g for i, g in zip(keys, outs[len(blocks):])}
    return gw, gx


def run(cfg: TrainConfig, every: int, out_file: Path, verify_steps: int = 3, tag: str = "") -> dict:
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(cfg.threads or 1)
    train_ds = load_dataset(cfg.dataset, "train", cfg.data_dir)
    test_ds = load_dataset(cfg.dataset, "test", cfg.data_dir)
    if cfg.max_train:
        train_ds = train_ds.subset(cfg.max_train)
    x_train, y_train = train_ds.to_tensors()
    x_test, y_test = test_ds.to_tensors()
    model, est_state = build_for_training(cfg, tuple(x_train.shape[1:]), train_ds.num_classes)
    blocks = surge_blocks(model)
    for b in blocks:
        b.record.keep_grads = True
    opt = make_optimizer(cfg, model.parameters())
    steps_per_epoch = math.ceil(len(x_train) / cfg.batch_size)
    if cfg.max_steps:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * steps_per_epoch)
    um = UpdateModel(opt, cfg.optimizer)
    shadow = [dict() for _ in blocks]  # optimizer state fed g_b (no compensation) along the real trajectory
    inputs = {}

    def keep_input(i):
        def hook(module, args):
            if args[0].requires_grad:
                args[0].retain_grad()
                inputs[i] = args[0]
        return hook

    n = len(blocks)
    rec = {"step": [], "epoch": [], "lr": [], "loss": []}
    per_block = [{k: [] for k in (
        "lam", "ratio_w", "ratio_x", "cos_local_w", "cos_local_x", "cos_ga_gb_w", "cos_ga_gb_x",
        "cos_global_w", "cos_global_x", "ratio_global_w",
        "one_step_angle", "one_step_ratio", "shadow_angle", "shadow_ratio", "global_one_step_angle",
        "perp_ratio_w")} for _ in range(n)]
    lam_all = [[] for _ in range(n)]
    history, checks = [], {"max_rel_err_closed_form_update": 0.0, "last_block_global_eq_local": True}
    global_step, t0 = 0, time.time()
    for epoch in range(cfg.epochs):
        progress = epoch / cfg.epochs
        est_state.progress = progress
        for b in blocks:
            b.progress = progress
        model.train()
        order = epoch_order(len(x_train), cfg.seed, epoch)
        loss_sum, seen = 0.0, 0
        for step in range(steps_per_epoch):
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            xb, yb = x_train[idx], y_train[idx]
            measure = global_step % every == 0
            handles = [b.register_forward_pre_hook(keep_input(i)) for i, b in enumerate(blocks)] if measure else []
            inputs.clear()
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for h in handles:
                h.remove()
            weights = [b.op.weight for b in blocks]
            g_b_w = [b.record.grads["g_bw"] for b in blocks]  # this block's compensation removed
            for i, b in enumerate(blocks):
                lam_all[i].append(float(b.record.lam))
            if measure:
                ste_w, ste_x = _ste_gradients(model, blocks, xb, yb)
                rec["step"].append(global_step)
                rec["epoch"].append(global_step / steps_per_epoch)
                rec["lr"].append(opt.param_groups[0]["lr"])
                rec["loss"].append(loss.item())
                for i, b in enumerate(blocks):
                    r, g, d = b.record, b.record.grads, per_block[i]
                    lam = float(r.lam)
                    comp_w = g["c_w"] if "c_w" in g else lam * g["g_aw"]  # the term actually added
                    d["lam"].append(lam)
                    d["ratio_w"].append(_ratio(comp_w, g["g_bw"]))
                    d["cos_local_w"].append(_cos(weights[i].grad, g["g_bw"]))
                    d["cos_ga_gb_w"].append(_cos(g["g_aw"], g["g_bw"]))
                    # the part of the compensation orthogonal to g_b: what a scale-invariant optimizer can see
                    gb = g["g_bw"]
                    par = (comp_w * gb).sum() / gb.pow(2).sum().clamp_min(1e-30) * gb
                    d["perp_ratio_w"].append(_ratio(comp_w - par, gb))
                    if g["g_bx"] is not None and g["g_ax"] is not None:
                        comp_x = g["c_x"] if "c_x" in g else lam * g["g_ax"]
                        d["ratio_x"].append(_ratio(comp_x, g["g_bx"]))
                        d["cos_local_x"].append(_cos(g["g_bx"] + comp_x, g["g_bx"]))
                        d["cos_ga_gb_x"].append(_cos(g["g_ax"], g["g_bx"]))
                    else:
                        for k in ("ratio_x", "cos_local_x", "cos_ga_gb_x"):
                            d[k].append(float("nan"))
                    d["cos_global_w"].append(_cos(weights[i].grad, ste_w[i]))
                    d["ratio_global_w"].append(_ratio(weights[i].grad - ste_w[i], ste_w[i]))
                    if i in inputs and i in ste_x and inputs[i].grad is not None:
                        d["cos_global_x"].append(_cos(inputs[i].grad, ste_x[i]))
                    else:
                        d["cos_global_x"].append(float("nan"))
                    u = um.update(weights[i], weights[i].grad)
                    u_b = um.update(weights[i], g["g_bw"])
                    u_sh = um.update(weights[i], g["g_bw"], state=shadow[i])
                    u_ste = um.update(weights[i], ste_w[i])
                    d["one_step_angle"].append(_deg(_cos(u, u_b)))
                    d["one_step_ratio"].append(_ratio(u - u_b, u_b))
                    d["shadow_angle"].append(_deg(_cos(u, u_sh)))
                    d["shadow_ratio"].append(_ratio(u - u_sh, u_sh))
                    d["global_one_step_angle"].append(_deg(_cos(u, u_ste)))
                    if i == n - 1 and not torch.allclose(ste_w[i], g["g_bw"], rtol=1e-4, atol=1e-7):
                        checks["last_block_global_eq_local"] = False
                if len(rec["step"]) <= verify_steps:  # the closed form is the optimizer's real step
                    before = [w.detach().clone() for w in weights]
                    expect = [um.update(w, w.grad) for w in weights]
            for i in range(n):
                um.advance(weights[i], g_b_w[i], shadow[i])
            opt.step()
            if measure and len(rec["step"]) <= verify_steps:
                for w, b0, e in zip(weights, before, expect):
                    err = float(((w.detach() - b0) - e).norm() / e.norm().clamp_min(1e-30))
                    checks["max_rel_err_closed_form_update"] = max(checks["max_rel_err_closed_form_update"], err)
            sched.step()
            model.clip_weights()
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            global_step += 1
        acc = evaluate(model, x_test, y_test)
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "test_acc": acc})
        print(f"  {cfg.optimizer} seed {cfg.seed} epoch {epoch + 1}/{cfg.epochs}: test {acc:.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    out = {"train_config": asdict(cfg), "every": every, "steps_per_epoch": steps_per_epoch,
           "blocks": [f"{type(b.op).__name__} {b.op.weight.shape[1]}->{b.op.weight.shape[0]}" for b in blocks],
           "measured": rec, "per_block": per_block, "lambda_every_step": lam_all, "history": history,
           "test_acc": history[-1]["test_acc"], "checks": checks, "wall_s": round(time.time() - t0, 1), "tag": tag}
    write_json_atomic(out_file, _rounded(out))
    return out


def _rounded(obj):
    """5 significant digits: the measurements are noisy far above that, and the files stay small."""
    if isinstance(obj, float):
        return float(f"{obj:.5g}") if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------------------------- summary

def _nanmean(x):
    x = np.asarray(x, dtype=float)
    return float(np.nanmean(x)) if np.isfinite(x).any() else None


def summarize(out_dir: Path) -> dict:
    runs = {}
    for f in sorted((out_dir / "measurements").glob("*.json")):
        r = json.loads(f.read_text())
        tc = r["train_config"]
        key = f"{tc['model']}_{tc['optimizer']}" + (f"_{r['tag']}" if r.get("tag") else "")
        runs.setdefault(key, []).append(r)
    summary = {}
    for key, rs in runs.items():
        n = len(rs[0]["per_block"])
        blocks = []
        for i in range(n):
            row = {"block": i, "shape": rs[0]["blocks"][i]}
            for k in rs[0]["per_block"][i]:
                vals = np.concatenate([np.asarray(r["per_block"][i][k], dtype=float) for r in rs])
                row[k] = _nanmean(vals)
            # angle of the local compensated gradient vs g_b, and the global one, in degrees (mean of angles)
            for k in ("cos_local_w", "cos_local_x", "cos_global_w", "cos_global_x"):
                vals = np.concatenate([np.asarray(r["per_block"][i][k], dtype=float) for r in rs])
                row[k.replace("cos", "angle")] = _nanmean([_deg(c) for c in vals])
            row["lambda_first_epoch"] = _nanmean(np.concatenate(
                [r["lambda_every_step"][i][:r["steps_per_epoch"]] for r in rs]))
            row["lambda_last_epoch"] = _nanmean(np.concatenate(
                [r["lambda_every_step"][i][-r["steps_per_epoch"]:] for r in rs]))
            blocks.append(row)
        accs = [r["test_acc"] for r in rs]
        summary[key] = {"seeds": [r["train_config"]["seed"] for r in rs], "epochs": rs[0]["train_config"]["epochs"],
                        "lr": rs[0]["train_config"]["lr"], "momentum": rs[0]["train_config"].get("momentum"),
                        "surge": rs[0]["train_config"]["surge"],
                        "test_acc_mean": float(np.mean(accs)), "test_acc": accs,
                        "checks": {"max_rel_err_closed_form_update": max(
                            r["checks"]["max_rel_err_closed_form_update"] for r in rs),
                            "last_block_global_eq_local": all(r["checks"]["last_block_global_eq_local"] for r in rs)},
                        "blocks": blocks}
    write_json_atomic(out_dir / "summary.json", summary)
    _write_table(out_dir / "table.md", summary)
    _plots(out_dir, runs)
    return summary


def _write_table(path: Path, summary: dict) -> None:
    """Per run group and block: means over all measured steps and seeds (angles in degrees)."""
    def f(v, d=3):
        return "—" if v is None else f"{v:.{d}f}"

    def deg(v):
        return "—" if v is None else f"{v:.1f}°"

    L = ["# SURGE gradient diagnostics (means over measured steps and seeds)", "",
         "ratio = |lam*g_a| / |g_b| (weights W; input x); perp = the part of lam*g_a orthogonal to g_b, / |g_b|; "
         "angle local = angle(g_b + lam*g_a, g_b) in one backward; angle global = angle(SURGE grad, pure-STE grad); "
         "update = the optimizer's step with vs without lam*g_a, from the same state (one-step) or vs a shadow "
         "state fed g_b only (shadow): |du|/|u_b| and angle.", "",
         "| run | test acc | block | lam first→last epoch | ratio W | perp W | ratio x | cos(g_a,g_b) W / x "
         "| angle local W / x | angle global W / x | update one-step ratio / angle | update shadow ratio / angle |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, v in summary.items():
        acc = f"{100 * v['test_acc_mean']:.2f} ({len(v['seeds'])} seeds)"
        for b in v["blocks"]:
            L.append(f"| {key} | {acc} | {b['block']} {b['shape']} | {f(b['lambda_first_epoch'])}→"
                     f"{f(b['lambda_last_epoch'])} | {f(b['ratio_w'])} | {f(b['perp_ratio_w'])} | {f(b['ratio_x'])} | "
                     f"{f(b['cos_ga_gb_w'], 2)} / {f(b['cos_ga_gb_x'], 2)} | {deg(b['angle_local_w'])} / "
                     f"{deg(b['angle_local_x'])} | {deg(b['angle_global_w'])} / {deg(b['angle_global_x'])} | "
                     f"{f(b['one_step_ratio'])} / {deg(b['one_step_angle'])} | {f(b['shadow_ratio'])} / "
                     f"{deg(b['shadow_angle'])} |")
            acc = ""
    path.write_text("\n".join(L) + "\n")


def _series(rs, i, k):
    xs = np.asarray(rs[0]["measured"]["epoch"])
    ys = np.stack([np.asarray(r["per_block"][i][k], dtype=float) for r in rs])
    return xs, ys


def _plots(out_dir: Path, runs: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {}
    palette = ["tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown"]
    for j, key in enumerate(runs):
        colors[key] = palette[j % len(palette)]
    n = max(len(rs[0]["per_block"]) for rs in runs.values())

    def band(ax, xs, ys, color, label, style="-"):
        m = np.nanmean(ys, axis=0)
        ax.plot(xs, m, style, color=color, label=label, lw=1.2)
        if ys.shape[0] > 1:
            ax.fill_between(xs, np.nanmin(ys, axis=0), np.nanmax(ys, axis=0), color=color, alpha=0.15, lw=0)

    # cosine over steps per block
    fig, axes = plt.subplots(2, n, figsize=(3.3 * n, 6), sharex=True, squeeze=False)
    for key, rs in runs.items():
        for i in range(len(rs[0]["per_block"])):
            for row, (k_loc, k_glob, what) in enumerate((("cos_local_w", "cos_global_w", "latent weights"),
                                                         ("cos_local_x", "cos_global_x", "block input"))):
                ax = axes[row][i]
                xs, ys = _series(rs, i, k_loc)
                if np.isfinite(ys).any():
                    band(ax, xs, ys, colors[key], f"{key} local")
                xs, ys = _series(rs, i, k_glob)
                if np.isfinite(ys).any():
                    band(ax, xs, ys, colors[key], f"{key} global", "--")
                ax.set_title(f"block {i}: {what}", fontsize=9)
                if i == 0:
                    ax.set_ylabel("cos(SURGE grad, STE grad)")
                if row == 1:
                    ax.set_xlabel("epoch")
    axes[0][0].legend(fontsize=7)
    axes[1][0].text(0.5, 0.5, "network input:\nno gradient", ha="center", va="center", transform=axes[1][0].transAxes)
    fig.suptitle("cosine between the compensated gradient and the STE gradient (local: g_b+λg_a vs g_b in one "
                 "backward; global: vs a pure-STE backward); mean over seeds, band = min..max", fontsize=9)
    fig.tight_layout()
    fig.savefig(out_dir / "cosine.png", dpi=100)
    plt.close(fig)

    # update ratio before vs after the optimizer, per block (latent weights)
    fig, axes = plt.subplots(2, n, figsize=(3.3 * n, 6), sharex=True, squeeze=False)
    for key, rs in runs.items():
        for i in range(len(rs[0]["per_block"])):
            ax = axes[0][i]
            xs, ys = _series(rs, i, "ratio_w")
            band(ax, xs, ys, colors[key], f"{key}: |λg_a|/|g_b| (before)", ":")
            xs, ys = _series(rs, i, "one_step_ratio")
            band(ax, xs, ys, colors[key], f"{key}: |Δu|/|u_b| same state")
            xs, ys = _series(rs, i, "shadow_ratio")
            band(ax, xs, ys, colors[key], f"{key}: |Δu|/|u_b| shadow state", "--")
            ax.set_yscale("log")
            ax.set_title(f"block {i}: relative change", fontsize=9)
            ax2 = axes[1][i]
            xs, ys = _series(rs, i, "cos_local_w")
            band(ax2, xs, np.degrees(np.arccos(np.clip(ys, -1, 1))), colors[key], f"{key}: gradient (before)", ":")
            xs, ys = _series(rs, i, "one_step_angle")
            band(ax2, xs, ys, colors[key], f"{key}: update, same state")
            xs, ys = _series(rs, i, "shadow_angle")
            band(ax2, xs, ys, colors[key], f"{key}: update, shadow state", "--")
            ax2.set_title(f"block {i}: angle (deg)", fontsize=9)
            ax2.set_xlabel("epoch")
    axes[0][0].legend(fontsize=6)
    axes[1][0].legend(fontsize=6)
    fig.suptitle("latent weights: the compensation before the optimizer (dotted) and its effect on the update "
                 "(solid: from the same optimizer state; dashed: vs a shadow state fed g_b only)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out_dir / "update_ratio.png", dpi=100)
    plt.close(fig)

    # lambda over steps per block
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 3.2), squeeze=False)
    for key, rs in runs.items():
        spe = rs[0]["steps_per_epoch"]
        for i in range(len(rs[0]["per_block"])):
            ys = np.stack([np.asarray(r["lambda_every_step"][i], dtype=float) for r in rs])
            k = max(1, spe // 20)  # smooth: mean over windows of k steps
            m = ys[:, : ys.shape[1] // k * k].reshape(ys.shape[0], -1, k).mean(-1)
            xs = (np.arange(m.shape[1]) * k + k / 2) / spe
            band(axes[0][i], xs, m, colors[key], key)
            axes[0][i].set_title(f"block {i}", fontsize=9)
            axes[0][i].set_xlabel("epoch")
            axes[0][i].set_yscale("log")
    axes[0][0].set_ylabel("λ")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("adaptive λ = η|g_b|/|g_a| per block (window means; band = min..max over seeds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out_dir / "lambda.png", dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="tfc")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--optimizers", nargs="+", default=["adam", "sgd"], choices=["adam", "adamw", "sgd"])
    p.add_argument("--lr-adam", type=float, default=0.01, help="the sweeps' Adam lr")
    p.add_argument("--lr-sgd", type=float, default=2.0,
                   help="best of a 2-epoch grid 0.1..50 for SURGE TFC with momentum 0.9 (see README)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--eta", type=float, default=0.25)
    p.add_argument("--surge", type=json.loads, default={}, help="extra SurgeConfig fields as JSON")
    p.add_argument("--tag", default="", help="suffix of the run files (a variant of the same optimizer)")
    p.add_argument("--every", type=int, default=5, help="measure every N steps")
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--out", default="benchmarks/results/surge_diagnostics")
    p.add_argument("--summarize-only", action="store_true")
    a = p.parse_args(argv)
    out = Path(a.out)
    if not a.summarize_only:
        (out / "measurements").mkdir(parents=True, exist_ok=True)
        for opt in a.optimizers:
            for seed in a.seeds:
                name = f"{a.model}_{opt}{'_' + a.tag if a.tag else ''}_s{seed}.json"
                f = out / "measurements" / name
                if f.exists():
                    print(f"skip {f} (exists)")
                    continue
                cfg = TrainConfig(model=a.model, dataset=a.dataset, estimator="surge", epochs=a.epochs, seed=seed,
                                  optimizer=opt, momentum=a.momentum, lr=a.lr_sgd if opt == "sgd" else a.lr_adam,
                                  max_train=a.max_train, max_steps=a.max_steps, progress=False, tensorboard=False,
                                  surge={"eta": a.eta, **a.surge}, threads=1)
                r = run(cfg, a.every, f, tag=a.tag)
                print(f"wrote {f}: test {r['test_acc']:.4f}, checks {r['checks']}", flush=True)
    s = summarize(out)
    for key, v in s.items():
        print(f"{key}: test {v['test_acc_mean']:.4f} {v['checks']}")
        for b in v["blocks"]:
            print(f"  block {b['block']}: lam {b['lam']:.3g} | ratio_w {b['ratio_w']:.3f} angle_local_w "
                  f"{b['angle_local_w']:.2f} angle_global_w {b['angle_global_w']:.2f} | one_step "
                  f"{b['one_step_ratio']:.3f} / {b['one_step_angle']:.2f}° | shadow {b['shadow_ratio']:.3f} / "
                  f"{b['shadow_angle']:.2f}°")
    print(f"wrote {out / 'summary.json'}, {out / 'cosine.png'}, {out / 'update_ratio.png'}, {out / 'lambda.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
