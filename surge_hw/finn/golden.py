"""Golden checks: run each intermediate graph on real images, compare its INTEGER output with PyTorch's.

What is compared: the output of the LAST MatMul-like node of each graph (the accelerator's output in the HW
graph), converted to the +-1 dot product ``d`` of the last binary layer:

* QONNX graph: ``MatMul`` of two Quant outputs -> ``y / (s_x * s_w)`` (the quantizers' scales),
* FINN graphs before streamlining: ``MatMul`` of BIPOLAR x BIPOLAR (or integer) tensors -> ``y``,
* streamlined / HW graphs: ``XnorPopcountMatMul`` or an XNOR ``MVAU`` -> popcount ``p``, ``d = 2p - MW``
  (a non-XNOR integer MVAU gives ``d`` directly).

It must equal torch's ``int_dots`` exactly; top-1 accuracy of each graph's final output is reported too.

Speed: FINN's node-by-node python execution works on a batch if every tensor's first dimension is the batch
(we rewrite the shapes; see :func:`batch_model`), except qonnx's ``Im2Col`` (and FINN's
``ConvolutionInputGenerator``, which calls it), whose batch>1 result is wrong: those nodes run one image at
a time inside the batched pass. Quant-value sanitisation (a python ``max`` over every tensor) is switched off;
the compared tensor itself must be integral instead. BLAS runs single-threaded (many small matmuls).
Measured on 2 busy cores: TFC, 10k MNIST images x 6 graphs in ~5 s (~0.1 ms/image/graph; one image at a
time with sanitisation: ~7 ms); CNV ~12-45 ms/image/graph (one at a time: ~200 ms).
"""
from __future__ import annotations

import contextlib
import copy
import os
import re
from dataclasses import dataclass

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_node
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import get_by_name, get_preferred_qonnx_opset

from surge_hw.export.golden import GoldenSet

from .errors import FinnFlowError, GoldenMismatchError
from .passes import is_hw_node

PER_IMAGE_OPS = ("Im2Col", "ConvolutionInputGenerator")
LAST_LAYER_OPS = ("MatMul", "Gemm", "XnorPopcountMatMul")


@dataclass
class GoldenResult:
    step: str
    graph: str          # file name of the graph checked
    node: str           # node whose output was compared
    images: int
    int_equal: bool
    top1: float | None  # accuracy of the graph's final output (None without labels)
    torch_top1: float | None
    argmax_agree: float | None  # fraction of images where graph and torch logits pick the same class

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def as_golden_set(golden) -> GoldenSet | None:
    """Accept a GoldenSet, a path to a GoldenSet .npz, a tuple (images, int_dots[, labels[, logits]]) or a
    callable returning one of these."""
    if golden is None:
        return None
    if callable(golden) and not isinstance(golden, GoldenSet):
        golden = golden()
    if isinstance(golden, GoldenSet):
        return golden
    if isinstance(golden, (str, os.PathLike)):
        return GoldenSet.load(golden)
    if isinstance(golden, (tuple, list)):
        return GoldenSet(*golden)
    raise TypeError(f"golden must be a GoldenSet, a .npz path, a tuple or a callable, not {type(golden)}")


# ------------------------------------------------------------------------------------------ execution


