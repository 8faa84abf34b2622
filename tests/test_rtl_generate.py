"""RTL backend end to end: IR -> Verilog project -> Verilator/Icarus simulation == numpy golden, IR errors, Yosys."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from surge_hw.rtl import golden
from surge_hw.rtl.generate import generate_rtl
from surge_hw.rtl.ir import Accelerator, BinaryMVAU, IRError, ThresholdLayer
from surge_hw.sim.tools import default_build_root


def _mvau(name, mw, mh, simd, pe, rng, thresholds=True, fractional=False):
    w = rng.integers(0, 2, (mh, mw), dtype=np.uint8)
    t = None
    if thresholds:
        # around the median popcount so outputs vary, plus the edges (always / never true)
        t = rng.integers(mw // 2 - 4, mw // 2 + 5, (mh, 1))
        t[:3, 0] = [0, mw + 1, -3]
        if fractional:  # un-rounded BatchNorm thresholds: the generator rounds up, exact on integers
            t = t - 0.5
    return BinaryMVAU(name, mw, mh, simd, pe, w, t)


def small_accel(seed=0) -> Accelerator:
    """threshold 784ch -> MVAU 784->64 -> MVAU 64->64 (thresholded) -> MVAU 64->10 (popcounts out).

    Foldings chosen to exercise every link kind: 16->49 bits (no divisor: widen to 784, then narrow),
    16 -> 16 (plain FIFO) and 8 -> 32 bits (widen x4); 2 output beats per image.
    """
    rng = np.random.default_rng(seed)
    thr = np.sort(rng.integers(40, 216, (784, 1)), axis=1)
    thr[:2, 0] = [0, 256]
    return Accelerator("small_test", [
        ThresholdLayer("inq", 784, 16, 8, False, thr),
        _mvau("fc0", 784, 64, 49, 16, rng),
        _mvau("fc1", 64, 64, 16, 8, rng, fractional=True),
        _mvau("fc2", 64, 10, 32, 5, rng, thresholds=False),
    ], fifo_depth=16)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    accel = small_accel()
    out = generate_rtl(accel, tmp_path_factory.mktemp("rtl") / "small_test")
    return accel, out


def test_memory_layouts():
    """The .mem words follow the documented bit layouts (checked bit by bit against the formulas)."""
    from surge_hw.rtl.generate import mvau_weight_words, threshold_words

    rng = np.random.default_rng(5)
    mw, mh, simd, pe = 12, 6, 4, 3
    layer = BinaryMVAU("fc", mw, mh, simd, pe, rng.integers(0, 2, (mh, mw), dtype=np.uint8),
                       np.array([[-2, 3], [0, 13], [5, 5], [1.5, 99], [12, 13], [7, 8]]))
    words, sf = mvau_weight_words(layer), mw // simd
    for nf in range(mh // pe):
        for s in range(sf):
            for p in range(pe):
                for b in range(simd):
                    assert (words[nf * sf + s] >> (p * simd + b)) & 1 == layer.weights[nf * pe + p, s * simd + b]
    tw, n = 4, 2  # bits_for(MW + 1) = 4
    clipped = np.clip(np.ceil(layer.thresholds), 0, mw + 1)
    for nf, word in enumerate(threshold_words(layer)):
        for p in range(pe):
            for t in range(n):
                assert (word >> ((p * n + t) * tw)) & (2**tw - 1) == clipped[nf * pe + p, t]


def test_project_layout(project):
    accel, out = project
    man = json.loads((out / "manifest.json").read_text())
    assert man["top"] == "accel_top"
    assert man["ports"]["s_axis"]["tdata_bits"] == 16 * 8 and man["ports"]["m_axis"]["tdata_bits"] == 5 * 7
    assert [lay["cycles"] for lay in man["layers"]] == [49, 64, 32, 4]
    assert man["links"][0]["widths"] == [16, 784, 49] and man["links"][2]["widths"] == [8, 32]
    for f in man["files"]["ours"] + man["files"]["memories"] + ["filelist.f"]:
        assert (out / f).is_file(), f
    assert not list(out.parent.glob(".small_test.tmp-*")), "temp dir left behind"


def test_simulate_matches_golden_with_backpressure(project):
    from surge_hw.sim.rtlsim import locate_divergence, simulate

    accel, out = project
    x = np.random.default_rng(1).integers(0, 256, (50, 784))
    x[0], x[1] = 0, 255
    res = simulate(out, x, simulator="verilator", in_gap=0.3, out_stall=0.4, taps=True,
                   work_dir=default_build_root() / "rtlsim", progress=False)
    layers = golden.run_accelerator(accel, x, all_layers=True)
    assert locate_divergence(res, layers) is None
    np.testing.assert_array_equal(res.outputs, layers[-1])
    assert len(np.unique(layers[-1], axis=0)) > 10, "test data too uniform to mean much"

    # full speed: steady-state initiation interval within FINN's 15 % of the slowest layer's cycles
    fast = simulate(out, x, simulator="verilator", work_dir=default_build_root() / "rtlsim", progress=False)
    np.testing.assert_array_equal(fast.outputs, layers[-1])
    assert 64 <= fast.initiation_interval <= 64 * 1.15, fast.initiation_interval
    assert fast.cycles_per_image < 400


def test_pipeline_none_and_auto_same_outputs_and_ii(project, tmp_path):
    """The MVAU pipeline stages (`--pipeline auto`, the default) change latency only: same outputs, same II."""
    from surge_hw.sim.rtlsim import simulate

    accel, out = project
    man = json.loads((out / "manifest.json").read_text())
    assert man["pipeline"] == "auto" and man["layers"][1]["params"]["W_REG"] == 2  # 784 x 64 bits: block RAM
    assert man["layers"][1]["params"]["POP_CHUNK"] == 8 and man["layers"][1]["params"]["SUM_REG"] == 1  # SIMD 49
    accel.pipeline = "none"
    try:
        plain = generate_rtl(accel, tmp_path / "plain")
    finally:
        accel.pipeline = "auto"
    assert all(lay["params"].get("W_REG", 0) == 0 for lay in json.loads((plain / "manifest.json").read_text())["layers"])
    x = np.random.default_rng(4).integers(0, 256, (24, 784))
    fast = simulate(out, x, simulator="verilator", work_dir=default_build_root() / "rtlsim", progress=False)
    short = simulate(plain, x, simulator="verilator", work_dir=default_build_root() / "rtlsim", progress=False)
    np.testing.assert_array_equal(fast.outputs, golden.run_accelerator(accel, x))
    np.testing.assert_array_equal(short.outputs, fast.outputs)
    assert short.initiation_interval == fast.initiation_interval
    # at most 4 stages per MVAU, and per link one in the FIFO's input and one in a widening converter
    links = len(accel.layers) - 1
    assert short.cycles_per_image < fast.cycles_per_image <= short.cycles_per_image + 4 * len(accel.layers) + 2 * links


@pytest.mark.icarus
@pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog not installed (apt-get install iverilog)")
def test_simulate_icarus(project):
    from surge_hw.sim.rtlsim import simulate

    accel, out = project
    x = np.random.default_rng(2).integers(0, 256, (6, 784))
    res = simulate(out, x, simulator="icarus", in_gap=0.2, out_stall=0.2,
                   work_dir=default_build_root() / "rtlsim", progress=False)
    np.testing.assert_array_equal(res.outputs, golden.run_accelerator(accel, x))


@pytest.mark.parametrize("break_it, needle", [
    (lambda a: setattr(a.layers[1], "pe", 12), "fc0: PE=12 does not divide MH=64"),
    (lambda a: setattr(a.layers[2], "simd", 24), "fc1: SIMD=24 does not divide MW=64"),
    (lambda a: a.layers[3].weights.__setitem__((0, 0), 2), "fc2: binary MVAU weights must be bits"),
    (lambda a: setattr(a.layers[2], "mw", 32), "fc1"),
    (lambda a: setattr(a.layers[0], "thresholds", np.zeros((784, 0), np.int64)), "inq"),
], ids=["pe", "simd", "weights", "chain", "no-thresholds"])
def test_bad_ir_names_the_layer(tmp_path, break_it, needle):
    accel = small_accel()
    break_it(accel)
    with pytest.raises(IRError, match=needle):
        generate_rtl(accel, tmp_path / "bad")
    assert not (tmp_path / "bad").exists() and not list(tmp_path.iterdir()), "partial project left behind"


def test_regenerate_replaces_atomically(tmp_path):
    rng = np.random.default_rng(3)
    a = Accelerator("tiny", [_mvau("fc", 16, 8, 4, 2, rng)])
    out = generate_rtl(a, tmp_path / "p")
    (out / "stale.txt").write_text("old")
    generate_rtl(a, tmp_path / "p")
    assert not (out / "stale.txt").exists() and (out / "accel_top.v").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_synth_luts_small_design(tmp_path):
    from surge_hw.rtl.synth import synth_luts

    rng = np.random.default_rng(4)
    a = Accelerator("tiny", [_mvau("fc0", 32, 16, 8, 4, rng), _mvau("fc1", 16, 4, 16, 4, rng, thresholds=False)])
    res = synth_luts(generate_rtl(a, tmp_path / "tiny"))
    assert res["lut"] > 0 and res["ff"] > 0
    assert set(res["per_instance"]) >= {"l0_fc0", "l1_fc1", "link0_fifo_i"}
    assert res["per_instance"]["l0_fc0"]["lut"] > 0 and res["fits_xc7z020"]
