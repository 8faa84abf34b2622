"""FINN-compatible BNN topologies (Brevitas bnn_pynq's TFC/SFC/LFC/CNV), built from SURGE-ready blocks.

Input layer: as bnn_pynq, pixels x in [0, 1] become ``2x - 1`` and go through an input quantizer. For the
FC models (28x28) the input quantizer is 1-bit, so every layer is XNOR-popcount and FINN turns the input
binarization into a Thresholding layer on uint8 pixels (threshold 128: ``2*p/255 - 1 >= 0``). CNV uses an
8-bit input quantizer as bnn_pynq does (its first conv is an integer x binary MVAU in FINN).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from brevitas.nn import QuantConv2d, QuantLinear
from brevitas_examples.bnn_pynq.models.tensor_norm import TensorNorm

from .config import CONV_MODELS
from .quantizers import act_quant, binary_weight_kwargs, input_quant
from .surge import BinaryBlock

FC_WIDTHS = {"tfc": (64, 64, 64), "sfc": (256, 256, 256), "lfc": (1024, 1024, 1024)}
# (conv channels, FC widths): bnn_pynq's CNV, and CNV at a quarter of its width for estimator sweeps on CPUs
# (one Fashion-MNIST epoch of CNV takes 35-45 min on this 2-core machine)
CONV_WIDTHS = {"cnv": ((64, 64, 128, 128, 256, 256), (512, 512)),
               "cnv_small": ((16, 16, 32, 32, 64, 64), (128, 128))}
CNV_POOL_AFTER = (1, 3)  # maxpool 2x2 after these convs (0-based), as bnn_pynq CNV
assert tuple(CONV_WIDTHS) == CONV_MODELS
MODELS = tuple(FC_WIDTHS) + CONV_MODELS


@dataclass
class ModelConfig:
    name: str = "tfc"
    weight_bits: int = 1
    act_bits: int = 1
    in_bits: int | None = None  # default: 1 for FC models, 8 for CNV (bnn_pynq's choices)
    num_classes: int = 10
    in_shape: tuple = field(default=(1, 28, 28))
    dropout: float = 0.0  # after each activation quantizer, training only (bnn_pynq uses 0.2)

    def __post_init__(self):
        self.name = self.name.lower()
        if self.name not in MODELS:
            raise ValueError(f"unknown model {self.name!r}; choose one of {', '.join(MODELS)}")
        if self.in_bits is None:
            self.in_bits = 8 if self.name in CONV_MODELS else 1
        self.in_shape = tuple(self.in_shape)
        if self.name in CONV_MODELS and self.in_shape[1:] != (32, 32):
            raise ValueError(f"{self.name} needs 32x32 inputs (CIFAR-10), got {self.in_shape}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.weight_bits != 1 or self.act_bits not in (1, 2):
            raise ValueError("supported: w1a1 (default) and w1a2")

    def to_dict(self) -> dict:
        return asdict(self)


class BNN(nn.Module):
    """A chain of :class:`BinaryBlock` s followed by TensorNorm (a scalar BN, as bnn_pynq)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.blocks = nn.ModuleList(_build_blocks(cfg))
        self.tensor_norm = TensorNorm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = 2.0 * x - 1.0
        if self.cfg.name not in CONV_MODELS:
            x = x.flatten(1)
        for block in self.blocks:
            x = block(x)
        return self.tensor_norm(x)

    @property
    def last_binary_layer(self) -> nn.Module:
        """The last QuantLinear: its output is the integer (pre-scale) output the hardware computes."""
        return self.blocks[-1].op

    def clip_weights(self, lo: float = -1.0, hi: float = 1.0) -> None:
        """Keep latent weights in the STE's live range, as bnn_pynq does after every step."""
        with torch.no_grad():
            for block in self.blocks:
                block.op.weight.clamp_(lo, hi)


def _build_blocks(cfg: ModelConfig) -> list[BinaryBlock]:
    blocks = []
    wkw = binary_weight_kwargs(cfg.weight_bits)
    if cfg.name in FC_WIDTHS:
        in_f = 1
        for d in cfg.in_shape:
            in_f *= d
        widths = FC_WIDTHS[cfg.name]
        for i, out_f in enumerate(widths):
            act = input_quant(cfg.in_bits) if i == 0 else act_quant(cfg.act_bits)
            blocks.append(BinaryBlock(act, QuantLinear(in_f, out_f, **wkw), nn.BatchNorm1d(out_f)))
            in_f = out_f
        blocks.append(BinaryBlock(act_quant(cfg.act_bits), QuantLinear(in_f, cfg.num_classes, **wkw), None))
    else:
        in_c, hw = cfg.in_shape[0], cfg.in_shape[1]
        convs, fcs = CONV_WIDTHS[cfg.name]
        for i, out_c in enumerate(convs):
            pool = nn.MaxPool2d(2) if (i - 1) in CNV_POOL_AFTER else None
            act = input_quant(cfg.in_bits) if i == 0 else act_quant(cfg.act_bits)
            blocks.append(BinaryBlock(act, QuantConv2d(in_c, out_c, 3, **wkw), nn.BatchNorm2d(out_c), post_act=pool))
            in_c = out_c
            hw = hw - 2
            if i in CNV_POOL_AFTER:
                hw //= 2
        in_f = in_c * hw * hw
        for i, out_f in enumerate(fcs):
            flatten = nn.Flatten() if i == 0 else None  # after the quantizer, as bnn_pynq's view()
            blocks.append(BinaryBlock(act_quant(cfg.act_bits), QuantLinear(in_f, out_f, **wkw), nn.BatchNorm1d(out_f),
                                      post_act=flatten))
            in_f = out_f
        blocks.append(BinaryBlock(act_quant(cfg.act_bits), QuantLinear(in_f, cfg.num_classes, **wkw), None))
    for block in blocks:
        if cfg.dropout > 0:
            block.dropout = nn.Dropout(cfg.dropout)
        nn.init.uniform_(block.op.weight, -1, 1)  # bnn_pynq's init: latent weights spread over the STE range
    return blocks


def build_model(name: str = "tfc", **kwargs) -> BNN:
    if name.lower() in CONV_MODELS:
        kwargs.setdefault("in_shape", (3, 32, 32))
    return BNN(ModelConfig(name=name, **kwargs))
