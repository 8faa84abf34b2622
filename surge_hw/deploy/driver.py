"""Host driver for the BNN accelerator: packs images into stream beats, moves them through a backend, unpacks
the integer outputs and turns them into labels.

This file is copied verbatim into the PYNQ deploy package (with ``packing.py`` beside it), so it depends on
numpy only; ``pynq`` is imported by :class:`PynqDmaBackend` on the board. The same :class:`BNNDriver` runs
against the RTL simulator in the test suite (``surge_hw.sim.backend.RtlSimBackend``): both backends implement
``transfer(in_beats, n_out_beats) -> out_beats``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Protocol

import numpy as np

try:  # inside the package
    from surge_hw.rtl.packing import beat_bytes, pack, stream_order, unpack
except ImportError:  # on the board: packing.py sits beside this file
    from packing import beat_bytes, pack, stream_order, unpack  # type: ignore


class StreamBackend(Protocol):
    def transfer(self, in_beats: np.ndarray, n_out_beats: int) -> np.ndarray: ...


class BNNDriver:
    """``io`` is the deploy package's ``io.json``: stream widths and the label post-processing.

    Keys: in_elems, in_bits, in_per_beat, out_elems, out_bits, out_per_beat, mw_last (MW of the last MVAU),
    label_sign (+1/-1: sign of the final per-tensor scale, so argmax of sign*dot is PyTorch's argmax).
    """

    def __init__(self, io: dict, backend: StreamBackend):
        self.io, self.backend = io, backend

    @classmethod
    def from_dir(cls, package_dir: str | Path, backend: StreamBackend) -> "BNNDriver":
        return cls(json.loads((Path(package_dir) / "io.json").read_text()), backend)

    def in_beats(self, n_images: int) -> int:
        return n_images * self.io["in_elems"] // self.io["in_per_beat"]

    def out_beats(self, n_images: int) -> int:
        return n_images * self.io["out_elems"] // self.io["out_per_beat"]

    def execute(self, images_uint8: np.ndarray) -> np.ndarray:
        """(N, ...) uint8 images -> (N, out_elems) integer outputs of the last layer (popcounts)."""
        io = self.io
        x = stream_order(images_uint8)
        if x.shape[1] != io["in_elems"]:
            raise ValueError(f"images have {x.shape[1]} pixels, the accelerator takes {io['in_elems']}")
        beats = pack(x, io["in_bits"], io["in_per_beat"])
        out = self.backend.transfer(beats, self.out_beats(len(x)))
        expect = (self.out_beats(len(x)), beat_bytes(io["out_bits"], io["out_per_beat"]))
        if out.shape != expect:
            raise RuntimeError(f"backend returned {out.shape} output bytes, expected {expect}")
        return unpack(out, io["out_bits"], io["out_per_beat"], io["out_elems"])

    def dots(self, popcounts: np.ndarray) -> np.ndarray:
        """Popcounts -> the +-1 dot products PyTorch's last layer computes: dot = 2p - MW."""
        return 2 * popcounts - self.io["mw_last"]

    def classify(self, images_uint8: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        ints = np.concatenate([self.execute(images_uint8[i:i + batch]) for i in range(0, len(images_uint8), batch)])
        return (self.io["label_sign"] * self.dots(ints)).argmax(1), ints


class PynqDmaBackend:
    """PYNQ: the bitfile's AXI DMA streams beats in and out (runs on a PYNQ-Z1/Z2 board only)."""

    def __init__(self, bitfile: str, out_beat_bytes: int, dma: str = "axi_dma_0"):
        from pynq import Overlay, allocate  # board-only dependency

        self.out_beat_bytes = out_beat_bytes
        self.overlay = Overlay(bitfile)
        self.dma = getattr(self.overlay, dma)
        self._allocate = allocate

    def transfer(self, in_beats: np.ndarray, n_out_beats: int) -> np.ndarray:
        ibuf = self._allocate(shape=in_beats.shape, dtype=np.uint8)
        obuf = self._allocate(shape=(n_out_beats, self.out_beat_bytes), dtype=np.uint8)
        ibuf[:] = in_beats
        self.dma.recvchannel.transfer(obuf)
        self.dma.sendchannel.transfer(ibuf)
        self.dma.sendchannel.wait()
        self.dma.recvchannel.wait()
        out = np.array(obuf)
        ibuf.freebuffer(), obuf.freebuffer()
        return out


def validate(driver: BNNDriver, images: np.ndarray, labels: np.ndarray, out_path: str | Path) -> dict:
    """Accuracy and images/s on the given backend; writes the results file that `surge-hw compare` reads."""
    t = time.perf_counter()
    pred, ints = driver.classify(images)
    wall = time.perf_counter() - t
    res = {"n_images": int(len(images)), "accuracy": float((pred == labels).mean()), "images_per_s": len(images) / wall,
           "wall_s": wall}
    np.savez_compressed(Path(out_path).with_suffix(".npz"), labels=pred, ints=ints)
    Path(out_path).with_suffix(".json").write_text(json.dumps(res, indent=2))
    return res
