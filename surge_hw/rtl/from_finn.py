"""Read a folded FINN dataflow graph into the accelerator IR (one pass per node type).

Supported FINN node types (any backend suffix: ``MVAU``, ``MVAU_hls``, ``MVAU_rtl``, ...):
- ``MVAU`` with ``binaryXnorMode=1``: weights (MW, MH) in {0,1} (or BIPOLAR {-1,+1}), optional thresholds
  (MH, steps) on the popcount. Becomes :class:`~surge_hw.rtl.ir.BinaryMVAU` (weights transposed to (MH, MW)).
- ``MVAU`` with an integer input and BIPOLAR weights (CNV's first layer): :class:`~surge_hw.rtl.ir.IntegerMVAU`.
- ``Thresholding``: thresholds (C, steps) on an integer stream (the uint8 input layer), ``ActVal`` as the
  output bias. Becomes :class:`~surge_hw.rtl.ir.ThresholdLayer`.
- ``ConvolutionInputGenerator`` (sliding window, plain or depthwise): :class:`~surge_hw.rtl.ir.SlidingWindow`.
- ``Pool`` with ``Function=MaxPool``: :class:`~surge_hw.rtl.ir.MaxPool`.
- ``StreamingFIFO`` / ``StreamingDataWidthConverter``: skipped; the generator inserts its own FIFOs and
  width converters from the IR's PE/SIMD.
Anything else is an :class:`~surge_hw.rtl.ir.IRError` naming the node.

Host layers (:func:`host_layers_from_parent`): with ``surge-hw build --input-format packed`` the first
Thresholding stays in FINN's parent graph as a ``MultiThreshold`` in front of the dataflow partition; it becomes
the accelerator's ``host_layers`` (run by the host, not the RTL). Layout nodes there (Flatten, Reshape,
Transpose) are the stream order, which :func:`surge_hw.rtl.packing.stream_order` applies.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from .ir import Accelerator, BinaryMVAU, IntegerMVAU, IRError, MaxPool, SlidingWindow, ThresholdLayer

SKIPPED = ("StreamingFIFO", "StreamingDataWidthConverter")
LAYOUT_OPS = ("Flatten", "Reshape", "Transpose")


def _base_op(op_type: str) -> str:
    for suffix in ("_hls", "_rtl"):
        if op_type.endswith(suffix):
            return op_type[: -len(suffix)]
    return op_type


def dataflow_model(model: ModelWrapper) -> ModelWrapper:
    """The dataflow partition's graph when given FINN's parent graph, else the model itself."""
    parts = [n for n in model.graph.node if n.op_type == "StreamingDataflowPartition"]
    if len(parts) > 1:
        raise IRError(f"{parts[1].name}: more than one dataflow partition; the open backend builds one accelerator")
    if parts:
        path = getCustomOp(parts[0]).get_nodeattr("model")
        if not Path(path).exists():
            raise IRError(f"{parts[0].name}: partition model {path} not found (was the build dir moved?)")
        return ModelWrapper(path)
    return model


def ceil_thresholds(t: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Integer thresholds equivalent on integer inputs in [lo, hi]: x >= t <=> x >= ceil(t); clipping to
    [lo, hi + 1] keeps always-true/never-true thresholds exact and the widths small."""
    return np.clip(np.ceil(np.asarray(t, dtype=np.float64)), lo, hi + 1).astype(np.int64)


def _thresholds(model: ModelWrapper, node, channels: int, lo: int, hi: int) -> np.ndarray:
    t = model.get_initializer(node.input[-1] if _base_op(node.op_type) == "Thresholding" else node.input[2])
    if t is None:
        raise IRError(f"{node.name}: thresholds are not a constant initializer")
    t = np.asarray(t)
    if t.ndim == 1:
        t = t[:, None]
    if t.shape[0] == 1 and channels > 1:
        t = np.repeat(t, channels, axis=0)
    if t.shape[0] != channels:
        raise IRError(f"{node.name}: thresholds have {t.shape[0]} rows for {channels} channels")
    return np.sort(ceil_thresholds(t, lo, hi), axis=1)


