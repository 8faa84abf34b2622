"""FINN stage: QONNX -> folded dataflow graph, golden integer checks, folding, estimates, bad inputs."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import onnx
import pytest
import torch
from test_export import make_tfc, randomize_bn

from surge_hw.export import GoldenSet, export_qonnx_model, make_golden_set
from surge_hw.finn import (
    FinnFlowError,
    GoldenMismatchError,
    build,
    build_bitfile,
    choose_folding,
    vivado_available,
)

pytestmark = pytest.mark.xdist_group("finn")

N_GOLDEN = 50


def golden_images(n: int, shape=(1, 28, 28)):
    """Real MNIST test images if the data stage finds them, else synthetic uint8 images."""
    if shape == (1, 28, 28):
        try:
            from surge_hw.data import load_dataset

            ds = load_dataset("mnist", "test")
            return np.array(ds.images[:n]), np.array(ds.labels[:n])
        except Exception:
            pass
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n,) + tuple(shape), dtype=np.uint8), rng.integers(0, 10, n)


def no_leftovers(parent, keep):
    """Nothing but ``keep`` in ``parent``: no temp/old build dirs next to the target."""
    return sorted(p.name for p in parent.iterdir()) == sorted(keep)


@pytest.fixture(scope="module")
def tfc(tmp_path_factory):
    work = tmp_path_factory.mktemp("tfc")
    model = make_tfc()
    onnx_path = export_qonnx_model(model, (1, 1, 28, 28), work / "model.qonnx.onnx")
    images, labels = golden_images(N_GOLDEN)
    golden = make_golden_set(model, images, labels)
    result = build(onnx_path, work / "build", golden=golden, progress=False)
    return {"work": work, "model": model, "onnx": onnx_path, "golden": golden, "result": result}


def test_tfc_build_writes_every_step_and_is_integer_exact(tfc):
    r, work = tfc["result"], tfc["work"]
    assert no_leftovers(work, ["model.qonnx.onnx", "build"])
    for name in ("01_qonnx", "02_finn", "03_tidy", "04_streamlined", "05_hw_layers", "06_dataflow_parent",
                 "06_dataflow_partition", "07_specialized", "08_bitwidths", "folded"):
        assert r.graphs[name].is_file(), name
        assert len(onnx.load(str(r.graphs[name])).graph.node) > 0
    onnx.checker.check_model(str(r.graphs["01_qonnx"]))  # later graphs hold FINN custom ops
    for path in (r.estimates_json, r.report_md, r.estimates_png, r.build_dir / "dataflow_build_config.json",
                 r.build_dir / "folding_config.json"):
        assert path.is_file()
    assert r.estimates_png.read_bytes()[:4] == b"\x89PNG"
    steps = [g.step for g in r.golden]
    assert steps == ["01_qonnx", "02_finn", "03_tidy", "04_streamlined", "05_hw_layers", "folded"]
    assert all(g.int_equal and g.images == N_GOLDEN for g in r.golden)
    # integer-equal outputs: every stage agrees with torch on every image, so accuracies are identical
    assert {g.top1 for g in r.golden} == {r.golden[0].torch_top1}
    assert all(g.argmax_agree == 1.0 for g in r.golden)
    report = r.report_md.read_text()
    assert "Folding: why" in report and "Golden checks" in report and "MVAU_hls_0" in report
    # the parent graph points at the partition inside the final build dir
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    parent = ModelWrapper(str(r.dataflow_parent))
    sdp = getCustomOp(parent.get_nodes_by_op_type("StreamingDataflowPartition")[0])
    assert sdp.get_nodeattr("model") == str(r.dataflow_partition)


def test_tfc_folded_graph_contract(tfc):
    """What the RTL stage relies on (see the report to the RTL engineer)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    m = ModelWrapper(str(tfc["result"].folded))
    ops = [n.op_type for n in m.graph.node]
    assert ops == ["Thresholding_rtl", "MVAU_hls", "MVAU_hls", "MVAU_hls", "MVAU_hls"]
    assert m.get_tensor_datatype(m.graph.input[0].name).name == "UINT8"
    assert m.get_tensor_shape(m.graph.input[0].name) == [1, 784]
    thr = m.graph.node[0]
    t = m.get_initializer(thr.input[1])
    assert t.shape == (1, 1) and t[0, 0] == 128  # 2*p/255 - 1 >= 0  <=>  p >= 128
    mvaus = m.graph.node[1:]
    for i, node in enumerate(mvaus):
        inst = getCustomOp(node)
        mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
        w = m.get_initializer(node.input[1])
        assert w.shape == (mw, mh) and set(np.unique(w)) <= {0.0, 1.0}
        assert inst.get_nodeattr("binaryXnorMode") == 1
        assert inst.get_nodeattr("accDataType") == f"UINT{math.ceil(math.log2(mw + 1))}"
        last = i == len(mvaus) - 1
        assert inst.get_nodeattr("noActivation") == int(last)
        if last:
            assert inst.get_nodeattr("outputDataType") == "UINT8" and len(node.input) == 2
        else:
            th = m.get_initializer(node.input[2])
            assert th.shape == (mh, 1) and th.min() >= 0 and th.max() <= mw + 1 and np.all(th == np.round(th))


