"""Per-layer intermediates in the hardware's encoding, and the first layer where two stages disagree.

The accelerator's activation layers (Thresholding, then one MVAU per binary block) output exactly what
PyTorch's block i+1 receives after its activation quantizer: bits (+1 -> 1, -1 -> 0) for binary activations,
the integer code (value / scale) for a multi-bit input quantizer (CNV's INT8 input layer); feature maps in the
stream's NHWC order. The last MVAU outputs the popcount ``(dot + MW) / 2`` of the last QuantLinear's +-1 dot
product. So PyTorch forward hooks give a reference for every RTL activation tap (sliding windows and pools in
between have no PyTorch counterpart: :data:`ACTIVATION_KINDS` selects the taps that do).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


ACTIVATION_KINDS = ("threshold", "mvau_binary", "mvau_int")


def _value(t):
    return t.value if hasattr(t, "value") else t


def _stream_layout(t: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) feature maps -> (N, H*W*C), the accelerator's stream order; vectors flattened."""
    return (t.permute(0, 2, 3, 1) if t.dim() == 4 else t).flatten(1)


def _act_code(module, out) -> torch.Tensor:
    """Integer code of an activation quantizer's output: bits for +-1, value / scale for multi-bit."""
    v = _value(out)
    quant = getattr(module, "act_quant", None)
    if quant is not None and float(quant.bit_width()) > 1:
        return (v / quant.scale()).round().to(torch.int64)
    return (v > 0).to(torch.int64)


def hardware_taps(model) -> tuple[list, torch.nn.Module, torch.Tensor | None]:
    """The modules whose outputs are the accelerator's layer outputs: (activation quantizers, last QuantLinear,
    scale of its output or None for 1). A zoo :class:`~surge_hw.train.models.BNN`: each block's ``act`` and the
    last block's ``op``. Any other Brevitas model (your own, see :mod:`surge_hw.export.user_model`): every
    activation quantizer layer (``QuantIdentity``, ``QuantHardTanh``, ...) and the last ``QuantLinear``, whose
    output ``d * s_x * s_w`` is divided by its weight and input scales (Brevitas' binary quantizers use 0.1)."""
    if hasattr(model, "blocks"):
        blocks = list(model.blocks)
        return [b.act for b in blocks], blocks[-1].op, None
    from brevitas.nn.quant_layer import QuantNonLinearActLayer

    from ..export.reference import _input_act_proxy, _last_quant_linear

    last = _last_quant_linear(model)
    acts = [m for m in model.modules() if isinstance(m, QuantNonLinearActLayer)]
    proxy = _input_act_proxy(model, last)
    s_x = proxy.scale().detach().reshape(-1) if proxy is not None else torch.ones(1)
    return acts, last, last.quant_weight().scale.detach().reshape(-1) * s_x


@torch.no_grad()
def torch_layer_outputs(model, images_uint8: np.ndarray, batch: int = 1000, last_only: bool = False) -> list[np.ndarray]:
    """Every hardware layer's output for these images, computed by the PyTorch model (eval mode), as int16
    (bits, INT8 codes and popcounts all fit; a CNV feature map is ~1 MB per image even so: pass the few images
    a divergence needs, or ``last_only`` for just the last layer's popcounts, returned as a one-item list).
    Activation layers come in the order the forward pass calls them (:func:`hardware_taps`)."""
    model.eval()
    acts, last, scale = hardware_taps(model)
    captured: dict[int, list] = {i: [] for i in range(len(acts) + 1)}
    called: list[int] = []  # activation layers in call order
    hooks = []

    def tap(m, inp, out, i):
        if i not in called:
            called.append(i)
        captured[i].append(_stream_layout(_act_code(m, out)).to(torch.int16))

    for i, act in enumerate([] if last_only else acts):
        hooks.append(act.register_forward_hook(lambda m, inp, out, i=i: tap(m, inp, out, i)))
    mw = last.weight.shape[1]
    hooks.append(last.register_forward_hook(
        lambda m, inp, out: captured[len(acts)].append(
            ((_value(out) / (1 if scale is None else scale) + mw) / 2).round().to(torch.int16))))
    try:
        x = torch.from_numpy(np.asarray(images_uint8, dtype=np.float32) / np.float32(255.0))
        for i in range(0, len(x), batch):
            model(x[i:i + batch])
    finally:
        for h in hooks:
            h.remove()
    if last_only:
        return [torch.cat(captured[len(acts)]).numpy().astype(np.int64)]
    return [torch.cat(captured[i]).numpy() for i in called] + [torch.cat(captured[len(acts)]).numpy()]


