"""Brevitas quantizers that carry our estimators, behind one small factory.

Brevitas' dependency-injection quantizers are powerful but hard to read; the rest of surge_hw only calls
:func:`binary_weight_quant`, :func:`act_quant` and :func:`set_estimator`. The binary ``tensor_quant`` below
returns exactly what Brevitas' own ``BinaryQuant`` returns (value, scale=1, zero point 0, bit width 1), so
Brevitas export sees a normal binary model; only the backward of ``sign`` is ours.
"""
from __future__ import annotations

import torch
from torch import nn

from brevitas.core.bit_width import BitWidthConst
from brevitas.core.utils import StatelessBuffer
from brevitas.nn import QuantIdentity
from brevitas_examples.bnn_pynq.models.common import CommonActQuant, CommonWeightQuant

from .estimators import EstimatorState, SignFn, get_backward


class EstimatorBinaryQuant(nn.Module):
    """Binary tensor quantizer: forward ``sign(x/s)*s`` (s = 1.0 here), backward by ``self.estimator``.

    FINN-style BNNs have no scaling factor: the scale is the constant 1.0, so weights/activations are
    exactly +-1 and the hardware is XNOR-popcount.
    """

    def __init__(self, scaling_impl: nn.Module, signed: bool = True):
        super().__init__()
        self.scaling_impl = scaling_impl
        self.bit_width = BitWidthConst(1)
        self.zero_point = StatelessBuffer(torch.tensor(0.0))
        self.estimator = "ste"
        self.state = EstimatorState()

    def forward(self, x: torch.Tensor):
        scale = self.scaling_impl(x)
        y = SignFn.apply(x / scale, self.estimator, self.state) * scale
        return y, scale, self.zero_point(), self.bit_width()


class BinaryWeightQuant(CommonWeightQuant):
    """bnn_pynq's weight quantizer (scale 1.0, narrow, signed) with our binary tensor_quant."""

    tensor_quant = EstimatorBinaryQuant


class BinaryActQuant(CommonActQuant):
    """bnn_pynq's activation quantizer (range [-1, 1], scale 1.0) with our binary tensor_quant."""

    tensor_quant = EstimatorBinaryQuant


def input_quant(bit_width: int) -> QuantIdentity:
    """Input-layer quantizer: 1 bit = :func:`act_quant`; more bits = bnn_pynq CNV's fixed-point Q1.(b-1) input
    (range [-1, 1 - 2^(1-b)], power-of-two scale, full range), whose scale FINN absorbs into the first
    Thresholding layer on uint8 pixels, so the first MVAU sees plain signed integers."""
    if bit_width == 1:
        return act_quant(1)
    from brevitas.core.restrict_val import RestrictValueType

    return QuantIdentity(act_quant=CommonActQuant, bit_width=bit_width, min_val=-1.0,
                         max_val=1.0 - 2.0 ** (1 - bit_width), narrow_range=False,
                         restrict_scaling_type=RestrictValueType.POWER_OF_TWO)


def act_quant(bit_width: int) -> QuantIdentity:
    """Activation quantizer: binary (sign, our estimators) for 1 bit, Brevitas' INT quantizer otherwise."""
    if bit_width == 1:
        return QuantIdentity(act_quant=BinaryActQuant, bit_width=1)
    return QuantIdentity(act_quant=CommonActQuant, bit_width=bit_width)


def binary_weight_kwargs(weight_bit_width: int = 1) -> dict:
    """kwargs for QuantLinear/QuantConv2d: pure +-1 weights (no per-channel alpha), bias-free."""
    if weight_bit_width != 1:
        raise ValueError("surge_hw trains binary weights only (weight_bit_width=1); "
                         "FINN's XNOR-popcount MVAU needs +-1 weights")
    return dict(bias=False, weight_bit_width=1, weight_quant=BinaryWeightQuant)


def binary_quantizers(model: nn.Module):
    """Every EstimatorBinaryQuant inside ``model`` (weights and activations)."""
    return [m for m in model.modules() if isinstance(m, EstimatorBinaryQuant)]


def set_estimator(model: nn.Module, backward: str, state: EstimatorState | None = None) -> EstimatorState:
    """Point every binary quantizer at one backward (``surge`` uses its base estimator here) and one
    shared state object, which the trainer updates with the training progress."""
    get_backward(backward)
    state = state or EstimatorState()
    for q in binary_quantizers(model):
        q.estimator, q.state = backward, state
    return state