def test_tfc_estimates_are_consistent(tfc):
    r = tfc["result"]
    est = json.loads(r.estimates_json.read_text())
    layers = est["layers"]
    assert est["max_cycles"] == max(layer["cycles"] for layer in layers)
    assert est["fps"] == pytest.approx(1e8 / est["max_cycles"])
    assert est["totals"]["LUT"] == pytest.approx(sum(layer["LUT"] for layer in layers))
    assert est["utilisation_percent"]["LUT"] == pytest.approx(100 * est["totals"]["LUT"] / 53200)
    assert est["totals"]["LUT"] <= 0.7 * 53200
    for layer in layers:
        if layer["op_type"].startswith("MVAU"):
            assert layer["MH"] % layer["PE"] == 0 and layer["MW"] % layer["SIMD"] == 0
            expected = (layer["MH"] // layer["PE"]) * (layer["MW"] // layer["SIMD"])
            assert layer["cycles"] == expected
    # default goal: fastest design the 64-bit DMA port can feed: 784 bytes / 8 bytes per cycle = 98 cycles
    assert est["folding"]["io_floor_cycles"] == 98
    assert est["max_cycles"] == 98


def test_lut_budget_and_target_fps(tfc):
    from qonnx.core.modelwrapper import ModelWrapper

    model = ModelWrapper(str(tfc["result"].graphs["08_bitwidths"]))
    default = tfc["result"].folding
    tight = choose_folding(model, max_luts=2500)
    assert tight.luts <= 2500 < default.luts and tight.fps < default.fps
    assert "within 2,500 LUTs" in tight.explanation
    for layer in tight.layers:
        if layer.op_type.startswith("MVAU"):
            assert set(layer.attrs) == {"PE", "SIMD"}
    with pytest.raises(FinnFlowError, match="fully folded"):
        choose_folding(model, max_luts=500)
    slow = choose_folding(model, target_fps=100_000)
    assert slow.max_cycles <= 1000 and slow.fps >= 100_000 and slow.luts < default.luts
    with pytest.raises(FinnFlowError, match="needs"):
        choose_folding(model, target_fps=1_000_000, max_luts=2000)


def test_negative_output_scale_keeps_integer_outputs(tmp_path):
    """TensorNorm weight < 0: FINN folds the sign into the last weights; we keep torch's integer output."""
    model = make_tfc(seed=5)
    tn = model.features[-1]
    tn.weight.data.fill_(-0.7)
    tn.bias.data.fill_(0.3)
    onnx_path = export_qonnx_model(model, (1, 1, 28, 28), tmp_path / "m.onnx")
    images, labels = golden_images(20)
    result = build(onnx_path, tmp_path / "build", golden=make_golden_set(model, images, labels), progress=False,
                   ipgen=False)
    assert all(g.int_equal for g in result.golden) and len(result.golden) == 6
    assert result.golden[-1].argmax_agree == 1.0


def test_w1a2_training_model_keeps_activation_bias(tmp_path):
    """Our training model with 2-bit activations: {-1, 0, +1} = INT2 with bias -1 (not FINN's default -2)."""
    models = pytest.importorskip("surge_hw.train.models")
    model = randomize_bn(models.build_model("tfc", act_bits=2))
    onnx_path = export_qonnx_model(model, (1, 1, 28, 28), tmp_path / "m.onnx")
    images, labels = golden_images(20)
    result = build(onnx_path, tmp_path / "build", golden=make_golden_set(model, images, labels), progress=False,
                   ipgen=False)
    assert all(g.int_equal for g in result.golden) and len(result.golden) == 6
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    first = getCustomOp(ModelWrapper(str(result.folded)).graph.node[1])
    assert first.get_nodeattr("binaryXnorMode") == 1 and first.get_nodeattr("outputDataType") == "INT2"
    assert first.get_nodeattr("ActVal") == -1


def test_golden_mismatch_names_step_and_node(tfc, tmp_path):
    g = tfc["golden"].first(10)
    dots = g.int_dots.copy()
    dots[3, 4] += 2
    with pytest.raises(GoldenMismatchError) as err:
        build(tfc["onnx"], tmp_path / "build", golden=GoldenSet(g.images, dots, g.labels), progress=False)
    assert err.value.step == "01_qonnx" and err.value.node.startswith("MatMul")
    assert "image 3, class 4" in str(err.value)
    assert no_leftovers(tmp_path, [])


def _bad_model(onnx_path, tmp_path, kind: str):
    from onnx import helper
    from qonnx.core.modelwrapper import ModelWrapper

    m = ModelWrapper(str(onnx_path))
    if kind == "float_matmul":
        # feed the second MatMul its float latent weights instead of the BipolarQuant'ed ones
        mm = [n for n in m.graph.node if n.op_type == "MatMul"][1]
        quant = m.find_producer(mm.input[1])
        mm.input[1] = quant.input[0]
        m.graph.node.remove(quant)
    elif kind == "unsupported_op":
        out = m.graph.output[0].name
        last = m.find_producer(out)
        last.output[0] = "pre_softmax"
        m.graph.node.append(helper.make_node("Softmax", ["pre_softmax"], [out], name="Softmax_0", axis=1))
    elif kind == "flat_input":
        # a (1, 784) vector instead of a (1, 1, 28, 28) image: the accelerator's input layout is unknown
        inp = m.graph.input[0]
        m.graph.input.remove(inp)
        m.graph.input.insert(0, helper.make_tensor_value_info(inp.name, onnx.TensorProto.FLOAT, [1, 784]))
    path = tmp_path / f"{kind}.onnx"
    m.save(str(path))
    return path


@pytest.mark.parametrize("kind, step, node_prefix", [
    ("float_matmul", "04_streamlined", "MatMul"),
    ("unsupported_op", "01_qonnx", "Softmax"),
    ("flat_input", "01_qonnx", "global_in"),
])
def test_bad_input_raises_and_leaves_no_build_dir(tfc, tmp_path, kind, step, node_prefix):
    src = tmp_path / "src"
    src.mkdir()
    bad = _bad_model(tfc["onnx"], src, kind)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FinnFlowError) as err:
        build(bad, out / "build", progress=False)
    assert err.value.step == step and err.value.node.startswith(node_prefix), str(err.value)
    assert no_leftovers(out, [])


