"""Accelerator IR: the folded dataflow graph as the RTL backend sees it.

One dataclass per hardware block, in FINN's terms (Thresholding, binary and integer MVAU, sliding window,
max-pool); FIFOs and width converters between them are planned by the generator. The IR is
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


class StreamLayer:
    """What every layer kind has: its input and output streams, per image and per beat.

    Subclasses define ``in_elems``/``out_elems`` (elements per image), ``in_bits``/``out_bits`` (bits per
    element), ``in_per_beat``/``out_per_beat`` (elements per beat), ``in_signed``/``out_signed`` and ``cycles``
    (cycles per image at full throughput).
    """

    @property
    def in_beat_bits(self) -> int:
        return self.in_per_beat * self.in_bits

    @property
    def out_beat_bits(self) -> int:
        return self.out_per_beat * self.out_bits

    @property
    def in_beats(self) -> int:
        return self.in_elems // self.in_per_beat

    @property
    def out_beats(self) -> int:
        return self.out_elems // self.out_per_beat


def signed_bits(lo: int, hi: int) -> int:
    """Two's complement bits holding lo..hi."""
    n = 1
    while not (-(1 << (n - 1)) <= lo and hi <= (1 << (n - 1)) - 1):
        n += 1
    return n


@dataclass
class ThresholdLayer(StreamLayer):
    """FINN ``Thresholding`` on an integer stream: ``out[c] = #{t in T[c] : x[c] >= t} + out_bias``.

    ``out_bias`` is FINN's ``ActVal`` (CNV's 8-bit input layer: 255 thresholds, bias -128 -> INT8).
    """

    name: str
    channels: int
    pe: int
    in_bits: int
    in_signed: bool
    thresholds: np.ndarray  # (channels, n_thres) int64, ascending per row
    num_vectors: int = 1  # pixels per image (1 for fully connected)
    out_bias: int = 0
    kind: str = "threshold"

    @property
    def n_thres(self) -> int:
        return int(self.thresholds.shape[1])

    @property
    def out_signed(self) -> bool:
        return self.out_bias < 0

    @property
    def out_bits(self) -> int:
        lo, hi = self.out_bias, self.out_bias + self.n_thres
        return signed_bits(lo, hi) if self.out_signed else bits_for(hi)

    @property
    def in_elems(self) -> int:
        return self.num_vectors * self.channels

    out_elems = in_elems

    @property
    def in_per_beat(self) -> int:
        return self.pe

    out_per_beat = in_per_beat

    @property
    def cycles(self) -> int:
        return self.num_vectors * self.channels // self.pe

    def check(self) -> None:
        _require(self.channels % self.pe == 0, self.name, f"PE={self.pe} does not divide channels={self.channels}")
        _require(self.thresholds.shape[0] == self.channels, self.name, "threshold rows != channels")
        _require(np.all(np.diff(self.thresholds, axis=1) >= 0), self.name, "thresholds not ascending per channel")