def _single_threaded_blas():
    """Many small matmuls: a multi-threaded BLAS spin-waits on a busy machine (measured: up to 100x slower
    under pytest -n 2); one thread is never slower here."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn, a FINN dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@contextlib.contextmanager
def _no_quant_sanitising():
    old = os.environ.get("SANITIZE_QUANT_TENSORS")
    os.environ["SANITIZE_QUANT_TENSORS"] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SANITIZE_QUANT_TENSORS", None)
        else:
            os.environ["SANITIZE_QUANT_TENSORS"] = old


def batch_model(model: ModelWrapper, n: int) -> ModelWrapper:
    """A copy of ``model`` whose batch dimension is ``n``: every non-initializer tensor shape, constant
    Reshape targets, Im2Col's ``input_shape`` and HW nodes' ``numInputVectors`` (all 1 in the exported graph)."""
    m = ModelWrapper(copy.deepcopy(model.model))
    g = m.graph
    inits = {t.name for t in g.initializer}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        dims = vi.type.tensor_type.shape.dim
        if vi.name not in inits and len(dims) > 0 and dims[0].dim_value == 1:
            dims[0].dim_value = n
    for node in g.node:
        if node.op_type == "Reshape":
            shape = m.get_initializer(node.input[1])
            if shape is not None and len(shape) and shape[0] == 1:
                shape = shape.copy()
                shape[0] = n
                m.set_initializer(node.input[1], shape)
        attr = get_by_name(node.attribute, "input_shape")
        if node.op_type == "Im2Col" and attr is not None:
            attr.s = re.sub(rb"^\(\s*1\s*,", b"(%d," % n, attr.s)
        if is_hw_node(node):
            inst = getCustomOp(node)
            if "numInputVectors" in inst.get_nodeattr_types():
                vecs = list(inst.get_nodeattr("numInputVectors"))
                vecs[0] = n
                inst.set_nodeattr("numInputVectors", vecs)
    return m


def _execute_nodes(model: ModelWrapper, inp: np.ndarray, wanted: list[str]) -> dict[str, np.ndarray]:
    """qonnx's node-by-node execution on a batch; PER_IMAGE_OPS run image by image."""
    graph = model.graph
    ctx = model.make_empty_exec_context()
    ctx[graph.input[0].name] = inp
    opsets = model.get_opset_imports()
    for node in graph.node:
        opset = opsets.get(node.domain, get_preferred_qonnx_opset())
        if node.op_type in PER_IMAGE_OPS:
            out = node.output[0]
            parts = []
            for i in range(len(inp)):
                sub = {node.input[0]: ctx[node.input[0]][i:i + 1], out: np.zeros((1,) + ctx[out].shape[1:],
                                                                                   dtype=np.float32)}
                execute_node(node, sub, graph, opset)
                parts.append(sub[out])
            ctx[out] = np.concatenate(parts)
        else:
            execute_node(node, ctx, graph, opset)
    return {name: ctx[name] for name in wanted}


def execute_batched(model: ModelWrapper, images: np.ndarray, wanted: list[str], chunk: int = 256,
                    progress: bool = False, desc: str = "") -> dict[str, np.ndarray]:
    """Run ``model`` on ``images`` (N, ...) in chunks; return the ``wanted`` tensors concatenated."""
    from ..console import progress_bar

    images = np.asarray(images, dtype=np.float32)
    results: dict[str, list] = {w: [] for w in wanted}
    batched: dict[int, ModelWrapper] = {}
    # a bar only where it helps: the CLI's full test sets, not the few images of a quick check
    bar = progress_bar(total=len(images), desc=desc, unit="img", enabled=progress and len(images) >= 1000, leave=False)
    with _no_quant_sanitising(), _single_threaded_blas():
        for start in range(0, len(images), chunk):
            part = images[start:start + chunk]
            if len(part) not in batched:
                batched[len(part)] = batch_model(model, len(part))
            out = _execute_nodes(batched[len(part)], part, wanted)
            for w in wanted:
                results[w].append(out[w])
            bar.update(len(part))
    bar.close()
    return {w: np.concatenate(v) for w, v in results.items()}


# ------------------------------------------------------------------------------------------ comparison


def last_layer_node(model: ModelWrapper):
    """The last MatMul-like node: MatMul/Gemm/XnorPopcountMatMul or an MVAU."""
    found = [n for n in model.graph.node if n.op_type in LAST_LAYER_OPS or n.op_type.startswith("MVAU")]
    if not found:
        raise FinnFlowError("golden", "graph has no MatMul/MVAU node")
    return found[-1]


def _quant_scale(model: ModelWrapper, tensor: str) -> float | np.ndarray:
    """Scale between ``tensor`` and its integer codes: constant scalar Muls walked back to the Quant/BipolarQuant
    (or MultiThreshold) producing the codes; 1 for FINN's +-1 / integer tensors."""
    scale = 1.0
    producer = model.find_producer(tensor)
    while producer is not None and producer.op_type == "Mul":
        k = model.get_initializer(producer.input[1])
        if k is None or k.size != 1:
            break
        scale = scale * float(k.reshape(-1)[0])
        producer = model.find_producer(producer.input[0])
    if producer is not None and producer.op_type in ("Quant", "BipolarQuant"):
        scale = scale * np.asarray(model.get_initializer(producer.input[1]), dtype=np.float64)
    return scale


