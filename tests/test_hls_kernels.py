"""HLS C++ kernels (hls/include/surge_hls/) == the numpy golden model, bit for bit, compiled with g++ for C-sim.

Each case builds an IR layer (surge_hw.rtl.ir) with seeded random weights / thresholds, runs the golden model
on a few images, and runs the C++ kernel on the same input beats: Python writes the beats with
``packing.pack`` (little-endian bytes per beat), a test program reads them into ``ap_uint`` beats, runs the
kernel and writes its output beats back, which ``packing.unpack`` decodes. All cases of a kernel family are one
C++ program (one template instantiation per case), so the file compiles five programs, two at a time.

Needs g++ and the hls4ml 1.3.0 wheel's ap_types headers; without them the tests fail, saying which is missing.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from surge_hw.hls import toolchain
from surge_hw.rtl import golden, packing
from surge_hw.rtl.ir import BinaryMVAU, IntegerMVAU, MaxPool, SlidingWindow, ThresholdLayer

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


# ---- the weight / threshold layouts of the kernel API (the contract the generator also implements) ----------
def weight_words(weights: np.ndarray, simd: int, pe: int) -> np.ndarray:
    """(MH, MW) bits -> (PE, NF*SF, WWORDS) uint64: ``[p][nf*SF + sf][k]`` is word k of the SIMD-bit slice
    ``W[nf*PE + p, sf*SIMD : (sf+1)*SIMD]``, slice bit j at bit j % 64 of word j // 64, unused bits 0."""
    mh, mw = weights.shape
    nf, sf, words = mh // pe, mw // simd, -(-simd // 64)
    tiles = weights.reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3).reshape(pe, nf * sf, simd)
    bits = np.zeros((pe, nf * sf, words * 64), dtype=np.uint8)
    bits[..., :simd] = tiles
    packed = np.packbits(bits.reshape(pe, nf * sf, words, 64), axis=-1, bitorder="little")  # 8 bytes per word
    return packed.view("<u8").reshape(pe, nf * sf, words)


