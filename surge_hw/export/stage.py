"""`surge-hw export`: checkpoint -> pure-BNN QONNX + the golden set every later stage must reproduce.

Writes into OUT: ``model.qonnx.onnx``, ``golden.npz`` (real test images, PyTorch's integer last-layer dots,
labels, logits) and ``export_info.json`` (provenance: checkpoint, dataset, model config).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data import load_dataset
from ..train.checkpoint import model_from_checkpoint
from .golden import GoldenSet
from .qonnx_export import ExportError, export_qonnx_model
from .reference import make_golden_set
from ..artefacts import write_json_atomic

ONNX_NAME, GOLDEN_NAME, INFO_NAME = "model.qonnx.onnx", "golden.npz", "export_info.json"


@dataclass
class ExportResult:
    out_dir: Path
    onnx: Path
    golden: Path
    n_images: int
    torch_top1: float


def check_aux_free(ckpt: str | os.PathLike, images_uint8: np.ndarray) -> None:
    """SURGE's aux branch must not change inference: outputs with and without it are identical."""
    pure, state = model_from_checkpoint(ckpt)
    if not state.get("surge"):
        return
    with_aux, _ = model_from_checkpoint(ckpt, with_aux=True)
    x = torch.from_numpy(images_uint8.astype(np.float32) / np.float32(255.0))
    with torch.no_grad():
        if not torch.equal(pure(x), with_aux(x)):
            raise ExportError(f"{ckpt}: outputs differ with and without the SURGE aux branch in eval(); "
                              f"the deployed BNN would not be the trained one")


def label_sign(model) -> int:
    """Sign of the final per-tensor scale (TensorNorm): labels are argmax(sign * dot) of the integer dots."""
    tn = model.tensor_norm
    return 1 if float(tn.weight.detach().reshape(-1)[0]) >= 0 else -1


def export_checkpoint(ckpt: str | os.PathLike, out_dir: str | os.PathLike, n_images: int = 10000,
                      data_dir: str | None = None) -> ExportResult:
    out_dir = Path(out_dir)
    model, state = model_from_checkpoint(ckpt)
    dataset = state.get("dataset", "mnist")
    test = load_dataset(dataset, "test", data_dir)
    if n_images is not None and n_images < 0:
        raise ValueError(f"n_images must be >= 0 (0 = all {len(test)} test images), got {n_images}")
    if n_images and n_images > len(test):
        print(f"export: warning: using all {len(test)} images; {n_images} requested", file=sys.stderr)
    n = min(n_images, len(test)) if n_images else len(test)
    images, labels = np.ascontiguousarray(test.images[:n]), test.labels[:n]
    check_aux_free(ckpt, images[:256])
    onnx_path = export_qonnx_model(model, (1,) + tuple(images.shape[1:]), out_dir / ONNX_NAME)
    golden: GoldenSet = make_golden_set(model, images, labels)
    golden.save(out_dir / GOLDEN_NAME)
    top1 = float((golden.logits.argmax(1) == labels).mean())
    info = {"checkpoint": str(Path(ckpt).resolve()), "dataset": dataset, "model_config": state["model_config"],
            "n_images": n, "torch_top1": top1, "surge_trained": bool(state.get("surge")),
            "label_sign": label_sign(model), "mw_last": int(model.last_binary_layer.weight.shape[1])}
    write_json_atomic(out_dir / INFO_NAME, info)
    print(f"export: wrote {onnx_path} (pure BNN, aux branches dropped) and {out_dir / GOLDEN_NAME} "
          f"({n} {dataset} test images, PyTorch top-1 {100 * top1:.2f} %)")
    return ExportResult(out_dir, onnx_path, out_dir / GOLDEN_NAME, n, top1)