def integer_dot(model: ModelWrapper, node, out: np.ndarray) -> np.ndarray:
    """Convert ``node``'s output to the +-1 dot ``d`` of the last binary layer (see module docstring)."""
    out = np.asarray(out, dtype=np.float64).reshape(out.shape[0], -1)
    if node.op_type == "XnorPopcountMatMul":
        mw = model.get_tensor_shape(node.input[1])[0]
        return 2 * out - mw
    if node.op_type.startswith("MVAU"):
        inst = getCustomOp(node)
        if inst.get_nodeattr("binaryXnorMode") == 1:
            return 2 * out - inst.get_nodeattr("MW")
        return out
    # QONNX MatMul/Gemm: divide by the quantizer scales (1 in FINN graphs, where they moved out already)
    scale = _quant_scale(model, node.input[0]) * np.reshape(_quant_scale(model, node.input[1]), -1)
    if np.all(scale == 1.0):
        return out
    # a float32 MatMul of scaled codes (e.g. Brevitas' +-0.1 binary weights) is d * s up to rounding: snap what
    # is within float32 error of an integer, so a real datapath error still shows as non-integral
    d = out / scale
    r = np.round(d)
    return np.where(np.abs(d - r) <= 1e-4 * np.maximum(1.0, np.abs(r)), r, d)


def check_graph(model: ModelWrapper | str, golden: GoldenSet, step: str, uint8_input: bool,
                progress: bool = False, graph_name: str = "") -> GoldenResult:
    """Execute ``model`` on ``golden.images`` and require its integer last-layer output == ``golden.int_dots``.

    ``uint8_input``: the graph takes raw pixels (after PrependToTensorScale); otherwise ``pixels / 255``.
    Raises :class:`GoldenMismatchError` naming the step and the compared node.
    """
    if not isinstance(model, ModelWrapper):
        graph_name = graph_name or os.path.basename(str(model))
        model = ModelWrapper(str(model))
    in_shape = tuple(model.get_tensor_shape(model.graph.input[0].name))
    if tuple(golden.images.shape[1:]) != in_shape[1:]:
        raise FinnFlowError(step, f"golden images have shape {golden.images.shape[1:]}, the graph input is "
                            f"{in_shape[1:]}", node=model.graph.input[0].name)
    images = golden.images.astype(np.float32)
    if not uint8_input:
        images = images / np.float32(255.0)
    node = last_layer_node(model)
    out_name = model.graph.output[0].name
    chunk = 64 if any(n.op_type in PER_IMAGE_OPS for n in model.graph.node) else 512
    try:
        # dict.fromkeys: a model without a float tail outputs the last layer's tensor itself
        res = execute_batched(model, images, list(dict.fromkeys([node.output[0], out_name])), chunk=chunk,
                              progress=progress,
                              desc=f"golden {step}")
    except FinnFlowError:
        raise
    except Exception as e:  # an execution failure is a flow failure of this step
        raise FinnFlowError(step, f"graph execution failed: {type(e).__name__}: {e}") from e
    raw = res[node.output[0]]
    dots = integer_dot(model, node, raw)
    if dots.shape != golden.int_dots.shape:
        raise GoldenMismatchError(step, f"integer output shape {dots.shape} != torch's {golden.int_dots.shape}",
                                  node=node.name)
    if not np.array_equal(dots, np.round(dots)):
        raise GoldenMismatchError(step, "integer output is not integral (float drift in the datapath)",
                                  node=node.name)
    diff = dots.astype(np.int64) != golden.int_dots
    if diff.any():
        img, cls = map(int, np.argwhere(diff)[0])
        raise GoldenMismatchError(
            step, f"integer output differs from the golden set's (PyTorch's or your --golden int_dots) on "
            f"{int(diff.any(axis=1).sum())}/{len(dots)} images (first: image {img}, class {cls}: graph "
            f"{int(dots[img, cls])} vs expected {int(golden.int_dots[img, cls])})", node=node.name)
    final = res[out_name].reshape(len(images), -1)
    pred = final.argmax(axis=1)
    top1 = torch_top1 = agree = None
    if golden.labels is not None:
        top1 = float((pred == golden.labels).mean())
    if golden.logits is not None:
        torch_pred = golden.logits.argmax(axis=1)
        agree = float((pred == torch_pred).mean())
        if golden.labels is not None:
            torch_top1 = float((torch_pred == golden.labels).mean())
    return GoldenResult(step, graph_name, node.name, len(images), True, top1, torch_top1, agree)