@dataclass
class BinaryMVAU(StreamLayer):
    """XNOR-popcount matrix-vector(-threshold) unit.

    ``acc[r] = popcount(XNOR(W[r, :], x))`` over the MW input bits; with thresholds the output is
    ``#{t in T[r] : acc[r] >= t}`` (1 bit for one threshold), without it is ``acc`` itself.
    ``weights`` is (MH, MW) in {0, 1}; row r is output neuron r. A conv layer runs it once per output pixel
    (``num_vectors`` = OFM_h * OFM_w), on the sliding window's K*K*C vectors.
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
    in_bits = 1
    in_signed = False
    out_signed = False

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
    def in_elems(self) -> int:
        return self.num_vectors * self.mw

    @property
    def out_elems(self) -> int:
        return self.num_vectors * self.mh

    @property
    def in_per_beat(self) -> int:
        return self.simd

    @property
    def out_per_beat(self) -> int:
        return self.pe

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
class IntegerMVAU(BinaryMVAU):
    """Integer-input x bipolar-weight MVAU (CNV's first layer: INT8 pixels x +-1 weights; FINN ``MVAU`` with
    ``binaryXnorMode=0``): ``acc[r] = sum_i (W[r,i] ? +x[i] : -x[i])`` in signed arithmetic, then
    ``#{t in T[r] : acc[r] >= t}`` (thresholds signed), or ``acc`` itself without thresholds.
    ``weights`` are bits as for :class:`BinaryMVAU` (1 <-> +1, 0 <-> -1).
    """

    in_bits: int = 8
    in_signed: bool = True
    kind: str = "mvau_int"

    @property
    def acc_range(self) -> tuple[int, int]:
        lo, hi = (-(1 << (self.in_bits - 1)), (1 << (self.in_bits - 1)) - 1) if self.in_signed \
            else (0, (1 << self.in_bits) - 1)
        m = max(abs(lo), abs(hi))
        return -self.mw * m, self.mw * m

    @property
    def acc_bits(self) -> int:
        return signed_bits(*self.acc_range)

    @property
    def out_signed(self) -> bool:  # the raw accumulator is signed; thresholded outputs are counts
        return self.thresholds is None


@dataclass
class SlidingWindow(StreamLayer):
    """FINN ``ConvolutionInputGenerator`` (RTL: ``sliding_window.v``, or FINN's finn-rtllib SWG with pipeline
    "none"): NHWC pixels in, one K*K*C window per output pixel out (row-major output pixels), SIMD channels
    per beat.

    Window element order: ``(kh, kw, c)`` (im2col, what the MVAU's weight columns expect) or, when
    ``depthwise``, ``(c // SIMD, kh, kw, c % SIMD)`` (what the max-pool unit consumes).
    """

    name: str
    channels: int
    ifm_dim: tuple  # (H, W)
    ofm_dim: tuple
    kernel: tuple  # (kh, kw)
    stride: tuple
    dilation: tuple
    simd: int
    in_bits: int
    in_signed: bool
    depthwise: bool = False
    kind: str = "sliding_window"

    def __post_init__(self):
        for key in ("ifm_dim", "ofm_dim", "kernel", "stride", "dilation"):
            setattr(self, key, tuple(int(v) for v in getattr(self, key)))

    @property
    def out_bits(self) -> int:
        return self.in_bits

    @property
    def out_signed(self) -> bool:
        return self.in_signed

    @property
    def window_elems(self) -> int:
        return self.kernel[0] * self.kernel[1] * self.channels

    @property
    def in_elems(self) -> int:
        return self.ifm_dim[0] * self.ifm_dim[1] * self.channels

    @property
    def out_elems(self) -> int:
        return self.ofm_dim[0] * self.ofm_dim[1] * self.window_elems

    @property
    def in_per_beat(self) -> int:
        return self.simd

    out_per_beat = in_per_beat

    @property
    def cycles(self) -> int:
        return max(self.in_beats, self.out_beats)

    def check(self) -> None:
        _require(self.channels % self.simd == 0, self.name, f"SIMD={self.simd} does not divide C={self.channels}")
        for i in range(2):
            span = self.dilation[i] * (self.kernel[i] - 1) + 1
            _require((self.ifm_dim[i] - span) // self.stride[i] + 1 == self.ofm_dim[i], self.name,
                     f"OFM {self.ofm_dim} does not follow from IFM {self.ifm_dim}, K {self.kernel}, "
                     f"stride {self.stride}, dilation {self.dilation} (no padding)")


@dataclass
class MaxPool(StreamLayer):
    """FINN ``Pool`` with ``Function=MaxPool`` after a depthwise sliding window: per output pixel, C/PE channel
    folds of K*K beats of PE channels in, the C/PE beats of their maxima out (``out[c] = max_k x[k, c]``,
    signed compare when ``signed``; on bits the maximum is an OR)."""

    name: str
    channels: int
    pe: int
    kernel_elems: int  # K*K window elements per channel
    out_pixels: int  # output pixels per image
    in_bits: int
    in_signed: bool = False
    kind: str = "maxpool"

    @property
    def out_bits(self) -> int:
        return self.in_bits

    @property
    def out_signed(self) -> bool:
        return self.in_signed

    @property
    def in_elems(self) -> int:
        return self.out_pixels * self.kernel_elems * self.channels

    @property
    def out_elems(self) -> int:
        return self.out_pixels * self.channels

    @property
    def in_per_beat(self) -> int:
        return self.pe

    out_per_beat = in_per_beat

    @property
    def cycles(self) -> int:
        return self.in_beats

    def check(self) -> None:
        _require(self.channels % self.pe == 0, self.name, f"PE={self.pe} does not divide C={self.channels}")
        _require(self.kernel_elems >= 1, self.name, "empty pooling window")


LAYER_KINDS = {"threshold": ThresholdLayer, "mvau_binary": BinaryMVAU, "mvau_int": IntegerMVAU,
               "sliding_window": SlidingWindow, "maxpool": MaxPool}


@dataclass
class Accelerator:
    """A chain of streaming layers: integer pixels in, the last layer's integers out.

    ``host_layers``: layers the host runs before the stream (``--input-format packed``: the first layer's
    binarizing :class:`ThresholdLayer`, so the stream carries 1 bit per pixel). The golden model, the
    simulator's callers and the driver apply them with the same numpy code (:mod:`surge_hw.rtl.packing`);
    the RTL starts at ``layers[0]``.
    """

    name: str
    layers: list = field(default_factory=list)
    fifo_depth: int = 0  # FIFO depth between layers; 0 = sized per link (one input vector + 2 beats)
    # "auto": pipeline registers where the folding needs them for the clock (rtl.generate.mvau_pipeline);
    # "none": the shortest pipeline. Latency differs, II and outputs do not.
    pipeline: str = "auto"
    host_layers: list = field(default_factory=list)

    @property
    def input_elems(self) -> int:
        """Stream elements per image (the RTL's input; after the host layers)."""
        return self.layers[0].in_elems

    @property
    def input_format(self) -> str:
        """"packed" when the host binarizes the pixels (1 bit per pixel on the stream), else "uint8"."""
        return "packed" if self.host_layers else "uint8"

    @property
    def output_elems(self) -> int:
        return self.layers[-1].out_elems

    def check(self) -> None:
        _require(len(self.layers) > 0, self.name, "accelerator has no layers")
        for layer in self.host_layers:
            _require(isinstance(layer, ThresholdLayer), layer.name,
                     f"host layers are Thresholding layers, got {type(layer).__name__}")
            layer.check()
        for layer in self.layers:
            layer.check()
        chain = self.host_layers + self.layers
        for prev, nxt in zip(chain, chain[1:]):
            _require(prev.out_elems == nxt.in_elems, nxt.name,
                     f"expects {nxt.in_elems} elements per image but {prev.name} produces {prev.out_elems}")
            _require(prev.out_bits == nxt.in_bits, nxt.name,
                     f"expects {nxt.in_bits}-bit elements but {prev.name} produces {prev.out_bits}-bit ones")
            _require(bool(prev.out_signed) == bool(nxt.in_signed), nxt.name,
                     f"expects {'signed' if nxt.in_signed else 'unsigned'} elements, {prev.name} produces "
                     f"{'signed' if prev.out_signed else 'unsigned'} ones")

    # -- persistence: accel.json (structure) + accel.npz (arrays); written atomically ---------------
    def save(self, directory: str | os.PathLike) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "fifo_depth": self.fifo_depth, "pipeline": self.pipeline, "layers": [],
                "host_layers": []}
        arrays = {}
        for prefix, key_list, layers in (("", "layers", self.layers), ("host", "host_layers", self.host_layers)):
            for i, layer in enumerate(layers):
                d = {k: v for k, v in asdict(layer).items() if not isinstance(v, np.ndarray) and v is not None}
                for key in ("weights", "thresholds"):
                    arr = getattr(layer, key, None)
                    if arr is not None:
                        arrays[f"{prefix}{i}_{key}"] = arr
                meta[key_list].append(d)
        _atomic_write(directory / "accel.npz", lambda f: np.savez_compressed(f, **arrays), binary=True)
        _atomic_write(directory / "accel.json", lambda f: f.write(json.dumps(meta, indent=2)))
        return directory / "accel.json"

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Accelerator":
        directory = Path(directory)
        meta = json.loads((directory / "accel.json").read_text())
        arrays = np.load(directory / "accel.npz")
        def layers(key_list, prefix):
            out = []
            for i, d in enumerate(meta.get(key_list, [])):
                klass = LAYER_KINDS[d.pop("kind")]
                for key in ("weights", "thresholds"):
                    if f"{prefix}{i}_{key}" in arrays:
                        d[key] = arrays[f"{prefix}{i}_{key}"]
                out.append(klass(**d))
            return out

        return cls(name=meta["name"], layers=layers("layers", ""), fifo_depth=meta.get("fifo_depth", 0),
                   pipeline=meta.get("pipeline", "auto"), host_layers=layers("host_layers", "host"))


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
