"""FINN stage: QONNX graph on disk -> folded, specialized dataflow graph for PYNQ-Z1/Z2 (+ estimates, reports).

The flow is a list of steps; each step is a readable list of graph passes (FINN's, qonnx's and ours in
:mod:`surge_hw.finn.passes`) and writes its graph into the build dir:

====================  =======================================================================================
01_qonnx.onnx         the exported QONNX graph after qonnx cleanup, checked (one NCHW input, supported ops)
02_finn.onnx          ConvertQONNXtoFINN: Quant nodes -> MultiThreshold, +-1 weights annotated BIPOLAR
03_tidy.onnx          tidy-up + ``x = p/255`` in front, so the graph input is raw UINT8 pixels
04_streamlined.onnx   Streamline (BN + sign -> integer thresholds), convs lowered to Im2Col + MatMul,
                      +-1 MatMul -> XnorPopcountMatMul; the last layer's polarity kept (RestoreOutputPolarity)
05_hw_layers.onnx     conversion to FINN HW layers (MVAU, Thresholding, ConvolutionInputGenerator, Pool)
06_dataflow_parent    parent graph (input re-layout, StreamingDataflowPartition, float scale/bias behind) and
  + _partition.onnx   the dataflow partition = the accelerator; with ``input_format="packed"`` the binarizing
                      input threshold stays in the parent (KeepInputThresholdOnHost): 1 bit per pixel in
07_specialized.onnx   SpecializeLayers(xc7z020clg400-1): HLS or RTL variant per layer
08_bitwidths.onnx     accumulator/weight/threshold bit widths (XNOR popcount accumulators fixed, thresholds
                      clipped to the popcount range)
folded.onnx           PE/SIMD from :func:`surge_hw.finn.folding.choose_folding`
====================  =======================================================================================

Golden checks (optional, see :mod:`surge_hw.finn.golden`) run after 01-05 and on the folded graph (its HW
layers executed by FINN's python models of the un-specialized layers).

Everything is built in a temp dir next to ``build_dir`` and renamed into place at the end; on any error the
temp dir is removed and an existing ``build_dir`` is left untouched. Files there that no stage wrote
(``board_results.*`` from the board, notes) are carried into the new build dir.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.bipolar_to_xnor import ConvertBipolarMatMulToXnorPopcount
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.general import (
    GiveReadableTensorNames,
    GiveUniqueNodeNames,
    RemoveStaticGraphInputs,
    RemoveUnusedTensors,
)
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul
from qonnx.util.cleanup import cleanup_model

import finn.transformation.streamline.absorb as absorb
from finn.transformation.fpgadataflow.convert_to_hw.conv_inp_gen import InferConvInpGen
from finn.transformation.fpgadataflow.convert_to_hw.pool import InferPool
from finn.transformation.fpgadataflow.convert_to_hw.quantized_matrix_vector_activation import (
    InferQuantizedMatrixVectorActivation,
)
from finn.transformation.fpgadataflow.convert_to_hw.thresholding import InferThresholdingLayer
from finn.transformation.fpgadataflow.create_dataflow_partition import CreateDataflowPartition
from finn.transformation.fpgadataflow.minimize_accumulator_width import MinimizeAccumulatorWidth
from finn.transformation.fpgadataflow.minimize_weight_bit_width import MinimizeWeightBitWidth
from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
from finn.transformation.general import ApplyConfig
from finn.transformation.move_reshape import RemoveCNVtoFCFlatten
from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
from finn.transformation.streamline.reorder import MakeMaxPoolNHWC, MoveScalarLinearPastInvariants
from finn.transformation.streamline.round_thresholds import RoundAndClipThresholds

from surge_hw.artefacts import BUILD_DIR_STAGE_OUTPUTS, building_dir
from surge_hw.export.golden import GoldenSet
from surge_hw.export.qonnx_export import SUPPORTED_QONNX_OPS

from . import estimates as est
from .errors import FinnFlowError
from .folding import FoldingChoice, choose_folding
from .golden import GoldenResult, as_golden_set, check_graph
from .passes import (
    CheckGraphInput,
    CheckHWConverted,
    CheckStreamlined,
    CheckSupportedOps,
    ClipXnorThresholds,
    InferBinaryMVAUKeepActVal,
    KeepBipolarWeightType,
    KeepInputThresholdOnHost,
    PrependToTensorScale,
    RestoreOutputPolarity,
    SetXnorPopcountAccumulator,
    StreamlineBinary,
    is_hw_node,
)
from .vivado import (
    FOLDED_NAME,
    FOLDING_CONFIG_NAME,
    BitfileStatus,
    board_part,
    build_bitfile,
    generate_ip_sources,
    vivado_available,
    vivado_status,
    write_build_config,
    write_folding_config,
)

PARTITION_NAME = "06_dataflow_partition.onnx"
INPUT_FORMATS = ("uint8", "packed")


@dataclass
class BuildResult:
    build_dir: Path
    graphs: dict[str, Path]            # step name -> graph file (01_qonnx ... folded)
    dataflow_parent: Path
    dataflow_partition: Path
    folded: Path
    folding: FoldingChoice
    estimates: dict
    estimates_json: Path
    report_md: Path
    estimates_png: Path
    golden: list[GoldenResult] = field(default_factory=list)
    ipgen_dir: Path | None = None
    bitfile: BitfileStatus | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.estimates["fps"]


# ------------------------------------------------------------------------------------------ the passes


def load_passes():
    return [CheckGraphInput("01_qonnx"), CheckSupportedOps(SUPPORTED_QONNX_OPS, "01_qonnx")]


def qonnx_to_finn_passes():
    return [ConvertQONNXtoFINN()]


def tidy_passes():
    return [InferShapes(), FoldConstants(), GiveUniqueNodeNames(), GiveReadableTensorNames(), InferDataTypes(),
            RemoveStaticGraphInputs(),
            PrependToTensorScale(),  # graph input: raw uint8 pixels (the 1/255 is absorbed by streamlining)
            InferShapes(), GiveUniqueNodeNames(), GiveReadableTensorNames(), InferDataTypes()]


def streamline_passes(last_layer_weights):
    # as FINN's tfc/cnv end-to-end flows, without TopK: the integer output must stay visible
    return [absorb.AbsorbScalarBiasIntoMultiThreshold(),
            MoveScalarLinearPastInvariants(),  # move the input scaling past the flatten/reshape
            StreamlineBinary(),                 # = FINN Streamline, vectorised 1-bit absorption
            LowerConvsToMatMul(),              # conv -> Im2Col + MatMul (no-op for FC nets)
            MakeMaxPoolNHWC(),
            absorb.AbsorbTransposeIntoMultiThreshold(),
            MakeMaxPoolNHWC(),
            absorb.AbsorbConsecutiveTransposes(),
            ConvertBipolarMatMulToXnorPopcount(),  # +-1 x +-1 MatMul -> popcount p, d = 2p - MW
            StreamlineBinary(),                 # = FINN Streamline, vectorised 1-bit absorption
            RestoreOutputPolarity(last_layer_weights, "04_streamlined"),
            InferShapes(), InferDataTypes(), InferDataLayouts(), RemoveUnusedTensors(),
            GiveUniqueNodeNames(), GiveReadableTensorNames(),
            CheckStreamlined("04_streamlined")]


def hw_layer_passes():
    return [InferBinaryMVAUKeepActVal(),             # XnorPopcountMatMul (+ MultiThreshold) -> MVAU, XNOR mode
            InferQuantizedMatrixVectorActivation(),  # integer x bipolar MatMul (CNV's first layer) -> MVAU
            InferThresholdingLayer(),                # input quantizer on uint8 pixels -> Thresholding
            InferPool(),                             # MaxPoolNHWC -> depthwise sliding window + Pool
            InferConvInpGen(),                       # Im2Col -> ConvolutionInputGenerator
            RemoveCNVtoFCFlatten(),
            absorb.AbsorbConsecutiveTransposes(),
            GiveUniqueNodeNames(), InferDataLayouts(), InferDataTypes(), InferShapes(),
            CheckHWConverted("05_hw_layers")]


def specialize_passes(fpgapart):
    return [SpecializeLayers(fpgapart), GiveUniqueNodeNames(), InferDataTypes()]


def bitwidth_passes():
    return [MinimizeAccumulatorWidth(),
            SetXnorPopcountAccumulator(),  # popcount in [0, MW]: UINT, not FINN's signed range
            ClipXnorThresholds(),          # exact: p >= T == p >= clip(ceil(T), 0, MW+1)
            RoundAndClipThresholds(), InferDataTypes(),
            MinimizeWeightBitWidth(), KeepBipolarWeightType(), InferDataTypes()]


def apply_passes(model: ModelWrapper, passes, step: str) -> ModelWrapper:
    for p in passes:
        try:
            model = model.transform(p)
        except FinnFlowError:
            raise
        except Exception as e:  # a FINN/qonnx pass failing is a failure of this step
            raise FinnFlowError(step, f"{type(p).__name__} failed: {type(e).__name__}: {e}") from e
    return model


# ------------------------------------------------------------------------------------------ the build


def build(onnx_path: str | os.PathLike, build_dir: str | os.PathLike, board: str = "Pynq-Z2",
          target_fps: float | None = None, max_luts: float | None = None, golden=None, progress: bool = True,
          *, fclk_mhz: float = 100.0, golden_images: int | None = None, ipgen: bool = True,
          input_format: str = "uint8") -> BuildResult:
    """Compile the QONNX graph ``onnx_path`` into a folded FINN dataflow graph in ``build_dir``.

    ``golden``: a :class:`surge_hw.export.GoldenSet` (images uint8 NCHW, torch's integer dots of the last binary
    layer, labels), a path to its ``.npz``, a tuple ``(images, int_dots, labels)`` or a callable returning one;
    ``golden_images`` limits how many of its images are run. Integer outputs must match at every checked step,
    else :class:`GoldenMismatchError`. ``target_fps``/``max_luts``: see :func:`choose_folding`.
    ``input_format``: "uint8" (the accelerator takes the raw pixels, as FINN's examples) or "packed" (the host
    applies the first layer's binarizing threshold and streams 1 bit per pixel: TFC/SFC/LFC only).
    """
    if input_format not in INPUT_FORMATS:
        raise FinnFlowError("01_qonnx", f"input_format {input_format!r} is not one of {', '.join(INPUT_FORMATS)}")
    onnx_path = Path(onnx_path)
    build_dir = Path(build_dir).resolve()
    fpgapart = board_part(board)
    if not onnx_path.is_file():
        raise FinnFlowError("01_qonnx", f"{onnx_path} does not exist")
    golden_set = as_golden_set(golden)
    if golden_set is not None:
        golden_set = golden_set.first(golden_images)
    with building_dir(build_dir, keep=_not_written_by_a_stage) as tmp:
        result = _build_into(tmp, build_dir, onnx_path, board, fpgapart, target_fps, max_luts, golden_set,
                             progress, fclk_mhz, ipgen, input_format)
    if progress:
        print(f"[finn] build done: {result.estimates['fps']:,.0f} frames/s (est.), "
              f"{result.estimates['totals']['LUT']:,.0f} LUT -> {build_dir}")
    return result


# What an older build may hold that this one need not write (no ipgen, no Vivado run); build_info.json and
# golden.npz (a .onnx built with --golden/--dataset) are the build stage's (finn/stage.py), written after this.
OLD_BUILD_OUTPUTS = ("build_info.json", "golden.npz", "ipgen", "finn_output", "finn_tmp")


def _not_written_by_a_stage(name: str) -> bool:
    """Entries of an existing build dir that a rebuild carries over: the user's (board_results.* from the board,
    notes), not the old build's graphs or what rtl/rtlsim/compare/deploy derived from them."""
    return not (name in BUILD_DIR_STAGE_OUTPUTS or name in OLD_BUILD_OUTPUTS or re.fullmatch(r"\d\d_\w+\.onnx", name))


