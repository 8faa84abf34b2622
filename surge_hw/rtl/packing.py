"""AXI-Stream packing of integer vectors, and the host-side input steps: the one implementation shared by the
golden model, the simulator benches and the PYNQ driver (the deploy stage copies this file next to the driver,
so it must depend on numpy only).

Host steps (``manifest.json``'s / ``io.json``'s ``"host"`` list) run on the CPU before the stream: with
``--input-format packed`` the first layer's binarizing threshold (``pixel >= 128`` for TFC/SFC/LFC) moves out
of the accelerator, so the stream carries 1 bit per pixel instead of 8. :func:`threshold` is also what
:mod:`surge_hw.rtl.golden` runs for every Thresholding layer, so host and golden model share one code path.

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


def threshold(x: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``out[n, c] = #{t in T[c] : x[n, c] >= t}``; x is (N, C) integers, T is (C, n_thres) or (1, n_thres)."""
    return (np.asarray(x)[:, :, None].astype(np.int64) >= np.asarray(thresholds)[None, :, :]).sum(-1)


def apply_host_steps(x: np.ndarray, steps) -> np.ndarray:
    """(N, E) stream-ordered pixels through the host steps (see module docstring) -> the accelerator's input.

    A step is ``{"op": "threshold", "name", "elems", "channels", "thresholds": [[...], ...], "out_bias"}``: the
    Thresholding layer the accelerator no longer holds, applied per channel (channels innermost)."""
    x = np.asarray(x).astype(np.int64)
    for step in steps or ():
        if step.get("op") != "threshold":
            raise ValueError(f"unknown host step {step.get('op')!r} (this packing.py knows 'threshold')")
        n = len(x)
        if "elems" in step and x.reshape(n, -1).shape[1] != int(step["elems"]):
            raise ValueError(f"inputs have {x.reshape(n, -1).shape[1]} elements per image, host step {step['name']} "
                             f"takes {step['elems']}")
        x = threshold(x.reshape(-1, int(step["channels"])), np.asarray(step["thresholds"], dtype=np.int64))
        x = x.reshape(n, -1) + int(step.get("out_bias", 0))
    return x


def accelerator_inputs(images: np.ndarray, steps=()) -> np.ndarray:
    """(N, C, H, W) uint8 images (or (N, E) vectors) -> (N, input_elems) stream elements: stream order, then the
    host steps of the build (``manifest["host"]``; empty for ``--input-format uint8``)."""
    return apply_host_steps(stream_order(images), steps)


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


