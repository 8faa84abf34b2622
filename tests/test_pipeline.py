"""End to end on real MNIST: train -> export -> FINN -> RTL -> cocotb/Verilator -> compare -> deploy driver.

Every stage must reproduce PyTorch's integer outputs exactly on real test images.
"""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from deploy_package import import_package_driver
from surge_hw.compare.layers import torch_layer_outputs
from surge_hw.compare.stage import compare_build, rtl_stage
from surge_hw.deploy.stage import deploy_from_build
from surge_hw.export.stage import export_checkpoint
from surge_hw.finn.stage import build_from_export
from surge_hw.hls.stage import hlssim_from_build
from surge_hw.rtl.stage import generate_from_build, load_ir
from surge_hw.sim.backend import RtlSimBackend
from surge_hw.sim.stage import load_golden, rtlsim_from_build
from surge_hw.train.checkpoint import model_from_checkpoint
from surge_hw.train.trainer import TrainConfig, train

pytestmark = pytest.mark.xdist_group("pipeline")
N = 300


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    train(TrainConfig(model="tfc", estimator="surge", epochs=1, progress=False, tensorboard=False),
          root / "train")
    export_checkpoint(root / "train", root / "export", n_images=1000)  # builds check N; the board driver 1000
    return root / "export"


@pytest.fixture(scope="module")
def build_dir(export_dir):
    build_from_export(export_dir, export_dir.parent / "build", golden_images=N, progress=False)
    generate_from_build(export_dir.parent / "build", synth=False)
    return export_dir.parent / "build"


@pytest.fixture(scope="module")
def packed_dir(export_dir):
    """--input-format packed at 1.5625 M images/s (64 cycles): below uint8's 98-cycle DMA floor."""
    out = export_dir.parent / "build_packed"
    build_from_export(export_dir, out, golden_images=N, progress=False, input_format="packed", target_fps=1.5625e6)
    generate_from_build(out, synth=False)
    return out


def test_rtlsim_bit_exact_with_backpressure(build_dir):
    summary, res = rtlsim_from_build(build_dir, n_images=N, out_stall=0.3, in_gap=0.2, progress=False)
    assert summary["int_equal_images"] == N and summary["label_equal_images"] == N
    assert summary["accuracy"] == summary["torch_accuracy"] > 0.7
    saved = json.loads((build_dir / "rtlsim.json").read_text())
    assert saved["per_image_int_equal"] == [1] * N


def test_rtl_initiation_interval_matches_finn_estimate(build_dir):
    summary, _ = rtlsim_from_build(build_dir, n_images=200, progress=False)
    est = json.loads((build_dir / "estimates.json").read_text())
    assert summary["initiation_interval"] == pytest.approx(est["max_cycles"], rel=0.05)


def test_compare_every_stage_agrees(build_dir, tmp_path):
    stages = compare_build(build_dir, n_images=N, out_dir=tmp_path)
    ran = [s for s in stages if s.available]
    assert {s.name for s in ran} >= {"PyTorch", "QONNX exec", "FINN-ONNX", "streamlined", "HW layers",
                                     "folded (FINN exec)", "HLS C-sim (g++)", "RTL sim (verilator)"}
    for s in ran:
        assert s.int_agree == N and s.label_agree == N, s.name
    assert not next(s for s in stages if s.name == "board (PYNQ)").available
    md = (tmp_path / "report.md").read_text()
    assert "| RTL sim (verilator) | 300 |" in md and f"{N}/{N}" in md
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4 and "agreement_matrix" in html
    data = json.loads((tmp_path / "report.json").read_text())
    assert len(data["stages"]) == len(stages)


def test_hlssim_bit_exact_on_real_images(build_dir, packed_dir):
    """`surge-hw hlssim`: our HLS C++ of the same IR, g++ C-sim, on the real test images; uint8 and packed."""
    for build in (build_dir, packed_dir):
        summary, res = hlssim_from_build(build, n_images=N, progress=False)
        assert summary["int_equal_images"] == N and summary["label_equal_images"] == N, build.name
        assert summary["accuracy"] == summary["torch_accuracy"]
        saved = json.loads((build / "hlssim.json").read_text())
        assert saved["per_image_int_equal"] == [1] * N and saved["input_format"] == load_ir(build).input_format
    assert (packed_dir / "hls" / "manifest.json").is_file()
    assert json.loads((packed_dir / "hls" / "manifest.json").read_text())["input"]["elem_bits"] == 1