def threshold_table(thresholds: np.ndarray, pe: int) -> np.ndarray:
    """(CH, NT) thresholds -> (PE, CH/PE, NT) int32: ``[p][nf][t] = T[nf*PE + p][t]``. On integer inputs
    ``x >= t`` is ``x >= ceil(t)``, and a threshold beyond int32 is met always / never either way, so round up
    and clamp (exact while the compared values stay inside int32)."""
    t = np.clip(np.ceil(np.asarray(thresholds, dtype=np.float64)), INT32_MIN, INT32_MAX).astype(np.int64)
    ch, nt = t.shape
    return t.reshape(ch // pe, pe, nt).transpose(1, 0, 2).astype(np.int32)


def cpp_array(a: np.ndarray, suffix: str = "") -> str:
    """A nested C++ brace initializer for an n-d integer array."""
    if a.ndim == 1:
        return "{" + ", ".join(f"{int(v)}{suffix}" for v in a) + "}"
    return "{" + ", ".join(cpp_array(sub, suffix) for sub in a) + "}"


def cpp_bool(b) -> str:
    return "true" if b else "false"


# ---- cases ---------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One kernel configuration: its C++ (declarations + call on streams ``in`` / ``out`` and the runtime
    count ``n``), the input bytes, and how to decode and check the output bytes."""

    name: str
    program: str
    in_w: int  # beat widths of the test program's streams
    out_w: int
    body: str
    count: int
    inputs: np.ndarray  # (beats, ceil(in_w/8)) uint8
    expected: np.ndarray  # decoded expected outputs
    decode: Callable[[np.ndarray], np.ndarray]  # output bytes -> array comparable with expected


def _layer_case(name, program, layer, x, body, count) -> Case:
    layer.check()
    expected = golden.run_layer(layer, x)
    inputs = packing.pack(x, layer.in_bits, layer.in_per_beat)

    def decode(data, layer=layer):
        return packing.unpack(data, layer.out_bits, layer.out_per_beat, layer.out_elems, bool(layer.out_signed))

    return Case(name, program, layer.in_beat_bits, layer.out_beat_bits, body, count, inputs, expected, decode)


def thresholding_case(name, layer: ThresholdLayer, x) -> Case:
    table = threshold_table(layer.thresholds, layer.pe)
    body = (f"static const int32_t T[{table.shape[0]}][{table.shape[1]}][{table.shape[2]}] = {cpp_array(table)};\n"
            f"surge_hls::thresholding<{layer.channels}, {layer.pe}, {layer.in_bits}, {cpp_bool(layer.in_signed)}, "
            f"{layer.n_thres}, {layer.out_bits}, {layer.out_bias}>(in, out, T, n);")
    return _layer_case(name, "thresholding", layer, x, body, len(x) * layer.num_vectors)


def mvau_case(name, layer: BinaryMVAU, x) -> Case:
    words = weight_words(layer.weights, layer.simd, layer.pe)
    nf = layer.mh // layer.pe
    table = (threshold_table(layer.thresholds, layer.pe) if layer.thresholds is not None
             else np.zeros((layer.pe, nf, 1), dtype=np.int32))
    decl = (f"static const uint64_t W[{words.shape[0]}][{words.shape[1]}][{words.shape[2]}] = "
            f"{cpp_array(words, 'ULL')};\n"
            f"static const int32_t T[{table.shape[0]}][{table.shape[1]}][{table.shape[2]}] = {cpp_array(table)};\n")
    if isinstance(layer, IntegerMVAU):
        call = (f"surge_hls::mvau_int<{layer.mw}, {layer.mh}, {layer.simd}, {layer.pe}, {layer.in_bits}, "
                f"{cpp_bool(layer.in_signed)}, {layer.n_thres}, {layer.out_bits}, {words.shape[2]}>(in, out, W, T, n);")
    else:
        call = (f"surge_hls::mvau_binary<{layer.mw}, {layer.mh}, {layer.simd}, {layer.pe}, {layer.n_thres}, "
                f"{layer.out_bits}, {words.shape[2]}>(in, out, W, T, n);")
    program = "mvau_int" if isinstance(layer, IntegerMVAU) else "mvau_binary"  # two programs: balanced builds
    return _layer_case(name, program, layer, x, decl + call, len(x) * layer.num_vectors)


def window_case(name, layer: SlidingWindow, x) -> Case:
    (ih, iw), (oh, ow), (kh, kw) = layer.ifm_dim, layer.ofm_dim, layer.kernel
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    body = (f"surge_hls::sliding_window<{layer.channels}, {ih}, {iw}, {oh}, {ow}, {kh}, {kw}, {sh}, {sw}, {dh}, "
            f"{dw}, {layer.simd}, {layer.in_bits}, {cpp_bool(layer.depthwise)}>(in, out, n);")
    return _layer_case(name, "window_pool", layer, x, body, len(x))


def maxpool_case(name, layer: MaxPool, x) -> Case:
    body = (f"surge_hls::maxpool<{layer.channels}, {layer.pe}, {layer.kernel_elems}, {layer.in_bits}, "
            f"{cpp_bool(layer.in_signed)}>(in, out, n);")
    return _layer_case(name, "window_pool", layer, x, body, len(x) * layer.out_pixels)


def dwc_case(name, in_w, out_w, in_beats, out_beats, inputs, expected, decode, images) -> Case:
    body = f"surge_hls::dwc_frames<{in_w}, {out_w}, {in_beats}, {out_beats}>(in, out, n);"
    return Case(name, "dwc", in_w, out_w, body, images, inputs, expected, decode)


def _bits(rng, shape):
    return rng.integers(0, 2, shape, dtype=np.uint8)


def _sorted_thresholds(rng, rows, nt, lo, hi):
    return np.sort(rng.integers(lo, hi + 1, (rows, nt)), axis=1).astype(np.int64)


def thresholding_cases() -> list[Case]:
    cases = []
    rng = np.random.default_rng(101)
    # binarizing input layer (TFC): one threshold per channel, PE=1; rows 0/1 always / never met
    t = _sorted_thresholds(rng, 4, 1, 1, 255)
    t[0, 0], t[1, 0] = 0, 256
    layer = ThresholdLayer("thr_binarize", 4, 1, 8, False, t, num_vectors=3)
    cases.append(thresholding_case("thr_binarize_pe1", layer, rng.integers(0, 256, (3, 12))))

    # CNV's 8-bit input quantizer: 255 thresholds, bias -128 -> INT8, PE = CH
    t = _sorted_thresholds(rng, 3, 255, -10, 270)
    t[0] = np.arange(1, 256)  # the identity quantizer: out = x - 128
    layer = ThresholdLayer("thr_cnv_input", 3, 3, 8, False, t, num_vectors=4, out_bias=-128)
    x = rng.integers(0, 256, (2, 12))
    x[0, :6] = [0, 255, 255, 0, 1, 254]
    cases.append(thresholding_case("thr_nt255_bias_m128", layer, x))

    # signed INT8 input at -128 / 127 against thresholds at and beyond the input range and int32's
    t = np.array([[INT32_MIN, -128, 127], [-129, 0, 128], [127, 128, INT32_MAX],
                  [-128, -128, -127], [INT32_MIN, INT32_MIN, INT32_MAX], [-5, 3, 90]], dtype=np.int64)
    layer = ThresholdLayer("thr_signed", 6, 2, 8, True, t, num_vectors=2)
    x = rng.integers(-128, 128, (3, 12))
    x[0], x[1] = -128, 127
    cases.append(thresholding_case("thr_signed_edges", layer, x))

    # signed 4-bit input, negative bias -> signed 3-bit output; fractional thresholds round up
    t = np.sort(rng.integers(-9, 9, (8, 3)) + 0.5, axis=1)
    layer = ThresholdLayer("thr_bias", 8, 4, 4, True, t, num_vectors=3, out_bias=-1)
    cases.append(thresholding_case("thr_signed_out_bias_m1", layer, rng.integers(-8, 8, (3, 24))))
    return cases


def _binary_mvau(name, mw, mh, simd, pe, nt, rng, num_vectors=1, images=3):
    w = _bits(rng, (mh, mw))
    t = None
    if nt:
        t = _sorted_thresholds(rng, mh, nt, mw // 2 - 6, mw // 2 + 6)
        t[0] = -3  # always met
        if mh > 1:
            t[1] = mw + 1  # never met
    layer = BinaryMVAU(name, mw, mh, simd, pe, w, t, num_vectors=num_vectors)
    x = _bits(rng, (images, num_vectors * mw))
    x[0, :mw] = w[min(2, mh - 1)]  # one vector equal to a weight row: acc = MW exactly
    return layer, x


def mvau_cases() -> list[Case]:
    cases = []
    rng = np.random.default_rng(202)
    for args in [("bin_simd1_pe1", 16, 8, 1, 1, 1), ("bin_simd8_pe4_nt3", 32, 12, 8, 4, 3),
                 ("bin_simd784_pe_eq_mh", 784, 16, 784, 16, 1), ("bin_simd196_acc_out", 784, 8, 196, 2, 0),
                 ("bin_simd64_pe_eq_mh_nt2", 128, 6, 64, 6, 2), ("bin_simd65_acc_out", 130, 4, 65, 1, 0),
                 ("bin_simd1568_beat", 1568, 4, 1568, 2, 0)]:
        cases.append(mvau_case(args[0], *_binary_mvau(*args, rng)))
    # conv-like: 4 vectors (pixels) per image, 2-word slices
    cases.append(mvau_case("bin_simd100_conv", *_binary_mvau("bin_simd100_conv", 200, 10, 100, 5, 1, rng,
                                                                num_vectors=4, images=2)))
    # thresholds at the popcount's edges and beyond int32 (clamped), fractional ones (rounded up)
    layer, x = _binary_mvau("bin_extremes", 32, 12, 8, 4, 3, rng)
    layer.thresholds = np.array([[-(1 << 40), 0, 32], [33, 33, 1 << 40], [32, 32, 32], [0, 0, 1]]
                                + [[15.5, 16, 16.5]] * 8, dtype=np.float64)
    cases.append(mvau_case("bin_thresholds_extremes", layer, x))

    # integer-input MVAUs (CNV's first conv: INT8 x +-1), accumulators at their extremes
    w = _bits(rng, (16, 27))
    w[0], w[1] = 1, 0  # acc = +-sum(x): +-3456 on all -128 / all 127 vectors
    layer = IntegerMVAU("int_acc_out", 27, 16, 3, 4, w, None, num_vectors=5, in_bits=8, in_signed=True)
    x = rng.integers(-128, 128, (2, 5 * 27))
    x[0, :27], x[0, 27:54], x[1, :27] = -128, 127, rng.choice([-128, 127], 27)
    cases.append(mvau_case("int8_simd3_pe4_acc_out", layer, x))

    w = _bits(rng, (8, 27))
    w[0] = 1
    t = np.array([[-3456], [3457], [INT32_MIN], [INT32_MAX], [0], [3456], [-3455], [1]], dtype=np.int64)
    layer = IntegerMVAU("int_full", 27, 8, 27, 8, w, t, num_vectors=3, in_bits=8, in_signed=True)
    x = rng.integers(-128, 128, (2, 3 * 27))
    x[0, :27], x[0, 27:54] = -128, 127
    cases.append(mvau_case("int8_simd_eq_mw_pe_eq_mh_nt1", layer, x))

    t = _sorted_thresholds(rng, 6, 3, -400, 400)
    layer = IntegerMVAU("int_unsigned", 12, 6, 1, 1, _bits(rng, (6, 12)), t, num_vectors=2, in_bits=8,
                        in_signed=False)
    cases.append(mvau_case("uint8_simd1_pe1_nt3", layer, rng.integers(0, 256, (3, 24))))

    layer = IntegerMVAU("int_wide", 130, 3, 65, 3, _bits(rng, (3, 130)), None, num_vectors=1, in_bits=4,
                        in_signed=True)
    cases.append(mvau_case("int4_simd65_two_words", layer, rng.integers(-8, 8, (3, 130))))
    return cases


def window_pool_cases() -> list[Case]:
    cases = []
    rng = np.random.default_rng(303)

    def window(name, c, ifm, k, s, d, simd, bits, signed, dw, images=2):
        span = [d[i] * (k[i] - 1) + 1 for i in range(2)]
        ofm = [(ifm[i] - span[i]) // s[i] + 1 for i in range(2)]
        layer = SlidingWindow(name, c, ifm, ofm, k, s, d, simd, bits, signed, depthwise=dw)
        lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
        x = rng.integers(lo, hi, (images, ifm[0] * ifm[1] * c))
        return layer, x

    for args in [("swg_k3_s1", 4, (5, 5), (3, 3), (1, 1), (1, 1), 2, 1, False, False),
                 ("swg_dw_nonsquare_s2x1", 4, (6, 7), (2, 3), (2, 1), (1, 1), 4, 2, False, True),
                 ("swg_int8_cnv_conv0", 3, (8, 8), (3, 3), (1, 1), (1, 1), 3, 8, True, False),
                 ("swg_dw_k2_s2_simd2", 6, (7, 5), (2, 2), (2, 2), (1, 1), 2, 1, False, True),
                 ("swg_dilated_nonsquare", 2, (7, 6), (3, 2), (1, 2), (2, 1), 1, 3, False, False)]:
        cases.append(window_case(args[0], *window(*args)))

    def pool(name, c, pe, k, pixels, bits, signed, images=2):
        layer = MaxPool(name, c, pe, k, pixels, bits, signed)
        lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
        return layer, rng.integers(lo, hi, (images, layer.in_elems))

    cases.append(maxpool_case("pool_binary_or", *pool("pool_binary", 8, 2, 4, 5, 1, False)))
    cases.append(maxpool_case("pool_2bit_k9", *pool("pool_2bit", 6, 3, 9, 4, 2, False)))
    layer, x = pool("pool_int8", 4, 4, 4, 3, 8, True)
    x[0, :16] = -128  # a window of minima: the maximum is -128, not a reset value
    x[0, 16:32] = rng.choice([-128, 127], 16)
    cases.append(maxpool_case("pool_int8_signed_edges", layer, x))
    cases.append(maxpool_case("pool_pe1_k1", *pool("pool_k1", 3, 1, 1, 4, 4, False)))

    # depthwise window -> max-pool, as CNV chains them: the two kernels agree on the (cf, kh, kw) order
    swg, x = window("chain_swg", 4, (6, 6), (2, 2), (2, 2), (1, 1), 2, 1, False, True)
    mp = MaxPool("chain_pool", 4, 2, 4, 9, 1, False)
    swg.check()
    mp.check()
    body = ("hls::stream<ap_uint<2>> mid(\"mid\");\n"
            "surge_hls::sliding_window<4, 6, 6, 3, 3, 2, 2, 2, 2, 1, 1, 2, 1, true>(in, mid, n);\n"
            "surge_hls::maxpool<4, 2, 4, 1, false>(mid, out, n * 9);\n"
            "if (!mid.empty()) { std::fprintf(stderr, \"mid stream not drained\\n\"); return 5; }")
    cases.append(Case("swg_dw_then_maxpool", "window_pool", 2, 2, body, len(x), packing.pack(x, 1, 2),
                      golden.run_layer(mp, golden.run_layer(swg, x)),
                      lambda data: packing.unpack(data, 1, 2, mp.out_elems)))
    return cases


def dwc_cases() -> list[Case]:
    cases = []
    rng = np.random.default_rng(404)

    def frames_out(name, bits, per_beat, beats, images=3, signed=False):
        """layer beats -> 64-bit DMA words == packing.pack_frames."""
        lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
        x = rng.integers(lo, hi, (images, per_beat * beats))
        words = packing.frame_words(bits, per_beat, beats, 64)
        expected = packing.pack_frames(x, bits, per_beat, 64)
        return dwc_case(name, per_beat * bits, 64, beats, words, packing.pack(x, bits, per_beat), expected,
                        lambda data: np.asarray(data, dtype=np.uint8).reshape(-1, 8), images)

    def frames_in(name, bits, per_beat, beats, images=3, signed=False):
        """64-bit DMA words (random bits in the frame padding) -> layer beats == packing.unpack_frames."""
        lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
        x = rng.integers(lo, hi, (images, per_beat * beats))
        words = packing.frame_words(bits, per_beat, beats, 64)
        frames = packing.pack_frames(x, bits, per_beat, 64).reshape(images, -1)
        used = beats * per_beat * bits
        bits_view = np.unpackbits(frames, axis=1, bitorder="little")
        bits_view[:, used:] = _bits(rng, bits_view[:, used:].shape)  # padding must be dropped
        frames = np.packbits(bits_view, axis=1, bitorder="little").reshape(-1, 8)
        assert np.array_equal(packing.unpack_frames(frames, bits, per_beat, x.shape[1], 64, signed), x)
        return dwc_case(name, 64, per_beat * bits, words, beats, frames, x,
                        lambda data: packing.unpack(data, bits, per_beat, x.shape[1], signed), images)

    cases += [frames_out("dwc_784_to_words", 1, 784, 1), frames_in("dwc_words_to_784", 1, 784, 1),
              frames_out("dwc_1568_to_words", 1, 1568, 1), frames_in("dwc_words_to_1568", 1, 1568, 1),
              frames_out("dwc_int8x3_to_words", 8, 3, 10, signed=True),
              frames_in("dwc_words_to_int8x3", 8, 3, 10, signed=True),
              frames_out("dwc_acc10x2_to_words", 10, 2, 5), frames_in("dwc_words_to_1bit_x16", 1, 16, 4)]

    def generic(name, in_w, in_beats, out_w, out_beats, images=3):
        """Any widths: out beat m = bits [m*OUT_W, (m+1)*OUT_W) of the image's string, zero padded / cut."""
        s = _bits(rng, (images, in_beats * in_w))
        want = np.zeros((images, out_beats * out_w), dtype=np.uint8)
        n = min(s.shape[1], want.shape[1])
        want[:, :n] = s[:, :n]
        return dwc_case(name, in_w, out_w, in_beats, out_beats, packing.pack(s, 1, in_w), want,
                        lambda data: packing.unpack(data, 1, out_w, out_beats * out_w), images)

    cases += [generic("dwc_24_to_40_padded", 24, 5, 40, 4), generic("dwc_40_to_24_cut", 40, 4, 24, 5),
              generic("dwc_7_to_3", 7, 3, 3, 7), generic("dwc_same_width", 16, 3, 16, 3)]
    return cases