# ---- DMA frames: whole words per image (surge_hw/rtl/verilog/axis_frame_in.v / axis_frame_out.v) ----------
def frame_words(bits: int, per_beat: int, beats: int, word_bits: int) -> int:
    """DMA words per image: ``ceil(beats * per_beat * bits / word_bits)``."""
    return -(-beats * per_beat * bits // word_bits)


def _frame_check(bits: int, per_beat: int, word_bits: int) -> None:
    if bits < 1 or bits > 63 or per_beat < 1:
        raise ValueError(f"need 1 <= bits <= 63 and per_beat >= 1 (got bits={bits}, per_beat={per_beat})")
    if word_bits < 8 or word_bits % 8:
        raise ValueError(f"DMA word width must be a whole number of bytes (got {word_bits} bits)")


def _chunk_rows(elems: int, bits: int) -> int:
    """Images per vectorised step: about 4 M bits at a time, so a 10,000-image batch needs tens of MB of
    temporaries, not hundreds (a PYNQ-Z2 has 512 MB)."""
    return max(1, (1 << 22) // max(1, elems * bits))


def _lane_dtype(bits: int):
    return np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else np.uint32 if bits <= 32 else np.uint64


def pack_frames(values: np.ndarray, bits: int, per_beat: int, word_bits: int) -> np.ndarray:
    """(N, E) integers -> (N*WORDS, word_bits//8) uint8: the frames an AXI DMA sends to ``accel_dma_shell``.

    Frame format, per image: E = beats*per_beat elements of ``bits`` bits; element i sits at bits
    ``[i*bits +: bits]`` of the image's bit string, so beat k (its elements placed as :func:`pack` does)
    sits at ``[k*per_beat*bits +: per_beat*bits]``: the beats concatenated LSB first, crossing word
    boundaries freely (per_beat changes only the beat count, not the bits). The string is zero-padded to
    WORDS = :func:`frame_words` whole words of ``word_bits``; word j holds bits ``[j*word_bits +: word_bits]``
    as ``word_bits/8`` little-endian bytes. Signed values are two's complement. Every image starts on a
    word boundary, so a batch is the images' frames back to back (one DMA transfer, TLAST on its last word).
    """
    _frame_check(bits, per_beat, word_bits)
    v = np.asarray(values)
    v = v.reshape(len(v), -1) if v.ndim > 1 else v.reshape(1, -1)
    if not np.issubdtype(v.dtype, np.integer):
        v = v.astype(np.int64)
    n, e = v.shape
    if e % per_beat:
        raise ValueError(f"{e} elements per image is not a multiple of {per_beat} per beat")
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    if v.size and (int(v.min()) < lo or int(v.max()) > hi):
        raise ValueError(f"values outside the {bits}-bit range [{lo}, {hi}]")
    words = frame_words(bits, per_beat, e // per_beat, word_bits)
    frame_bytes = words * word_bits // 8
    out = np.zeros((n, frame_bytes), dtype=np.uint8)
    lane = _lane_dtype(bits)
    shifts = np.arange(bits, dtype=lane)
    step = _chunk_rows(e, bits)
    for r in range(0, n, step):  # a few chunks: bounded temporaries
        u = (v[r:r + step].astype(np.int64) & ((1 << bits) - 1)).astype(lane)
        if bits in (8, 16, 32):  # byte-sized elements: their little-endian bytes are the bit string
            byte_view = u.astype(f"<u{bits // 8}").view(np.uint8)
            out[r:r + step, : e * bits // 8] = byte_view.reshape(len(u), -1)
            continue
        planes = ((u[:, :, None] >> shifts) & 1).astype(np.uint8).reshape(len(u), e * bits)  # LSB first
        padded = np.zeros((len(u), frame_bytes * 8), dtype=np.uint8)
        padded[:, : e * bits] = planes
        out[r:r + step] = np.packbits(padded, axis=1, bitorder="little")
    return out.reshape(n * words, word_bits // 8)


def unpack_frames(data: np.ndarray, bits: int, per_beat: int, elems: int, word_bits: int,
                  signed: bool = False) -> np.ndarray:
    """(N*WORDS, word_bits//8) uint8 (or the same bytes flat) -> (N, elems) int64; inverse of
    :func:`pack_frames` (the frames ``accel_dma_shell`` sends to the DMA). Padding bits are ignored."""
    _frame_check(bits, per_beat, word_bits)
    if elems % per_beat:
        raise ValueError(f"{elems} elements per image is not a multiple of {per_beat} per beat")
    words = frame_words(bits, per_beat, elems // per_beat, word_bits)
    frame_bytes = words * word_bits // 8
    data = np.asarray(data, dtype=np.uint8).reshape(-1)
    if data.size % frame_bytes:
        raise ValueError(f"{data.size} bytes do not form whole frames of {words} x {word_bits}-bit words")
    frames = data.reshape(-1, frame_bytes)
    n = len(frames)
    if bits in (8, 16, 32):
        nbytes = elems * bits // 8
        v = np.ascontiguousarray(frames[:, :nbytes]).view(np.dtype(f"<u{bits // 8}")).astype(np.int64)
    else:
        v = np.zeros((n, elems), dtype=np.int64)
        step = _chunk_rows(elems, bits)
        for r in range(0, n, step):
            b = np.unpackbits(frames[r:r + step], axis=1, bitorder="little")[:, : elems * bits]
            b = b.reshape(len(b), elems, bits)
            for k in range(bits):  # bit planes back into elements: one (rows, elems) OR per bit
                v[r:r + step] |= b[:, :, k].astype(np.int64) << k
    if signed:
        v = np.where(v >= 1 << (bits - 1), v - (1 << bits), v)
    return v.reshape(n, elems)
