"""`surge-hw compare`: the same real test images through every stage that exists for a build, one report.

Stages, in data-flow order: PyTorch (eval) -> QONNX execution -> FINN-ONNX -> streamlined -> HW layers ->
folded (specialized layers executed as their generic FINN layers) -> HLS C-sim (our HLS C++ from the same IR as the
RTL, compiled with g++) -> RTL simulation -> board.
Each is compared with PyTorch: top-1 accuracy, images whose label equals PyTorch's, images whose integer
outputs (the last binary layer's +-1 dots) equal PyTorch's. Where a stage disagrees, the divergence locator
compares per-layer intermediates (PyTorch hooks vs FINN HW-node outputs or RTL stream taps) and names the
first layer that differs.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper

from ..export.golden import GoldenSet
from ..finn.flow import despecialize, inline_partition
from ..finn.golden import execute_batched, integer_dot, last_layer_node
from ..finn.stage import read_build_info
from ..rtl.packing import accelerator_inputs
from ..rtl.stage import load_ir
from ..sim.rtlsim import simulate
from ..sim.stage import labels_from_dots, load_golden, popcounts_to_dots
from ..train.checkpoint import model_from_checkpoint
from .layers import (ACTIVATION_KINDS, QonnxLayers, TorchLayers, first_divergence, hardware_taps, layers_for_rows,
                     torch_layer_outputs)
from .report import StageResult, console_text, report_context, write_report

# (stage name, graph file, takes uint8 pixels) -- the float graphs take pixels / 255 as PyTorch does
GRAPH_STAGES = [("QONNX exec", "01_qonnx.onnx", False), ("FINN-ONNX", "02_finn.onnx", False),
                ("streamlined", "04_streamlined.onnx", True), ("HW layers", "05_hw_layers.onnx", True),
                ("folded (FINN exec)", None, True)]
# Nodes whose outputs are the hardware layers' outputs: activation quantizers (QONNX), thresholds (FINN) and
# HW layers; the last binary layer's output is taken from the last MatMul-like node.
LAYER_OUTPUT_OPS = ("BipolarQuant", "MultiThreshold", "Thresholding", "MVAU")


def _folded_model(build_dir: Path) -> ModelWrapper:
    """The parent graph with the folded partition inlined, its specialized layers made executable in python."""
    parent = ModelWrapper(str(build_dir / "06_dataflow_parent.onnx"))
    return inline_partition(parent, despecialize(ModelWrapper(str(build_dir / "folded.onnx"))))


def layer_nodes(model: ModelWrapper) -> list:
    """Per-layer output nodes in graph order: activation quantizers/thresholds on data (not on weights)."""
    inits = {t.name for t in model.graph.initializer}
    return [n for n in model.graph.node if n.op_type.startswith(LAYER_OUTPUT_OPS) and n.input[0] not in inits]


def graph_layer_outputs(model: ModelWrapper, raw: dict, dots: np.ndarray, mw_last: int) -> list[np.ndarray]:
    """Each layer's output in the hardware's encoding (bits; popcount for the last layer), from a FINN/QONNX
    execution context, to compare with :func:`torch_layer_outputs`."""
    outs = []
    nodes = layer_nodes(model)
    for n in nodes:
        if n.op_type.startswith("MVAU") and n is nodes[-1]:
            break  # the last MVAU is the last layer: taken from dots below
        v = raw[n.output[0]]
        outs.append((v.reshape(len(v), -1) > 0).astype(np.int64))  # +-1 (bipolar) or {0,1} -> bits
    outs.append(((dots + mw_last) // 2).astype(np.int64))
    return outs


LOCATE_IMAGES = 8  # mismatching images re-run with per-layer taps to find the first diverging layer


def _mismatching_rows(res: StageResult, dots: np.ndarray, golden: GoldenSet) -> np.ndarray:
    return np.flatnonzero((np.asarray(dots).reshape(len(dots), -1) != golden.int_dots).any(1))[:LOCATE_IMAGES]


def _record_divergence(res: StageResult, div, rows: np.ndarray, fallback: str) -> None:
    if div is None:
        res.divergence = fallback
        return
    div.image = int(rows[div.image])  # back to the index in the full image set
    div.mismatching_images = int(res.n_images - res.int_agree)
    res.divergence = div.describe()
    res.extra["divergence"] = div.__dict__


def graph_stage(name: str, model: ModelWrapper, uint8: bool, golden: GoldenSet, torch_layers, layer_names,
                info: dict, progress: bool = True) -> StageResult:
    """``torch_layers``: a :class:`TorchLayers` (or a precomputed list) for the divergence locator, which runs
    only when the integer outputs differ, on the first few mismatching images."""
    images = golden.images.astype(np.float32)
    if not uint8:
        images = images / np.float32(255.0)
    last = last_layer_node(model)
    wanted = list(dict.fromkeys([last.output[0], model.graph.output[0].name]))
    t = time.perf_counter()
    raw = execute_batched(model, images, wanted, chunk=512, progress=progress, desc=name)
    wall = time.perf_counter() - t
    dots = integer_dot(model, last, raw[last.output[0]]).round().astype(np.int64)
    labels = raw[model.graph.output[0].name].reshape(len(images), -1).argmax(1)
    res = StageResult.measured(name, labels, dots, golden.logits.argmax(1), golden.int_dots, golden.labels, wall)
    if res.int_agree != res.n_images:
        rows = _mismatching_rows(res, dots, golden)
        taps = [n.output[0] for n in layer_nodes(model)]
        raw_rows = execute_batched(model, images[rows], list(dict.fromkeys([last.output[0]] + taps)))
        layers = graph_layer_outputs(model, raw_rows, dots[rows], info["mw_last"])
        ref = layers_for_rows(torch_layers, rows)
        div = first_divergence(ref, layers, layer_names) if len(layers) == len(ref) else None
        _record_divergence(res, div, rows, f"integer outputs differ at node {last.name}")
    return res


def rtl_stage(build_dir: Path, golden: GoldenSet, info: dict, torch_layers, simulator: str = "verilator",
              rtl_dir: Path | None = None, jobs: int = 1, progress: bool = True) -> StageResult:
    """The RTL on every image (no taps: a CNV's window streams would fill the disk); where outputs differ, the
    first few mismatching images are simulated again with per-layer taps to locate the diverging layer."""
    rtl_dir = rtl_dir or build_dir / "rtl"
    host = json.loads((rtl_dir / "manifest.json").read_text()).get("host") or []
    x = accelerator_inputs(golden.images, host)
    res = simulate(rtl_dir, x, simulator=simulator, jobs=jobs, progress=progress)
    dots = popcounts_to_dots(res.outputs, info["mw_last"])
    labels = labels_from_dots(dots, info)
    out = StageResult.measured(f"RTL sim ({simulator})", labels, dots, golden.logits.argmax(1), golden.int_dots,
                               golden.labels, res.wall_s,
                               extra={"initiation_interval": res.initiation_interval,
                                      "latency_cycles": res.cycles_per_image})
    if out.int_agree != out.n_images:
        rows = _mismatching_rows(out, dots, golden)
        tapped = simulate(rtl_dir, x[rows], simulator=simulator, taps=True, progress=False)
        _locate_in_taps(out, rows, x, host, tapped.taps, tapped.layer_names, build_dir, torch_layers)
    return out


def _locate_in_taps(res: StageResult, rows: np.ndarray, x: np.ndarray, host: list, taps: list, tap_names: list,
                    build_dir: Path, torch_layers) -> None:
    """First diverging layer from a hardware stage's per-layer stream taps (RTL sim or HLS C-sim)."""
    # taps of the layers PyTorch has a counterpart for (not sliding windows / pools, which only re-order)
    acts = [i for i, lay in enumerate(load_ir(build_dir).layers) if lay.kind in ACTIVATION_KINDS]
    # a packed-input build's host threshold is a layer too: its output is the stream the hardware was fed
    # (one host layer at most: packed input moves the first Thresholding only)
    host_taps, host_names = ([x[rows]], [host[0]["name"] + " (host)"]) if host else ([], [])
    div = first_divergence(layers_for_rows(torch_layers, rows), host_taps + [taps[i] for i in acts],
                           host_names + [tap_names[i] for i in acts])
    _record_divergence(res, div, rows, "integer outputs differ, but no activation layer's stream does")


def hls_stage(build_dir: Path, golden: GoldenSet, info: dict, torch_layers, jobs: int = 1,
              progress: bool = True) -> StageResult:
    """Our HLS C++ (BUILD/hls, generated from the IR when missing or stale) C-simulated with g++ on every image;
    where outputs differ, the first few mismatching images run again with per-layer taps."""
    from ..hls.stage import csim, generate_from_build
    from ..rtl.ir import IRError

    name = "HLS C-sim (g++)"
    try:
        hls = generate_from_build(build_dir)
        host = json.loads((hls / "manifest.json").read_text()).get("host") or []
        x = accelerator_inputs(golden.images, host)
        res = csim(hls, x, jobs=jobs, progress=progress)
    except (FileNotFoundError, IRError, RuntimeError) as e:  # no g++ / headers, or an IR the kernels cannot build
        return StageResult(name, False, str(e).splitlines()[0])
    dots = popcounts_to_dots(res.outputs, info["mw_last"])
    out = StageResult.measured(name, labels_from_dots(dots, info), dots, golden.logits.argmax(1), golden.int_dots,
                               golden.labels, res.wall_s, extra={"kernel_s": res.kernel_s})
    if out.int_agree != out.n_images:
        rows = _mismatching_rows(out, dots, golden)
        tapped = csim(hls, x[rows], taps=True, progress=False)
        _locate_in_taps(out, rows, x, host, tapped.taps, tapped.layer_names, build_dir, torch_layers)
    return out


def board_stage(build_dir: Path, golden: GoldenSet) -> StageResult:
    for d in (build_dir, build_dir / "deploy"):
        if (d / "board_results.npz").is_file():
            z = np.load(d / "board_results.npz")
            n = min(len(z["labels"]), len(golden))
            dots = None
            if "ints" in z:
                info = read_build_info(build_dir)
                dots = popcounts_to_dots(z["ints"][:n], info["mw_last"])
            meta = d / "board_results.json"
            res = json.loads(meta.read_text()) if meta.is_file() else {}
            name = (f"board driver ({res.get('backend', '?')}, simulated RTL)" if res.get("simulated")
                    else "board (PYNQ)")
            return StageResult.measured(name, z["labels"][:n], dots, golden.logits.argmax(1),
                                        golden.int_dots, golden.labels)
    return StageResult("board (PYNQ)", False, "no board_results.npz: run deploy/validate.py on a PYNQ board and "
                                             "copy board_results.* into the build dir")


def reference_model(info: dict):
    """(torch model or None, checkpoint state, what the reference is): a zoo checkpoint, a user's module rebuilt
    from ``model_file`` + ``checkpoint`` (``surge-hw export --model-file``), else none (a QONNX file or
    :func:`surge_hw.export_brevitas`: the golden set is the reference and the QONNX graph the per-layer one)."""
    if "model_config" in info and info.get("checkpoint"):
        model, state = model_from_checkpoint(info["checkpoint"])
        return model, state, f"PyTorch eval of {info['checkpoint']}"
    if info.get("model_file"):
        from ..export.user_model import load_model_file

        return (load_model_file(info["model_file"], info.get("checkpoint")), {},
                f"PyTorch eval of {info['model_file']}" + (f" with {info['checkpoint']}" if info.get("checkpoint")
                                                           else " (initial weights)"))
    if info.get("reference"):  # a .onnx built with --golden/--dataset (finn/user_golden.py)
        return None, {}, info["reference"]
    if info.get("source") == "brevitas module":  # surge_hw.export_brevitas on an in-memory module
        return None, {}, (f"PyTorch's outputs of {info.get('model_name')} in golden.npz (export_brevitas: no model "
                          f"file to rebuild the module from, so the per-layer locator uses the QONNX graph)")
    return None, {}, "the golden set"


def _float_tie_breaks(golden: GoldenSet, info: dict) -> int:
    """Images whose PyTorch label is not the integer outputs' argmax only because several classes share the top
    integer output (zoo models: 0, their logits are exact integers times one scale)."""
    if info.get("label_sign") is None:
        return 0
    dots = info["label_sign"] * golden.int_dots
    torch_labels = golden.logits.argmax(1)
    rows = np.arange(len(dots))
    return int(((dots.argmax(1) != torch_labels) & (dots[rows, torch_labels] == dots.max(1))).sum())


def compare_build(build_dir: str | os.PathLike, n_images: int | None = 1000, simulator: str = "verilator",
                  out_dir: str | os.PathLike | None = None, rtl_dir: str | os.PathLike | None = None,
                  jobs: int = 1, progress: bool = True) -> list[StageResult]:
    """Every stage on the same ``n_images`` golden images -> BUILD/report/ (md, json, html); ``progress``: the
    graph executions' and simulations' bars (they show only on a terminal anyway)."""
    build_dir = Path(build_dir)
    golden, info = load_golden(build_dir, n_images)
    n = len(golden)
    model, state, reference = reference_model(info)
    ir = load_ir(build_dir) if (build_dir / "rtl_ir").is_dir() else None
    names = [lay.name for lay in ir.host_layers + ir.layers if lay.kind in ACTIVATION_KINDS] if ir else None
    torch_labels = golden.logits.argmax(1)
    stages = []
    if model is not None:
        torch_layers = TorchLayers(model, golden.images)
        n_layers = len(hardware_taps(model)[0]) + 1
        t = time.perf_counter()
        torch_dots = torch_layer_outputs(model, golden.images, last_only=True)[0] * 2 - info["mw_last"]
        stages = [StageResult.measured("PyTorch", torch_labels, torch_dots, torch_labels, golden.int_dots,
                                       golden.labels, time.perf_counter() - t)]
        if stages[0].int_agree != n and "model_config" in info:
            raise RuntimeError("PyTorch hooks disagree with the export's golden set: checkpoint changed after export?")
        if stages[0].int_agree != n:  # a user's module rebuilt from model_file (random init without --checkpoint?)
            reference = (f"the golden set; the module rebuilt from {info['model_file']} does not reproduce it "
                         f"({stages[0].int_agree}/{n} images), so the per-layer locator uses the QONNX graph")
            model = None
        elif "model_config" not in info and names is not None and n_layers != len(names):
            reference += (f"; per-layer locator on the QONNX graph ({n_layers} PyTorch activation layers, "
                          f"{len(names)} in the accelerator)")
            torch_layers = None
    if model is None or torch_layers is None:
        torch_layers = QonnxLayers(build_dir / "01_qonnx.onnx", golden.images, info["mw_last"])
        n_layers = torch_layers.count()
    if model is None and not stages:
        stages = [StageResult("PyTorch", False, f"no PyTorch model: the reference is {reference}")]
    names = names or [f"layer{i}" for i in range(n_layers)]
    for name, fname, uint8 in GRAPH_STAGES:
        path = build_dir / fname if fname else build_dir / "folded.onnx"
        if not path.is_file():
            stages.append(StageResult(name, False, f"{path.name} missing"))
            continue
        model_g = ModelWrapper(str(path)) if fname else _folded_model(build_dir)
        stages.append(graph_stage(name, model_g, uint8, golden, torch_layers, names, info, progress))
    stages.append(hls_stage(build_dir, golden, info, torch_layers, jobs=jobs, progress=progress))
    if (Path(rtl_dir) if rtl_dir else build_dir / "rtl").is_dir():
        stages.append(rtl_stage(build_dir, golden, info, torch_layers, simulator, Path(rtl_dir) if rtl_dir else None,
                                jobs=jobs, progress=progress))
    else:
        stages.append(StageResult("RTL sim", False, f"no rtl/: run `surge-hw rtl {build_dir}`"))
    stages.append(board_stage(build_dir, golden))

    estimates = json.loads((build_dir / "estimates.json").read_text()) if (build_dir / "estimates.json").is_file() else None
    history = state.get("history")
    notes = {} if "model_config" in info else {"reference": reference}
    ties = _float_tie_breaks(golden, info)
    if ties:
        notes["labels vs PyTorch"] = (f"{ties} of {n} images have several classes with the same top integer output; "
                                      f"PyTorch's float logits order them by rounding noise (non-unit quantizer "
                                      f"scales), the integer outputs' argmax by class index, so their labels may "
                                      f"differ while the integer outputs are bit-exact")
    if (build_dir / "pnr" / "pnr.json").is_file():
        from ..rtl.stage import pnr_summary_lines
        notes["open place-and-route (nextpnr-ecp5)"] = "; ".join(
            pnr_summary_lines(json.loads((build_dir / "pnr" / "pnr.json").read_text()), estimates))
    rtl_man = (Path(rtl_dir) if rtl_dir else build_dir / "rtl") / "manifest.json"
    if rtl_man.is_file():
        man = json.loads(rtl_man.read_text())
        notes["input format"] = ("packed: the host binarizes the pixels (" + ", ".join(h["name"] for h in man["host"])
                                 + "), the RTL takes 1 bit per pixel" if man.get("input_format") == "packed" else
                                 "uint8 pixels into the RTL")
    # FINN's estimates vs the RTL's measurement and yosys' resources: sections of their own (report.py)
    dataset = info.get("dataset") or Path(info.get("golden_source") or info["golden"]).name
    model_name = info["model_config"]["name"].upper() if "model_config" in info else \
        info.get("model_name") or Path(info.get("onnx") or "model").stem
    meta = {"title": f"{model_name} on {dataset}", "images": n, "dataset": dataset, "reference": reference,
            "build_dir": str(build_dir), "checkpoint": info.get("checkpoint"), "notes": notes,
            **report_context(build_dir, info, state, rtl_dir)}
    paths = write_report(Path(out_dir) if out_dir else build_dir / "report", stages, meta, estimates, history)
    print("\n" + console_text(stages, meta, estimates))
    print(f"compare: wrote {paths['html']}, {paths['md']}, {paths['json']}")
    return stages
