"""SURGE: dual-path gradient compensation (DPGC) with an adaptive gradient scaler.

A binary block computes ``f_b(x) = op(sign(x), sign(W))`` with Brevitas quantizers. In training, SURGE adds
a full-precision auxiliary branch ``f_a(x) = op(x_a, W_a)`` with its own weights ``W_a`` (same shape as W)::

    y = y_b + (a - a.detach()),   a = lambda * f_a(x)

The forward value is exactly ``y_b`` (``a - a.detach()`` is an exact zero; the other association order,
``(y_b - a.detach()) + a``, is not bit-exact in fp32). The backward sends ``g_b + lambda * g_a`` to the
block's input and to the latent weights W, and ``lambda * g_a`` to ``W_a``, where g_b is the gradient that
reaches the input/weights through the binary path (the STE-family surrogate) and g_a the unclipped
full-precision gradient of the aux path.

Adaptive scaler: ``lambda = eta * ||g_b||_2 / (||g_a||_2 + 1e-8)`` per block per step, on the gradients
reaching that block in this very step. Those gradients only exist during backward, so lambda cannot be a
forward-time constant; :class:`DualPathCompensator` is an identity node placed where the two paths split.
Autograd calls its backward once with *both* paths' gradients, so it computes lambda from them and returns
the compensated sum: numerically the gradient of ``y_b + (a - a.detach())`` with ``a = lambda * f_a``. With
``fixed_lambda`` set, lambda is that constant instead (ablation).

``compensation="orthogonal"`` (opt-in, not the paper's method; issue 15): the compensation uses only the part of
each aux gradient orthogonal to its binary-path counterpart, ``g_a_perp = g_a - (<g_a, g_b>/|g_b|^2) g_b``, with
``lambda = eta * |g_b| / |g_a_perp|``. ``benchmarks/results/surge_diagnostics`` measured cos(g_a, g_b) of
0.63-0.95 on TFC, so most of ``lambda * g_a`` only rescales g_b, which Adam's per-parameter normalisation removes;
the orthogonal part is the one that changes the update's direction. W_a still gets ``lambda * g_a``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

AUX_INPUTS = ("real", "clipped", "binary")
AUX_INITS = ("copy", "random")
COMPENSATIONS = ("full", "orthogonal")


@dataclass
class SurgeConfig:
    """DPGC options; defaults follow ../shared/docs/surge.md."""

    eta: float = 0.25
    fixed_lambda: float | None = None  # ablation: constant lambda instead of the adaptive scaler
    eta_final: float | None = None  # ablation: eta decays linearly (progress 0 -> 1) to this value
    aux_input: str = "real"  # x_a: real-valued input, its clip to [-1, 1], or the binary input (weights only)
    aux_init: str = "copy"  # W_a: copy of the latent W, or random (kaiming)
    skip_aux_forward: bool = True  # a - a.detach() is exactly 0: compute only a's backward (saves a matmul)
    compensation: str = "full"  # "orthogonal": add only g_a's part orthogonal to g_b (opt-in, see module doc)

    def __post_init__(self):
        if not 0 < self.eta < 1:
            raise ValueError(f"SURGE eta must be in (0, 1) (a fraction of the main gradient), got {self.eta}")
        if self.aux_input not in AUX_INPUTS:
            raise ValueError(f"aux_input must be one of {AUX_INPUTS}, got {self.aux_input!r}")
        if self.aux_init not in AUX_INITS:
            raise ValueError(f"aux_init must be one of {AUX_INITS}, got {self.aux_init!r}")
        if self.compensation not in COMPENSATIONS:
            raise ValueError(f"compensation must be one of {COMPENSATIONS}, got {self.compensation!r}")

    def eta_at(self, progress: float) -> float:
        if self.eta_final is None:
            return self.eta
        return self.eta + (self.eta_final - self.eta) * min(max(progress, 0.0), 1.0)


class LambdaRecord:
    """Where a block's compensator leaves the last lambda and the gradient norms (for logs and tests).

    Diagnostics (off by default): with ``keep_grads = True`` the backward also leaves the four path gradients of
    the last step in ``grads`` (``g_bx, g_ax, g_bw, g_aw``, detached; ``None`` where a path has none) and the
    compensation terms actually added (``c_x``, ``c_w``: ``lambda * g_a``; with ``compensation="orthogonal"``
    ``g_a*`` and ``c_*`` are the orthogonal parts), read by ``benchmarks/surge_diagnostics.py``. Recording only
    keeps references: the returned gradients are unchanged.
    """

    def __init__(self):
        self.lam = None
        self.norm_b = None
        self.norm_a = None
        self.keep_grads = False
        self.grads: dict | None = None


def _sq(g):
    return g.pow(2).sum() if g is not None else None


def _orthogonal_part(a, b):
    """``a - (<a, b>/|b|^2) b``; ``a`` unchanged where there is no ``b`` (or it is zero)."""
    if a is None or b is None:
        return a
    bb = b.pow(2).sum()
    if bb == 0:
        return a
    return a - ((a * b).sum() / bb) * b


class DualPathCompensator(torch.autograd.Function):
    """Identity on (x, W, W_a) that splits them into the binary path and the aux path.

    Outputs ``(x_b, x_a, W_b, W_a)``. Backward receives ``(g_bx, g_ax, g_bW, g_aW)`` together and returns
    ``(g_bx + lam*g_ax, g_bW + lam*g_aW, lam*g_aW)``. lambda's norms use the pairs present on both paths
    (input and weights, or weights only when the aux input is the binary activation).
    """

    @staticmethod
    def forward(ctx, x, w, w_aux, eta: float, fixed_lambda, record: LambdaRecord, orthogonal: bool = False):
        ctx.eta, ctx.fixed_lambda, ctx.record, ctx.orthogonal = eta, fixed_lambda, record, orthogonal
        ctx.set_materialize_grads(False)  # an unused path (binary aux input) gives None, not zeros
        x_b, x_a = x.view_as(x), x.view_as(x)
        if not ctx.needs_input_grad[0]:  # the network input: no input gradient to compute on either path
            ctx.mark_non_differentiable(x_b, x_a)
        return x_b, x_a, w.view_as(w), w_aux.view_as(w_aux)

    @staticmethod
    def backward(ctx, g_bx, g_ax, g_bw, g_aw):
        g_aw_raw = g_aw
        if ctx.orthogonal:
            g_ax, g_aw = _orthogonal_part(g_ax, g_bx), _orthogonal_part(g_aw, g_bw)
        pairs = [(g_bw, g_aw)] + ([(g_bx, g_ax)] if g_ax is not None and g_bx is not None else [])
        ref = next(g for g in (g_bw, g_aw, g_bx, g_ax) if g is not None)
        zero = ref.new_zeros(())
        norm_b = torch.sqrt(sum((_sq(b) for b, a in pairs if b is not None), zero))
        norm_a = torch.sqrt(sum((_sq(a) for b, a in pairs if a is not None), zero))
        if ctx.fixed_lambda is not None:
            lam = torch.as_tensor(float(ctx.fixed_lambda), device=norm_b.device)
        else:
            lam = ctx.eta * norm_b / (norm_a + 1e-8)
        rec = ctx.record
        rec.lam, rec.norm_b, rec.norm_a = lam.detach(), norm_b.detach(), norm_a.detach()
        gx = g_bx if g_ax is None else (g_ax * lam if g_bx is None else g_bx + lam * g_ax)
        gw = g_bw if g_aw is None else (g_aw * lam if g_bw is None else g_bw + lam * g_aw)
        gwa = None if g_aw_raw is None else lam * g_aw_raw
        if rec.keep_grads:
            rec.grads = {k: None if g is None else g.detach() for k, g in (
                ("g_bx", g_bx), ("g_ax", g_ax), ("g_bw", g_bw), ("g_aw", g_aw),
                ("c_x", None if g_ax is None else lam * g_ax), ("c_w", None if g_aw is None else lam * g_aw))}
        return gx, gw, gwa, None, None, None, None


class BinaryBlock(nn.Module):
    """``act_quant -> [post_act] -> QuantLinear/QuantConv2d -> BatchNorm`` with an optional SURGE aux branch.

    The order act -> op -> BN per block mirrors Brevitas bnn_pynq (whose act quant sits after BN); the export
    graph is the same chain of Quant nodes, MatMul/Conv and BatchNorm. ``post_act`` (a max-pool, or the flatten
    in front of CNV's first FC layer) sits after the quantizer, as in bnn_pynq CNV (``QuantIdentity ->
    MaxPool2d``, ``QuantIdentity -> view``): FINN streamlines BN + sign into thresholds only in that order
    (BN -> pool/flatten -> sign leaves a float Mul/Add stuck in front of the pool or the reshape). ``aux_weight`` exists only when SURGE
    is on; in ``eval()`` the aux branch is never computed, so export sees a pure BNN.
    """

    def __init__(self, act: nn.Module, op: nn.Module, norm: nn.Module | None, post_act: nn.Module | None = None):
        super().__init__()
        self.post_act = post_act
        self.act = act
        self.dropout: nn.Module | None = None  # on the quantized activation, training only
        self.op = op
        self.norm = norm
        self.surge: SurgeConfig | None = None
        self.aux_weight: nn.Parameter | None = None
        self.progress = 0.0
        self.record = LambdaRecord()

    def enable_surge(self, cfg: SurgeConfig, generator: torch.Generator | None = None) -> None:
        self.surge = cfg
        w = self.op.weight.detach().clone()
        if cfg.aux_init == "random":
            w = torch.empty_like(w)
            fan_in = w[0].numel()
            w.uniform_(-1.0 / fan_in**0.5, 1.0 / fan_in**0.5, generator=generator)
        self.aux_weight = nn.Parameter(w)

    def binary_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pure BNN: what export, FINN and the RTL compute (dropout is the identity in eval)."""
        x = self.act(x)
        if self.dropout is not None:
            x = self.dropout(x)
        if self.post_act is not None:
            x = self.post_act(x)
        return self.op(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.surge is None or not self.training:
            y = self.binary_forward(x)
        else:
            y = self._dual_path_forward(x)
        return self.norm(y) if self.norm is not None else y

    def _dual_path_forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.surge
        x_b, x_a, w_b, w_a = DualPathCompensator.apply(
            x, self.op.weight, self.aux_weight, cfg.eta_at(self.progress), cfg.fixed_lambda, self.record,
            cfg.compensation == "orthogonal")
        x_q = _value(self.act(x_b))
        mask = None
        if self.dropout is not None:  # one mask for both paths; same RNG draw as the pure model's dropout
            mask = self.dropout(torch.ones_like(x_q))
            x_q = x_q * mask
        if self.post_act is not None:
            x_q = self.post_act(x_q)
        w_q = _value(self.op.weight_quant(w_b))
        y_b = self.op.inner_forward_impl(x_q, w_q, None)
        if cfg.aux_input == "clipped":
            x_a = x_a.clamp(-1, 1)
        elif cfg.aux_input == "binary":
            x_a = x_q.detach()
        if mask is not None and cfg.aux_input != "binary":
            x_a = x_a * mask
        if self.post_act is not None and cfg.aux_input != "binary":  # the aux path pools its real input
            x_a = self.post_act(x_a)
        if cfg.skip_aux_forward:
            # The value of (a - a.detach()) is exactly 0 for finite a, only its gradient matters: AuxGradient
            # returns that zero without the matmul and backpropagates exactly as a = f_a(x_a) does.
            return y_b + AuxGradient.apply(x_a, w_a, self.op, y_b)
        a = self.op.inner_forward_impl(x_a, w_a, None)
        # Exact: a - a.detach() is 0.0, and y_b + 0.0 == y_b. Do not reassociate.
        return y_b + (a - a.detach())


class AuxGradient(torch.autograd.Function):
    """Forward: zeros shaped like the binary output (the value of ``a - a.detach()``). Backward: the gradient of
    ``a = op(x_a, W_a)`` (linear or conv2d with the op's stride/padding), so the aux branch costs two matmuls
    per step instead of three."""

    @staticmethod
    def forward(ctx, x_a, w_a, op, like):
        ctx.save_for_backward(x_a, w_a)
        ctx.op = op
        return torch.zeros_like(like)

    @staticmethod
    def backward(ctx, g):
        x_a, w_a = ctx.saved_tensors
        op = ctx.op
        gx = gw = None
        if w_a.dim() == 2:  # linear: a = x_a @ W_a^T
            g2, x2 = g.reshape(-1, g.shape[-1]), x_a.reshape(-1, x_a.shape[-1])
            if ctx.needs_input_grad[0]:
                gx = (g2 @ w_a).reshape(x_a.shape)
            if ctx.needs_input_grad[1]:
                gw = g2.t() @ x2
        else:
            kw = dict(stride=op.stride, padding=op.padding, dilation=op.dilation, groups=op.groups)
            if ctx.needs_input_grad[0]:
                gx = torch.nn.grad.conv2d_input(x_a.shape, w_a, g, **kw)
            if ctx.needs_input_grad[1]:
                gw = torch.nn.grad.conv2d_weight(x_a, w_a.shape, g, **kw)
        return gx, gw, None, None


def _value(t):
    return t.value if hasattr(t, "value") else t


def surge_blocks(model: nn.Module) -> list[BinaryBlock]:
    return [m for m in model.modules() if isinstance(m, BinaryBlock)]


def enable_surge(model: nn.Module, cfg: SurgeConfig, generator: torch.Generator | None = None) -> None:
    """Give every binary block of ``model`` (except the input layer's, if it has no gradient use) an aux branch."""
    for block in surge_blocks(model):
        block.enable_surge(cfg, generator)


def strip_surge(model: nn.Module) -> nn.Module:
    """Drop every aux branch in place: the model becomes the pure BNN it always computed."""
    for block in surge_blocks(model):
        block.surge, block.aux_weight = None, None
    return model


def last_lambdas(model: nn.Module) -> list[float | None]:
    return [None if b.record.lam is None else float(b.record.lam) for b in surge_blocks(model)]
