"""Accelerator IR -> self-contained Verilog project (our open backend; no vendor tools).

``generate_rtl(accel, out_dir)`` runs a readable list of small generation steps, each a class with
``apply(project)`` (like qonnx transformations), on a :class:`RTLProject` being built in a temp dir that is
renamed onto ``out_dir`` at the end (atomic: a reader never sees half a project):

    CheckIR -> PlanLayers -> CopyBlocks -> WriteMemories -> WriteTop -> WriteFilelist -> WriteManifest

The project holds copies of the hand-written blocks (``surge_hw/rtl/verilog``), one ``.mem`` per weight /
threshold memory, the generated ``accel_top.v`` chaining
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
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ir import Accelerator, BinaryMVAU, IRError, ThresholdLayer, bits_for

VERILOG_DIR = Path(__file__).parent / "verilog"
BLOCK_FILES = ("mvau_binary.v", "thresholding.v", "axis_fifo.v", "axis_dwc.v")


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
    """The popcount lies in [0, MW]: clipping thresholds to [0, MW+1] keeps ``acc >= t`` unchanged."""
    return 0, layer.mw + 1


def threshold_input_bounds(layer: ThresholdLayer) -> tuple[int, int]:
    """Input range plus one above: clipping thresholds to it keeps ``x >= t`` unchanged."""
    if layer.in_signed:
        return -(1 << (layer.in_bits - 1)), 1 << (layer.in_bits - 1)
    return 0, 1 << layer.in_bits


def threshold_width(layer) -> int:
    """Bits of one stored threshold after clipping (unsigned for the MVAU, two's complement if signed)."""
    if isinstance(layer, BinaryMVAU):
        return bits_for(layer.mw + 1)
    return layer.in_bits + 1


def threshold_words(layer) -> list[int]:
    """Threshold ROM: C/PE (or MH/PE) words of PE*N_THRES*TW bits.

    Field ``[(p*N_THRES + t)*TW +: TW]`` of word ``f`` = ``T[f*PE + p][t]``, clipped to the value range
    (see the ``*_bounds`` functions; non-integer thresholds are rounded up, exact for integer inputs) and
    stored as TW-bit two's complement.
    """
    lo, hi = mvau_threshold_bounds(layer) if isinstance(layer, BinaryMVAU) else threshold_input_bounds(layer)
    tw = threshold_width(layer)
    rows = layer.mh if isinstance(layer, BinaryMVAU) else layer.channels
    t = np.asarray(layer.thresholds)
    if not np.issubdtype(t.dtype, np.integer):  # inputs are integers: x >= t  <=>  x >= ceil(t)
        t = np.ceil(np.clip(t.astype(np.float64), lo, hi))
    t = np.clip(t.astype(np.int64), lo, hi) & ((1 << tw) - 1)
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
    files: dict = field(default_factory=lambda: {"blocks": [], "generated": [], "memories": []})


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
        for prev, layer in zip([None] + accel.layers[:-1], accel.layers):
            if isinstance(layer, ThresholdLayer):
                if layer.n_thres < 1:
                    raise IRError(f"{layer.name}: thresholding needs at least one threshold per channel")
                if prev is not None and prev.out_bits != layer.in_bits:
                    raise IRError(f"{layer.name}: expects {layer.in_bits}-bit inputs but {prev.name} "
                                  f"produces {prev.out_bits}-bit outputs")
                if prev is not None and layer.in_signed:
                    raise IRError(f"{layer.name}: signed inputs but {prev.name} produces unsigned outputs")
            elif isinstance(layer, BinaryMVAU):
                if layer.thresholds is not None and layer.n_thres < 1:
                    raise IRError(f"{layer.name}: thresholds given with zero columns (use None for no activation)")
            else:
                raise IRError(f"{getattr(layer, 'name', layer)}: no RTL block for kind "
                              f"{getattr(layer, 'kind', type(layer).__name__)!r}")
            t = getattr(layer, "thresholds", None)
            if t is not None and not np.issubdtype(np.asarray(t).dtype, np.number):
                raise IRError(f"{layer.name}: thresholds must be numbers, got dtype {np.asarray(t).dtype}")
            if t is not None and np.isnan(np.asarray(t, dtype=np.float64)).any():
                raise IRError(f"{layer.name}: thresholds contain NaN")


def link_fifo_depth(requested: int, consumer) -> int:
    """FIFO depth in front of ``consumer``. 0 = auto: room for one whole input vector (+2), as FINN's FIFO
    sizing does in effect. An MVAU reads its input only during the first neuron fold; without a vector's worth
    of buffering the producer stalls during the other folds and the first fold of the next vector then waits
    for it, which costs throughput (LFC: II 994 instead of 784 cycles with depth 32)."""
    if requested:
        return max(2, requested)
    beats = consumer.mw // consumer.simd if isinstance(consumer, BinaryMVAU) else consumer.channels // consumer.pe
    return max(2, 1 << (beats + 2 - 1).bit_length())


class PlanLayers:
    """Choose instance names, block parameters and memory images per layer; plan the links."""

    def apply(self, project: RTLProject) -> None:
        used = set()
        for i, layer in enumerate(project.accel.layers):
            inst = _unique(f"l{i}_" + re.sub(r"[^A-Za-z0-9_]", "_", layer.name), used)
            if isinstance(layer, BinaryMVAU):
                mems = {"weights": (f"{inst}_weights.mem", mvau_weight_words(layer), layer.pe * layer.simd)}
                tw = threshold_width(layer)
                if layer.n_thres:
                    mems["thresholds"] = (f"{inst}_thresholds.mem", threshold_words(layer),
                                          layer.pe * layer.n_thres * tw)
                params = dict(MW=layer.mw, MH=layer.mh, SIMD=layer.simd, PE=layer.pe, N_THRES=layer.n_thres,
                              ACC_W=layer.acc_bits, OUT_W=layer.out_bits, TW=tw,
                              WEIGHT_FILE=mems["weights"][0],
                              THRES_FILE=mems["thresholds"][0] if layer.n_thres else "none.mem",
                              NUM_VECTORS=layer.num_vectors)
                module = "mvau_binary"
            else:
                tw = threshold_width(layer)
                mems = {"thresholds": (f"{inst}_thresholds.mem", threshold_words(layer),
                                       layer.pe * layer.n_thres * tw)}
                params = dict(C=layer.channels, PE=layer.pe, IN_W=layer.in_bits, IN_SIGNED=int(layer.in_signed),
                              N_THRES=layer.n_thres, OUT_W=layer.out_bits, TW=tw,
                              THRES_FILE=mems["thresholds"][0], NUM_VECTORS=layer.num_vectors)
                module = "thresholding"
            project.layers.append(LayerPlan(i, layer, inst, module, params, layer.in_beat_bits,
                                            layer.out_beat_bits, layer.out_bits, layer.pe, mems))
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
        files = project.files["blocks"] + project.files["generated"]
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
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        project = RTLProject(accel, tmp, top_name)
        for step in STEPS:
            step().apply(project)
        tmp.chmod(0o755)
        if out_dir.exists():  # swap: rename old away, new in, then delete old
            old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
            os.replace(out_dir, old / "project")
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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
            body.append(_axis_inst("axis_dwc", f"{dst}_i", dict(IN_W=prev_w, OUT_W=w), src, dst))
            src = dst
        dst = f"link{i}_fifo"
        body.append(_stream_wires(dst, link.widths[-1]))
        body.append(_axis_inst("axis_fifo", f"{dst}_i", dict(WIDTH=link.widths[-1], DEPTH=link.fifo_depth),
                               src, dst))
        body.append(_connect(f"l{i + 1}_in", dst))
    body.append(f"    assign m_axis_tdata = l{last.index}_out_tdata;\n"
                f"    assign m_axis_tvalid = l{last.index}_out_tvalid;\n"
                f"    assign l{last.index}_out_tready = m_axis_tready;\n")
    return "\n".join(lines) + "\n" + "\n".join(body) + "endmodule\n\n`default_nettype wire\n"


def manifest(project: RTLProject) -> dict:
    accel, layers = project.accel, project.layers
    first, last = layers[0], layers[-1]
    in_elem_bits = first.layer.in_bits if isinstance(first.layer, ThresholdLayer) else 1
    in_per_beat = first.layer.pe if isinstance(first.layer, ThresholdLayer) else first.layer.simd
    layer_rows = []
    for plan in layers:
        layer = plan.layer
        n_out = layer.mh if isinstance(layer, BinaryMVAU) else layer.channels
        n_in = layer.mw if isinstance(layer, BinaryMVAU) else layer.channels
        analytic = (layer.mh // layer.pe) * (layer.mw // layer.simd) if isinstance(layer, BinaryMVAU) \
            else layer.channels // layer.pe
        layer_rows.append({
            "index": plan.index, "name": layer.name, "kind": layer.kind, "module": plan.module,
            "instance": plan.instance, "params": plan.params, "cycles": int(layer.cycles),
            "cycles_per_vector": int(analytic),
            "in_elems": int(n_in), "in_beat_bits": plan.in_beat_bits,
            "in_beats_per_image": int(n_in // (layer.simd if isinstance(layer, BinaryMVAU) else layer.pe)),
            "out_elems": int(n_out), "out_elem_bits": plan.out_elem_bits, "out_elems_per_beat": plan.out_elems_per_beat,
            "out_beat_bits": plan.out_beat_bits, "out_beats_per_image": int(n_out // layer.pe),
            "in_stream": f"l{plan.index}_in", "out_stream": f"l{plan.index}_out",
            "memories": {role: f[0] for role, f in plan.mem_files.items()},
        })
    cycles = [r["cycles"] for r in layer_rows]
    return {
        "top": project.top_name,
        "accelerator": accel.name,
        "generator": "surge_hw.rtl.generate",
        "clock": "clk",
        "reset": {"name": "rst", "active": "high", "synchronous": True},
        "ports": {
            "s_axis": {"tdata_bits": first.in_beat_bits, "elem_bits": in_elem_bits, "elems_per_beat": in_per_beat,
                       "signed": bool(getattr(first.layer, "in_signed", False)),
                       "beats_per_image": accel.input_elems // in_per_beat},
            "m_axis": {"tdata_bits": last.out_beat_bits, "elem_bits": last.out_elem_bits,
                       "elems_per_beat": last.out_elems_per_beat, "signed": False,
                       "beats_per_image": accel.output_elems // last.out_elems_per_beat},
        },
        "input_elems": accel.input_elems,
        "output_elems": accel.output_elems,
        "layers": layer_rows,
        "links": [{"after_layer": lk.index, "widths": lk.widths, "fifo_depth": lk.fifo_depth} for lk in project.links],
        "analytic": {"initiation_interval": max(cycles), "bottleneck": layer_rows[cycles.index(max(cycles))]["name"],
                     "latency_estimate": sum(cycles) + 4 * len(cycles)},
        "files": {
            "ours": project.files["blocks"] + project.files["generated"],
            "blocks": project.files["blocks"],
            "generated": project.files["generated"] + ["manifest.json"],
            "memories": project.files["memories"],
            "filelist": "filelist.f",
        },
        "memory_files_note": "referenced by bare name: run simulation/synthesis with the project dir as cwd",
    }