class _Steps:
    """Saves each step's graph and runs its golden check; paths recorded under the FINAL build dir."""

    def __init__(self, tmp: Path, final: Path, golden: GoldenSet | None, progress: bool):
        self.tmp, self.final, self.golden, self.progress = tmp, final, golden, progress
        self.graphs: dict[str, Path] = {}
        self.golden_results: list[GoldenResult] = []
        self.t0 = time.time()

    def save(self, step: str, model: ModelWrapper, check: str | None = None) -> None:
        name = f"{step}.onnx"
        model.save(str(self.tmp / name))
        self.graphs[step] = self.final / name
        msg = f"[finn] {step}: {self.final / name}"
        if check is not None and self.golden is not None:
            res = check_graph(model, self.golden, step, uint8_input=(check == "uint8"), progress=self.progress,
                              graph_name=name)
            self.golden_results.append(res)
            acc = "" if res.top1 is None else f", top-1 {100 * res.top1:.2f} %"
            msg += f"  (golden: {res.images} images integer-exact at {res.node}{acc})"
        if self.progress:
            print(f"{msg}  [{time.time() - self.t0:.1f} s]")


def _build_into(tmp: Path, final: Path, onnx_path: Path, board: str, fpgapart: str, target_fps, max_luts,
                golden: GoldenSet | None, progress: bool, fclk_mhz: float, ipgen: bool,
                input_format: str = "uint8") -> BuildResult:
    steps = _Steps(tmp, final, golden, progress)
    notes: list[str] = []

    try:
        model = cleanup_model(ModelWrapper(str(onnx_path)))
    except Exception as e:
        raise FinnFlowError("01_qonnx", f"cannot load {onnx_path} as a QONNX graph: {type(e).__name__}: {e}") from e
    model = apply_passes(model, load_passes(), "01_qonnx")
    steps.save("01_qonnx", model, check="float")

    model = apply_passes(model, qonnx_to_finn_passes(), "02_finn")
    steps.save("02_finn", model, check="float")

    model = apply_passes(model, tidy_passes(), "03_tidy")
    steps.save("03_tidy", model, check="uint8")

    model = apply_passes(model, streamline_passes(_last_layer_weights(model)), "04_streamlined")
    steps.save("04_streamlined", model, check="uint8")

    model = apply_passes(model, hw_layer_passes(), "05_hw_layers")
    steps.save("05_hw_layers", model, check="uint8")

    if input_format == "packed":
        model = apply_passes(model, [KeepInputThresholdOnHost(), InferDataTypes()], "06_dataflow_parent")
    parent, partition = _create_partition(model, tmp, final)
    steps.save("06_dataflow_parent", parent)
    steps.graphs["06_dataflow_partition"] = final / PARTITION_NAME

    model = apply_passes(partition, specialize_passes(fpgapart), "07_specialized")
    steps.save("07_specialized", model)
    model = apply_passes(model, bitwidth_passes(), "08_bitwidths")
    steps.save("08_bitwidths", model)

    folding = choose_folding(model, target_fps=target_fps, max_luts=max_luts, fclk_mhz=fclk_mhz,
                             fpgapart=fpgapart, dma_port_bits=_port_bits(board))
    model = apply_passes(model, [ApplyConfig(folding.config), InferDataTypes()], "folding")
    model.save(str(tmp / FOLDED_NAME))
    steps.graphs["folded"] = final / FOLDED_NAME
    write_folding_config(model, tmp / FOLDING_CONFIG_NAME)
    if progress:
        print(f"[finn] folded: {final / FOLDED_NAME}\n" + "\n".join("    " + line for line in
                                                                     folding.explanation.splitlines()))
    if golden is not None:
        verify = inline_partition(parent, despecialize(model))
        res = check_graph(verify, golden, "folded", uint8_input=True, progress=progress,
                          graph_name=f"06_dataflow_parent + {FOLDED_NAME}")
        steps.golden_results.append(res)
        if progress:
            print(f"[finn] folded: golden {res.images} images integer-exact at {res.node}")

    estimates = est.compute_estimates(model, fpgapart, fclk_mhz, board)
    estimates["parent_graph"] = _parent_summary(parent)
    estimates["input_format"] = input_format
    est.write_estimates_json(estimates, folding, tmp / "estimates.json")
    est.plot_estimates(estimates, tmp / "estimates.png")

    ipgen_dir = None
    if ipgen:
        ok, msg = generate_ip_sources(model, tmp / "ipgen", final / "ipgen", fpgapart, 1000.0 / fclk_mhz)
        ipgen_dir = final / "ipgen" if ok else None
        notes.append(msg)
        if progress:
            print(f"[finn] {msg}")
    if vivado_available():
        # a bitfile takes an hour: build() only writes the config, build_bitfile() runs it on request
        bitfile = BitfileStatus(False, False, "Vivado/Vitis found: run surge_hw.finn.build_bitfile(build_dir) for "
                                "the bitfile (not started automatically)", write_build_config(tmp, board, fclk_mhz),
                                [], vivado_status())
    else:
        bitfile = build_bitfile(tmp, board, fclk_mhz)  # writes the config, reports what is missing
    bitfile.message = bitfile.message.replace(str(tmp), str(final))
    bitfile.config = final / bitfile.config.name
    notes.append(bitfile.message)
    if progress:
        print(f"[finn] {bitfile.message}")
    notes += _standing_notes(estimates)

    artefacts = {f"{name}.onnx": desc for name, desc in (
        ("01_qonnx", "exported QONNX, cleaned"), ("02_finn", "FINN dialect"),
        ("03_tidy", "tidied, uint8 input"), ("04_streamlined", "integer thresholds + XNOR popcount"),
        ("05_hw_layers", "FINN HW layers"), ("06_dataflow_parent", "parent graph around the accelerator"),
        ("06_dataflow_partition", "the accelerator (HW layers only)"),
        ("07_specialized", "HLS/RTL variants"), ("08_bitwidths", "minimised bit widths"))}
    artefacts.update({FOLDED_NAME: "folded accelerator graph (hand-over to the RTL stage)",
                      FOLDING_CONFIG_NAME: "PE/SIMD per layer (FINN ApplyConfig format)",
                      "estimates.json": "per-layer cycles/resources, totals, FPS, latency",
                      "estimates.png": "per-layer cycles and LUTs",
                      "golden.json": "golden check results per step",
                      "dataflow_build_config.json": "FINN build_dataflow config for the bitfile (needs Vivado)"})
    if ipgen_dir is not None:
        artefacts["ipgen/"] = "per-layer HLS C++/tcl and RTL sources (FINN PrepareIP)"
    est.write_report_md(tmp / "report.md", estimates, folding, steps.golden_results, artefacts, str(onnx_path),
                        notes)
    (tmp / "golden.json").write_text(json.dumps([g.to_dict() for g in steps.golden_results], indent=2) + "\n")
    if progress:
        print(f"[finn] report: {final / 'report.md'}, {final / 'estimates.json'}, {final / 'estimates.png'}")
    return BuildResult(final, steps.graphs, final / "06_dataflow_parent.onnx", final / PARTITION_NAME,
                       final / FOLDED_NAME, folding, estimates, final / "estimates.json", final / "report.md",
                       final / "estimates.png", steps.golden_results, ipgen_dir, bitfile, notes)