def test_locator_names_layer_with_flipped_weight_bit(build_dir, tmp_path):
    golden, info = load_golden(build_dir, N)
    model, _ = model_from_checkpoint(info["checkpoint"])
    torch_layers = torch_layer_outputs(model, golden.images)
    broken = tmp_path / "rtl"
    shutil.copytree(build_dir / "rtl", broken)
    target = load_ir(build_dir).layers[2]  # the second MVAU (a thresholded hidden layer)
    mem = next(broken.glob("l2_*weights.mem"))
    lines = mem.read_text().split()
    word = int(lines[0], 16) ^ 1  # one weight bit: PE 0, SIMD lane 0 of the first word
    lines[0] = format(word, f"0{len(lines[0])}x")
    mem.write_text("\n".join(lines) + "\n")
    res = rtl_stage(build_dir, golden, info, torch_layers, rtl_dir=broken)
    assert res.int_agree < N or res.divergence  # the flip must be visible
    div = res.extra["divergence"]
    assert div["layer_index"] == 2 and div["layer_name"] == target.name
    assert target.name in res.divergence


def test_deploy_driver_against_rtl_simulation(build_dir, tmp_path):
    pkg = deploy_from_build(build_dir, tmp_path / "deploy", n_images=N)
    for f in ("driver.py", "packing.py", "io.json", "test_data.npz", "validate.py", "README.md",
              "vivado/make_bitfile.tcl", "vivado/src/accel_top.v", "vivado/src/accel_dma_shell.v"):
        assert (pkg / f).is_file(), f
    mod = import_package_driver(pkg, "pkg_driver")  # the package's own driver.py, as the board imports it
    io = json.loads((pkg / "io.json").read_text())
    drv = mod.BNNDriver(io, RtlSimBackend(build_dir / "rtl", io, progress=False))
    data = np.load(pkg / "test_data.npz")
    res = mod.validate(drv, data["images"][:120], data["labels"][:120], tmp_path / "board_results")
    golden, _ = load_golden(build_dir, 120)
    z = np.load(tmp_path / "board_results.npz")
    assert np.array_equal(drv.dots(z["ints"]), golden.int_dots)
    assert np.array_equal(z["labels"], golden.logits.argmax(1))
    assert res["accuracy"] == pytest.approx(float((golden.logits.argmax(1) == golden.labels).mean()))
    # compare picks the board results up as a stage, labelled as simulated
    for f in ("board_results.npz", "board_results.json"):
        shutil.copy(tmp_path / f, build_dir / f)
    try:
        stages = compare_build(build_dir, n_images=120, out_dir=tmp_path / "rep")
        board = next(s for s in stages if s.name == "board driver (RtlSimBackend, simulated RTL)")
        assert board.available and board.int_agree == 120
    finally:
        for f in ("board_results.npz", "board_results.json"):
            (build_dir / f).unlink()
    # the package's Vivado project for this trained TFC completes under the recording Vivado stand-in
    if shutil.which("tclsh"):
        from test_vivado_project import run_stub, vivado_commands_used

        proc, cmds = run_stub(pkg / "vivado")
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert {"create_project", "launch_runs", "get_timing_paths"} <= set(vivado_commands_used(
            pkg / "vivado" / "vivado_calls.jsonl"))
    # --bitfile without Vivado: exit 2, one line saying what to run where; the package is still written
    r = subprocess.run([sys.executable, "-m", "surge_hw.cli", "deploy", str(build_dir), "--out",
                        str(tmp_path / "dep2"), "--images", "10", "--bitfile", "--board", "ZCU104"],
                       capture_output=True, text=True, env={**__import__("os").environ, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 2 and "vivado not on PATH" in r.stderr and "make_bitfile.tcl" in r.stderr
    io = json.loads((tmp_path / "dep2" / "io.json").read_text())
    assert io["board"] == "ZCU104" and io["dma_word_bits"] == 128


def test_stage_errors_name_the_fix(tmp_path):
    r = subprocess.run([sys.executable, "-m", "surge_hw.cli", "rtl", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and "run `surge-hw build` first" in r.stderr
    r = subprocess.run([sys.executable, "-m", "surge_hw.cli", "rtlsim", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and "build_info.json" in r.stderr
    r = subprocess.run([sys.executable, "-m", "surge_hw.cli", "export", str(tmp_path / "none.pt"), "--out",
                        str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 2 and "does not exist" in r.stderr and not (tmp_path / "x" / "model.qonnx.onnx").exists()


@pytest.mark.parametrize("graph,uint8", [("02_finn.onnx", False), ("05_hw_layers.onnx", True)])
def test_locator_names_layer_in_finn_graphs(build_dir, graph, uint8):
    from qonnx.core.modelwrapper import ModelWrapper

    from surge_hw.compare.stage import graph_stage

    golden, info = load_golden(build_dir, N)
    model, _ = model_from_checkpoint(info["checkpoint"])
    torch_layers = torch_layer_outputs(model, golden.images)
    g = ModelWrapper(str(build_dir / graph))
    matmuls = [n for n in g.graph.node if n.op_type in ("MatMul", "XnorPopcountMatMul") or n.op_type.startswith("MVAU")]
    w = g.get_initializer(matmuls[1].input[1]).copy()  # the second binary layer's weights
    w[:, 0] = (1 - w[:, 0]) if set(np.unique(w)) <= {0, 1} else -w[:, 0]  # flip every weight of neuron 0
    g.set_initializer(matmuls[1].input[1], w)
    names = [f"layer{i}" for i in range(len(torch_layers))]
    res = graph_stage("broken", g, uint8, golden, torch_layers, names, info)
    assert res.int_agree < N
    assert res.extra["divergence"]["layer_index"] == 2 and res.extra["divergence"]["elements"][0] == 0


def test_packed_input_bit_exact_below_the_uint8_io_floor(packed_dir, build_dir):
    """Packed input: the host binarizes (same numpy threshold as the golden model), the RTL streams 1 bit per
    pixel, and the integer outputs equal PyTorch's on real images, with stalls, at II <= 64 cycles."""
    man = json.loads((packed_dir / "rtl" / "manifest.json").read_text())
    assert man["input_format"] == "packed" and man["ports"]["s_axis"]["elem_bits"] == 1
    assert man["layers"][0]["kind"] == "mvau_binary" and man["host"][0]["op"] == "threshold"
    ir = load_ir(packed_dir)
    assert ir.input_format == "packed" and ir.host_layers[0].name == man["host"][0]["name"]
    assert "input format: **packed**" in (packed_dir / "report.md").read_text()
    assert "input format: **uint8**" in (build_dir / "report.md").read_text()
    est = json.loads((packed_dir / "estimates.json").read_text())
    assert est["folding"]["io_floor_cycles"] == 13  # 784 bits over the 64-bit port
    assert not any(lay["op_type"].startswith("Thresholding") for lay in est["layers"])
    summary, _ = rtlsim_from_build(packed_dir, n_images=N, out_stall=0.3, in_gap=0.2, progress=False)
    assert summary["int_equal_images"] == N and summary["input_format"] == "packed"
    fast, _ = rtlsim_from_build(packed_dir, n_images=200, progress=False)
    assert fast["initiation_interval"] <= 64 and fast["initiation_interval"] == pytest.approx(est["max_cycles"], rel=0.05)
    assert est["max_cycles"] < json.loads((build_dir / "estimates.json").read_text())["folding"]["io_floor_cycles"]


def test_packed_input_compare_and_driver(packed_dir, tmp_path):
    stages = compare_build(packed_dir, n_images=120, out_dir=tmp_path / "rep")
    for s in (s for s in stages if s.available):
        assert s.int_agree == 120 and s.label_agree == 120, s.name
    pkg = deploy_from_build(packed_dir, tmp_path / "deploy", n_images=120)
    io = json.loads((pkg / "io.json").read_text())
    assert io["input_format"] == "packed" and io["in_bits"] == 1 and io["host"]
    mod = import_package_driver(pkg, "pkg_driver_packed")
    drv = mod.BNNDriver(io, RtlSimBackend(packed_dir / "rtl", io, progress=False))
    data = np.load(pkg / "test_data.npz")
    pred, ints = drv.classify(data["images"][:120])  # raw uint8 images in; the driver binarizes
    golden, _ = load_golden(packed_dir, 120)
    assert np.array_equal(drv.dots(ints), golden.int_dots)
    with pytest.raises(ValueError, match="host step .* takes 784"):
        drv.execute(np.zeros((2, 1, 32, 32), np.uint8))


def test_board_validate_script_through_a_pynq_stand_in(build_dir, tmp_path):
    """The package's own validate.py + driver.py, unchanged, on 1,000 real MNIST test images: pynq.Overlay,
    pynq.allocate and the AXI DMA come from tests/pynq_standin (frames -> RTL simulation); integer outputs equal
    PyTorch's, and compare shows the run as the (simulated) board stage."""
    import os
    from pathlib import Path

    pkg = deploy_from_build(build_dir, tmp_path / "deploy", n_images=1000)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent / "pynq_standin"), SURGE_PYNQ_RTL=str(build_dir / "rtl"))
    r = subprocess.run([sys.executable, "validate.py", "--images", "1000", "--batch", "500"], cwd=pkg, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((pkg / "board_results.json").read_text())
    assert res["n_images"] == 1000 and res["simulated"] and res["backend"] == "PynqDmaBackend"
    golden, info = load_golden(build_dir, 1000)
    z = np.load(pkg / "board_results.npz")
    assert np.array_equal(2 * z["ints"] - info["mw_last"], golden.int_dots)
    assert np.array_equal(z["labels"], golden.logits.argmax(1))
    for f in ("board_results.npz", "board_results.json"):
        shutil.copy(pkg / f, build_dir / f)
    try:
        stages = compare_build(build_dir, n_images=1000, out_dir=tmp_path / "rep")
        board = next(s for s in stages if s.name.startswith("board driver (PynqDmaBackend"))
        assert board.available and board.int_agree == 1000 and "simulated" in board.name
    finally:
        for f in ("board_results.npz", "board_results.json"):
            (build_dir / f).unlink()
