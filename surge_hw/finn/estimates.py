"""Estimates of the folded dataflow graph (FINN's analytical models): estimates.json, report.md, estimates.png.

FPS = fclk / max layer cycles (the slowest layer sets the pipeline's rate); latency = the critical path's sum of
layer cycles (pessimistic: FINN assumes no overlap between layers, and FIFOs are not counted).
"""
from __future__ import annotations

import json
from functools import partial
from pathlib import Path

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from finn.analysis.fpgadataflow.dataflow_performance import dataflow_performance
from finn.analysis.fpgadataflow.exp_cycles_per_layer import exp_cycles_per_layer
from finn.analysis.fpgadataflow.res_estimation import res_estimation
from finn.transformation.fpgadataflow.annotate_cycles import AnnotateCycles

from .folding import DEVICE_RESOURCES, FoldingChoice
from .passes import is_hw_node
from ..artefacts import write_text_atomic

LAYER_ATTRS = ("MW", "MH", "PE", "SIMD", "NumChannels", "IFMChannels", "Channels", "numInputVectors",
               "inputDataType", "weightDataType", "outputDataType", "accDataType", "binaryXnorMode",
               "noActivation", "ActVal", "mem_mode", "ram_style", "impl_style", "depthwise", "parallel_window")


def compute_estimates(model: ModelWrapper, fpgapart: str, fclk_mhz: float, board: str) -> dict:
    """Per-layer and total estimates of the folded, specialized dataflow ``model``."""
    cycles = model.analysis(exp_cycles_per_layer)
    res = model.analysis(partial(res_estimation, fpgapart=fpgapart))
    perf = model.transform(AnnotateCycles()).analysis(dataflow_performance)
    layers = []
    for node in model.graph.node:
        if not is_hw_node(node):
            continue
        inst = getCustomOp(node)
        types = inst.get_nodeattr_types()
        entry = {"name": node.name, "op_type": node.op_type}
        for attr in LAYER_ATTRS:
            if attr in types:
                try:
                    value = inst.get_nodeattr(attr)
                except Exception:  # optional attribute without a default
                    continue
                entry[attr] = list(value) if isinstance(value, (list, tuple)) else value
        entry["cycles"] = int(cycles[node.name])
        r = res.get(node.name, {})
        entry.update(LUT=float(r.get("LUT", 0)), BRAM_18K=float(r.get("BRAM_18K", 0)),
                     URAM=float(r.get("URAM", 0)), DSP=float(r.get("DSP", 0)))
        layers.append(entry)
    totals = {k: sum(layer[k] for layer in layers) for k in ("LUT", "BRAM_18K", "URAM", "DSP")}
    fclk = fclk_mhz * 1e6
    max_cycles = int(perf["max_cycles"])
    dev = DEVICE_RESOURCES.get(fpgapart)
    util = {k: 100.0 * totals[k] / dev[k] for k in ("LUT", "BRAM_18K", "DSP")} if dev else {}
    return {
        "board": board, "fpga_part": fpgapart, "fclk_mhz": fclk_mhz,
        "layers": layers,
        "totals": totals,
        "max_cycles": max_cycles,
        "bottleneck": perf["max_cycles_node_name"],
        "fps": fclk / max_cycles,
        "latency_cycles": int(perf["critical_path_cycles"]),
        "latency_us": perf["critical_path_cycles"] / fclk * 1e6,
        "device": dev or {},
        "utilisation_percent": util,
        "source": "FINN analytical estimates (exp_cycles_per_layer, res_estimation, dataflow_performance)",
    }


def write_estimates_json(estimates: dict, folding: FoldingChoice | None, path: Path) -> Path:
    data = dict(estimates)
    if folding is not None:
        data["folding"] = {"cycle_budget": folding.cycle_budget, "io_floor_cycles": folding.io_floor_cycles,
                           "lut_budget": folding.lut_budget, "bram_budget": folding.bram_budget,
                           "explanation": folding.explanation}
    write_text_atomic(path, json.dumps(data, indent=2, default=_json_default) + "\n")
    return path