def _port_bits(board: str) -> int:
    from surge_hw.boards import get_board
    return get_board(board).dma_port_bits


def _last_layer_weights(model: ModelWrapper):
    """+-1 weights of the last MatMul before streamlining (to keep the output's polarity), or None."""
    mms = [n for n in model.graph.node if n.op_type == "MatMul"]
    if not mms:
        return None
    w = model.get_initializer(mms[-1].input[1])
    return None if w is None or not np.all(np.abs(w) == 1) else w.copy()


def _create_partition(model: ModelWrapper, tmp: Path, final: Path) -> tuple[ModelWrapper, ModelWrapper]:
    scratch = tmp / ".partition"
    try:
        parent = model.transform(CreateDataflowPartition(partition_model_dir=str(scratch)))
    except Exception as e:
        raise FinnFlowError("06_dataflow_parent", f"CreateDataflowPartition failed: {e}") from e
    sdps = parent.get_nodes_by_op_type("StreamingDataflowPartition")
    if len(sdps) != 1:
        raise FinnFlowError("06_dataflow_parent", f"expected one dataflow partition, got {len(sdps)}")
    inst = getCustomOp(sdps[0])
    partition = ModelWrapper(inst.get_nodeattr("model"))
    partition.save(str(tmp / PARTITION_NAME))
    inst.set_nodeattr("model", str(final / PARTITION_NAME))  # valid once the build dir is in place
    shutil.rmtree(scratch, ignore_errors=True)
    return parent, partition


