"""Accelerator IR: the folded dataflow graph as the RTL backend sees it.

One dataclass per hardware block, in FINN's terms (MVAU, Thresholding, FIFO, width converter). The IR is
what the RTL generator turns into Verilog and what the numpy golden model (:mod:`surge_hw.rtl.golden`)
executes, so the two can never disagree about weights, thresholds or bit order.

Conventions (the same as FINN's AXI-Stream packing):
- A stream beat carries ``n`` elements; element ``i`` sits in bits ``[i*W +: W]`` (element 0 in the LSBs).
- Bipolar values are bits: 1 <-> +1, 0 <-> -1.
- Thresholds are ascending per channel; a thresholding unit outputs ``#{t : x >= t}``.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


def clog2(n: int) -> int:
    """Bits to hold values 0..n-1 (at least 1)."""
    return max(1, int(n - 1).bit_length())


def bits_for(max_value: int) -> int:
    """Bits of an unsigned integer holding 0..max_value."""
    return max(1, int(max_value).bit_length())


@dataclass
class ThresholdLayer:
    """FINN ``Thresholding`` on an unsigned/signed integer stream: ``out[c] = #{t in T[c] : x[c] >= t}``."""

    name: str
    channels: int
    pe: int
    in_bits: int
    in_signed: bool
    thresholds: np.ndarray  # (channels, n_thres) int64, ascending per row
    num_vectors: int = 1  # pixels per image (1 for fully connected)
    kind: str = "threshold"

    @property
    def n_thres(self) -> int:
        return int(self.thresholds.shape[1])

    @property
    def out_bits(self) -> int:
        return bits_for(self.n_thres)

    @property
    def in_beat_bits(self) -> int:
        return self.pe * self.in_bits

    @property
    def out_beat_bits(self) -> int:
        return self.pe * self.out_bits

    @property
    def cycles(self) -> int:
        return self.num_vectors * self.channels // self.pe

    def check(self) -> None:
        _require(self.channels % self.pe == 0, self.name, f"PE={self.pe} does not divide channels={self.channels}")
        _require(self.thresholds.shape[0] == self.channels, self.name, "threshold rows != channels")
        _require(np.all(np.diff(self.thresholds, axis=1) >= 0), self.name, "thresholds not ascending per channel")


@dataclass
class BinaryMVAU:
    """XNOR-popcount matrix-vector(-threshold) unit.

    ``acc[r] = popcount(XNOR(W[r, :], x))`` over the MW input bits; with thresholds the output is
    ``#{t in T[r] : acc[r] >= t}`` (1 bit for one threshold), without it is ``acc`` itself.
    ``weights`` is (MH, MW) in {0, 1}; row r is output neuron r.
    """

    name: str
    mw: int
    mh: int
    simd: int
    pe: int
    weights: np.ndarray  # (mh, mw) uint8 {0,1}
    thresholds: np.ndarray | None = None  # (mh, n_thres) int64 on the popcount, ascending
    num_vectors: int = 1
    kind: str = "mvau_binary"

    @property
    def acc_bits(self) -> int:
        return bits_for(self.mw)

    @property
    def n_thres(self) -> int:
        return 0 if self.thresholds is None else int(self.thresholds.shape[1])

    @property
    def out_bits(self) -> int:
        return self.acc_bits if self.thresholds is None else bits_for(self.n_thres)

    @property
    def in_beat_bits(self) -> int:
        return self.simd

    @property
    def out_beat_bits(self) -> int:
        return self.pe * self.out_bits

    @property
    def cycles(self) -> int:
        return self.num_vectors * (self.mh // self.pe) * (self.mw // self.simd)

    def check(self) -> None:
        _require(self.mh % self.pe == 0, self.name, f"PE={self.pe} does not divide MH={self.mh}")
        _require(self.mw % self.simd == 0, self.name, f"SIMD={self.simd} does not divide MW={self.mw}")
        _require(self.weights.shape == (self.mh, self.mw), self.name,
                 f"weights shape {self.weights.shape} != (MH, MW)=({self.mh}, {self.mw})")
        _require(np.isin(self.weights, (0, 1)).all(), self.name, "binary MVAU weights must be bits {0,1}")
        if self.thresholds is not None:
            _require(self.thresholds.shape[0] == self.mh, self.name, "threshold rows != MH")
            _require(np.all(np.diff(self.thresholds, axis=1) >= 0), self.name, "thresholds not ascending")


@dataclass
class Accelerator:
    """A chain of streaming layers: uint8 pixels in, the last layer's integers out."""

    name: str
    layers: list = field(default_factory=list)
    fifo_depth: int = 0  # FIFO depth between layers; 0 = sized per link (one input vector + 2 beats)

    @property
    def input_elems(self) -> int:
        first = self.layers[0]
        return first.channels if first.kind == "threshold" else first.mw

    @property
    def output_elems(self) -> int:
        return self.layers[-1].mh if self.layers[-1].kind == "mvau_binary" else self.layers[-1].channels

    def check(self) -> None:
        _require(len(self.layers) > 0, self.name, "accelerator has no layers")
        for layer in self.layers:
            layer.check()
        for prev, nxt in zip(self.layers, self.layers[1:]):
            n_out = prev.mh if prev.kind == "mvau_binary" else prev.channels
            n_in = nxt.mw if nxt.kind == "mvau_binary" else nxt.channels
            _require(n_out == n_in, nxt.name, f"expects {n_in} inputs but {prev.name} produces {n_out}")
            if nxt.kind == "mvau_binary":
                _require(prev.out_bits == 1, nxt.name, f"binary MVAU fed by {prev.out_bits}-bit {prev.name}")

    # -- persistence: accel.json (structure) + accel.npz (arrays); written atomically ---------------
    def save(self, directory: str | os.PathLike) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta, arrays = {"name": self.name, "fifo_depth": self.fifo_depth, "layers": []}, {}
        for i, layer in enumerate(self.layers):
            d = {k: v for k, v in asdict(layer).items() if not isinstance(v, np.ndarray) and v is not None}
            for key in ("weights", "thresholds"):
                arr = getattr(layer, key, None)
                if arr is not None:
                    arrays[f"{i}_{key}"] = arr
            meta["layers"].append(d)
        _atomic_write(directory / "accel.npz", lambda f: np.savez_compressed(f, **arrays), binary=True)
        _atomic_write(directory / "accel.json", lambda f: f.write(json.dumps(meta, indent=2)))
        return directory / "accel.json"

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Accelerator":
        directory = Path(directory)
        meta = json.loads((directory / "accel.json").read_text())
        arrays = np.load(directory / "accel.npz")
        layers = []
        for i, d in enumerate(meta["layers"]):
            kind = d.pop("kind")
            klass = {"threshold": ThresholdLayer, "mvau_binary": BinaryMVAU}[kind]
            for key in ("weights", "thresholds"):
                if f"{i}_{key}" in arrays:
                    d[key] = arrays[f"{i}_{key}"]
            layers.append(klass(**d))
        return cls(name=meta["name"], layers=layers, fifo_depth=meta.get("fifo_depth", 0))


class IRError(ValueError):
    """The folded graph cannot be built as RTL; the message names the node and the reason."""


def _require(cond: bool, node: str, why: str) -> None:
    if not cond:
        raise IRError(f"{node}: {why}")


def _atomic_write(path: Path, write, binary: bool = False) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
