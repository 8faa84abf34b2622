"""Surrogate-gradient estimators for ``y = sign(x)``: one forward, one backward per estimator, a registry.

The forward is shared and exact: ``sign(x)`` with ``sign(0) = +1``, values in {-1, +1}. Only the backward
``dy/dx`` differs. ``surge`` uses one of these for its binary path (``base``) and adds the dual-path
compensation in :mod:`surge_hw.train.surge`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

Backward = Callable[[torch.Tensor, "EstimatorState"], torch.Tensor]
ESTIMATORS: dict[str, Backward] = {}


@dataclass
class EstimatorState:
    """What a backward may depend on: training progress (for EDE) and ReSTE's shape/cap."""

    progress: float = 0.0  # e / E in [0, 1]
    reste_o: float = 3.0
    reste_cap: float = 10.0
    ede_tmin: float = 0.1
    ede_tmax: float = 10.0


def register(name: str):
    def deco(fn: Backward) -> Backward:
        ESTIMATORS[name] = fn
        return fn

    return deco


def binary_sign(x: torch.Tensor) -> torch.Tensor:
    """Exact forward: +1 where x >= 0 (so sign(0) = +1), else -1, in x's dtype."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


@register("ste")
def ste(x, st):
    """STE with clipping: ``1[|x| <= 1]``."""
    return (x.abs() <= 1).to(x.dtype)


@register("identity")
def identity(x, st):
    """Plain straight-through: ``1``."""
    return torch.ones_like(x)


@register("approx_sign")
def approx_sign(x, st):
    """Bi-Real Net ApproxSign: ``(2 - 2|x|) * 1[|x| <= 1]``."""
    return (2 - 2 * x.abs()).clamp_min(0) * (x.abs() <= 1).to(x.dtype)


def ede_t_k(st: EstimatorState) -> tuple[float, float]:
    """IR-Net EDE schedule: ``t = Tmin * 10^(e/E * log10(Tmax/Tmin))``, ``k = max(1/t, 1)``."""
    t = st.ede_tmin * 10 ** (st.progress * math.log10(st.ede_tmax / st.ede_tmin))
    return t, max(1.0 / t, 1.0)


@register("ede")
def ede(x, st):
    """IR-Net Error Decay Estimator: ``k * t * (1 - tanh(t x)^2)``."""
    t, k = ede_t_k(st)
    return k * t * (1 - torch.tanh(t * x) ** 2)


@register("reste")
def reste(x, st):
    """ReSTE: ``(1/o) |x|^((1-o)/o)`` on ``|x| <= 1``, capped at ``reste_cap`` (it diverges at 0)."""
    o = st.reste_o
    ax = x.abs()
    g = (1.0 / o) * ax.clamp_min(1e-12).pow((1.0 - o) / o)
    return torch.where(ax <= 1, g.clamp(max=st.reste_cap), torch.zeros_like(x))


# `surge` is not a backward of its own: it is a base estimator plus DPGC (see surge.py).
ESTIMATOR_NAMES = tuple(ESTIMATORS) + ("surge",)


def get_backward(name: str) -> Backward:
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise ValueError(f"unknown estimator {name!r}; choose one of {', '.join(ESTIMATOR_NAMES)}") from None


class SignFn(torch.autograd.Function):
    """``sign`` forward, named-estimator backward."""

    @staticmethod
    def forward(ctx, x, backward_name: str, state: EstimatorState):
        ctx.save_for_backward(x)
        ctx.backward_name, ctx.state = backward_name, state
        return binary_sign(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * ESTIMATORS[ctx.backward_name](x, ctx.state), None, None


def binarize(x: torch.Tensor, estimator: str = "ste", state: EstimatorState | None = None) -> torch.Tensor:
    """``sign(x)`` whose backward is the named estimator (``surge`` means its base, STE by default)."""
    name = "ste" if estimator == "surge" else estimator
    get_backward(name)
    return SignFn.apply(x, name, state or EstimatorState())