def despecialize(model: ModelWrapper) -> ModelWrapper:
    """Copy of a specialized dataflow graph whose ``*_hls``/``*_rtl`` layers are turned back into their generic
    FINN layers, which FINN can execute in python (same weights, thresholds and data types)."""
    m = ModelWrapper(copy.deepcopy(model.model))
    for node in m.graph.node:
        if is_hw_node(node):
            for suffix in ("_hls", "_rtl"):
                if node.op_type.endswith(suffix):
                    node.op_type = node.op_type[: -len(suffix)]
            node.domain = "finn.custom_op.fpgadataflow"
    return m


def inline_partition(parent: ModelWrapper, partition: ModelWrapper) -> ModelWrapper:
    """The parent graph with its StreamingDataflowPartition node replaced by ``partition``'s nodes (the
    partition's input/output tensors carry the same names as the partition node's)."""
    m = ModelWrapper(copy.deepcopy(parent.model))
    sdp = m.get_nodes_by_op_type("StreamingDataflowPartition")[0]
    idx = list(m.graph.node).index(sdp)
    m.graph.node.remove(sdp)
    for i, node in enumerate(partition.graph.node):
        m.graph.node.insert(idx + i, copy.deepcopy(node))
    known = {t.name for t in m.graph.initializer}
    for init in partition.graph.initializer:
        if init.name not in known:
            m.graph.initializer.append(copy.deepcopy(init))
    io = {t.name for t in list(m.graph.input) + list(m.graph.output)} | {t.name for t in m.graph.value_info}
    for vi in partition.graph.value_info:
        if vi.name not in io:
            m.graph.value_info.append(copy.deepcopy(vi))
    for tensor in partition.get_all_tensor_names():
        dt = partition.get_tensor_datatype(tensor)
        m.set_tensor_datatype(tensor, dt)
    return m


