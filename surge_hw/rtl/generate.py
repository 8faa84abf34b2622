"""Accelerator IR -> self-contained Verilog project (our open backend; no vendor tools).

``generate_rtl(accel, out_dir)`` runs a readable list of small generation steps, each a class with
``apply(project)`` (like qonnx transformations), on a :class:`RTLProject` being built in a temp dir that is
renamed onto ``out_dir`` at the end (atomic: a reader never sees half a project):

    CheckIR -> PlanLayers -> CopyBlocks -> WriteMemories -> WriteTop -> WriteFilelist -> WriteManifest

The project holds copies of the hand-written blocks (``surge_hw/rtl/verilog``; ``sliding_window.v`` for
each ``SlidingWindow`` layer, or with ``pipeline="none"`` FINN's sliding-window generator: finn-rtllib
SystemVerilog, templates filled by FINN's own code generator, see :mod:`surge_hw.rtl.finn_swg`), one
``.mem`` per weight / threshold memory, the generated
``accel_top.v`` chaining
``s_axis -> layer0 -> [dwc] -> fifo -> layer1 -> ... -> m_axis``, ``filelist.f`` and ``manifest.json``.
Memory files are referenced by bare file name: run simulators and synthesis with the project dir (or a
dir holding copies of the ``.mem`` files) as working directory, as Vivado does with project memories.

The ``.mem`` layouts (also used by the block benches, so both share one code path) are documented in
:func:`mvau_weight_words` and :func:`threshold_words`.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..artefacts import building_dir
from .ir import (Accelerator, BinaryMVAU, IntegerMVAU, IRError, MaxPool, SlidingWindow, ThresholdLayer, signed_bits,
                 bits_for)

VERILOG_DIR = Path(__file__).parent / "verilog"
BLOCK_FILES = ("mvau_binary.v", "mvau_int.v", "mvau_fold.v", "thresholding.v", "maxpool.v", "sliding_window.v",
               "axis_fifo.v", "axis_dwc.v")
# blocks that instantiate others (the MVAUs' fold sequencer and output FIFO): what a bench or a lint run of one
# block compiles
BLOCK_DEPENDS = {"mvau_binary": ("mvau_fold", "axis_fifo"), "mvau_int": ("mvau_fold", "axis_fifo"),
                 "accel_dma_shell": ("axis_frame_in", "axis_frame_out", "axis_fifo")}


def block_sources(block: str) -> list[Path]:
    """``<block>.v`` and the block files it instantiates."""
    return [VERILOG_DIR / f"{name}.v" for name in (block, *BLOCK_DEPENDS.get(block, ()))]


# ---- memory images ----------------------------------------------------------------------------------
def mvau_weight_words(layer: BinaryMVAU) -> list[int]:
    """Weight ROM of a binary MVAU: NF*SF words of PE*SIMD bits.

    Word ``nf*SF + sf``, bit ``p*SIMD + s`` = ``W[nf*PE + p][sf*SIMD + s]`` (1 <-> +1).
    """
    nf, sf, pe, simd = layer.mh // layer.pe, layer.mw // layer.simd, layer.pe, layer.simd
    w = np.asarray(layer.weights, dtype=np.uint8).reshape(nf, pe, sf, simd)
    bits = w.transpose(0, 2, 1, 3).reshape(nf * sf, pe * simd)  # [word, p*SIMD + s]
    return _pack_rows(bits)


def mvau_threshold_bounds(layer: BinaryMVAU) -> tuple[int, int]:
    """The accumulator's range plus one above: clipping thresholds to it keeps ``acc >= t`` unchanged.
    Popcount (binary MVAU): [0, MW]; signed sum of +-x (integer MVAU): :attr:`IntegerMVAU.acc_range`."""
    if isinstance(layer, IntegerMVAU):
        lo, hi = layer.acc_range
        return lo, hi + 1
    return 0, layer.mw + 1


def threshold_input_bounds(layer: ThresholdLayer) -> tuple[int, int]:
    """Input range plus one above: clipping thresholds to it keeps ``x >= t`` unchanged."""
    if layer.in_signed:
        return -(1 << (layer.in_bits - 1)), 1 << (layer.in_bits - 1)
    return 0, 1 << layer.in_bits


def threshold_width(layer) -> int:
    """Bits of one stored threshold after clipping (unsigned for the binary MVAU, two's complement for the
    integer MVAU and for a signed Thresholding input)."""
    if isinstance(layer, IntegerMVAU):
        return signed_bits(*mvau_threshold_bounds(layer))
    if isinstance(layer, BinaryMVAU):
        return bits_for(layer.mw + 1)
    return layer.in_bits + 1


def clipped_thresholds(layer) -> np.ndarray:
    """The layer's thresholds as int64, clipped to the value range (see the ``*_bounds`` functions; non-integer
    thresholds rounded up, exact for integer inputs): what the RTL ROMs and the HLS headers store."""
    lo, hi = mvau_threshold_bounds(layer) if isinstance(layer, BinaryMVAU) else threshold_input_bounds(layer)
    t = np.asarray(layer.thresholds)
    if not np.issubdtype(t.dtype, np.integer):  # inputs are integers: x >= t  <=>  x >= ceil(t)
        t = np.ceil(np.clip(t.astype(np.float64), lo, hi))
    return np.clip(t.astype(np.int64), lo, hi)


def threshold_words(layer) -> list[int]:
    """Threshold ROM: C/PE (or MH/PE) words of PE*N_THRES*TW bits.

    Field ``[(p*N_THRES + t)*TW +: TW]`` of word ``f`` = ``T[f*PE + p][t]``, clipped to the value range
    (see the ``*_bounds`` functions; non-integer thresholds are rounded up, exact for integer inputs) and
    stored as TW-bit two's complement.
    """
    tw = threshold_width(layer)
    rows = layer.mh if isinstance(layer, BinaryMVAU) else layer.channels
    t = clipped_thresholds(layer) & ((1 << tw) - 1)
    folds, pe, n = rows // layer.pe, layer.pe, layer.n_thres
    t = t.reshape(folds, pe * n)  # [fold, p*N_THRES + t]
    words = []
    for row in t:
        v = 0
        for k, val in enumerate(row.tolist()):
            v |= int(val) << (k * tw)
        words.append(v)
    return words


def write_memh(path: str | os.PathLike, words: list[int], width: int) -> Path:
    """One hex word per line, zero-padded to ``width`` bits (what ``$readmemh`` reads)."""
    digits = max(1, (width + 3) // 4)
    Path(path).write_text("".join(f"{w:0{digits}x}\n" for w in words))
    return Path(path)


def _pack_rows(bits: np.ndarray) -> list[int]:
    """Rows of bits (bit k of a row = column k) as Python ints."""
    out = []
    for row in bits:
        b = np.packbits(row.astype(np.uint8)[::-1])  # MSB-first bytes of the reversed row
        v = int.from_bytes(b.tobytes(), "big") >> (len(b) * 8 - len(row))
        out.append(v)
    return out


# ---- project model ----------------------------------------------------------------------------------
@dataclass
class LayerPlan:
    index: int
    layer: object
    instance: str
    module: str
    params: dict
    in_beat_bits: int
    out_beat_bits: int
    out_elem_bits: int
    out_elems_per_beat: int
    mem_files: dict = field(default_factory=dict)  # role -> (file name, words, width)
    style: str = "ours"  # "ours": clk/rst/in_*/out_* ports; "finn": a FINN-generated ap_clk/ap_rst_n core
    finn: dict | None = None  # write_swg_sources' description of the FINN-generated block


@dataclass
class LinkPlan:
    """What sits between layer ``index`` and ``index + 1``: width converters then a FIFO."""

    index: int
    widths: list  # stream widths along the link: [out of layer i, (after dwc)..., in of layer i+1]
    fifo_depth: int


@dataclass
class RTLProject:
    accel: Accelerator
    directory: Path
    top_name: str
    layers: list = field(default_factory=list)
    links: list = field(default_factory=list)
    files: dict = field(default_factory=lambda: {"blocks": [], "finn": [], "generated": [], "memories": []})


# ---- generation steps ---------------------------------------------------------------------------------
class CheckIR:
    """Reject IR the blocks cannot build, naming the node (IRError)."""

    def apply(self, project: RTLProject) -> None:
        accel = project.accel
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", project.top_name):
            raise IRError(f"{accel.name}: top name {project.top_name!r} is not a Verilog identifier")
        accel.check()
        if accel.fifo_depth < 0:
            raise IRError(f"{accel.name}: fifo_depth must be >= 0 (0 = sized per link; got {accel.fifo_depth})")
        for layer in accel.layers:
            if getattr(layer, "kind", None) not in BLOCK_PLANNERS:
                raise IRError(f"{getattr(layer, 'name', layer)}: no RTL block for kind "
                              f"{getattr(layer, 'kind', type(layer).__name__)!r}")
            if isinstance(layer, ThresholdLayer) and layer.n_thres < 1:
                raise IRError(f"{layer.name}: thresholding needs at least one threshold per channel")
            if isinstance(layer, BinaryMVAU) and layer.thresholds is not None and layer.n_thres < 1:
                raise IRError(f"{layer.name}: thresholds given with zero columns (use None for no activation)")
            t = getattr(layer, "thresholds", None)
            if t is not None and not np.issubdtype(np.asarray(t).dtype, np.number):
                raise IRError(f"{layer.name}: thresholds must be numbers, got dtype {np.asarray(t).dtype}")
            if t is not None and np.isnan(np.asarray(t, dtype=np.float64)).any():
                raise IRError(f"{layer.name}: thresholds contain NaN")


def vector_beats(layer) -> int:
    """Input beats worth buffering in front of a layer: one MVAU input vector, one pooling window group, one
    input row for a (K > 1, non-depthwise) sliding window, one pixel otherwise."""
    if isinstance(layer, BinaryMVAU):
        return layer.mw // layer.simd
    if isinstance(layer, MaxPool):
        return layer.kernel_elems * layer.channels // layer.pe
    if _row_buffered(layer):
        return layer.ifm_dim[1] * layer.channels // layer.simd
    return layer.channels // layer.in_per_beat


def _row_buffered(layer) -> bool:
    """FINN's (non-depthwise, K > 1) sliding window reads its input in row-sized bursts and stops reading
    between images while it drains the last windows: it needs one input row in front of it, else its producer
    blocks and, through MVAUs that read only in their first neuron fold, the whole chain slows down (CNV at
    3,000 img/s: II 36,934 instead of 32,768 cycles with one pixel of buffering)."""
    return isinstance(layer, SlidingWindow) and not layer.depthwise and layer.kernel != (1, 1)


def link_fifo_depth(requested: int, consumer) -> int:
    """FIFO depth in front of ``consumer``. 0 = auto: room for one whole input vector (+2), as FINN's FIFO
    sizing does in effect. An MVAU reads its input only during the first neuron fold; without a vector's worth
    of buffering the producer stalls during the other folds and the first fold of the next vector then waits
    for it, which costs throughput (LFC: II 994 instead of 784 cycles with depth 32). In front of a sliding
    window: one input row + 2, not rounded up (axis_fifo takes any depth)."""
    if requested:
        return max(2, requested)
    if _row_buffered(consumer):
        return vector_beats(consumer) + 2
    return max(2, 1 << (vector_beats(consumer) + 2 - 1).bit_length())


FIFO_LUTRAM_BITS = 8192  # link FIFOs up to this size are asked for LUT RAM (with their output buffer): a
# block-RAM FIFO's 5.8 ns clock-to-out into the next input buffer set CNV's clock (256 x 18 bits, 10.0 ns)
FIFO_LUTRAM_DEPTH = 128  # ... and up to this depth: a deeper one reads through a multiplexer of that many / 16
# LUT-RAM blocks spread over the die (CNV's 1 x 1024 and 1 x 642 link FIFOs: 64 and 41 blocks, 7.9-8.3 ns to the
# output register, the worst path once layer 4's ROM was read in 16-bit slices). Those go to block RAM, read
# through two registers (RD_REGS = 2): the RAM's read register and its output register (`surge-hw pnr` moves the
# second into the DP16KD), so neither the mux nor the RAM's 5.6 ns clock-to-out reaches the output buffer


FIFO_IN_REG_DEPTH = 3  # auto: every link FIFO at least this deep registers its input and its ready (IN_REG; one
# beat per cycle needs 3). A FIFO's ready -> the producer's accept -> the FIFO's count was a round trip between
# two blocks placed apart: LFC's 1024-bit links (converter count -> accept -> converter count, 10.1 ns) and CNV's
# link 12 (full flag -> accept -> full flag, 9.5 ns); with IN_REG it is two one-way paths


def link_fifo_params(link, pipeline: str) -> dict:
    """``axis_fifo`` parameters of a link. ``auto`` gives the FIFO its registered-ready output buffer
    (OUT_REG: the read ends in flip-flops, not in the next layer's input buffer, and the consumer's ready stops
    at the buffer: LFC's FIFO -> last MVAU's input buffer was its critical path at 97.1 MHz, then the next
    MVAU's ready -> pop -> the FIFO's count at 102.3 MHz); keeps a small, shallow FIFO in LUT RAM (LUTRAM: with
    a plain block RAM yosys folded the output register into its synchronous read, 98.7 MHz) and reads a larger
    one from block RAM through two registers (RD_REGS, ``FIFO_LUTRAM_DEPTH``); benchmarks/results/pnr/fmax.json.
    It also registers the FIFO's input and ready (IN_REG, ``FIFO_IN_REG_DEPTH``)."""
    width, depth, on = link.widths[-1], link.fifo_depth, pipeline == "auto"
    lutram = on and width * depth <= FIFO_LUTRAM_BITS and depth <= FIFO_LUTRAM_DEPTH
    params = dict(WIDTH=width, DEPTH=depth, OUT_REG=int(on), LUTRAM=int(lutram))
    if on and not lutram:
        params["RD_REGS"] = 2
    if on and depth >= FIFO_IN_REG_DEPTH:
        params["IN_REG"] = 1
    return params


