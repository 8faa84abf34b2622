"""The golden reference that travels with an exported model: test images and what PyTorch computed on them.

numpy only (no torch import), so that later stages can load a golden set without importing torch.

``int_dots`` are the INTEGER outputs of the last binary layer, before any scale: for +-1 activations and +-1
weights, ``d = sum_k x_k * w_jk`` (the hardware's XNOR-popcount ``p`` relates as ``d = 2p - MW``). Every later
stage (FINN graphs, RTL simulation) must reproduce them exactly.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class GoldenSet:
    images: np.ndarray                # uint8 (N, C, H, W) raw pixels, what the accelerator is fed
    int_dots: np.ndarray              # int64 (N, num_classes): last binary layer's integer dot products
    labels: np.ndarray | None = None  # int64 (N,), optional (top-1 accuracy)
    logits: np.ndarray | None = None  # float32 (N, num_classes), optional: the torch model's final output

    def __post_init__(self):
        self.images = np.asarray(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"golden images must be uint8 (N, C, H, W), got {self.images.dtype} "
                             f"{self.images.shape}")
        dots = np.asarray(self.int_dots)
        if dots.ndim != 2 or len(dots) != len(self.images):
            raise ValueError(f"int_dots must be (N, num_classes) with N={len(self.images)}, got {dots.shape}")
        if not np.array_equal(dots, np.round(dots)):
            raise ValueError("int_dots must be integers")
        self.int_dots = dots.astype(np.int64)
        if self.labels is not None:
            self.labels = np.asarray(self.labels).astype(np.int64).reshape(-1)
            if len(self.labels) != len(self.images):
                raise ValueError("labels and images differ in length")
        if self.logits is not None:
            self.logits = np.asarray(self.logits, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.images)

    def first(self, n: int | None) -> "GoldenSet":
        """The first ``n`` images (all if ``n`` is None): tests use a few, the CLI all 10k."""
        if n is None or n >= len(self):
            return self
        cut = slice(0, int(n))
        return GoldenSet(self.images[cut], self.int_dots[cut],
                         None if self.labels is None else self.labels[cut],
                         None if self.logits is None else self.logits[cut])

    def save(self, path: str | os.PathLike) -> Path:
        """Write an ``.npz`` atomically (temp file in the same directory + ``os.replace``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.npz")
        arrays = {"images": self.images, "int_dots": self.int_dots}
        if self.labels is not None:
            arrays["labels"] = self.labels
        if self.logits is not None:
            arrays["logits"] = self.logits
        try:
            np.savez_compressed(tmp, **arrays)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "GoldenSet":
        with np.load(Path(path)) as z:
            return cls(z["images"], z["int_dots"], z["labels"] if "labels" in z else None,
                       z["logits"] if "logits" in z else None)
