"""A golden set for a QONNX file that did not come from ``surge-hw export``: the user's test vectors or a dataset.

``surge-hw build my.onnx --golden my_vectors.npz`` / ``--dataset NAME``. The ``.npz`` (``numpy.savez``) holds

* ``images``: uint8 raw pixels, (N, C, H, W) or (N, C*H*W) (reshaped to the graph input); the graph takes
  ``images / 255`` (as a Brevitas model trained on ``ToTensor`` pixels), the accelerator the pixels;
* ``int_dots``: int (N, K), the expected INTEGER outputs of the last binary layer (the +-1 dot products
  ``d = sum_k x_k w_jk``, before any scale), and/or ``labels``: int (N,), the true classes;
* optionally ``logits``: float (N, K), the model's final outputs (top-1 agreement).

Whatever is missing is computed by executing the QONNX graph itself (qonnx's ``execute_node``, node by node, on a
batch: :func:`surge_hw.finn.golden.execute_batched`): without ``int_dots`` the graph is its own reference and the
build proves that every later stage computes what the QONNX graph computes. ``--dataset NAME`` takes the images
and labels from that dataset's test split. The completed set is saved as ``BUILD/golden.npz``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.cleanup import cleanup_model

from surge_hw.export.golden import GoldenSet

from .errors import FinnFlowError
from .golden import execute_batched, integer_dot, last_layer_node
from .passes import CheckGraphInput, RestoreOutputPolarity

FORMAT_HELP = ("'images' (uint8 (N, C, H, W) or (N, C*H*W) raw pixels) and 'int_dots' (int (N, K): the last "
               "binary layer's integer outputs) or 'labels' (int (N,)) or both; optional 'logits'")


def load_test_vectors(path: str | os.PathLike, input_shape: tuple) -> dict:
    """The arrays of a user's ``--golden`` file, checked and with images in the graph's (N, C, H, W) shape."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--golden {path} does not exist; pass a .npz with {FORMAT_HELP}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise ValueError(f"--golden {path} is not a .npz file numpy can read ({type(e).__name__}: {e}); "
                         f"write one with numpy.savez(path, images=..., int_dots=... or labels=...)") from None
    missing = [k for k in ("images",) if k not in arrays] + \
        ([] if {"int_dots", "labels"} & set(arrays) else ["int_dots or labels"])
    if missing:
        raise ValueError(f"--golden {path} lacks {' and '.join(missing)} (it has {sorted(arrays) or 'no arrays'}); "
                         f"it needs {FORMAT_HELP}")
    images = arrays["images"]
    shape = tuple(input_shape[1:])
    if images.dtype != np.uint8:
        raise ValueError(f"--golden {path}: images are {images.dtype}, not uint8 raw pixels 0..255 (what the "
                         f"accelerator is fed; the graph sees pixels / 255)")
    if images.ndim == 2 and images.shape[1] == int(np.prod(shape)):
        images = images.reshape((len(images),) + shape)
    if images.ndim != 4 or tuple(images.shape[1:]) != shape:
        raise ValueError(f"--golden {path}: images have shape {arrays['images'].shape}; the graph input is "
                         f"(N,) + {shape} (or (N, {int(np.prod(shape))}))")
    out = {"images": np.ascontiguousarray(images)}
    n = len(images)
    for key in ("int_dots", "labels", "logits"):
        if key in arrays:
            a = np.asarray(arrays[key])
            if len(a) != n:
                raise ValueError(f"--golden {path}: {key} has {len(a)} rows for {n} images")
            out[key] = a
    if "int_dots" in out:
        d = out["int_dots"]
        if d.ndim != 2 or not np.array_equal(d, np.round(d)):
            raise ValueError(f"--golden {path}: int_dots must be integers of shape (N, K), got {d.dtype} {d.shape}")
    return out


def qonnx_golden(onnx_path: str | os.PathLike, images: np.ndarray, labels=None, int_dots=None, logits=None,
                 progress: bool = True) -> GoldenSet:
    """Fill what a golden set lacks (``int_dots``, ``logits``) by executing the cleaned QONNX graph on ``images``."""
    model = _load(onnx_path)
    node = last_layer_node(model)
    out_name = model.graph.output[0].name
    try:
        raw = execute_batched(model, np.asarray(images, dtype=np.float32) / np.float32(255.0),
                              list(dict.fromkeys([node.output[0], out_name])), chunk=256, progress=progress,
                              desc="QONNX reference")
    except Exception as e:
        raise FinnFlowError("01_qonnx", f"QONNX execution failed: {type(e).__name__}: {e}") from e
    if int_dots is None:
        dots = integer_dot(model, node, raw[node.output[0]])
        if not np.array_equal(dots, np.round(dots)):
            raise FinnFlowError("01_qonnx", "the last layer's output divided by its quantizer scales is not an "
                                "integer: not a binary (bipolar x bipolar) last layer", node=node.name)
        int_dots = dots
    if logits is None:
        logits = raw[out_name].reshape(len(images), -1)
    return GoldenSet(images, int_dots, labels, logits)