def link_dwc_params(in_w: int, out_w: int, pipeline: str) -> dict:
    """``axis_dwc`` parameters. ``auto`` gives every widening converter its registered form (OUT_REG: the beat
    count, the ready and the wide registers' enables all come from flip-flops; LFC's 2 -> 1024-bit converters
    set the clock without it). A narrowing one has no wide enable and stays as it is."""
    params = dict(IN_W=in_w, OUT_W=out_w)
    if pipeline == "auto" and out_w > in_w:
        params["OUT_REG"] = 1
    return params


# ---- one planner per block kind: (module, params, memories, style) -------------------------------------
PIPELINES = ("auto", "none")
CMP_REG_THRES = 15  # thresholding: compare bits registered above this many thresholds per channel
POP_CHUNK_BITS = 8  # partial popcounts of this many bits when the pipelined adder tree is on
SUM_GROUP_CHUNKS = 4  # wide SIMD: partial popcounts summed in registered groups of this many (8: packed TFC
# reached 119.9 MHz worst of 3 seeds, 4: 126.6; benchmarks/results/pnr/fmax.json), whenever there are more
# chunks than that: CNV's SIMD-64 layer 4 summed its 8 chunks in one stage (8.1 ns, 2 of 3 seeds' worst path)
THR_REG_BITS = 2048  # threshold ROMs larger than this land in block RAM: register its output twice before the
# compare (THR_REG = 2): `surge-hw pnr` moves the first register into the RAM, the second stays beside the compare.
# With one, absorbed, LFC's MVAU_hls_2 read its RAM straight into the compare across the die (9.1 ns, a seed's worst)


