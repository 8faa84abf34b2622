"""AXI-Stream packing of integer vectors: the one implementation shared by the simulator benches and the
PYNQ driver (the deploy stage copies this file next to the driver, so it must depend on numpy only).

A beat carries ``per_beat`` elements of ``bits`` bits; element i sits in bits ``[i*bits +: bits]`` (LSB first,
as FINN packs streams). On the DMA side a beat is ``ceil(per_beat*bits/8)`` little-endian bytes.
"""
from __future__ import annotations

import numpy as np


def stream_order(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) images -> (N, H*W*C) in the accelerator's input order: pixels row-major, channels
    innermost (NHWC, FINN's streaming layout; the parent graph's Transpose in front of the dataflow partition).
    (N, E) vectors pass unchanged; for one channel NHWC and NCHW coincide."""
    x = np.asarray(images)
    if x.ndim == 4:
        x = x.transpose(0, 2, 3, 1)
    return x.reshape(len(x), -1)


def beat_bytes(bits: int, per_beat: int) -> int:
    return -(-bits * per_beat // 8)


def pack(values: np.ndarray, bits: int, per_beat: int) -> np.ndarray:
    """(N, E) integers -> (N*E/per_beat, beat_bytes) uint8. Signed values are stored two's complement."""
    v = np.asarray(values).astype(np.int64)
    v = v.reshape(len(v), -1) if v.ndim > 1 else v.reshape(1, -1)
    if v.shape[1] % per_beat:
        raise ValueError(f"{v.shape[1]} elements per vector is not a multiple of {per_beat} per beat")
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    if v.min(initial=0) < lo or v.max(initial=0) > hi:
        raise ValueError(f"values outside the {bits}-bit range [{lo}, {hi}]")
    u = v & ((1 << bits) - 1)
    bit_planes = ((u[..., None] >> np.arange(bits)) & 1).astype(np.uint8)  # (N, E, bits), LSB first
    beats = bit_planes.reshape(-1, per_beat * bits)
    nbytes = beat_bytes(bits, per_beat)
    padded = np.zeros((len(beats), nbytes * 8), dtype=np.uint8)
    padded[:, : per_beat * bits] = beats
    return np.packbits(padded, axis=1, bitorder="little")


def unpack(data: np.ndarray, bits: int, per_beat: int, elems: int, signed: bool = False) -> np.ndarray:
    """(n_beats, beat_bytes) uint8 -> (N, elems) int64, inverse of :func:`pack`."""
    data = np.asarray(data, dtype=np.uint8).reshape(-1, beat_bytes(bits, per_beat))
    b = np.unpackbits(data, axis=1, bitorder="little")[:, : per_beat * bits].reshape(-1, bits).astype(np.int64)
    v = (b << np.arange(bits)).sum(1)
    if signed:
        v = np.where(v >= 1 << (bits - 1), v - (1 << bits), v)
    if len(v) % elems:
        raise ValueError(f"{len(v)} elements do not form whole vectors of {elems}")
    return v.reshape(-1, elems)


def beats_to_hex(data: np.ndarray) -> list[str]:
    """Beats as hex words (MSB first) for ``$readmemh``."""
    return [bytes(row[::-1]).hex() for row in np.asarray(data, dtype=np.uint8)]


def hex_to_beats(lines: list[str], nbytes: int) -> np.ndarray:
    """Inverse of :func:`beats_to_hex` (``$writememh`` output; x/z digits are an error)."""
    out = np.zeros((len(lines), nbytes), dtype=np.uint8)
    for i, line in enumerate(lines):
        word = int(line, 16)
        out[i] = np.frombuffer(word.to_bytes(nbytes, "little"), dtype=np.uint8)
    return out
