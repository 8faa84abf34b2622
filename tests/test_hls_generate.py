"""The HLS generator (surge_hw.hls.generate) and its C-sim (surge_hw.hls.stage.csim): whole generated projects,
compiled with g++ -Wall -Wextra -Werror, equal to the numpy golden model layer by layer (every stream tapped).

The networks are small but have every block and every link kind CNV and TFC have: a 255-threshold INT8 input
layer, sliding windows (im2col and depthwise), the integer and the binary MVAU, max-pool, width conversion
between layers whose beats differ, a host-side threshold (packed input), beats wider than 64 bits.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from surge_hw.hls.generate import generate_hls, mvau_weight_array, threshold_array
from surge_hw.hls.stage import csim
from surge_hw.rtl import golden
from surge_hw.rtl.ir import (Accelerator, BinaryMVAU, IntegerMVAU, IRError, MaxPool, SlidingWindow,
                             ThresholdLayer)

pytestmark = pytest.mark.xdist_group("hls")


def _thr(rng, rows, n, lo, hi):
    return np.sort(rng.integers(lo, hi, (rows, n)), axis=1).astype(np.int64)


def mini_cnv(rng) -> Accelerator:
    """8x8 INT8 image -> thresholds -> 3x3 conv (integer MVAU) -> 2x2 max-pool -> 3x3 conv (binary, no act)."""
    thr0 = ThresholdLayer("thr_in", channels=1, pe=1, in_bits=8, in_signed=False, num_vectors=64, out_bias=-128,
                          thresholds=np.sort(rng.choice(np.arange(0, 256), (1, 255), replace=True), axis=1))
    swg0 = SlidingWindow("swg0", channels=1, ifm_dim=(8, 8), ofm_dim=(6, 6), kernel=(3, 3), stride=(1, 1),
                         dilation=(1, 1), simd=1, in_bits=8, in_signed=True)
    conv0 = IntegerMVAU("conv0", mw=9, mh=8, simd=3, pe=4, weights=rng.integers(0, 2, (8, 9), dtype=np.uint8),
                        thresholds=_thr(rng, 8, 1, -300, 300), num_vectors=36)
    swg1 = SlidingWindow("pool_swg", channels=8, ifm_dim=(6, 6), ofm_dim=(3, 3), kernel=(2, 2), stride=(2, 2),
                         dilation=(1, 1), simd=2, in_bits=1, in_signed=False, depthwise=True)
    pool = MaxPool("pool", channels=8, pe=2, kernel_elems=4, out_pixels=9, in_bits=1)
    swg2 = SlidingWindow("swg2", channels=8, ifm_dim=(3, 3), ofm_dim=(1, 1), kernel=(3, 3), stride=(1, 1),
                         dilation=(1, 1), simd=8, in_bits=1, in_signed=False)
    fc = BinaryMVAU("fc", mw=72, mh=10, simd=8, pe=2, weights=rng.integers(0, 2, (10, 72), dtype=np.uint8))
    return Accelerator("mini_cnv", [thr0, swg0, conv0, swg1, pool, swg2, fc])


def packed_fc(rng) -> Accelerator:
    """Host threshold (packed input) -> a 100-bit-SIMD MVAU (two weight words per slice) -> ... -> no act."""
    host = ThresholdLayer("host_thr", channels=100, pe=100, in_bits=8, in_signed=False,
                          thresholds=np.full((100, 1), 128, dtype=np.int64))
    l0 = BinaryMVAU("fc0", mw=100, mh=24, simd=100, pe=3, weights=rng.integers(0, 2, (24, 100), dtype=np.uint8),
                    thresholds=_thr(rng, 24, 1, 30, 70))
    l1 = BinaryMVAU("fc1", mw=24, mh=16, simd=6, pe=8, weights=rng.integers(0, 2, (16, 24), dtype=np.uint8),
                    thresholds=_thr(rng, 16, 1, -5, 30))  # below 0: always on, clipped to the popcount range
    l2 = BinaryMVAU("fc2", mw=16, mh=10, simd=16, pe=5, weights=rng.integers(0, 2, (10, 16), dtype=np.uint8))
    return Accelerator("packed_fc", [l0, l1, l2], host_layers=[host])


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    root = tmp_path_factory.mktemp("hls")
    rng = np.random.default_rng(7)
    out = {}
    for make in (mini_cnv, packed_fc):
        accel = make(rng)
        out[accel.name] = (accel, generate_hls(accel, root / accel.name))
    return out


@pytest.mark.parametrize("name", ["mini_cnv", "packed_fc"])
def test_csim_equals_golden_at_every_layer(projects, name):
    accel, hls = projects[name]
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (5, accel.host_layers[0].in_elems if accel.host_layers else accel.input_elems))
    pixels[0] = 0
    pixels[1] = 255  # edge values: every threshold on / off
    x = golden.host_inputs(accel, pixels)
    res = csim(hls, x, taps=True, progress=False)
    ref = golden.run_accelerator(accel, x, all_layers=True)
    assert res.layer_names == [lay.name for lay in accel.layers]
    for layer, got, want in zip(accel.layers, res.taps, ref):
        assert np.array_equal(got, want), f"{layer.name} differs from the golden model"
    assert np.array_equal(res.outputs, ref[-1])
    # the build without taps (the synthesizable top as Vitis sees it) gives the same outputs
    assert np.array_equal(csim(hls, x, progress=False).outputs, ref[-1])


def test_project_is_self_contained_and_has_the_pragmas(projects):
    accel, hls = projects["mini_cnv"]
    man = json.loads((hls / "manifest.json").read_text())
    assert [lay["kernel"] for lay in man["layers"]] == ["thresholding", "sliding_window", "mvau_int",
                                                        "sliding_window", "maxpool", "sliding_window", "mvau_binary"]
    top = (hls / "accel_top.cpp").read_text()
    assert "#pragma HLS DATAFLOW" in top and "#pragma HLS INTERFACE axis port=in" in top
    # DMA in; window (1 pixel) -> conv0 (SIMD 3); conv0 (PE 4) -> window (2); pool (2) -> window (8); DMA out
    assert top.count("surge_hls::dwc_frames") == 5
    assert (hls / "include" / "surge_hls" / "mvau.h").is_file()
    tcl = (hls / "run_hls.tcl").read_text()
    assert "set_part {xc7z020clg400-1}" in tcl and "create_clock -period 10" in tcl and "csynth_design" in tcl
    for f in man["files"]:
        assert (hls / f).exists(), f


def test_weight_and_threshold_layouts():
    rng = np.random.default_rng(3)
    w = rng.integers(0, 2, (6, 200), dtype=np.uint8)
    layer = BinaryMVAU("l", mw=200, mh=6, simd=100, pe=3, weights=w, thresholds=_thr(rng, 6, 2, -10, 250))
    arr = mvau_weight_array(layer)  # [p][nf*SF + sf][word]
    assert arr.shape == (3, 2 * 2, 2)
    nf, p, sf, j = 1, 2, 1, 70  # weight bit j of slice (nf, sf) for lane p: word j // 64, bit j % 64
    assert (int(arr[p, nf * 2 + sf, j // 64]) >> (j % 64)) & 1 == w[nf * 3 + p, sf * 100 + j]
    assert int(arr[0, 0, 1]) >> 36 == 0  # bits 100..127 of the slice are zero
    thr = threshold_array(layer)
    assert thr.shape == (3, 2, 2) and thr[2, 1, 0] == min(max(layer.thresholds[5, 0], 0), 201)


def test_generator_refuses_ir_it_cannot_build(tmp_path):
    class Odd:
        kind, name = "fft", "fft0"
    accel = Accelerator("bad", [Odd()])
    accel.check = lambda: None
    with pytest.raises(IRError, match="fft0: no HLS kernel for kind 'fft'"):
        generate_hls(accel, tmp_path / "hls")
    assert not (tmp_path / "hls").exists()  # nothing half-written


def test_hls_synth_without_vitis_says_what_to_run(projects, tmp_path, monkeypatch):
    """`surge-hw hls --synth` with no vitis_hls on PATH: exit 2, one line naming the directory and the command."""
    build = tmp_path / "build"
    build.mkdir()
    accel, _ = projects["packed_fc"]
    accel.save(build / "rtl_ir")
    (build / "build_info.json").write_text(json.dumps({"board": "Pynq-Z2", "fclk_mhz": 125.0}))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    proc = subprocess.run([sys.executable, "-m", "surge_hw.cli", "hls", str(build), "--synth"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "vitis_hls not on PATH" in proc.stderr and "vitis_hls -f run_hls.tcl" in proc.stderr
    assert "create_clock -period 8" in (build / "hls" / "run_hls.tcl").read_text()  # 125 MHz from the build


def test_broken_weight_is_located_by_the_taps(projects, tmp_path):
    """A flipped weight bit in one layer's header: the taps show the first differing stream is that layer's (the
    last layer: its raw popcounts change on every image, so the property cannot pass by luck of thresholds)."""
    accel, hls = projects["packed_fc"]
    broken = tmp_path / "hls"
    shutil.copytree(hls, broken, ignore=shutil.ignore_patterns("csim"))
    params = broken / "params_l2_fc2.h"
    text = params.read_text()
    first = text.index("0x")
    end = text.index("ULL", first)
    params.write_text(text[:first] + hex(int(text[first:end], 16) ^ 1) + text[end:])  # lane 0, tile 0, bit 0
    rng = np.random.default_rng(2)
    x = golden.host_inputs(accel, rng.integers(0, 256, (40, 100)))
    res = csim(broken, x, taps=True, progress=False)
    ref = golden.run_accelerator(accel, x, all_layers=True)
    differs = [not np.array_equal(a, b) for a, b in zip(res.taps, ref)]
    assert differs == [False, False, True]


STUB = Path(__file__).parent / "vitis_hls_stub" / "vitis_hls_recorder.tcl"


def _stub(hls_dir, tmp_path, **env):
    log = tmp_path / "vitis.jsonl"
    proc = subprocess.run(["tclsh", str(STUB), str(log), "run_hls.tcl"], cwd=hls_dir, capture_output=True,
                          text=True, env={**os.environ, **env})
    cmds = [json.loads(line) for line in log.read_text().splitlines()]
    return proc, [(c["cmd"], c["args"]) for c in cmds]


def test_vitis_tcl_under_a_recording_stand_in(projects, tmp_path):
    """run_hls.tcl in plain tclsh against a stand-in for the Vitis HLS commands it uses (UG1399 options, files
    exist, the top is defined in a design source, part/clock before csynth): it completes, in the expected order."""
    accel, hls = projects["mini_cnv"]
    x = golden.host_inputs(accel, np.random.default_rng(0).integers(0, 256, (3, accel.input_elems)))
    csim(hls, x, progress=False)  # leaves csim/input.bin for Vitis' own C-sim
    proc, cmds = _stub(hls, tmp_path, SURGE_CSIM_ARGS=f"{hls}/csim/input.bin {tmp_path}/out.bin 3")
    assert proc.returncode == 0, proc.stderr
    assert [c for c, _ in cmds] == ["open_project", "set_top", "add_files", "add_files", "open_solution", "set_part",
                                    "create_clock", "csim_design", "csynth_design", "export_design", "exit"]
    assert json.loads((hls / "csim" / "input.json").read_text())["images"] == 3
    # the stand-in can fail: a top function the sources do not define is refused at csynth_design
    broken = tmp_path / "broken"
    shutil.copytree(hls, broken)
    tcl = broken / "run_hls.tcl"
    tcl.write_text(tcl.read_text().replace("set_top accel_top", "set_top accel_topx"))
    proc, cmds = _stub(broken, tmp_path)
    assert proc.returncode == 1 and "top function accel_topx is not defined" in proc.stderr