EBR_BITS = 16384  # an ECP5 block RAM (DP16KD): 16K x 1, 8K x 2, 4K x 4, 2K x 9 or 1K x 18 bits
MAX_WEIGHT_BANKS = 100  # mvau_binary names bank files with two digits
# a weight ROM of at most SLICE_MAX_DEPTH words of at least SLICE_MIN_BITS bits: in LUTs, read in slices of
# SLICE_BITS bits with their own address registers (CNV's 36 x 1024 ROM; TFC's 64 x 784 one stays in block RAM,
# 126.6 MHz as it is). With 64-bit slices an address copy -> its slice's register was CNV's worst path on a seed
# (8.2 ns, 5.9 of it routing: each address bit drives some 256 LUTs); 32 halves that fan-out, and was still
# 8.0-8.4 ns on all 3 seeds (CNV 119.1 MHz worst); 16 took it off the critical path (121.0 / 122.2 MHz, 2 seeds,
# set by hand, with link FIFO reads then the worst paths)
SLICE_MAX_DEPTH, SLICE_MIN_BITS, SLICE_BITS = 64, 1024, 16
# a block-RAM weight ROM with words this wide (LFC's 1024/2048 bits: 57+ EBRs over the die) or in banks gets two
# registers after it (W_REG = 2): with one, the route from the RAMs to it set the clock (LFC 96.4 MHz, 4.5 ns)
W_REG2_BITS = 1024
# so does any other weight ROM of at least this many bits (yosys puts it in block RAM: CNV's 192 x 384 and
# 288 x 512, its 5120 x 1): on ECP5 `surge-hw pnr` moves the first register into the RAM's own output register
# (rtl/ecp5_netlist.py; on Xilinx parts Vivado does the same), and the second stays in the fabric beside the
# popcount. With one register, absorbed, the RAM fed the popcount directly: CNV seed 1, 109.4 MHz, layer 8's
# ROM -> 5.2 ns of routing -> popcount level.
BRAM_ROM_BITS = 4096