CASES = {c.name: c for c in thresholding_cases() + mvau_cases() + window_pool_cases() + dwc_cases()}
assert len(CASES) == len(thresholding_cases() + mvau_cases() + window_pool_cases() + dwc_cases()), "duplicate names"
PROGRAMS = sorted({c.program for c in CASES.values()}, key=lambda p: -sum(c.program == p for c in CASES.values()))


# ---- the C++ test programs -------------------------------------------------------------------------------
HARNESS = r"""
#include <surge_hls/surge_hls.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// Beats as ceil(W/8) little-endian bytes each (surge_hw.rtl.packing.pack).
template <unsigned W>
static bool read_beats(const char* path, hls::stream<ap_uint<W>>& s) {
    std::FILE* f = std::fopen(path, "rb");
    if (!f) { std::perror(path); return false; }
    std::vector<unsigned char> data;
    unsigned char chunk[1 << 16];
    size_t got;
    while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) data.insert(data.end(), chunk, chunk + got);
    std::fclose(f);
    const unsigned nbytes = (W + 7) / 8;
    if (data.size() % nbytes) { std::fprintf(stderr, "%s: %zu bytes is not whole %u-byte beats\n", path, data.size(), nbytes); return false; }
    for (size_t b = 0; b < data.size() / nbytes; b++) {
        ap_uint<W> beat = 0;
        for (unsigned i = 0; i < nbytes; i++) {
            const unsigned lo = 8 * i, len = W - lo < 8 ? W - lo : 8;
            const unsigned byte = data[b * nbytes + i];
            if (byte >> len) { std::fprintf(stderr, "%s: bits set beyond the %u-bit beat\n", path, W); return false; }
            beat.range(lo + len - 1, lo) = byte;
        }
        s.write(beat);
    }
    return true;
}

template <unsigned W>
static bool write_beats(const char* path, hls::stream<ap_uint<W>>& s) {
    std::FILE* f = std::fopen(path, "wb");
    if (!f) { std::perror(path); return false; }
    const unsigned nbytes = (W + 7) / 8;
    while (!s.empty()) {
        const ap_uint<W> beat = s.read();
        for (unsigned i = 0; i < nbytes; i++) {
            const unsigned lo = 8 * i, len = W - lo < 8 ? W - lo : 8;
            std::fputc(static_cast<int>(beat.range(lo + len - 1, lo).to_uint()), f);
        }
    }
    return std::fclose(f) == 0;
}

// The kernel must consume exactly its input: leftover beats mean it read too few.
template <unsigned IN_W, unsigned OUT_W>
static int finish(hls::stream<ap_uint<IN_W>>& in, hls::stream<ap_uint<OUT_W>>& out, const char* out_path) {
    if (!in.empty()) { std::fprintf(stderr, "kernel left %zu input beats unread\n", in.size()); return 4; }
    return write_beats<OUT_W>(out_path, out) ? 0 : 2;
}
"""


