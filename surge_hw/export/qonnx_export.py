"""Export stage: a trained Brevitas BNN (torch) -> a cleaned-up QONNX graph on disk.

The QONNX graph is the hand-over to the FINN stage. Its input is what the torch model takes: float pixels in
[0, 1], NCHW, batch 1. (The FINN stage prepends the ``/255`` so that the accelerator sees raw uint8 pixels.)

Why ``dynamo=False``: torch 2.13's default dynamo exporter writes bias-less ``Gemm`` nodes that crash qonnx's
``GemmToMatMul`` and moves the weights into a side ``.onnx.data`` file; the TorchScript exporter Brevitas has
always used writes plain ``MatMul`` nodes with the weights inline.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

# Ops a binary FINN-compatible QONNX graph may contain (after qonnx cleanup). Anything else cannot be
# streamlined into thresholds + XNOR-popcount MVAUs, so we refuse it here rather than deep inside FINN.
SUPPORTED_QONNX_OPS = frozenset({
    "Quant", "BipolarQuant", "Trunc",
    "MatMul", "Gemm", "Conv", "MaxPool", "BatchNormalization",
    "Mul", "Add", "Sub", "Div",
    "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity",
})


class ExportError(ValueError):
    """The model could not be exported to a FINN-compatible QONNX graph (names the node and why)."""


def export_qonnx_model(model: torch.nn.Module, input_shape, out_path: str | os.PathLike) -> Path:
    """Export ``model`` (Brevitas) to QONNX at ``out_path`` and return the path.

    Steps: ``model.eval()`` -> ``brevitas.export.export_qonnx(..., dynamo=False)`` into a temp file in the
    target directory -> ``qonnx.util.cleanup.cleanup_model`` -> :func:`check_qonnx_model` -> atomic
    ``os.replace`` onto ``out_path``. On any error nothing is left at ``out_path`` (an old file stays as is).
    """
    from brevitas.export import export_qonnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    input_shape = tuple(int(d) for d in input_shape)
    if len(input_shape) != 4 or input_shape[0] != 1:
        raise ExportError(f"input_shape must be (1, C, H, W), got {input_shape}")
    model.eval()
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.stem}.", suffix=".onnx.tmp", dir=out_path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        with torch.no_grad():
            export_qonnx(model, torch.randn(input_shape), export_path=str(tmp), dynamo=False)
        wrapped = cleanup_model(ModelWrapper(str(tmp)))
        check_qonnx_model(wrapped, input_shape)
        wrapped.save(str(tmp))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; an exported model is a normal artefact
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
        # the dynamo exporter's side file, should a future Brevitas default come back to it
        Path(str(tmp) + ".data").unlink(missing_ok=True)
    return out_path


def check_qonnx_model(model, input_shape=None) -> None:
    """Raise :class:`ExportError` unless ``model`` (a qonnx ``ModelWrapper``) is a single-input,
    single-output binary QONNX graph made of supported ops, with static weights."""
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ExportError(f"expected 1 input and 1 output, got {len(graph.input)} and {len(graph.output)}")
    ishape = model.get_tensor_shape(graph.input[0].name)
    if input_shape is not None and tuple(ishape) != tuple(input_shape):
        raise ExportError(f"graph input shape {ishape} != requested {tuple(input_shape)}")
    for node in graph.node:
        if node.op_type not in SUPPORTED_QONNX_OPS:
            raise ExportError(f"node {node.name!r}: op {node.op_type!r} is not supported by the binary FINN "
                              f"flow (supported: {', '.join(sorted(SUPPORTED_QONNX_OPS))})")
    if not any(n.op_type == "BipolarQuant" for n in graph.node):
        raise ExportError("no BipolarQuant node: this is not a binary (BNN) graph")
    bad = multi_bit_weight_quant(model)
    if bad is not None:
        raise ExportError(f"node {bad[0]!r}: {bad[1]}-bit weights; {BINARY_WEIGHTS_ONLY}")


BINARY_WEIGHTS_ONLY = ("the binary flow builds XNOR-popcount (and integer x binary) MVAUs, whose weights are +-1: "
                       "use a binary weight quantizer (Brevitas SignedBinaryWeightPerTensorConst, or bnn_pynq's "
                       "CommonWeightQuant with weight_bit_width=1)")


def multi_bit_weight_quant(model) -> tuple[str, int] | None:
    """(node name, bit width) of the first ``Quant`` on a constant (weights) with more than 1 bit, else None."""
    inits = {t.name for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Quant" and node.input[0] in inits:
            bits = model.get_initializer(node.input[3])
            if bits is not None and float(bits.reshape(-1)[0]) > 1:
                return node.name, int(float(bits.reshape(-1)[0]))
    return None