def weight_bank_depth(layer: BinaryMVAU) -> int:
    """Words per bank of a binary MVAU's weight ROM (``mvau_binary`` W_BANK), 0 for one bank: the depth of one
    block RAM at the narrowest port width that holds a ROM word (wider words: RAMs side by side, 1K deep), when
    the ROM is deeper than that. A deep ROM otherwise reads through the RAMs' output mux into its register:
    CNV's 32K x 18-bit ROM (layer MVAU_hls_5) set the clock at 81.7 MHz (12.2 ns, mostly routing)."""
    width, depth = layer.pe * layer.simd, (layer.mh // layer.pe) * (layer.mw // layer.simd)
    port = next((w for w in (1, 2, 4, 9, 18) if w >= width), 18)
    bank = EBR_BITS // (1 << (port.bit_length() - 1))  # 16K, 8K, 4K, 2K, 1K words
    while depth > MAX_WEIGHT_BANKS * bank:
        bank *= 2
    return bank if depth > bank else 0


def mvau_weight_banks(words: list[int], bank_depth: int) -> list[list[int]]:
    """The weight ROM image (:func:`mvau_weight_words`) in banks of ``bank_depth`` words, the last one
    zero-padded: ``mvau_binary``'s W_BANK files ``<WEIGHT_BANK_PREFIX><bank:02d>.mem``."""
    banks = [list(words[i:i + bank_depth]) for i in range(0, len(words), bank_depth)]
    banks[-1] += [0] * (bank_depth - len(banks[-1]))
    return banks


def mvau_pipeline(layer: BinaryMVAU, pipeline: str = "auto") -> dict:
    """Pipeline parameters of an MVAU for ``Accelerator.pipeline`` (chosen from `surge-hw pnr` runs on ECP5:
    benchmarks/results/pnr/).

    ``auto``: a second weight-ROM register (W_REG: the BRAM's output register, so the ROM's clock-to-out
    delay no longer adds to the popcount) for every MVAU, and a third (W_REG = 2) after a block-RAM ROM (of
    at least ``BRAM_ROM_BITS`` bits, of words of at least ``W_REG2_BITS`` bits, or in banks); when SIMD is
    wider than ``POP_CHUNK_BITS``,
    registered partial popcounts of that many bits (POP_CHUNK), and, for more than two chunks, their sum
    registered before the accumulate (SUM_REG): a pipelined adder tree; above ``SUM_GROUP_CHUNKS`` chunks
    (SIMD > 32: CNV's SIMD-64 layers, TFC's packed 784-bit first layer with 98 chunks) registered levels sum groups of
    ``SUM_GROUP_CHUNKS`` chunks first (SUM_GROUP); a threshold ROM above ``THR_REG_BITS`` (block RAM: LFC's
    512 x 22 bits) gets two registers before the compare (THR_REG = 2); a weight ROM deeper than one block RAM
    is split into banks, each registered, then selected into one more register (W_BANK,
    :func:`weight_bank_depth`); a shallow ROM of wide words is read in slices, each with its own address register
    (W_SLICE). ``none``: none of these. Each
    stage adds one cycle of latency; the II and the outputs are unchanged (benches: rtl_tests/test_mvau_*).
    """
    if pipeline not in PIPELINES:
        raise IRError(f"pipeline must be one of {PIPELINES}, got {pipeline!r}")
    on = pipeline == "auto"
    if isinstance(layer, IntegerMVAU):  # SUM_REG: -x and the accumulate are two carry chains in series
        return {"W_REG": int(on), "SUM_REG": int(on)}
    chunked = on and layer.simd > POP_CHUNK_BITS
    chunks = math.ceil(layer.simd / POP_CHUNK_BITS) if chunked else 1
    thr_bits = layer.mh * layer.n_thres * threshold_width(layer)
    depth, width = (layer.mh // layer.pe) * (layer.mw // layer.simd), layer.pe * layer.simd
    sliced = on and depth <= SLICE_MAX_DEPTH and width >= SLICE_MIN_BITS
    bank = weight_bank_depth(layer) if on else 0
    w_reg = 2 if on and not sliced and (bank or width >= W_REG2_BITS or depth * width >= BRAM_ROM_BITS) else int(on)
    return {"W_REG": w_reg, "W_BANK": bank,
            "W_SLICE": SLICE_BITS if sliced else 0,
            "POP_CHUNK": POP_CHUNK_BITS if chunked else 0,
            "SUM_GROUP": SUM_GROUP_CHUNKS if chunks > SUM_GROUP_CHUNKS else 0,
            "SUM_REG": int(chunks > 2), "THR_REG": 2 if on and thr_bits > THR_REG_BITS else 0}


def plan_mvau(layer: BinaryMVAU, inst: str, project) -> dict:
    """``mvau_binary`` (XNOR popcount) or ``mvau_int`` (integer x bipolar): same ROM layouts and folding."""
    mems = {"weights": (f"{inst}_weights.mem", mvau_weight_words(layer), layer.pe * layer.simd)}
    tw = threshold_width(layer)
    if layer.n_thres:
        mems["thresholds"] = (f"{inst}_thresholds.mem", threshold_words(layer), layer.pe * layer.n_thres * tw)
    params = dict(MW=layer.mw, MH=layer.mh, SIMD=layer.simd, PE=layer.pe)
    if isinstance(layer, IntegerMVAU):
        params.update(IN_W=layer.in_bits, IN_SIGNED=int(layer.in_signed))
    params.update(N_THRES=layer.n_thres, ACC_W=layer.acc_bits, OUT_W=layer.out_bits, TW=tw,
                  WEIGHT_FILE=mems["weights"][0],
                  THRES_FILE=mems["thresholds"][0] if layer.n_thres else "none.mem", NUM_VECTORS=layer.num_vectors)
    params.update(mvau_pipeline(layer, project.accel.pipeline))
    if params.get("W_BANK"):  # one file per weight-ROM bank instead of the whole image
        words = mems.pop("weights")[1]
        for b, bank in enumerate(mvau_weight_banks(words, params["W_BANK"])):
            mems[f"weights_b{b:02d}"] = (f"{inst}_weights_b{b:02d}.mem", bank, layer.pe * layer.simd)
        params.update(WEIGHT_FILE="none.mem", WEIGHT_BANK_PREFIX=f"{inst}_weights_b")
    return {"module": "mvau_int" if isinstance(layer, IntegerMVAU) else "mvau_binary", "params": params,
            "mems": mems}


def threshold_pipeline(layer: ThresholdLayer, pipeline: str = "auto") -> dict:
    """``auto``: register the compare bits (CMP_REG) when there are more than ``CMP_REG_THRES`` thresholds per
    channel (CNV's 255-threshold input layer: compare + encode in one cycle set the CNV's clock); ``none``:
    compare and encode in one stage. Latency +1 cycle, II and outputs unchanged (rtl_tests/test_thresholding)."""
    if pipeline not in PIPELINES:
        raise IRError(f"pipeline must be one of {PIPELINES}, got {pipeline!r}")
    return {"CMP_REG": int(pipeline == "auto" and layer.n_thres > CMP_REG_THRES)}


def plan_threshold(layer: ThresholdLayer, inst: str, project) -> dict:
    tw = threshold_width(layer)
    mems = {"thresholds": (f"{inst}_thresholds.mem", threshold_words(layer), layer.pe * layer.n_thres * tw)}
    params = dict(C=layer.channels, PE=layer.pe, IN_W=layer.in_bits, IN_SIGNED=int(layer.in_signed),
                  N_THRES=layer.n_thres, OUT_W=layer.out_bits, OUT_BIAS=layer.out_bias, TW=tw,
                  THRES_FILE=mems["thresholds"][0], NUM_VECTORS=layer.num_vectors)
    params.update(threshold_pipeline(layer, project.accel.pipeline))
    return {"module": "thresholding", "params": params, "mems": mems}


def plan_maxpool(layer: MaxPool, inst: str, project) -> dict:
    params = dict(C=layer.channels, PE=layer.pe, K=layer.kernel_elems, ELEM_W=layer.in_bits,
                  SIGNED=int(layer.in_signed), NUM_PIXELS=layer.out_pixels)
    return {"module": "maxpool", "params": params, "mems": {}}


def sliding_window_params(layer: SlidingWindow) -> dict:
    """``sliding_window`` parameters of an IR :class:`SlidingWindow` (also used by its bench)."""
    layer.check()
    (ih, iw), (kh, kw), (sh, sw), (dh, dw) = layer.ifm_dim, layer.kernel, layer.stride, layer.dilation
    # WR_REG: row-buffer writes from a register, except where a row is one word read at once (the RTL's comment)
    wr_reg = int(kh > 1 or iw * (layer.channels // layer.simd) > 1)
    return dict(IH=ih, IW=iw, C=layer.channels, SIMD=layer.simd, ELEM_W=layer.in_bits, KH=kh, KW=kw, SH=sh, SW=sw,
                DH=dh, DW=dw, DEPTHWISE=int(bool(layer.depthwise)), WR_REG=wr_reg)


def plan_sliding_window(layer: SlidingWindow, inst: str, project) -> dict:
    """``auto``: our ``sliding_window.v`` (a line buffer of R = KH span + stride rows, registered row and loop
    flags). ``none``: FINN's own finn-rtllib SWG, its templates filled by FINN's code generator for this
    layer (:mod:`surge_hw.rtl.finn_swg`), SystemVerilog (Verilator, not Icarus), kept so the two stay
    comparable. Why ours: FINN's controller decides each read and fetch from wide counter compares computed
    combinationally into the next counter value; it set the CNV's clock at 63.3 MHz on ECP5 (15.8 ns,
    benchmarks/results/pnr/cnv_fmnist_fps3000_cmpreg.json). Same stream order, same throughput
    (rtl_tests/test_sliding_window.py)."""
    if project.accel.pipeline not in PIPELINES:
        raise IRError(f"pipeline must be one of {PIPELINES}, got {project.accel.pipeline!r}")
    if project.accel.pipeline == "auto":
        return {"module": "sliding_window", "params": sliding_window_params(layer), "mems": {}}
    from .finn_swg import write_swg_sources

    swg = write_swg_sources(layer, inst + "_swg", project.directory)
    return {"module": swg["module"], "params": {}, "mems": {}, "style": "finn", "finn": swg}


BLOCK_PLANNERS = {"mvau_binary": plan_mvau, "mvau_int": plan_mvau, "threshold": plan_threshold,
                  "maxpool": plan_maxpool, "sliding_window": plan_sliding_window}


class PlanLayers:
    """Choose instance names, block parameters and memory images per layer (one planner per kind, see
    :data:`BLOCK_PLANNERS`); plan the links."""

    def apply(self, project: RTLProject) -> None:
        used = set()
        for i, layer in enumerate(project.accel.layers):
            inst = _unique(f"l{i}_" + re.sub(r"[^A-Za-z0-9_]", "_", layer.name), used)
            plan = BLOCK_PLANNERS[layer.kind](layer, inst, project)
            finn = plan.get("finn")
            if finn is not None:
                finn = {k: (v if k != "files" else [Path(f).name for f in v]) for k, v in finn.items()}
            lp = LayerPlan(i, layer, inst, plan["module"], plan["params"], layer.in_beat_bits, layer.out_beat_bits,
                           layer.out_bits, layer.out_per_beat, plan["mems"], plan.get("style", "ours"), finn)
            project.layers.append(lp)
            if lp.finn is not None:
                for f in lp.finn["files"]:  # written into the project dir: referenced by name, shared ones once
                    if Path(f).name not in project.files["finn"] and not f.endswith("_wrapper.v"):
                        project.files["finn"].append(Path(f).name)
        for a, b in zip(project.layers, project.layers[1:]):
            w_out, w_in = a.out_beat_bits, b.in_beat_bits
            if w_out == w_in:
                widths = [w_out, w_in]
            elif max(w_out, w_in) % min(w_out, w_in) == 0:
                widths = [w_out, w_in]
            else:  # neither divides: widen to the lcm, then narrow (FINN's general DWC does the same)
                widths = [w_out, math.lcm(w_out, w_in), w_in]
            # depth >= 2: a 1-deep FIFO (registered ready) passes only one beat every two cycles
            project.links.append(LinkPlan(a.index, widths, link_fifo_depth(project.accel.fifo_depth, b.layer)))


class CopyBlocks:
    """Copy the hand-written block files the design uses."""

    def apply(self, project: RTLProject) -> None:
        for name in BLOCK_FILES:
            shutil.copyfile(VERILOG_DIR / name, project.directory / name)
            project.files["blocks"].append(name)


class WriteMemories:
    """One ``$readmemh`` file per weight / threshold memory."""

    def apply(self, project: RTLProject) -> None:
        for plan in project.layers:
            for fname, words, width in plan.mem_files.values():
                write_memh(project.directory / fname, words, width)
                project.files["memories"].append(fname)


class WriteTop:
    """``accel_top.v``: the layer chain with width converters and FIFOs between layers."""

    def apply(self, project: RTLProject) -> None:
        text = render_top(project)
        name = f"{project.top_name}.v"
        (project.directory / name).write_text(text)
        project.files["generated"].append(name)


class WriteFilelist:
    def apply(self, project: RTLProject) -> None:
        files = project.files["finn"] + project.files["blocks"] + project.files["generated"]
        (project.directory / "filelist.f").write_text("".join(f"{f}\n" for f in files))
        project.files["generated"].append("filelist.f")


class WriteManifest:
    def apply(self, project: RTLProject) -> None:
        (project.directory / "manifest.json").write_text(json.dumps(manifest(project), indent=2) + "\n")


STEPS = (CheckIR, PlanLayers, CopyBlocks, WriteMemories, WriteTop, WriteFilelist, WriteManifest)


def generate_rtl(accel: Accelerator, out_dir: str | os.PathLike, top_name: str = "accel_top") -> Path:
    """Write the Verilog project for ``accel`` into ``out_dir`` (replaced atomically); return its path.

    Raises :class:`~surge_hw.rtl.ir.IRError` naming the node when the IR cannot be built.
    """
    out_dir = Path(out_dir).resolve()
    with building_dir(out_dir) as tmp:
        project = RTLProject(accel, tmp, top_name)
        for step in STEPS:
            step().apply(project)
    return out_dir


# ---- rendering ------------------------------------------------------------------------------------------
def _unique(name: str, used: set) -> str:
    base, k = name, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def _param_text(params: dict) -> str:
    items = []
    for k, v in params.items():
        items.append(f".{k}({json.dumps(v) if isinstance(v, str) else int(v)})")
    return ",\n        ".join(items)


def _stream_wires(prefix: str, width: int) -> str:
    return (f"    wire [{width - 1}:0] {prefix}_tdata;\n"
            f"    wire {prefix}_tvalid;\n"
            f"    wire {prefix}_tready;\n")


def _connect(dst: str, src: str) -> str:
    return (f"    assign {dst}_tdata = {src}_tdata;\n"
            f"    assign {dst}_tvalid = {src}_tvalid;\n"
            f"    assign {src}_tready = {dst}_tready;\n")


def _axis_inst(module: str, inst: str, params: dict, s: str, m: str, s_port: str = "s", m_port: str = "m") -> str:
    return (f"    {module} #(\n        {_param_text(params)}\n    ) {inst} (\n"
            f"        .clk(clk), .rst(rst),\n"
            f"        .{s_port}_tdata({s}_tdata), .{s_port}_tvalid({s}_tvalid), .{s_port}_tready({s}_tready),\n"
            f"        .{m_port}_tdata({m}_tdata), .{m_port}_tvalid({m}_tvalid), .{m_port}_tready({m}_tready)\n"
            f"    );\n")


def _finn_inst(plan: LayerPlan) -> str:
    """FINN's generated SWG core (``<module>_impl``), ap_clk / active-low ap_rst_n. The core is instantiated
    directly, not through FINN's byte-padding wrapper: that wrapper's port list uses parameters before their
    declaration, which Verilator tolerates but yosys-slang (our SystemVerilog synthesis) rejects."""
    f, i = plan.finn, plan.index
    params = dict(BIT_WIDTH=plan.layer.in_bits, SIMD=plan.layer.simd, MMV_IN=1, MMV_OUT=1)
    return (f"    {f['impl_module']} #(\n        {_param_text(params)}\n    ) {plan.instance} (\n"
            "        .ap_clk(clk), .ap_rst_n(~rst),\n"
            f"        .in0_V_V_TDATA(l{i}_in_tdata), .in0_V_V_TVALID(l{i}_in_tvalid), .in0_V_V_TREADY(l{i}_in_tready),\n"
            f"        .out_V_V_TDATA(l{i}_out_tdata), .out_V_V_TVALID(l{i}_out_tvalid), "
            f".out_V_V_TREADY(l{i}_out_tready)\n"
            "    );\n")


def render_top(project: RTLProject) -> str:
    accel, layers = project.accel, project.layers
    first, last = layers[0], layers[-1]
    lines = [
        f"// {project.top_name}: generated by surge_hw.rtl.generate from accelerator IR {accel.name!r}.",
        "// Do not edit: regenerate. Streams are AXI-Stream (valid/ready), elements LSB-first.",
        "// Chain: " + " -> ".join(["s_axis"] + [p.instance for p in layers] + ["m_axis"]),
        "`default_nettype none",
        "",
        f"module {project.top_name} (",
        "    input  wire clk,",
        "    input  wire rst,  // active-high, synchronous",
        f"    input  wire [{first.in_beat_bits - 1}:0] s_axis_tdata,",
        "    input  wire s_axis_tvalid,",
        "    output wire s_axis_tready,",
        f"    output wire [{last.out_beat_bits - 1}:0] m_axis_tdata,",
        "    output wire m_axis_tvalid,",
        "    input  wire m_axis_tready",
        ");",
    ]
    body = []
    for plan in layers:
        body.append(f"    // ---- layer {plan.index}: {plan.layer.name} ({plan.module}, "
                    f"{plan.layer.cycles} cycles/image) ----\n")
        body.append(_stream_wires(f"l{plan.index}_in", plan.in_beat_bits))
        body.append(_stream_wires(f"l{plan.index}_out", plan.out_beat_bits))
        if plan.style == "finn":
            body.append(_finn_inst(plan))
        else:
            body.append(_axis_inst(plan.module, plan.instance, plan.params, f"l{plan.index}_in",
                                   f"l{plan.index}_out", "in", "out"))
    body.append(_connect("l0_in", "s_axis"))
    for link in project.links:
        i = link.index
        src = f"l{i}_out"
        for k, w in enumerate(link.widths[1:]):
            prev_w = link.widths[k]
            if prev_w == w:
                continue
            dst = f"link{i}_dwc{k}"
            body.append(_stream_wires(dst, w))
            body.append(_axis_inst("axis_dwc", f"{dst}_i", link_dwc_params(prev_w, w, project.accel.pipeline),
                                   src, dst))
            src = dst
        dst = f"link{i}_fifo"
        body.append(_stream_wires(dst, link.widths[-1]))
        body.append(_axis_inst("axis_fifo", f"{dst}_i", link_fifo_params(link, project.accel.pipeline), src, dst))
        body.append(_connect(f"l{i + 1}_in", dst))
    body.append(f"    assign m_axis_tdata = l{last.index}_out_tdata;\n"
                f"    assign m_axis_tvalid = l{last.index}_out_tvalid;\n"
                f"    assign l{last.index}_out_tready = m_axis_tready;\n")
    return "\n".join(lines) + "\n" + "\n".join(body) + "endmodule\n\n`default_nettype wire\n"


def host_steps(accel: Accelerator) -> list[dict]:
    """The host layers as :func:`surge_hw.rtl.packing.apply_host_steps` steps (JSON: manifest and io.json)."""
    return [{"op": "threshold", "name": h.name, "elems": int(h.in_elems), "channels": int(h.channels), "in_bits": int(h.in_bits),
             "thresholds": np.asarray(h.thresholds, dtype=np.int64).tolist(), "out_bias": int(h.out_bias)}
            for h in accel.host_layers]


def manifest(project: RTLProject) -> dict:
    accel, layers = project.accel, project.layers
    first, last = layers[0].layer, layers[-1].layer
    layer_rows = []
    for plan in layers:
        layer = plan.layer
        row = {
            "index": plan.index, "name": layer.name, "kind": layer.kind, "module": plan.module,
            "instance": plan.instance, "origin": "FINN finn-rtllib (generated by FINN)" if plan.finn else "surge_hw",
            "params": plan.params, "cycles": int(layer.cycles),
            "in_elems": int(layer.in_elems), "in_elem_bits": int(layer.in_bits),
            "in_signed": bool(layer.in_signed), "in_beat_bits": plan.in_beat_bits,
            "in_beats_per_image": int(layer.in_beats),
            "out_elems": int(layer.out_elems), "out_elem_bits": plan.out_elem_bits,
            "out_signed": bool(layer.out_signed), "out_elems_per_beat": plan.out_elems_per_beat,
            "out_beat_bits": plan.out_beat_bits, "out_beats_per_image": int(layer.out_beats),
            "in_stream": f"l{plan.index}_in", "out_stream": f"l{plan.index}_out",
            "memories": {role: f[0] for role, f in plan.mem_files.items()},
        }
        if plan.finn:
            row["finn_exp_cycles"] = int(plan.finn["exp_cycles"])
        layer_rows.append(row)
    cycles = [r.get("finn_exp_cycles", r["cycles"]) for r in layer_rows]
    sv = bool(project.files["finn"])
    return {
        "top": project.top_name,
        "accelerator": accel.name,
        "generator": "surge_hw.rtl.generate",
        "pipeline": accel.pipeline,  # MVAU pipeline stages: per layer in layers[i]["params"] (W_REG, ...)
        "clock": "clk",
        "reset": {"name": "rst", "active": "high", "synchronous": True},
        "ports": {
            "s_axis": {"tdata_bits": first.in_beat_bits, "elem_bits": first.in_bits, "elems_per_beat": first.in_per_beat,
                       "signed": bool(first.in_signed), "beats_per_image": int(first.in_beats)},
            "m_axis": {"tdata_bits": last.out_beat_bits, "elem_bits": last.out_bits,
                       "elems_per_beat": last.out_per_beat, "signed": bool(last.out_signed),
                       "beats_per_image": int(last.out_beats)},
        },
        "input_elems": accel.input_elems,
        "output_elems": accel.output_elems,
        # "packed": the host runs "host" (packing.apply_host_steps) and streams 1 bit per pixel
        "input_format": accel.input_format,
        "host": host_steps(accel),
        "layers": layer_rows,
        "links": [{"after_layer": lk.index, "widths": lk.widths, "fifo_depth": lk.fifo_depth} for lk in project.links],
        "analytic": {"initiation_interval": max(cycles), "bottleneck": layer_rows[cycles.index(max(cycles))]["name"],
                     "latency_estimate": sum(cycles) + 4 * len(cycles)},
        # FINN's sliding-window generator is SystemVerilog, which Icarus 11 cannot read
        "languages": ["verilog", "systemverilog"] if sv else ["verilog"],
        "simulators": ["verilator"] if sv else ["verilator", "icarus"],
        "files": {
            "ours": project.files["blocks"] + project.files["generated"],
            "blocks": project.files["blocks"],
            "finn": project.files["finn"],
            "generated": project.files["generated"] + ["manifest.json"],
            "memories": project.files["memories"],
            "filelist": "filelist.f",
        },
        "memory_files_note": "referenced by bare name: run simulation/synthesis with the project dir as cwd",
    }