def _json_default(obj):
    try:
        return obj.item()  # numpy scalars
    except AttributeError:
        return str(obj)


def write_report_md(path: Path, estimates: dict, folding: FoldingChoice | None, golden: list, artefacts: dict,
                    source: str, notes: list[str]) -> Path:
    e = estimates
    out = [f"# FINN dataflow build: {Path(source).name}", "",
           f"Board {e['board']} ({e['fpga_part']}) at {e['fclk_mhz']:g} MHz. Estimates are FINN's analytical "
           "models, not synthesis results.", "",
           "## Throughput and resources", "",
           f"- **{e['fps']:,.0f} frames/s** (fclk / {e['max_cycles']:,} cycles of the slowest layer, "
           f"{e['bottleneck']})",
           f"- latency ~{e['latency_cycles']:,} cycles = {e['latency_us']:.1f} us (critical path, no FIFOs)",
           "- input format: " + ("**packed**, 1 bit per pixel (the host applies the binarizing input threshold; "
                                 "`--input-format packed`)" if e.get("input_format") == "packed" else
                                 "**uint8** pixels (the accelerator thresholds them; `--input-format packed` streams "
                                 "1 bit per pixel when the first layer binarizes)"),
           f"- {e['totals']['LUT']:,.0f} LUT, {e['totals']['BRAM_18K']:,.0f} BRAM18, {e['totals']['DSP']:,.0f} DSP"]
    if e["utilisation_percent"]:
        u = e["utilisation_percent"]
        out.append(f"- Z7020 utilisation: LUT {u['LUT']:.1f} %, BRAM {u['BRAM_18K']:.1f} %, DSP {u['DSP']:.1f} %")
    out += ["", "## Layers", "",
            "| layer | op | MW | MH | PE | SIMD | in / w / out type | cycles | LUT | BRAM18 |",
            "|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for layer in e["layers"]:
        types = " / ".join(str(layer.get(k, "-")) for k in ("inputDataType", "weightDataType", "outputDataType"))
        mark = " **(bottleneck)**" if layer["name"] == e["bottleneck"] else ""
        out.append(f"| {layer['name']}{mark} | {layer['op_type']} | {layer.get('MW', '')} | {layer.get('MH', '')} "
                   f"| {layer.get('PE', '')} | {layer.get('SIMD', '')} | {types} | {layer['cycles']:,} "
                   f"| {layer['LUT']:,.0f} | {layer['BRAM_18K']:,.0f} |")
    if folding is not None:
        out += ["", "## Folding: why", "", *folding.explanation.splitlines()]
    if golden:
        out += ["", "## Golden checks (integer outputs vs PyTorch)", "",
                "| step | graph | compared node | images | integer equal | top-1 | torch top-1 | argmax agree |",
                "|---|---|---|---:|---|---:|---:|---:|"]
        for g in golden:
            pct = (lambda v: "-" if v is None else f"{100 * v:.2f} %")
            out.append(f"| {g.step} | {g.graph} | {g.node} | {g.images} | {'yes' if g.int_equal else 'NO'} "
                       f"| {pct(g.top1)} | {pct(g.torch_top1)} | {pct(g.argmax_agree)} |")
    else:
        out += ["", "## Golden checks", "", "Not run (no golden set given)."]
    if notes:
        out += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    out += ["", "## Artefacts", "", *[f"- `{name}`: {desc}" for name, desc in artefacts.items()], ""]
    write_text_atomic(path, "\n".join(out))
    return path


def plot_estimates(estimates: dict, path: Path) -> Path:
    """estimates.png: cycles (bottleneck marked; linear unless the layers span > 10x) and LUTs per layer."""
    from ..figures import layer_estimates, save_png

    return save_png(layer_estimates(estimates), path)