def test_wrong_golden_shape_keeps_the_old_build(tfc, tmp_path):
    target = tmp_path / "build"
    target.mkdir()
    (target / "old.txt").write_text("previous build")
    images = np.zeros((4, 3, 32, 32), dtype=np.uint8)
    with pytest.raises(FinnFlowError, match="golden images have shape") as err:
        build(tfc["onnx"], target, golden=(images, np.zeros((4, 10), dtype=np.int64)), progress=False)
    assert err.value.node == "global_in"
    assert no_leftovers(tmp_path, ["build"]) and (target / "old.txt").read_text() == "previous build"


def test_vivado_absent_path(tfc, monkeypatch):
    from finn.builder.build_dataflow_config import DataflowBuildConfig, ShellFlowType

    monkeypatch.setenv("PATH", "/nonexistent")
    assert not vivado_available()
    build_dir = tfc["result"].build_dir
    (build_dir / "dataflow_build_config.json").unlink()
    status = build_bitfile(build_dir, "Pynq-Z1")
    assert not status.ran and not status.ok
    assert "Vivado" in status.message and "folded.onnx" in status.message
    cfg = DataflowBuildConfig.construct_from(build_dir / "dataflow_build_config.json")
    assert cfg.board == "Pynq-Z1" and cfg.shell_flow_type == ShellFlowType.VIVADO_ZYNQ
    assert cfg.folding_config_file == build_dir / "folding_config.json"
    # the finished TFC build also ran FINN's python-only HLS/RTL code generation
    ipgen = tfc["result"].ipgen_dir
    assert ipgen is not None and (ipgen / "MVAU_hls_0" / "top_MVAU_hls_0.cpp").is_file()
    assert (ipgen / "Thresholding_rtl_0" / "Thresholding_rtl_0.v").is_file()


