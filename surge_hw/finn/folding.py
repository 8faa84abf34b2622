"""Folding search: pick PE/SIMD per HW layer for a balanced dataflow pipeline under a LUT budget.

Model (FINN's): an MVAU of an MH x MW matrix with PE rows and SIMD columns per cycle takes
``(MH/PE) * (MW/SIMD)`` cycles per output vector, times ``OFM_dim^2`` vectors for a conv; PE | MH, SIMD | MW.
The pipeline's throughput is ``fclk / max_layer(cycles)``, so cycles below the slowest layer's are wasted LUTs.

Search: every layer (or tied group: a depthwise sliding window + its pool share one parallelism) lists all its
legal foldings with FINN's own cycle and resource estimates. For a cycle budget ``T`` each layer takes its
cheapest folding with ``cycles <= T`` (fewest LUTs, then BRAMs). The total cost only falls as ``T`` grows, so:

* ``target_fps``: ``T = fclk / target_fps``; error if that needs more LUTs than the budget,
* otherwise: the smallest ``T`` whose design fits the budget (maximum throughput that fits).

``T`` never goes below what the DMA port can feed: ``input bits per frame / port width`` (64 bit on
PYNQ-Z1/Z2); parallelism beyond that only burns LUTs.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from ..boards import PARTS
from .errors import FinnFlowError
from .passes import is_hw_node

# Zynq-7020 (PYNQ-Z1/Z2): 53,200 LUT, 106,400 FF, 140 BRAM36 = 280 BRAM18, 220 DSP
DEVICE_RESOURCES = PARTS  # part -> LUT/FF/BRAM_18K/URAM/DSP totals, from the board table (surge_hw/boards.py)
# Default share of the device the dataflow layers may use: the rest is for FIFOs, data width converters, the
# DMA engines and AXI interconnect of the shell, and the error of FINN's analytical estimates.
DEFAULT_LUT_SHARE = 0.70
DEFAULT_BRAM_SHARE = 0.80
MAX_AP_INT_WIDTH = 8191  # Vitis HLS ap_uint limit: an HLS MVAU's weight stream (PE*SIMD*wbits) must fit


def divisors(n: int) -> list[int]:
    return [d for d in range(1, int(n) + 1) if n % d == 0]


@dataclass
class Option:
    """One legal folding of a layer group."""
    settings: dict[str, dict]  # node name -> {attr: value}
    cycles: int
    luts: float
    brams: float
    per_node: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # name -> (cycles, LUT, BRAM)

    @property
    def cost(self):
        return (self.luts, self.brams, -self.cycles)  # on a tie: the least parallel (fewer unmodelled wires)


@dataclass
class LayerGroup:
    names: list[str]
    op_types: list[str]
    kind: str                 # "MVAU", "Thresholding", "SWG", "SWG+Pool", "fixed"
    dims: str                 # human-readable shape, e.g. "MW=784 MH=64"
    options: list[Option]

    @property
    def fastest(self) -> Option:
        return min(self.options, key=lambda o: (o.cycles, o.cost))


@dataclass
class LayerChoice:
    name: str
    op_type: str
    attrs: dict
    cycles: int
    luts: float
    brams: float
    reason: str


@dataclass
class FoldingChoice:
    config: dict                      # ApplyConfig format: {node name: {"PE": .., "SIMD": ..}}
    cycle_budget: int                 # T
    max_cycles: int                   # slowest chosen layer
    bottleneck: str
    fps: float
    luts: float
    brams: float
    lut_budget: float
    bram_budget: float
    io_floor_cycles: int
    layers: list[LayerChoice] = field(default_factory=list)
    explanation: str = ""


def _evaluate(model: ModelWrapper, settings: dict[str, dict], fpgapart: str) -> Option | None:
    cycles, luts, brams, per_node = 0, 0.0, 0.0, {}
    try:
        for name, attrs in settings.items():
            inst = getCustomOp(model.get_node_from_name(name))
            for key, value in attrs.items():
                inst.set_nodeattr(key, value)
        for name in settings:
            node = model.get_node_from_name(name)
            inst = getCustomOp(node)
            if node.op_type == "MVAU_hls" and inst.get_nodeattr("mem_mode") != "internal_embedded" \
                    and inst.get_instream_width(1) > MAX_AP_INT_WIDTH:
                return None
            res = inst.node_res_estimation(fpgapart)
            per_node[name] = (int(inst.get_exp_cycles()), float(res.get("LUT", 0)), float(res.get("BRAM_18K", 0)))
            cycles = max(cycles, per_node[name][0])
            luts += per_node[name][1]
            brams += per_node[name][2]
    except Exception:  # FINN rejects illegal foldings with assorted exceptions (mostly asserts)
        return None
    return Option(copy.deepcopy(settings), cycles, luts, brams, per_node)


def _options(model, settings_list, fpgapart) -> list[Option]:
    found = [_evaluate(model, s, fpgapart) for s in settings_list]
    return [o for o in found if o is not None]


def layer_groups(model: ModelWrapper, fpgapart: str) -> list[LayerGroup]:
    """All HW layers of the (specialized) dataflow graph with their legal foldings."""
    work = ModelWrapper(copy.deepcopy(model.model))  # estimates poke attributes: never on the caller's model
    nodes = [n for n in work.graph.node if is_hw_node(n)]
    tied = set()
    groups: list[LayerGroup] = []
    for node in nodes:
        if node.name in tied:
            continue
        inst = getCustomOp(node)
        op = node.op_type
        if op.startswith("MVAU"):
            mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
            settings = [{node.name: {"PE": pe, "SIMD": simd}} for pe in divisors(mh) for simd in divisors(mw)]
            groups.append(LayerGroup([node.name], [op], "MVAU", f"MW={mw} MH={mh}",
                                     _options(work, settings, fpgapart)))
        elif op.startswith("Thresholding"):
            ch = inst.get_nodeattr("NumChannels")
            settings = [{node.name: {"PE": pe}} for pe in divisors(ch)]
            groups.append(LayerGroup([node.name], [op], "Thresholding", f"C={ch}",
                                     _options(work, settings, fpgapart)))
        elif op.startswith("ConvolutionInputGenerator") and inst.get_nodeattr("depthwise") == 0:
            ch = inst.get_nodeattr("IFMChannels")
            settings = [{node.name: {"SIMD": s, **({"parallel_window": 0} if op.endswith("_rtl") else {})}}
                        for s in divisors(ch)]
            if op.endswith("_rtl"):
                settings.append({node.name: {"SIMD": ch, "parallel_window": 1}})
            groups.append(LayerGroup([node.name], [op], "SWG", f"C={ch} K={inst.get_nodeattr('ConvKernelDim')}",
                                     _options(work, settings, fpgapart)))
        elif op.startswith("Pool"):
            # a pool is fed by a depthwise sliding window whose SIMD must equal the pool's PE
            ch = inst.get_nodeattr("Channels")
            swu = work.find_producer(node.input[0])
            names, ops = [node.name], [op]
            if swu is not None and swu.op_type.startswith("ConvolutionInputGenerator"):
                tied.add(swu.name)
                names, ops = [swu.name, node.name], [swu.op_type, op]
            settings = [{n: {"SIMD" if n != node.name else "PE": pe} for n in names} for pe in divisors(ch)]
            groups.append(LayerGroup(names, ops, "SWG+Pool" if len(names) == 2 else "Pool", f"C={ch}",
                                     _options(work, settings, fpgapart)))
        else:
            groups.append(LayerGroup([node.name], [op], "fixed", "", _options(work, [{node.name: {}}], fpgapart)))
    # a depthwise SWG seen before its pool was appended as "fixed": drop it, the pool's group owns it
    groups = [g for g in groups if not (g.kind == "fixed" and g.names[0] in tied)]
    for g in groups:
        if not g.options:
            raise FinnFlowError("folding", "no legal folding found", node=g.names[0])
    return groups


def _pick(groups: list[LayerGroup], budget: int) -> list[Option] | None:
    picks = []
    for g in groups:
        ok = [o for o in g.options if o.cycles <= budget]
        if not ok:
            return None
        picks.append(min(ok, key=lambda o: o.cost))
    return picks


def io_floor_cycles(model: ModelWrapper, port_bits: int) -> int:
    """Cycles per frame the DMA port needs to move one input (and one output) frame."""
    def frame_bits(vi):
        shape = model.get_tensor_shape(vi.name)
        return math.prod(shape[1:]) * model.get_tensor_datatype(vi.name).bitwidth()
    bits = max(frame_bits(model.graph.input[0]), frame_bits(model.graph.output[0]))
    return math.ceil(bits / port_bits)


def choose_folding(model: ModelWrapper, target_fps: float | None = None, max_luts: float | None = None,
                   fclk_mhz: float = 100.0, fpgapart: str = "xc7z020clg400-1", dma_port_bits: int = 64,
                   max_brams: float | None = None) -> FoldingChoice:
    """Choose PE/SIMD for every HW layer of the specialized dataflow ``model`` (see module docstring).

    ``max_luts`` defaults to 70 % of the device's LUTs (the rest: FIFOs, width converters, DMA, interconnect
    and estimate error); BRAM18s are capped at 80 % likewise. Returns a :class:`FoldingChoice` whose
    ``config`` can be applied with FINN's ``ApplyConfig`` and whose ``explanation`` says why.
    """
    dev = DEVICE_RESOURCES.get(fpgapart)
    if dev is None and (max_luts is None or max_brams is None):
        raise FinnFlowError("folding", f"no resource table for part {fpgapart}: pass max_luts and max_brams")
    lut_budget = float(max_luts) if max_luts is not None else DEFAULT_LUT_SHARE * dev["LUT"]
    bram_budget = float(max_brams) if max_brams is not None else DEFAULT_BRAM_SHARE * dev["BRAM_18K"]
    fclk = fclk_mhz * 1e6
    groups = layer_groups(model, fpgapart)
    io_floor = io_floor_cycles(model, dma_port_bits)
    fastest = max(g.fastest.cycles for g in groups)
    floor = max(io_floor, fastest)
    slowest = max(max(o.cycles for o in g.options) for g in groups)

    def fits(picks):
        return sum(o.luts for o in picks) <= lut_budget and sum(o.brams for o in picks) <= bram_budget

    lines = []
    if target_fps is not None:
        if target_fps <= 0:
            raise FinnFlowError("folding", f"target_fps must be positive, got {target_fps}")
        wanted = int(fclk // target_fps)
        budget = max(wanted, floor)
        picks = _pick(groups, budget)
        mode = f"target {target_fps:,.0f} frames/s = {wanted:,} cycles/frame at {fclk_mhz:g} MHz"
        if wanted < floor:
            why = (f"the DMA port ({dma_port_bits} bit) needs {io_floor:,} cycles per frame" if io_floor >= fastest
                   else f"layer {_slowest_group(groups).names[-1]} needs {fastest:,} cycles even fully unfolded")
            lines.append(f"Target not reachable: {why}; using {budget:,} cycles/frame "
                         f"({fclk / budget:,.0f} frames/s) instead.")
        if not fits(picks):
            best = _max_throughput(groups, floor, slowest, fits)
            hint = (f"; within the budget the best is {fclk / max(o.cycles for o in best):,.0f} frames/s"
                    if best else "")
            raise FinnFlowError("folding", f"{mode} needs ~{sum(o.luts for o in picks):,.0f} LUTs and "
                                f"{sum(o.brams for o in picks):,.0f} BRAM18 > budget {lut_budget:,.0f} LUTs / "
                                f"{bram_budget:,.0f} BRAM18{hint}")
    else:
        mode = (f"maximum throughput within {lut_budget:,.0f} LUTs and {bram_budget:,.0f} BRAM18 "
                f"({'given' if max_luts is not None else f'{DEFAULT_LUT_SHARE:.0%} of the device'})")
        picks = _max_throughput(groups, floor, slowest, fits)
        if picks is None:
            least = _pick(groups, slowest)
            raise FinnFlowError("folding", f"even the fully folded design (PE=SIMD=1) needs "
                                f"~{sum(o.luts for o in least):,.0f} LUTs and {sum(o.brams for o in least):,.0f} "
                                f"BRAM18 > budget {lut_budget:,.0f} LUTs / {bram_budget:,.0f} BRAM18")
        budget = max(o.cycles for o in picks)
    return _describe(groups, picks, budget, mode, lines, io_floor, dma_port_bits, fclk, lut_budget, bram_budget)


def _slowest_group(groups):
    return max(groups, key=lambda g: g.fastest.cycles)


def _max_throughput(groups, floor, slowest, fits):
    """Smallest cycle budget >= floor whose cheapest design fits (cost is monotone in the budget)."""
    budgets = sorted({o.cycles for g in groups for o in g.options if floor <= o.cycles <= slowest} | {floor})
    lo, hi, best = 0, len(budgets) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        picks = _pick(groups, budgets[mid])
        if picks is not None and fits(picks):
            best, hi = picks, mid - 1
        else:
            lo = mid + 1
    return best


def _describe(groups, picks, budget, mode, lines, io_floor, port_bits, fclk, lut_budget, bram_budget):
    max_cycles = max(o.cycles for o in picks)
    bottleneck_group = max(zip(groups, picks), key=lambda gp: gp[1].cycles)[0]
    luts, brams = sum(o.luts for o in picks), sum(o.brams for o in picks)
    head = [f"Folding goal: {mode}.",
            f"I/O floor: one frame over the {port_bits}-bit DMA port takes {io_floor:,} cycles.",
            *lines,
            f"Cycle budget T = {budget:,} cycles/frame: each layer takes its cheapest folding (fewest LUTs, then "
            f"BRAM18) with cycles <= T. Slowest layer: {bottleneck_group.names[-1]} with {max_cycles:,} cycles "
            f"-> {fclk / max_cycles:,.0f} frames/s at {fclk / 1e6:g} MHz; ~{luts:,.0f} LUTs, {brams:,.0f} BRAM18 "
            f"(budget {lut_budget:,.0f} / {bram_budget:,.0f})."]
    layers, config = [], {}
    for g, o in zip(groups, picks):
        n_ok = sum(1 for x in g.options if x.cycles <= budget)
        for name, op in zip(g.names, g.op_types):
            attrs = o.settings.get(name, {})
            config[name] = dict(attrs)
            if g.kind == "fixed":
                reason = "no folding attribute; fixed by its shape"
            elif o is g.fastest and g.fastest.cycles > budget:
                reason = "fully parallel already and still the bottleneck"
            else:
                reason = (f"cheapest of {n_ok} legal foldings within T (fastest possible "
                          f"{g.fastest.cycles:,} cycles)")
            if g.kind == "MVAU":
                reason += "; PE | MH and SIMD | MW"
            elif g.kind == "SWG+Pool":
                reason += "; sliding-window SIMD tied to the pool's PE"
            layers.append(LayerChoice(name, op, dict(attrs), *o.per_node[name], reason))
    body = [f"- {lc.name} ({g_dims(groups, lc.name)}): "
            f"{', '.join(f'{k}={v}' for k, v in lc.attrs.items()) or '-'} -> {lc.cycles:,} cycles, "
            f"~{lc.luts:,.0f} LUT, {lc.brams:,.0f} BRAM18: {lc.reason}" for lc in layers]
    return FoldingChoice(config, budget, max_cycles, bottleneck_group.names[-1], fclk / max_cycles, luts, brams,
                         lut_budget, bram_budget, io_floor, layers, "\n".join(head + body))


def g_dims(groups, name):
    for g in groups:
        if name in g.names:
            return g.dims
    return ""