def _parent_summary(parent: ModelWrapper) -> dict:
    """What runs outside the accelerator: the input re-layout before it and the float scale/bias after it."""
    head, tail, seen_sdp = [], [], False
    for node in parent.graph.node:
        if node.op_type == "StreamingDataflowPartition":
            seen_sdp = True
            continue
        entry = {"name": node.name, "op_type": node.op_type}
        if len(node.input) > 1 and parent.get_initializer(node.input[1]) is not None:
            entry["param"] = np.asarray(parent.get_initializer(node.input[1])).reshape(-1).tolist()
        if node.op_type == "Transpose":
            entry["perm"] = _perm(node)
        (tail if seen_sdp else head).append(entry)
    sdp = parent.get_nodes_by_op_type("StreamingDataflowPartition")[0]
    return {"input": parent.graph.input[0].name, "before_accelerator": head, "after_accelerator": tail,
            "accelerator_input": sdp.input[0], "accelerator_input_shape": parent.get_tensor_shape(sdp.input[0]),
            "accelerator_output": sdp.output[0], "accelerator_output_shape": parent.get_tensor_shape(sdp.output[0])}


def _perm(node):
    for a in node.attribute:
        if a.name == "perm":
            return list(a.ints)
    return None


def _standing_notes(estimates: dict) -> list[str]:
    p = estimates["parent_graph"]
    packed = estimates.get("input_format") == "packed"
    fmt = ("1 bit per pixel (--input-format packed: the host applies the binarizing input threshold, "
           "MultiThreshold in the parent graph)" if packed else "uint8 (--input-format uint8)")
    return [
        f"Accelerator input: tensor {p['accelerator_input']} {p['accelerator_input_shape']} {fmt} "
        f"(before it, outside: {', '.join(n['op_type'] for n in p['before_accelerator']) or 'nothing'}). "
        f"Output: {p['accelerator_output']} {p['accelerator_output_shape']} = last layer's integer output "
        f"(XNOR popcount p, torch's dot d = 2p - MW); after it, outside: "
        f"{', '.join(n['op_type'] for n in p['after_accelerator']) or 'nothing'} (float scale/bias, argmax-safe "
        f"only if the scale is positive).",
        "No LabelSelect/TopK inserted: the accelerator returns the integer outputs so they can be compared.",
        "FIFOs and data width converters between layers are added by FINN's hardware steps (not estimated here).",
    ]


def golden_check_build(build_dir: str | os.PathLike, golden, n_images: int | None = None,
                       progress: bool = True) -> list[GoldenResult]:
    """Re-run the golden checks of an existing build on ``n_images`` images (all if None), e.g. the full test
    set from the CLI after a quick build."""
    build_dir = Path(build_dir)
    g = as_golden_set(golden).first(n_images)
    results = []
    for step, uint8 in (("01_qonnx", False), ("02_finn", False), ("03_tidy", True), ("04_streamlined", True),
                        ("05_hw_layers", True)):
        results.append(check_graph(build_dir / f"{step}.onnx", g, step, uint8, progress))
    parent = ModelWrapper(str(build_dir / "06_dataflow_parent.onnx"))
    verify = inline_partition(parent, despecialize(ModelWrapper(str(build_dir / FOLDED_NAME))))
    results.append(check_graph(verify, g, "folded", True, progress, graph_name=FOLDED_NAME))
    return results