def test_cli_with_golden_npz(tfc, tmp_path, capsys):
    from surge_hw.finn.__main__ import main

    golden = tfc["golden"].save(tmp_path / "golden.npz")
    rc = main([str(tfc["onnx"]), str(tmp_path / "build"), "--golden", str(golden), "--golden-images", "10",
               "--target-fps", "200000", "--no-ipgen", "--quiet"])
    assert rc == 0 and "report.md" in capsys.readouterr().out
    assert json.loads((tmp_path / "build" / "estimates.json").read_text())["fps"] >= 200_000
    assert [g["images"] for g in json.loads((tmp_path / "build" / "golden.json").read_text())] == [10] * 6
    assert main([str(tmp_path / "missing.onnx"), str(tmp_path / "b2"), "--quiet"]) == 2


def make_cnv(seed: int = 0):
    from brevitas_examples.bnn_pynq.models.CNV import CNV

    torch.manual_seed(seed)
    return randomize_bn(CNV(num_classes=10, weight_bit_width=1, act_bit_width=1, in_bit_width=8, in_ch=3), seed)


def test_cnv_export_streamline_and_hw_layers(tmp_path):
    """CNV (8-bit input, convs, max pools) through streamlining and HW conversion, integer-exact."""
    from qonnx.core.modelwrapper import ModelWrapper

    from surge_hw.finn import flow
    from surge_hw.finn.golden import check_graph

    model = make_cnv()
    onnx_path = export_qonnx_model(model, (1, 3, 32, 32), tmp_path / "cnv.onnx")
    images, labels = golden_images(3, (3, 32, 32))
    golden = make_golden_set(model, images, labels)
    m = flow.apply_passes(ModelWrapper(str(onnx_path)), flow.load_passes(), "01_qonnx")
    m = flow.apply_passes(m, flow.qonnx_to_finn_passes(), "02_finn")
    m = flow.apply_passes(m, flow.tidy_passes(), "03_tidy")
    m = flow.apply_passes(m, flow.streamline_passes(flow._last_layer_weights(m)), "04_streamlined")
    m = flow.apply_passes(m, flow.hw_layer_passes(), "05_hw_layers")
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("MVAU") == 9 and ops.count("ConvolutionInputGenerator") == 8 and ops.count("Pool") == 2
    assert ops[:2] == ["Transpose", "Thresholding"] and ops[-2:] == ["Mul", "Add"]
    res = check_graph(m, golden, "05_hw_layers", uint8_input=True)
    assert res.int_equal and res.node == "MVAU_8"
    # CNV's first layer quantizes pixels to INT8: packed (1-bit) input is refused, naming the node and the fix
    from surge_hw.finn.passes import KeepInputThresholdOnHost

    with pytest.raises(FinnFlowError, match=r"Thresholding_0.*INT8.*--input-format uint8"):
        m.transform(KeepInputThresholdOnHost())


def test_packed_input_moves_the_input_threshold_to_the_host(tfc, tmp_path):
    """--input-format packed: the binarizing input threshold stays in the parent graph, the accelerator takes
    1 bit per pixel (I/O floor 13 cycles, not 98), and the host step + RTL IR give PyTorch's integers."""
    from qonnx.core.modelwrapper import ModelWrapper

    from surge_hw.rtl import golden as rtl_golden
    from surge_hw.rtl.from_finn import accelerator_from_finn
    from surge_hw.rtl.generate import host_steps
    from surge_hw.rtl.ir import Accelerator
    from surge_hw.rtl.packing import accelerator_inputs, stream_order

    r = build(tfc["onnx"], tmp_path / "build", golden=tfc["golden"], progress=False, input_format="packed",
              target_fps=1.5625e6, ipgen=False)
    assert all(g.int_equal for g in r.golden)  # incl. the folded graph inlined into the parent
    parent = ModelWrapper(str(r.dataflow_parent))
    assert [n.op_type for n in parent.graph.node][1:3] == ["MultiThreshold", "StreamingDataflowPartition"]
    folded = ModelWrapper(str(r.folded))
    assert folded.get_tensor_datatype(folded.graph.input[0].name).name == "BINARY"
    assert r.folding.io_floor_cycles == 13 and r.estimates["max_cycles"] <= 64
    assert r.estimates["input_format"] == "packed"
    accel = accelerator_from_finn(r.folded, parent=r.dataflow_parent)
    assert accel.input_format == "packed" and accel.layers[0].kind == "mvau_binary"
    assert accelerator_from_finn(tfc["result"].folded, parent=tfc["result"].dataflow_parent).input_format == "uint8"
    images = tfc["golden"].images
    x = rtl_golden.host_inputs(accel, stream_order(images))
    assert np.array_equal(x, accelerator_inputs(images, host_steps(accel)))  # driver's path == golden's
    assert set(np.unique(x)) <= {0, 1}
    pop = rtl_golden.run_accelerator(accel, x)
    assert np.array_equal(2 * pop - accel.layers[-1].mw, tfc["golden"].int_dots)
    accel.save(tmp_path / "ir")
    again = Accelerator.load(tmp_path / "ir")
    assert again.input_format == "packed"
    assert np.array_equal(again.host_layers[0].thresholds, accel.host_layers[0].thresholds)
    with pytest.raises(FinnFlowError, match="input_format 'bits'"):
        build(tfc["onnx"], tmp_path / "bad", input_format="bits", progress=False)