def _bipolar_bits(node, w: np.ndarray) -> np.ndarray:
    """Weights as bits 1 <-> +1, 0 <-> -1 (FINN stores XNOR weights as {0,1}, bipolar ones as {-1,+1})."""
    if np.isin(w, (-1, 1)).all() and (w == -1).any():
        w = (w + 1) // 2
    if not np.isin(w, (0, 1)).all():
        raise IRError(f"{node.name}: non-binary weights (values {np.unique(w)[:6]}) in a binary MVAU")
    return np.ascontiguousarray(w.T.astype(np.uint8))


def mvau_layer(model: ModelWrapper, node) -> BinaryMVAU:
    inst = getCustomOp(node)
    a = inst.get_nodeattr
    mw, mh = a("MW"), a("MH")
    w = np.asarray(model.get_initializer(node.input[1]))
    if w.shape != (mw, mh):
        raise IRError(f"{node.name}: weight shape {w.shape} != (MW, MH) = ({mw}, {mh})")
    common = dict(name=node.name, mw=mw, mh=mh, simd=a("SIMD"), pe=a("PE"),
                  num_vectors=int(math.prod(a("numInputVectors"))))
    if a("binaryXnorMode"):
        thresholds = None if a("noActivation") else _thresholds(model, node, mh, 0, mw)
        return BinaryMVAU(weights=_bipolar_bits(node, w), thresholds=thresholds, **common)
    wdt, idt = DataType[a("weightDataType")], DataType[a("inputDataType")]
    if wdt != DataType["BIPOLAR"] or not idt.is_integer() or idt.bitwidth() < 2:
        raise IRError(f"{node.name}: MVAU with input {idt.name} x weights {wdt.name}; the open backend builds "
                      f"binary (XNOR) and integer x BIPOLAR MVAUs only (use the FINN/Vivado path for other layers)")
    layer = IntegerMVAU(weights=_bipolar_bits(node, w), thresholds=None, in_bits=idt.bitwidth(),
                        in_signed=idt.signed(), **common)
    if not a("noActivation"):
        if a("ActVal"):
            raise IRError(f"{node.name}: integer MVAU with ActVal {a('ActVal')} (output bias) is not supported")
        layer.thresholds = _thresholds(model, node, mh, *layer.acc_range)
    return layer


def threshold_layer(model: ModelWrapper, node) -> ThresholdLayer:
    inst = getCustomOp(node)
    a = inst.get_nodeattr
    idt = DataType[a("inputDataType")]
    if not idt.is_integer():
        raise IRError(f"{node.name}: Thresholding on {idt.name} input; the open backend needs an integer stream")
    c = a("NumChannels")
    t = _thresholds(model, node, c, int(idt.min()), int(idt.max()))
    layer = ThresholdLayer(name=node.name, channels=c, pe=a("PE"), in_bits=idt.bitwidth(), in_signed=idt.signed(),
                           thresholds=t, num_vectors=int(math.prod(a("numInputVectors"))), out_bias=int(a("ActVal")))
    odt = DataType[a("outputDataType")]
    if (odt.bitwidth(), odt.signed()) != (layer.out_bits, layer.out_signed):
        raise IRError(f"{node.name}: output type {odt.name} but {layer.n_thres} thresholds + bias {layer.out_bias} "
                      f"give {layer.out_bits}-bit {'signed' if layer.out_signed else 'unsigned'} values")
    return layer


def sliding_window_layer(model: ModelWrapper, node) -> SlidingWindow:
    a = getCustomOp(node).get_nodeattr
    idt = DataType[a("inputDataType")]
    if a("is1D") or (_has_attr(node, "parallel_window") and a("parallel_window")):
        raise IRError(f"{node.name}: 1D or parallel-window sliding windows are not supported (2D, default style)")
    return SlidingWindow(name=node.name, channels=a("IFMChannels"), ifm_dim=a("IFMDim"), ofm_dim=a("OFMDim"),
                         kernel=a("ConvKernelDim"), stride=a("Stride"), dilation=a("Dilation"), simd=a("SIMD"),
                         in_bits=idt.bitwidth(), in_signed=idt.signed(), depthwise=bool(a("depthwise")))


def pool_layer(model: ModelWrapper, node) -> MaxPool:
    a = getCustomOp(node).get_nodeattr
    if a("Function") != "MaxPool":
        raise IRError(f"{node.name}: Pool with Function={a('Function')}; the open backend builds MaxPool only")
    idt = DataType[a("InputDataType")]
    return MaxPool(name=node.name, channels=a("Channels"), pe=a("PE"), kernel_elems=int(math.prod(a("KernelSize"))),
                   out_pixels=int(math.prod(a("OutImgDims"))) * int(a("BatchSize")), in_bits=idt.bitwidth(),
                   in_signed=idt.signed())