def program_source(program: str) -> str:
    parts, dispatch = [HARNESS], []
    for case in CASES.values():
        if case.program != program:
            continue
        parts.append(f"static int case_{case.name}(const char* in_path, const char* out_path, unsigned n) {{\n"
                     f"    hls::stream<ap_uint<{case.in_w}>> in(\"in\");\n"
                     f"    hls::stream<ap_uint<{case.out_w}>> out(\"out\");\n"
                     f"    if (!read_beats<{case.in_w}>(in_path, in)) return 2;\n"
                     f"{textwrap.indent(case.body, '    ')}\n"
                     f"    return finish<{case.in_w}, {case.out_w}>(in, out, out_path);\n}}\n")
        dispatch.append(f"    if (name == \"{case.name}\") return case_{case.name}(argv[2], argv[3], n);")
    parts.append("int main(int argc, char** argv) {\n"
                 "    if (argc != 5) { std::fprintf(stderr, \"usage: CASE IN OUT COUNT\\n\"); return 1; }\n"
                 "    const std::string name = argv[1];\n"
                 "    const unsigned n = static_cast<unsigned>(std::strtoul(argv[4], nullptr, 10));\n"
                 + "\n".join(dispatch) + "\n"
                 "    std::fprintf(stderr, \"unknown case %s\\n\", argv[1]);\n    return 1;\n}\n")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """Compile the test programs, two at a time (2-core CI); {program: future of its executable}."""
    toolchain.ap_types_include()  # fail early, with the fix, when the headers are missing
    build = tmp_path_factory.mktemp("hls_kernels")

    def build_one(program):
        src = build / f"{program}.cpp"
        src.write_text(program_source(program))
        return toolchain.compile_cpp([src], build / program)

    pool = ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1)))
    futures = {p: pool.submit(build_one, p) for p in PROGRAMS}
    yield futures
    pool.shutdown(wait=True)


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_matches_golden(programs, tmp_path, name):
    case = CASES[name]
    exe = programs[case.program].result()
    in_path, out_path = tmp_path / "in.bin", tmp_path / "out.bin"
    in_path.write_bytes(np.ascontiguousarray(case.inputs, dtype=np.uint8).tobytes())
    proc = subprocess.run([str(exe), name, str(in_path), str(out_path), str(case.count)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"{name}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "WARNING" not in proc.stdout, f"{name}: hls::stream misuse (read while empty / leftovers):\n{proc.stdout}"
    data = np.frombuffer(out_path.read_bytes(), dtype=np.uint8)
    got = case.decode(data)
    assert got.shape == case.expected.shape, f"{name}: output shape {got.shape}, expected {case.expected.shape}"
    mismatches = np.argwhere(got != case.expected)
    assert len(mismatches) == 0, (f"{name}: {len(mismatches)} of {got.size} outputs differ, first at "
                                  f"{tuple(mismatches[0])}: got {got[tuple(mismatches[0])]}, "
                                  f"expected {case.expected[tuple(mismatches[0])]}")


def test_weight_words_layout():
    """The test's weight packing follows the API text bit by bit (so a layout slip cannot cancel out)."""
    rng = np.random.default_rng(7)
    mh, mw, simd, pe = 6, 260, 130, 3
    w = _bits(rng, (mh, mw))
    words = weight_words(w, simd, pe)
    assert words.shape == (pe, (mh // pe) * (mw // simd), 3) and words.dtype == np.uint64
    for p in range(pe):
        for nf in range(mh // pe):
            for sf in range(mw // simd):
                for j in range(3 * 64):
                    bit = (int(words[p, nf * (mw // simd) + sf, j // 64]) >> (j % 64)) & 1
                    assert bit == (w[nf * pe + p, sf * simd + j] if j < simd else 0)
    t = np.arange(12).reshape(6, 2)
    table = threshold_table(t, 3)
    assert all(table[p, nf, k] == t[nf * 3 + p, k] for p in range(3) for nf in range(2) for k in range(2))


# ---- compiler hygiene and the toolchain's errors ------------------------------------------------------------
KERNEL_INSTANCES = {
    "thresholding.h": "static const int32_t T[2][2][3] = {};\n"
                      "void f(hls::stream<ap_uint<16>>& a, hls::stream<ap_uint<4>>& b) "
                      "{ surge_hls::thresholding<4, 2, 8, true, 3, 2, 0>(a, b, T, 1); }",
    "mvau.h": "static const uint64_t W[2][4][2] = {};\nstatic const int32_t T[2][2][1] = {};\n"
              "static const int32_t T2[2][2][2] = {};\n"
              "void f(hls::stream<ap_uint<100>>& a, hls::stream<ap_uint<16>>& b) "
              "{ surge_hls::mvau_binary<200, 4, 100, 2, 0, 8, 2>(a, b, W, T, 1); }\n"
              "void g(hls::stream<ap_uint<800>>& a, hls::stream<ap_uint<4>>& b) "
              "{ surge_hls::mvau_int<200, 4, 100, 2, 8, true, 2, 2, 2>(a, b, W, T2, 1); }",
    "sliding_window.h": "void f(hls::stream<ap_uint<4>>& a, hls::stream<ap_uint<4>>& b) "
                        "{ surge_hls::sliding_window<4, 5, 5, 2, 2, 3, 3, 2, 2, 1, 1, 2, 2, true>(a, b, 1); }",
    "maxpool.h": "void f(hls::stream<ap_uint<8>>& a, hls::stream<ap_uint<8>>& b) "
                 "{ surge_hls::maxpool<4, 2, 4, 4, true>(a, b, 1); }",
    "dwc.h": "void f(hls::stream<ap_uint<1568>>& a, hls::stream<ap_uint<64>>& b) "
             "{ surge_hls::dwc_frames<1568, 64, 1, 25>(a, b, 1); }",
}


def _gxx(args, src: Path):
    ap = toolchain.ap_types_include()
    cmd = ["g++", *args, f"-I{toolchain.surge_hls_include()}", "-isystem", str(ap), str(src)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def test_kernel_headers_compile_with_werror(tmp_path):
    """The kernel headers, every kernel instantiated, build warning-free under -Wall -Wextra -Werror (front-end
    checks here; the -O2 middle-end ones are the test programs' builds, which use the same flags)."""
    assert {"-Wall", "-Wextra", "-Werror"} <= set(toolchain.CXXFLAGS)
    src = tmp_path / "kernels.cpp"
    src.write_text("".join(f"#include <surge_hls/{header}>\n" for header in KERNEL_INSTANCES) + "\n".join(
        f"namespace n{i} {{\n{body}\n}}" for i, body in enumerate(KERNEL_INSTANCES.values())) + "\n")
    proc = _gxx([*toolchain.CXXFLAGS, "-fsyntax-only"], src)
    assert proc.returncode == 0, proc.stderr[:3000]
    assert proc.stderr == "", f"warnings:\n{proc.stderr[:3000]}"


def test_too_small_ap_int_max_w_is_a_compile_error(tmp_path):
    """A beat over AP_INT_MAX_W fails at compile time naming the macro (ap_int itself would abort at run time)."""
    src = tmp_path / "narrow.cpp"
    src.write_text("#define AP_INT_MAX_W 1024\n#include <surge_hls/dwc.h>\n" + KERNEL_INSTANCES["dwc.h"] + "\n")
    proc = _gxx([*toolchain.CXXFLAGS, "-fsyntax-only"], src)
    assert proc.returncode != 0 and "AP_INT_MAX_W" in proc.stderr


def test_compile_cpp_reports_compiler_errors(tmp_path):
    src = tmp_path / "broken.cpp"
    src.write_text("int main() { return undefined_name; }\n")
    with pytest.raises(RuntimeError, match="undefined_name") as err:
        toolchain.compile_cpp([src], tmp_path / "broken")
    assert "g++ failed" in str(err.value) and not (tmp_path / "broken").exists()


def test_compile_cpp_without_gxx(tmp_path, monkeypatch):
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="g\\+\\+ not found"):
        toolchain.compile_cpp([tmp_path / "x.cpp"], tmp_path / "x")


def test_ap_types_include_names_the_fix(monkeypatch, tmp_path):
    """Found without importing hls4ml; when the package (or its headers) is missing, one line naming the fix."""
    path = toolchain.ap_types_include()
    assert (path / "ap_int.h").is_file() and (path / "hls_stream.h").is_file()
    probe = ("import sys; from surge_hw.hls import toolchain; toolchain.ap_types_include(); "
             "assert 'hls4ml' not in sys.modules, 'hls4ml was imported'")
    subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True)
    for spec in (None, types.SimpleNamespace(submodule_search_locations=[str(tmp_path)])):
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, spec=spec: spec)
        with pytest.raises(FileNotFoundError) as err:
            toolchain.ap_types_include()
        message = str(err.value)
        assert "pip install --no-deps hls4ml==1.3.0" in message and "\n" not in message
