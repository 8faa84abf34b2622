"""Read a folded FINN dataflow graph into the accelerator IR (one pass per node type).

Supported FINN node types (any backend suffix: ``MVAU``, ``MVAU_hls``, ``MVAU_rtl``, ...):
- ``MVAU`` with ``binaryXnorMode=1``: weights (MW, MH) in {0,1} (or BIPOLAR {-1,+1}), optional thresholds
  (MH, steps) on the popcount. Becomes :class:`~surge_hw.rtl.ir.BinaryMVAU` (weights transposed to (MH, MW)).
- ``Thresholding``: thresholds (C, steps) on an integer stream (the uint8 input layer). Becomes
  :class:`~surge_hw.rtl.ir.ThresholdLayer`.
- ``StreamingFIFO`` / ``StreamingDataWidthConverter``: skipped; the generator inserts its own FIFOs and
  width converters from the IR's PE/SIMD.
Anything else is an :class:`~surge_hw.rtl.ir.IRError` naming the node.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from .ir import Accelerator, BinaryMVAU, IRError, ThresholdLayer

SKIPPED = ("StreamingFIFO", "StreamingDataWidthConverter")


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


def mvau_layer(model: ModelWrapper, node) -> BinaryMVAU:
    inst = getCustomOp(node)
    a = inst.get_nodeattr
    mw, mh = a("MW"), a("MH")
    if not a("binaryXnorMode"):
        wdt, idt = a("weightDataType"), a("inputDataType")
        raise IRError(f"{node.name}: MVAU with input {idt} x weights {wdt} is not binary XNOR-popcount; the open "
                      f"backend builds binary (w1a1) MVAUs only (use the FINN/Vivado path for other layers)")
    w = np.asarray(model.get_initializer(node.input[1]))
    if w.shape != (mw, mh):
        raise IRError(f"{node.name}: weight shape {w.shape} != (MW, MH) = ({mw}, {mh})")
    if np.isin(w, (-1, 1)).all() and (w == -1).any():
        w = (w + 1) // 2
    if not np.isin(w, (0, 1)).all():
        raise IRError(f"{node.name}: non-binary weights (values {np.unique(w)[:6]}) in a binary MVAU")
    thresholds = None if a("noActivation") else _thresholds(model, node, mh, 0, mw)
    return BinaryMVAU(name=node.name, mw=mw, mh=mh, simd=a("SIMD"), pe=a("PE"),
                      weights=np.ascontiguousarray(w.T.astype(np.uint8)), thresholds=thresholds,
                      num_vectors=int(math.prod(a("numInputVectors"))))


def threshold_layer(model: ModelWrapper, node) -> ThresholdLayer:
    inst = getCustomOp(node)
    a = inst.get_nodeattr
    idt = DataType[a("inputDataType")]
    if not idt.is_integer():
        raise IRError(f"{node.name}: Thresholding on {idt.name} input; the open backend needs an integer stream")
    c = a("NumChannels")
    t = _thresholds(model, node, c, int(idt.min()), int(idt.max()))
    return ThresholdLayer(name=node.name, channels=c, pe=a("PE"), in_bits=idt.bitwidth(), in_signed=idt.signed(),
                          thresholds=t, num_vectors=int(math.prod(a("numInputVectors"))))


PASSES = {"MVAU": mvau_layer, "Thresholding": threshold_layer}


def accelerator_from_finn(model: ModelWrapper | str | Path, name: str = "accel") -> Accelerator:
    if not isinstance(model, ModelWrapper):
        model = ModelWrapper(str(model))
    model = dataflow_model(model)
    layers = []
    for node in model.graph.node:
        base = _base_op(node.op_type)
        if base in SKIPPED:
            continue
        if base not in PASSES:
            hw = "fpgadataflow" in (node.domain or "")
            why = ("has no block in the open RTL backend (supported: binary MVAU, Thresholding)" if hw else
                   "is not a FINN HW layer: the graph is not a folded dataflow graph; run `surge-hw build` first")
            raise IRError(f"{node.name}: {node.op_type} {why}")
        layers.append(PASSES[base](model, node))
    accel = Accelerator(name=name, layers=layers)
    accel.check()
    return accel