@pytest.mark.slow
def test_cnv_full_build(tmp_path):
    model = make_cnv(1)
    onnx_path = export_qonnx_model(model, (1, 3, 32, 32), tmp_path / "cnv.onnx")
    images, labels = golden_images(8, (3, 32, 32))
    result = build(onnx_path, tmp_path / "build", golden=make_golden_set(model, images, labels),
                   target_fps=3000, progress=False)
    assert all(g.int_equal for g in result.golden)
    assert result.fps >= 3000 and result.estimates["totals"]["LUT"] <= 0.7 * 53200
    assert os.path.isdir(result.ipgen_dir)


def test_cnv_rgb_open_rtl_ir_equals_pytorch(tmp_path):
    """3-channel CNV (CIFAR-10 layout) with our model: the folded graph read into the RTL IR, fed the images in
    the accelerator's NHWC stream order, gives PyTorch's integer outputs (channel order, SIMD=3 windows), and so
    does its Verilog on Verilator."""
    from surge_hw.data import load_dataset
    from surge_hw.rtl import golden as rtl_golden
    from surge_hw.rtl.from_finn import accelerator_from_finn
    from surge_hw.rtl.packing import stream_order
    from surge_hw.train.models import build_model

    torch.manual_seed(3)
    model = randomize_bn(build_model("cnv", in_shape=(3, 32, 32)), 3)
    gray = load_dataset("fashion_mnist32", "test").images[:6, 0].astype(np.int64)  # real pixels, 3 colourings
    images = np.stack([gray, 255 - gray, (gray * 3) % 256], axis=1).astype(np.uint8)
    golden = make_golden_set(model, images, np.zeros(6, np.int64))
    onnx_path = export_qonnx_model(model, (1, 3, 32, 32), tmp_path / "cnv3.onnx")
    result = build(onnx_path, tmp_path / "build", golden=golden, target_fps=3000, progress=False, ipgen=False)
    accel = accelerator_from_finn(result.folded)
    assert accel.layers[1].kind == "sliding_window" and accel.layers[1].channels == 3
    pop = rtl_golden.run_accelerator(accel, stream_order(images))
    assert np.array_equal(2 * pop - accel.layers[-1].mw, golden.int_dots)
    # and the generated Verilog (SIMD=3 windows over the 3-channel NHWC stream) on Verilator, with stalls
    from surge_hw.rtl.generate import generate_rtl
    from surge_hw.sim.rtlsim import simulate

    sim = simulate(generate_rtl(accel, tmp_path / "rtl"), stream_order(images[:3]), out_stall=0.2, progress=False)
    assert np.array_equal(sim.outputs, pop[:3])


def test_zynq_ultrascale_board_and_clock(tfc, tmp_path):
    """ZCU104 at 200 MHz: its part for specialization and estimates, its 128-bit DMA port for the I/O floor."""
    r = build(tfc["onnx"], tmp_path / "zcu104", board="ZCU104", fclk_mhz=200.0, golden=tfc["golden"],
              progress=False, ipgen=False)
    assert all(g.int_equal for g in r.golden)
    assert r.estimates["fpga_part"] == "xczu7ev-ffvc1156-2-e" and r.estimates["fclk_mhz"] == 200.0
    assert r.folding.io_floor_cycles == math.ceil(784 * 8 / 128)
    assert r.folding.lut_budget == pytest.approx(0.7 * 230_400)
    assert "ZCU104 (xczu7ev-ffvc1156-2-e) at 200 MHz" in r.report_md.read_text()