def golden_for_onnx(onnx_path: str | os.PathLike, golden_file: str | os.PathLike | None = None,
                    dataset: str | None = None, data_dir: str | None = None, n_images: int | None = None,
                    progress: bool = True) -> tuple[GoldenSet, str]:
    """The golden set for a bare QONNX file and a sentence saying what its reference is."""
    graph = _load(onnx_path)
    input_shape = tuple(graph.get_tensor_shape(graph.graph.input[0].name))
    if golden_file is not None:
        v = load_test_vectors(golden_file, input_shape)
        ref = (f"the expected integer outputs in {golden_file}" if "int_dots" in v else
               f"QONNX execution of {Path(onnx_path).name} (no PyTorch model; {golden_file} gave images and labels)")
        return qonnx_golden(onnx_path, v["images"], v.get("labels"), v.get("int_dots"), v.get("logits"),
                            progress), ref
    from surge_hw.data import load_dataset

    test = load_dataset(dataset, "test", data_dir)
    if tuple(test.images.shape[1:]) != input_shape[1:]:
        raise ValueError(f"--dataset {dataset}: images are {test.images.shape[1:]}, the graph input is "
                         f"{input_shape[1:]}")
    n = min(n_images, len(test)) if n_images else len(test)
    return (qonnx_golden(onnx_path, test.images[:n], test.labels[:n], progress=progress),
            f"QONNX execution of {Path(onnx_path).name} on {n} {dataset} test images (no PyTorch model)")


def _load(onnx_path) -> ModelWrapper:
    try:
        model = cleanup_model(ModelWrapper(str(onnx_path)))
    except Exception as e:
        raise FinnFlowError("01_qonnx", f"cannot load {onnx_path} as a QONNX graph: {type(e).__name__}: {e}") from e
    return model.transform(CheckGraphInput("01_qonnx"))


# ------------------------------------------------------------------------------------------ read off the build


def last_layer_mw(folded: ModelWrapper) -> int:
    """MW of the accelerator's last MVAU: its popcount ``p`` is the integer output, ``d = 2p - MW``."""
    mvaus = [n for n in folded.graph.node if n.op_type.startswith("MVAU")]
    if not mvaus:
        raise FinnFlowError("folded", "no MVAU in the folded graph")
    return int(getCustomOp(mvaus[-1]).get_nodeattr("MW"))


def output_affine(parent: ModelWrapper) -> tuple[np.ndarray, np.ndarray]:
    """The float tail behind the accelerator (``06_dataflow_parent``), as ``logits = a * p + b`` per class."""
    sdp = parent.get_nodes_by_op_type("StreamingDataflowPartition")[0]
    mh = int(np.prod(parent.get_tensor_shape(sdp.output[0])[1:]))
    tail, tensor = [], sdp.output[0]
    while tensor != parent.graph.output[0].name:
        consumers = parent.find_consumers(tensor) or []
        node = consumers[0] if len(consumers) == 1 else None
        if node is None or node.op_type not in ("Mul", "Add", "Sub", "Div") or node.input[0] != tensor \
                or parent.get_initializer(node.input[1]) is None:
            raise FinnFlowError("06_dataflow_parent", "the accelerator's output feeds something other than a "
                                "chain of constant Mul/Add/Sub/Div", node=None if node is None else node.name)
        tail.append(node)
        tensor = node.output[0]
    return RestoreOutputPolarity._compose(parent, tail, mh)


def label_rule(parent: ModelWrapper) -> dict:
    """How labels follow from the integer outputs: ``{"label_sign": +-1}`` when the tail is one scale and bias
    for all classes (argmax of ``sign * d``, as the zoo models' TensorNorm), else the per-class affine."""
    a, b = output_affine(parent)
    if np.all(a == a[0]) and np.all(b == b[0]) and a[0] != 0:
        return {"label_sign": 1 if a[0] > 0 else -1}
    return {"label_sign": None, "output_affine": {"scale": a.tolist(), "bias": b.tolist()}}