def _has_attr(node, name: str) -> bool:
    return any(attr.name == name for attr in node.attribute)


PASSES = {"MVAU": mvau_layer, "Thresholding": threshold_layer, "ConvolutionInputGenerator": sliding_window_layer,
          "Pool": pool_layer}


def _attr(node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            from onnx import helper
            v = helper.get_attribute_value(a)
            return v.decode() if isinstance(v, bytes) else v
    return default


def host_threshold_layer(model: ModelWrapper, node) -> ThresholdLayer:
    """A parent graph's MultiThreshold in front of the accelerator -> the equivalent :class:`ThresholdLayer`."""
    idt = model.get_tensor_datatype(node.input[0])
    shape = model.get_tensor_shape(node.input[0])
    if not idt.is_integer():
        raise IRError(f"{node.name}: host MultiThreshold on {idt.name} input; the host steps need integer pixels")
    if float(_attr(node, "out_scale", 1.0)) != 1.0:
        raise IRError(f"{node.name}: host MultiThreshold with out_scale != 1 is not an integer layer")
    t = np.asarray(model.get_initializer(node.input[1]))
    channels = int(shape[-1] if len(shape) == 2 or _attr(node, "data_layout", "NCHW") == "NHWC" else shape[1])
    if len(shape) != 2 and t.shape[0] != 1:
        raise IRError(f"{node.name}: per-channel host thresholds on a {len(shape)}-D tensor; packed input supports "
                      f"(N, C) inputs or one threshold row (TFC/SFC/LFC)")
    t = np.repeat(t, channels, axis=0) if t.shape[0] == 1 else t
    layer = ThresholdLayer(name=node.name, channels=channels, pe=channels, in_bits=idt.bitwidth(),
                           in_signed=idt.signed(), thresholds=np.sort(ceil_thresholds(t, int(idt.min()),
                                                                                      int(idt.max())), axis=1),
                           num_vectors=int(math.prod(shape[1:])) // channels,
                           out_bias=int(round(float(_attr(node, "out_bias", 0.0)))))
    layer.check()
    return layer


def host_layers_from_parent(parent: ModelWrapper | str | Path) -> list:
    """The host layers in front of the parent graph's dataflow partition (see module docstring)."""
    if not isinstance(parent, ModelWrapper):
        parent = ModelWrapper(str(parent))
    if not parent.get_nodes_by_op_type("StreamingDataflowPartition"):
        return []  # a bare dataflow graph (the partition itself) has no host layers
    layers = []
    for node in parent.graph.node:
        if node.op_type == "StreamingDataflowPartition":
            return layers
        if node.op_type == "MultiThreshold":
            layers.append(host_threshold_layer(parent, node))
        elif node.op_type not in LAYOUT_OPS:
            raise IRError(f"{node.name}: {node.op_type} in front of the dataflow partition; the host runs only "
                          f"MultiThreshold and layout ops ({', '.join(LAYOUT_OPS)})")
    return layers


def accelerator_from_finn(model: ModelWrapper | str | Path, name: str = "accel",
                          parent: ModelWrapper | str | Path | None = None) -> Accelerator:
    """``model``: the folded dataflow graph (or a parent graph holding it); ``parent``: FINN's parent graph,
    whose MultiThreshold in front of the partition becomes the host layer of a packed-input build."""
    if not isinstance(model, ModelWrapper):
        model = ModelWrapper(str(model))
    host = host_layers_from_parent(parent if parent is not None else model)
    model = dataflow_model(model)
    layers = []
    for node in model.graph.node:
        base = _base_op(node.op_type)
        if base in SKIPPED:
            continue
        if base not in PASSES:
            hw = "fpgadataflow" in (node.domain or "")
            why = ("has no block in the open RTL backend (supported: MVAU (binary, integer x bipolar), "
                   "Thresholding, ConvolutionInputGenerator, Pool (MaxPool))" if hw else
                   "is not a FINN HW layer: the graph is not a folded dataflow graph; run `surge-hw build` first")
            raise IRError(f"{node.name}: {node.op_type} {why}")
        layers.append(PASSES[base](model, node))
    accel = Accelerator(name=name, layers=layers, host_layers=host)
    accel.check()
    return accel