class TorchLayers:
    """PyTorch's per-layer outputs (:func:`torch_layer_outputs`), computed on demand for the images a divergence
    needs: a whole test set of CNV feature maps would not fit in memory."""

    def __init__(self, model, images_uint8: np.ndarray):
        self.model, self.images = model, images_uint8

    def rows(self, rows) -> list[np.ndarray]:
        return torch_layer_outputs(self.model, self.images[np.asarray(rows)])


class QonnxLayers:
    """The same per-layer outputs from the exported QONNX graph (``BUILD/01_qonnx.onnx``), for a build with no
    PyTorch model (a user's QONNX file): each activation quantizer node on data (``BipolarQuant`` -> bits, a
    multi-bit ``Quant`` -> value / scale), in stream order (NCHW -> NHWC), then the last layer's popcount."""

    def __init__(self, onnx_path, images_uint8: np.ndarray, mw_last: int):
        self.onnx_path, self.images, self.mw_last = onnx_path, images_uint8, mw_last

    def count(self) -> int:
        return len(self._nodes(self._model())[0]) + 1

    def _model(self):
        from qonnx.core.modelwrapper import ModelWrapper

        return ModelWrapper(str(self.onnx_path))

    @staticmethod
    def _nodes(model):
        from ..finn.golden import last_layer_node

        inits = {t.name for t in model.graph.initializer}
        acts = [n for n in model.graph.node if n.op_type in ("BipolarQuant", "Quant") and n.input[0] not in inits]
        return acts, last_layer_node(model)

    def rows(self, rows) -> list[np.ndarray]:
        from ..finn.golden import execute_batched, integer_dot

        model = self._model()
        acts, last = self._nodes(model)
        x = np.asarray(self.images[np.asarray(rows)], dtype=np.float32) / np.float32(255.0)
        raw = execute_batched(model, x, list(dict.fromkeys([n.output[0] for n in acts] + [last.output[0]])))
        outs = []
        for n in acts:
            v = raw[n.output[0]].astype(np.float64)
            if n.op_type == "Quant" and float(model.get_initializer(n.input[3]).reshape(-1)[0]) > 1:
                v = np.round(v / model.get_initializer(n.input[1]).astype(np.float64))  # integer code
            else:
                v = (v > 0).astype(np.float64)  # +-1 -> bits
            v = v.transpose(0, 2, 3, 1) if v.ndim == 4 else v
            outs.append(v.reshape(len(v), -1).astype(np.int16))
        dots = integer_dot(model, last, raw[last.output[0]])
        outs.append(((dots + self.mw_last) // 2).astype(np.int16))
        return outs


def layers_for_rows(torch_layers, rows) -> list[np.ndarray]:
    """Per-layer outputs of the given images from a :class:`TorchLayers`/:class:`QonnxLayers` or a precomputed
    list."""
    if hasattr(torch_layers, "rows"):
        return torch_layers.rows(rows)
    return [np.asarray(t)[np.asarray(rows)] for t in torch_layers]


@dataclass
class Divergence:
    layer_index: int
    layer_name: str
    image: int
    elements: list  # flat element indices that differ (first few)
    expected: list
    got: list
    mismatching_images: int

    def describe(self) -> str:
        pairs = ", ".join(f"[{e}] {a}≠{b}" for e, a, b in zip(self.elements, self.expected, self.got))
        return (f"first divergence at layer {self.layer_index} ({self.layer_name}): {self.mismatching_images} "
                f"image(s) differ; image {self.image}: {pairs}")


def first_divergence(reference: list[np.ndarray], other: list[np.ndarray], names: list[str],
                     max_elements: int = 8) -> Divergence | None:
    """The earliest layer whose outputs differ between two stages (None if every layer is identical)."""
    if len(reference) != len(other):
        raise ValueError(f"layer counts differ: {len(reference)} vs {len(other)}")
    for i, (ref, got) in enumerate(zip(reference, other)):
        ref, got = np.asarray(ref).reshape(len(ref), -1), np.asarray(got).reshape(len(got), -1)
        if ref.shape != got.shape:
            raise ValueError(f"layer {i} ({names[i]}): shapes differ {ref.shape} vs {got.shape}")
        bad = ref != got
        if bad.any():
            rows = np.flatnonzero(bad.any(1))
            n = int(rows[0])
            cols = np.flatnonzero(bad[n])[:max_elements]
            return Divergence(i, names[i], n, cols.tolist(), ref[n, cols].tolist(), got[n, cols].tolist(), len(rows))
    return None
