"""CNV end to end on real Fashion-MNIST (zero-padded to 32x32): train -> export -> FINN -> RTL (our sliding
windows, MVAUs, max-pools, thresholding; FINN's sliding-window generator with pipeline "none") ->
cocotb/Verilator -> compare.

A few training steps only (the weights are whatever they are; the property under test is that every stage
computes exactly what PyTorch computes on real images).
"""
import json
import shutil

import numpy as np
import pytest

from deploy_package import import_package_driver
from surge_hw.compare.stage import compare_build
from surge_hw.deploy.stage import deploy_from_build
from surge_hw.export.stage import export_checkpoint
from surge_hw.finn.stage import build_from_export
from surge_hw.rtl import golden as rtl_golden
from surge_hw.rtl.packing import stream_order
from surge_hw.rtl.generate import generate_rtl
from surge_hw.rtl.stage import generate_from_build, load_ir
from surge_hw.sim.backend import RtlSimBackend
from surge_hw.sim.rtlsim import locate_divergence, simulate
from surge_hw.sim.stage import load_golden, rtlsim_from_build
from surge_hw.train.trainer import TrainConfig, train

pytestmark = pytest.mark.xdist_group("pipeline_cnv")
N = 12


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline_cnv")
    train(TrainConfig(model="cnv", dataset="fashion_mnist", estimator="surge", epochs=1, max_train=512,
                      batch_size=128, progress=False, tensorboard=False), root / "train")
    export_checkpoint(root / "train", root / "export", n_images=N)
    build_from_export(root / "export", root / "build", golden_images=N, target_fps=3000, progress=False)
    generate_from_build(root / "build", synth=False)
    return root / "build"


def test_cnv_ir_has_every_block(build_dir):
    kinds = [lay.kind for lay in load_ir(build_dir).layers]
    assert kinds[:3] == ["threshold", "sliding_window", "mvau_int"]
    assert kinds.count("sliding_window") == 8 and kinds.count("maxpool") == 2 and kinds.count("mvau_binary") == 8
    man = json.loads((build_dir / "rtl" / "manifest.json").read_text())
    # pipeline "auto": our sliding_window.v (plain Verilog), so Icarus can simulate the CNV too
    assert man["simulators"] == ["verilator", "icarus"] and man["files"]["finn"] == []
    assert {row["module"] for row in man["layers"] if row["kind"] == "sliding_window"} == {"sliding_window"}


def test_cnv_rtl_bit_exact_on_real_images_with_backpressure(build_dir):
    summary, res = rtlsim_from_build(build_dir, n_images=N, out_stall=0.2, in_gap=0.1, progress=False)
    assert summary["int_equal_images"] == N and summary["label_equal_images"] == N
    est = json.loads((build_dir / "estimates.json").read_text())
    # our blocks' analytic II (our sliding window: max(in, out) beats) is no slower than FINN's estimate
    assert summary["analytic_initiation_interval"] <= est["max_cycles"] * 1.001


def test_cnv_compare_every_stage_agrees(build_dir, tmp_path):
    stages = compare_build(build_dir, n_images=N, out_dir=tmp_path)
    ran = {s.name: s for s in stages if s.available}
    assert {"PyTorch", "QONNX exec", "streamlined", "HW layers", "folded (FINN exec)", "HLS C-sim (g++)",
            "RTL sim (verilator)"} <= set(ran)
    for s in ran.values():
        assert s.int_agree == N and s.label_agree == N, s.name


def test_cnv_icarus_is_refused_with_the_reason(build_dir, tmp_path):
    """pipeline "none" keeps FINN's SystemVerilog sliding-window generator, which Icarus cannot read."""
    accel = load_ir(build_dir)  # not ir_from_build: that would re-save the build's IR as pipeline "none"
    accel.pipeline = "none"
    rtl = generate_rtl(accel, tmp_path / "rtl_none")
    assert "swg_pkg.sv" in json.loads((rtl / "manifest.json").read_text())["files"]["finn"]
    with pytest.raises(ValueError, match="SystemVerilog sliding-window generator.*--simulator verilator"):
        simulate(rtl, np.zeros((1, 1024), np.int64), simulator="icarus")


def test_cnv_locator_names_conv_layer_with_flipped_weight_bit(build_dir, tmp_path):
    golden, _ = load_golden(build_dir, 4)
    ir = load_ir(build_dir)
    x = stream_order(golden.images)
    broken = tmp_path / "rtl"
    shutil.copytree(build_dir / "rtl", broken)
    conv = next(i for i, lay in enumerate(ir.layers) if lay.kind == "mvau_binary")  # the second conv
    mem = next(broken.glob(f"l{conv}_*weights.mem"))
    lines = mem.read_text().split()
    lines[0] = format(int(lines[0], 16) ^ 1, f"0{len(lines[0])}x")  # PE 0, SIMD lane 0 of the first word
    mem.write_text("\n".join(lines) + "\n")
    res = simulate(broken, x, taps=True, progress=False)
    div = locate_divergence(res, rtl_golden.run_accelerator(ir, x, all_layers=True))
    assert div is not None and div["layer"] == conv and div["name"] == ir.layers[conv].name


def test_cnv_deploy_driver_against_rtl_simulation(build_dir, tmp_path):
    """The deploy package's own driver.py (NCHW images -> NHWC stream, 8-bit beats) on the simulated RTL."""
    pkg = deploy_from_build(build_dir, tmp_path / "deploy", n_images=N)
    mod = import_package_driver(pkg, "pkg_driver_cnv")  # the package's own driver.py, as the board imports it
    io = json.loads((pkg / "io.json").read_text())
    assert (io["in_elems"], io["in_bits"]) == (32 * 32, 8)
    drv = mod.BNNDriver(io, RtlSimBackend(build_dir / "rtl", io, progress=False))
    data = np.load(pkg / "test_data.npz")
    pred, ints = drv.classify(data["images"][:4])
    golden, _ = load_golden(build_dir, 4)
    assert np.array_equal(drv.dots(ints), golden.int_dots)
    assert np.array_equal(pred, golden.logits.argmax(1))


def test_cnv_ii_matches_finn_and_parallel_simulation_equals_serial(build_dir):
    golden, _ = load_golden(build_dir, 8)
    x = stream_order(golden.images)
    serial = simulate(build_dir / "rtl", x, progress=False)
    est = json.loads((build_dir / "estimates.json").read_text())
    assert serial.initiation_interval == pytest.approx(est["max_cycles"], rel=0.05)
    split = simulate(build_dir / "rtl", x, progress=False, jobs=2)
    assert np.array_equal(serial.outputs, split.outputs) and split.n_images == 8
    assert split.cycles_per_image == serial.cycles_per_image
