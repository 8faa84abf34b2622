"""Host driver for the BNN accelerator: packs images into DMA frames, moves them through a backend, unpacks
the integer outputs and turns them into labels.

This file is copied verbatim into the PYNQ deploy package (with ``packing.py`` beside it), so it depends on
numpy only (1.x on the board, 2.x here); ``pynq`` is imported by :class:`PynqDmaBackend` on the board. The same
:class:`BNNDriver` runs against the RTL simulator in the test suite (``surge_hw.sim.backend.RtlSimBackend``,
and this very file through a PYNQ stand-in): both backends implement
``transfer(in_words, n_out_words) -> out_words``, in the DMA shell's frame format (``packing.pack_frames``:
per image its beats concatenated LSB first, zero-padded to whole ``dma_word_bits`` words; one batch = one
DMA transfer each way, TLAST on the last word).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Protocol

import numpy as np

try:  # inside the package
    from surge_hw.rtl.packing import accelerator_inputs, frame_words, pack_frames, unpack_frames
except ImportError:  # on the board: packing.py sits beside this file
    from packing import accelerator_inputs, frame_words, pack_frames, unpack_frames  # type: ignore


class StreamBackend(Protocol):
    def transfer(self, in_words: np.ndarray, n_out_words: int) -> np.ndarray: ...


class BNNDriver:
    """``io`` is the deploy package's ``io.json``: stream widths and the label post-processing.

    Keys: in_elems, in_bits, in_per_beat, out_elems, out_bits, out_per_beat, dma_word_bits (the board's AXI DMA
    stream width), mw_last (MW of the last MVAU),
    label_sign (+1/-1: sign of the final per-tensor scale, so argmax of sign*dot is PyTorch's argmax),
    host (the steps the host runs before streaming, ``packing.apply_host_steps``; empty for uint8 input).
    """

    def __init__(self, io: dict, backend: StreamBackend):
        self.io, self.backend = io, backend

    @classmethod
    def from_dir(cls, package_dir: str | Path, backend: StreamBackend) -> "BNNDriver":
        return cls(json.loads((Path(package_dir) / "io.json").read_text()), backend)

    def in_words(self, n_images: int) -> int:
        io = self.io
        return n_images * frame_words(io["in_bits"], io["in_per_beat"], io["in_elems"] // io["in_per_beat"],
                                      io["dma_word_bits"])

    def out_words(self, n_images: int) -> int:
        io = self.io
        return n_images * frame_words(io["out_bits"], io["out_per_beat"], io["out_elems"] // io["out_per_beat"],
                                      io["dma_word_bits"])

    def execute(self, images_uint8: np.ndarray) -> np.ndarray:
        """(N, ...) uint8 images -> (N, out_elems) integer outputs of the last layer (popcounts)."""
        io = self.io
        x = accelerator_inputs(images_uint8, io.get("host"))  # packed input: the host binarizes the pixels
        if x.shape[1] != io["in_elems"]:
            raise ValueError(f"images have {x.shape[1]} pixels, the accelerator takes {io['in_elems']}")
        words = pack_frames(x, io["in_bits"], io["in_per_beat"], io["dma_word_bits"])
        out = self.backend.transfer(words, self.out_words(len(x)))
        expect = (self.out_words(len(x)), io["dma_word_bits"] // 8)
        if out.shape != expect:
            raise RuntimeError(f"backend returned {out.shape} output bytes, expected {expect}")
        return unpack_frames(out, io["out_bits"], io["out_per_beat"], io["out_elems"], io["dma_word_bits"])

    def dots(self, popcounts: np.ndarray) -> np.ndarray:
        """Popcounts -> the +-1 dot products PyTorch's last layer computes: dot = 2p - MW."""
        return 2 * popcounts - self.io["mw_last"]

    def classify(self, images_uint8: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        ints = np.concatenate([self.execute(images_uint8[i:i + batch]) for i in range(0, len(images_uint8), batch)])
        return (self.io["label_sign"] * self.dots(ints)).argmax(1), ints


class PynqDmaBackend:
    """PYNQ: the overlay's AXI DMA (``axi_dma_0``, simple mode) moves a batch's frames in (MM2S) and out (S2MM)
    in one transfer each (runs on the board, or on this machine through the test suite's PYNQ stand-in, which
    marks itself ``__surge_stand_in__``; ``simulated`` says which)."""

    def __init__(self, bitfile: str, word_bytes: int, dma: str = "axi_dma_0"):
        import pynq  # board-only dependency
        from pynq import Overlay, allocate

        self.word_bytes = word_bytes
        self.simulated = bool(getattr(pynq, "__surge_stand_in__", False))
        self.overlay = Overlay(bitfile)
        self.dma = getattr(self.overlay, dma)
        self._allocate = allocate

    def transfer(self, in_words: np.ndarray, n_out_words: int) -> np.ndarray:
        ibuf = self._allocate(shape=in_words.shape, dtype=np.uint8)
        obuf = self._allocate(shape=(n_out_words, self.word_bytes), dtype=np.uint8)
        ibuf[:] = in_words
        self.dma.recvchannel.transfer(obuf)
        self.dma.sendchannel.transfer(ibuf)
        self.dma.sendchannel.wait()
        self.dma.recvchannel.wait()
        out = np.array(obuf)
        ibuf.freebuffer(), obuf.freebuffer()
        return out


def validate(driver: BNNDriver, images: np.ndarray, labels: np.ndarray, out_path: str | Path,
             batch: int = 1000) -> dict:
    """Accuracy and images/s on the given backend; writes the results file that `surge-hw compare` reads."""
    t = time.perf_counter()
    pred, ints = driver.classify(images, batch=batch)
    wall = time.perf_counter() - t
    res = {"n_images": int(len(images)), "accuracy": float((pred == labels).mean()), "images_per_s": len(images) / wall,
           "wall_s": wall, "backend": type(driver.backend).__name__,
           "simulated": bool(getattr(driver.backend, "simulated", True))}
    np.savez_compressed(Path(out_path).with_suffix(".npz"), labels=pred, ints=ints)
    Path(out_path).with_suffix(".json").write_text(json.dumps(res, indent=2))
    return res
