"""Accelerator IR -> Vitis-HLS C++ project (``BUILD/hls/``): the second hardware path, fed by the same IR as the
Verilog (:mod:`surge_hw.rtl.ir`), C-simulated with g++ on any machine (:mod:`surge_hw.hls.csim`) and
synthesizable by Vitis HLS where it exists.

``generate_hls(accel, out_dir)`` runs a readable list of small steps (each a class with ``apply(project)``, as
:mod:`surge_hw.rtl.generate` does) in a temp dir that replaces ``out_dir`` atomically:

    CheckIR -> PlanStreams -> WriteParams -> WriteTop -> CopyLibrary -> WriteTestbench -> WriteVitisTcl
    -> WriteManifest

The project: ``accel_top.cpp`` (one ``#pragma HLS DATAFLOW`` function chaining the kernels of
``hls/include/surge_hls``, copied to ``include/`` so the directory is self-contained), ``accel_top.h`` (its
interface), one ``params_<layer>.h`` per layer with weights/thresholds, ``tb_csim.cpp`` (the C-sim testbench:
DMA frames in, frames out, optional per-layer taps), ``csim_taps.h``, ``run_hls.tcl`` (``vitis_hls -f``) and
``manifest.json``.

Interface: ``accel_top(in, out, images)`` with 64-bit AXI-Stream words in and out, in the DMA frame format of
:func:`surge_hw.rtl.packing.pack_frames` (the same frames ``accel_dma_shell.v`` takes), so one host packing
serves the RTL, the C-sim and a board. Host steps (``--input-format packed``) run before, in Python.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..artefacts import building_dir
from ..rtl.generate import clipped_thresholds, host_steps, link_fifo_depth
from ..rtl.ir import Accelerator, BinaryMVAU, IntegerMVAU, IRError, MaxPool, SlidingWindow, ThresholdLayer
from ..rtl.packing import frame_words

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "hls" / "include" / "surge_hls"
WORD_BITS = 64  # the DMA word: what the top's AXI-Stream ports carry
AP_INT_DEFAULT_MAX_W = 1024  # ap_int.h's default widest ap_uint; wider beats need AP_INT_MAX_W defined first
KERNELS = {"threshold": "thresholding", "mvau_binary": "mvau_binary", "mvau_int": "mvau_int",
           "sliding_window": "sliding_window", "maxpool": "maxpool"}


@dataclass
class Stream:
    name: str
    width: int
    depth: int = 2


@dataclass
class HLSProject:
    accel: Accelerator
    directory: Path
    top_name: str
    part: str
    clock_ns: float
    idents: list = field(default_factory=list)  # C identifier per layer
    streams: list = field(default_factory=list)  # Stream, in call order
    calls: list = field(default_factory=list)  # C++ statements of the dataflow body
    taps: list = field(default_factory=list)  # {"layer", "stream", "file"}: what the taps build dumps
    files: list = field(default_factory=list)


# ---- array layouts (the contract with hls/include/surge_hls/mvau.h and thresholding.h) -------------------
def mvau_weight_array(layer: BinaryMVAU) -> np.ndarray:
    """(PE, NF*SF, WWORDS) uint64: ``[p][nf*SF + sf][k]`` = 64-bit word k of the SIMD-bit weight slice
    ``W[nf*PE + p, sf*SIMD : (sf+1)*SIMD]``, slice bit j at bit ``j % 64`` of word ``j // 64`` (high bits 0)."""
    pe, simd = layer.pe, layer.simd
    nf, sf = layer.mh // pe, layer.mw // simd
    words = -(-simd // WORD_BITS)
    w = np.asarray(layer.weights, dtype=np.uint8).reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3)
    bits = np.zeros((pe, nf * sf, words * WORD_BITS), dtype=np.uint8)
    bits[:, :, :simd] = w.reshape(pe, nf * sf, simd)
    packed = np.packbits(bits.reshape(pe, nf * sf, words, WORD_BITS), axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").reshape(pe, nf * sf, words)


def threshold_array(layer) -> np.ndarray:
    """(PE, folds, NT) int64: ``[p][f][t]`` = ``T[f*PE + p][t]`` clipped to the input/accumulator range
    (:func:`surge_hw.rtl.generate.clipped_thresholds`, the same values the RTL ROMs hold)."""
    t = clipped_thresholds(layer)
    rows = t.shape[0]
    return t.reshape(rows // layer.pe, layer.pe, -1).transpose(1, 0, 2)


def _c_array(ctype: str, name: str, arr: np.ndarray, fmt) -> str:
    """``static const ctype name[a][b][c] = {...};`` with one innermost row per line."""
    dims = "".join(f"[{d}]" for d in arr.shape)
    def rec(a, depth):
        if a.ndim == 1:
            return "{" + ",".join(fmt(int(v)) for v in a) + "}"
        sep = ",\n" if a.ndim == 2 else ",\n\n"
        return "{" + sep.join(rec(x, depth + 1) for x in a) + "}"
    return f"static const {ctype} {name}{dims} = {rec(arr, 0)};\n"


def _hex64(v: int) -> str:
    return f"0x{v & ((1 << 64) - 1):x}ULL"


# ---- generation steps ------------------------------------------------------------------------------------
class CheckIR:
    """Reject IR the kernels cannot build, naming the node (IRError)."""

    def apply(self, project: HLSProject) -> None:
        accel = project.accel
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", project.top_name):
            raise IRError(f"{accel.name}: top name {project.top_name!r} is not a C identifier")
        accel.check()
        for layer in accel.layers:
            if layer.kind not in KERNELS:
                raise IRError(f"{layer.name}: no HLS kernel for kind {layer.kind!r}")
            if isinstance(layer, (ThresholdLayer, BinaryMVAU)) and layer.thresholds is not None:
                t = clipped_thresholds(layer)
                if t.min() < -(1 << 31) or t.max() >= 1 << 31:
                    raise IRError(f"{layer.name}: thresholds outside int32 after clipping")
            if isinstance(layer, ThresholdLayer) and layer.n_thres < 1:
                raise IRError(f"{layer.name}: thresholding needs at least one threshold per channel")
        widest = max(max(lay.in_beat_bits, lay.out_beat_bits) for lay in accel.layers) + WORD_BITS
        if widest > 32768:
            raise IRError(f"{accel.name}: a {widest}-bit stream beat is wider than ap_uint's 32768-bit limit")


class PlanStreams:
    """One C identifier per layer; the streams of the dataflow body: DMA words -> (width conversion) -> layer 0
    -> ... -> (width conversion) -> DMA words. Link depths follow the RTL's FIFO sizing."""

    def apply(self, project: HLSProject) -> None:
        used = set()
        for i, layer in enumerate(project.accel.layers):
            ident = f"l{i}_" + re.sub(r"[^A-Za-z0-9_]", "_", layer.name)
            while ident in used:
                ident += "_"
            used.add(ident)
            project.idents.append(ident)


class WriteParams:
    """``params_<layer>.h``: the layer's weights (uint64 words) and thresholds (int32) as constant arrays."""

    def apply(self, project: HLSProject) -> None:
        for ident, layer in zip(project.idents, project.accel.layers):
            parts = [f"// {layer.name} ({layer.kind}): generated by surge_hw.hls.generate from the build's IR\n",
                     "#pragma once\n#include <cstdint>\n\n"]
            if isinstance(layer, BinaryMVAU):
                parts.append(_c_array("uint64_t", f"{ident}_weights", mvau_weight_array(layer), _hex64))
                if layer.thresholds is not None:
                    thr = threshold_array(layer)
                else:  # the kernels take a [PE][NF][1] array they ignore when NT == 0
                    thr = np.zeros((layer.pe, layer.mh // layer.pe, 1), dtype=np.int64)
                parts.append(_c_array("int32_t", f"{ident}_thresholds", thr, str))
            elif isinstance(layer, ThresholdLayer):
                parts.append(_c_array("int32_t", f"{ident}_thresholds", threshold_array(layer), str))
            else:
                continue
            name = f"params_{ident}.h"
            (project.directory / name).write_text("".join(parts))
            project.files.append(name)


def kernel_call(layer, ident: str, src: str, dst: str) -> str:
    """The ``surge_hls`` kernel call of one layer (template arguments from the IR)."""
    b = lambda v: "true" if v else "false"  # noqa: E731
    if isinstance(layer, ThresholdLayer):
        return (f"surge_hls::thresholding<{layer.channels}, {layer.pe}, {layer.in_bits}, {b(layer.in_signed)}, "
                f"{layer.n_thres}, {layer.out_bits}, {layer.out_bias}>({src}, {dst}, {ident}_thresholds, "
                f"images * {layer.num_vectors}u);")
    if isinstance(layer, IntegerMVAU):
        return (f"surge_hls::mvau_int<{layer.mw}, {layer.mh}, {layer.simd}, {layer.pe}, {layer.in_bits}, "
                f"{b(layer.in_signed)}, {layer.n_thres}, {layer.out_bits}, {-(-layer.simd // WORD_BITS)}>({src}, "
                f"{dst}, {ident}_weights, {ident}_thresholds, images * {layer.num_vectors}u);")
    if isinstance(layer, BinaryMVAU):
        return (f"surge_hls::mvau_binary<{layer.mw}, {layer.mh}, {layer.simd}, {layer.pe}, {layer.n_thres}, "
                f"{layer.out_bits}, {-(-layer.simd // WORD_BITS)}>({src}, {dst}, {ident}_weights, "
                f"{ident}_thresholds, images * {layer.num_vectors}u);")
    if isinstance(layer, SlidingWindow):
        (h, w), (oh, ow), (kh, kw) = layer.ifm_dim, layer.ofm_dim, layer.kernel
        (sh, sw), (dh, dw) = layer.stride, layer.dilation
        return (f"surge_hls::sliding_window<{layer.channels}, {h}, {w}, {oh}, {ow}, {kh}, {kw}, {sh}, {sw}, {dh}, "
                f"{dw}, {layer.simd}, {layer.in_bits}, {b(layer.depthwise)}>({src}, {dst}, images);")
    if isinstance(layer, MaxPool):
        return (f"surge_hls::maxpool<{layer.channels}, {layer.pe}, {layer.kernel_elems}, {layer.in_bits}, "
                f"{b(layer.in_signed)}>({src}, {dst}, images * {layer.out_pixels}u);")
    raise IRError(f"{layer.name}: no HLS kernel for kind {layer.kind!r}")


def dwc_call(in_w: int, out_w: int, in_beats: int, out_beats: int, src: str, dst: str) -> str:
    return f"surge_hls::dwc_frames<{in_w}, {out_w}, {in_beats}, {out_beats}>({src}, {dst}, images);"


def io_words(accel: Accelerator) -> tuple[int, int]:
    """64-bit DMA words per image into and out of ``accel_top``."""
    first, last = accel.layers[0], accel.layers[-1]
    return (frame_words(first.in_bits, first.in_per_beat, first.in_beats, WORD_BITS),
            frame_words(last.out_bits, last.out_per_beat, last.out_beats, WORD_BITS))


class WriteTop:
    """``accel_top.h`` / ``accel_top.cpp``: the dataflow chain, width conversion only where widths differ."""

    def apply(self, project: HLSProject) -> None:
        accel, idents = project.accel, project.idents
        layers = accel.layers
        in_words, out_words = io_words(accel)
        calls, streams = [], []

        def stream(name, width, depth=2):
            streams.append(Stream(name, width, depth))
            return name

        src = stream(f"{idents[0]}_in", layers[0].in_beat_bits, 2)
        calls.append(dwc_call(WORD_BITS, layers[0].in_beat_bits, in_words, layers[0].in_beats, "in", src))
        for i, (ident, layer) in enumerate(zip(idents, layers)):
            dst = stream(f"{ident}_out", layer.out_beat_bits)
            calls.append(kernel_call(layer, ident, src, dst))
            calls.append(f"SURGE_TAP({i}, {dst});")
            project.taps.append({"layer": layer.name, "stream": dst, "file": f"tap_{i}.bin",
                                 "bits": layer.out_bits, "per_beat": layer.out_per_beat,
                                 "elems": layer.out_elems, "signed": bool(layer.out_signed)})
            if i + 1 < len(layers):
                nxt = layers[i + 1]
                depth = link_fifo_depth(accel.fifo_depth, nxt)
                if nxt.in_beat_bits != layer.out_beat_bits:
                    conv = stream(f"{idents[i + 1]}_in", nxt.in_beat_bits, depth)
                    calls.append(dwc_call(layer.out_beat_bits, nxt.in_beat_bits, layer.out_beats, nxt.in_beats,
                                          dst, conv))
                    src = conv
                else:
                    streams[-1].depth = depth
                    src = dst
            else:
                src = dst
        last = layers[-1]
        calls.append(dwc_call(last.out_beat_bits, WORD_BITS, last.out_beats, out_words, src, "out"))
        project.streams, project.calls = streams, calls
        widest = max(s.width for s in streams) + WORD_BITS  # + the width converters' bit buffer
        max_w = "" if widest <= AP_INT_DEFAULT_MAX_W else (
            f"#ifndef AP_INT_MAX_W\n#define AP_INT_MAX_W {max(4096, 1 << (widest - 1).bit_length())}\n#endif\n")
        top = project.top_name
        header = (f"// {top}: {accel.name}, generated by surge_hw.hls.generate from the build's IR\n"
                  f"// Interface: 64-bit AXI-Stream words in/out (surge_hw.rtl.packing.pack_frames frames);\n"
                  f"// `images` images per call.\n#pragma once\n{max_w}#include \"surge_hls/surge_hls.h\"\n\n"
                  f"constexpr unsigned SURGE_IN_WORDS_PER_IMAGE = {in_words};\n"
                  f"constexpr unsigned SURGE_OUT_WORDS_PER_IMAGE = {out_words};\n"
                  f"constexpr unsigned SURGE_N_LAYERS = {len(layers)};\n\n"
                  f"void {top}(hls::stream<ap_uint<{WORD_BITS}>>& in, hls::stream<ap_uint<{WORD_BITS}>>& out, "
                  f"unsigned images);\n")
        body = [f"// {top}: {accel.name} ({len(layers)} layers), generated by surge_hw.hls.generate\n",
                f'#include "{top}.h"\n']
        body += [f'#include "params_{ident}.h"\n' for ident, lay in zip(idents, layers)
                 if isinstance(lay, (BinaryMVAU, ThresholdLayer))]
        body.append("\n// C-sim with -DSURGE_CSIM_TAPS: every layer's output stream is dumped (the divergence locator);\n"
                    "// C-sim runs the dataflow body sequentially, so a tap sees the layer's whole output. Empty for\n"
                    "// synthesis.\n#ifdef SURGE_CSIM_TAPS\n#include \"csim_taps.h\"\n"
                    "#define SURGE_TAP(i, s) surge_csim::tap(i, s)\n#else\n#define SURGE_TAP(i, s)\n#endif\n\n")
        body.append(f"void {top}(hls::stream<ap_uint<{WORD_BITS}>>& in, hls::stream<ap_uint<{WORD_BITS}>>& out, "
                    f"unsigned images) {{\n"
                    "#pragma HLS INTERFACE axis port=in\n#pragma HLS INTERFACE axis port=out\n"
                    "#pragma HLS INTERFACE s_axilite port=images bundle=control\n"
                    "#pragma HLS INTERFACE s_axilite port=return bundle=control\n#pragma HLS DATAFLOW\n")
        for s in streams:
            body.append(f"    hls::stream<ap_uint<{s.width}>> {s.name}(\"{s.name}\");\n"
                        f"#pragma HLS STREAM variable={s.name} depth={s.depth}\n")
        body.append("\n" + "".join(f"    {c}\n" for c in calls) + "}\n")
        (project.directory / f"{top}.h").write_text(header)
        (project.directory / f"{top}.cpp").write_text("".join(body))
        project.files += [f"{top}.h", f"{top}.cpp"]


class CopyLibrary:
    """The kernel headers (``hls/include/surge_hls``) into ``include/surge_hls``: the project builds anywhere."""

    def apply(self, project: HLSProject) -> None:
        if not (LIBRARY_DIR / "surge_hls.h").is_file():
            raise FileNotFoundError(f"{LIBRARY_DIR / 'surge_hls.h'} missing: the surge_hw checkout is incomplete")
        shutil.copytree(LIBRARY_DIR, project.directory / "include" / "surge_hls")
        project.files.append("include/surge_hls/")


TESTBENCH = r"""// C-sim testbench of __TOP__ (generated by surge_hw.hls.generate): `surge-hw hlssim` runs it.
//   tb_csim INPUT.bin OUTPUT.bin IMAGES [TAP_DIR]
// INPUT.bin: IMAGES * SURGE_IN_WORDS_PER_IMAGE 64-bit little-endian words (surge_hw.rtl.packing.pack_frames);
// OUTPUT.bin: the output frames, same format. Prints one JSON line (images, kernel seconds).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "__TOP__.h"
#ifdef SURGE_CSIM_TAPS
#include "csim_taps.h"
#endif

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s INPUT.bin OUTPUT.bin IMAGES [TAP_DIR]\n", argv[0]);
        return 2;
    }
    const unsigned images = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
#ifdef SURGE_CSIM_TAPS
    if (argc > 4) surge_csim::tap_dir() = argv[4];
#endif
    std::FILE* f = std::fopen(argv[1], "rb");
    if (!f) { std::fprintf(stderr, "tb_csim: cannot open %s\n", argv[1]); return 2; }
    const size_t n_in = static_cast<size_t>(images) * SURGE_IN_WORDS_PER_IMAGE;
    std::vector<uint64_t> words(n_in);
    const size_t got = std::fread(words.data(), 8, n_in, f);
    std::fclose(f);
    if (got != n_in) {
        std::fprintf(stderr, "tb_csim: %s holds %zu words, %u images need %zu\n", argv[1], got, images, n_in);
        return 2;
    }
    hls::stream<ap_uint<64>> in("in"), out("out");
    for (size_t i = 0; i < n_in; ++i) in.write(ap_uint<64>(words[i]));
    const auto t0 = std::chrono::steady_clock::now();
    __TOP__(in, out, images);
    const auto t1 = std::chrono::steady_clock::now();
    std::vector<uint64_t> result;
    while (!out.empty()) result.push_back(out.read().to_uint64());
    const size_t n_out = static_cast<size_t>(images) * SURGE_OUT_WORDS_PER_IMAGE;
    if (result.size() != n_out || !in.empty()) {
        std::fprintf(stderr, "tb_csim: %zu output words (expected %zu), %s input left over\n", result.size(), n_out,
                     in.empty() ? "no" : "some");
        return 1;
    }
    std::FILE* g = std::fopen(argv[2], "wb");
    if (!g || std::fwrite(result.data(), 8, n_out, g) != n_out) {
        std::fprintf(stderr, "tb_csim: cannot write %s\n", argv[2]);
        return 2;
    }
    std::fclose(g);
    std::printf("{\"images\": %u, \"kernel_s\": %.6f}\n", images, std::chrono::duration<double>(t1 - t0).count());
    return 0;
}
"""

TAPS_HEADER = r"""// C-sim only (generated by surge_hw.hls.generate): dump a stream's beats to TAP_DIR/tap_<i>.bin and put them
// back. Each beat is ceil(W/8) little-endian bytes (surge_hw.rtl.packing.pack's format).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace surge_csim {
inline std::string& tap_dir() {
    static std::string dir = ".";
    return dir;
}

template <int W>
void tap(int index, hls::stream<ap_uint<W>>& s) {
    std::vector<ap_uint<W>> beats;
    while (!s.empty()) beats.push_back(s.read());
    const std::string path = tap_dir() + "/tap_" + std::to_string(index) + ".bin";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    for (const ap_uint<W>& b : beats) {
        for (int k = 0; k < (W + 7) / 8; ++k) {
            const int hi = (8 * k + 7 < W) ? 8 * k + 7 : W - 1;
            const unsigned char byte = static_cast<unsigned char>(b.range(hi, 8 * k).to_uint());
            if (f) std::fputc(byte, f);
        }
        s.write(b);
    }
    if (f) std::fclose(f);
}
}  // namespace surge_csim
"""


class WriteTestbench:
    def apply(self, project: HLSProject) -> None:
        (project.directory / "tb_csim.cpp").write_text(TESTBENCH.replace("__TOP__", project.top_name))
        (project.directory / "csim_taps.h").write_text(TAPS_HEADER)
        project.files += ["tb_csim.cpp", "csim_taps.h"]


VITIS_TCL = """# Vitis HLS synthesis of {top} ({name}), generated by surge_hw.hls.generate.
# Run from this directory on a machine with Vitis HLS (2022.2 or later):   vitis_hls -f run_hls.tcl
# C-sim first (optional; the same testbench `surge-hw hlssim` runs with g++, which also leaves the first images'
# input frames in csim/input.bin and their count in csim/input.json):
#   SURGE_CSIM_ARGS="[pwd]/csim/input.bin [pwd]/csim/output_vitis.bin N" vitis_hls -f run_hls.tcl
# Writes surge_hls_prj/solution1/impl/ip (an IP-XACT core with AXI-Stream in/out and an AXI-Lite `images`).
open_project -reset surge_hls_prj
set_top {top}
add_files {top}.cpp -cflags "-Iinclude -std=c++14"
add_files -tb tb_csim.cpp -cflags "-Iinclude -std=c++14"
open_solution -reset solution1 -flow_target vivado
set_part {{{part}}}
create_clock -period {clock_ns:g} -name default
if {{[info exists ::env(SURGE_CSIM_ARGS)]}} {{
    csim_design -argv $::env(SURGE_CSIM_ARGS)
}}
csynth_design
export_design -format ip_catalog -rtl verilog
exit
"""


class WriteVitisTcl:
    def apply(self, project: HLSProject) -> None:
        text = VITIS_TCL.format(top=project.top_name, name=project.accel.name, part=project.part,
                                clock_ns=project.clock_ns)
        (project.directory / "run_hls.tcl").write_text(text)
        project.files.append("run_hls.tcl")


class WriteManifest:
    def apply(self, project: HLSProject) -> None:
        accel = project.accel
        in_words, out_words = io_words(accel)
        first, last = accel.layers[0], accel.layers[-1]
        man = {
            "top": project.top_name, "accelerator": accel.name, "generator": "surge_hw.hls.generate",
            "part": project.part, "clock_ns": project.clock_ns, "word_bits": WORD_BITS,
            "input": {"elem_bits": first.in_bits, "elems_per_beat": first.in_per_beat, "beats": int(first.in_beats),
                      "elems": int(first.in_elems), "signed": bool(first.in_signed), "words_per_image": in_words},
            "output": {"elem_bits": last.out_bits, "elems_per_beat": last.out_per_beat, "beats": int(last.out_beats),
                       "elems": int(last.out_elems), "signed": bool(last.out_signed), "words_per_image": out_words},
            "input_format": accel.input_format, "host": host_steps(accel),
            "layers": [{"name": lay.name, "kind": lay.kind, "kernel": KERNELS[lay.kind], "ident": ident,
                        "cycles": int(lay.cycles)} for ident, lay in zip(project.idents, accel.layers)],
            "streams": [{"name": s.name, "width": s.width, "depth": s.depth} for s in project.streams],
            "taps": project.taps,
            "files": project.files + ["manifest.json"],
            "ir_fingerprint": ir_fingerprint(accel),
        }
        (project.directory / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")


STEPS = (CheckIR, PlanStreams, WriteParams, WriteTop, CopyLibrary, WriteTestbench, WriteVitisTcl, WriteManifest)


def ir_fingerprint(accel: Accelerator) -> str:
    """A hash of what the C++ depends on (layers, weights, thresholds, kernel library): a stale BUILD/hls is
    regenerated, a current one (and its compiled C-sim) reused."""
    import hashlib

    h = hashlib.sha256()
    for layer in accel.host_layers + accel.layers:
        for k, v in sorted(vars(layer).items()):
            h.update(k.encode())
            h.update(np.ascontiguousarray(v).tobytes() if isinstance(v, np.ndarray) else repr(v).encode())
    for f in sorted(LIBRARY_DIR.glob("*.h")):
        h.update(f.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def generate_hls(accel: Accelerator, out_dir: str | os.PathLike, part: str = "xc7z020clg400-1",
                 fclk_mhz: float = 100.0, top_name: str = "accel_top") -> Path:
    """Write the HLS project for ``accel`` into ``out_dir`` (replaced atomically); return its path.

    Raises :class:`~surge_hw.rtl.ir.IRError` naming the node when the IR cannot be built.
    """
    out_dir = Path(out_dir).resolve()
    with building_dir(out_dir) as tmp:
        project = HLSProject(accel, tmp, top_name, part, round(1000.0 / fclk_mhz, 3))
        for step in STEPS:
            step().apply(project)
    return out_dir
