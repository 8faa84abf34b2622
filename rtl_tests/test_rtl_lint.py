"""Every block is lint-clean under `verilator --lint-only -Wall` and compiles as Verilog-2005 in Icarus,
for several parameterisations, and so is a generated top with every link kind."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from surge_hw.rtl.generate import block_sources, generate_rtl
from surge_hw.rtl.ir import Accelerator, BinaryMVAU, ThresholdLayer
from surge_hw.sim.tools import find_simulator

BLOCK_PARAMS = {
    "mvau_binary": [
        dict(MW=16, MH=8, SIMD=4, PE=2, N_THRES=1, ACC_W=5, OUT_W=1, TW=5),
        dict(MW=16, MH=8, SIMD=16, PE=8, N_THRES=0, ACC_W=5, OUT_W=5, TW=5),
        dict(MW=16, MH=8, SIMD=1, PE=1, N_THRES=3, ACC_W=5, OUT_W=2, TW=5),
        dict(MW=1, MH=1, SIMD=1, PE=1, N_THRES=1, ACC_W=1, OUT_W=1, TW=2),
        dict(MW=64, MH=8, SIMD=40, PE=2, N_THRES=1, ACC_W=7, OUT_W=1, TW=7, W_REG=1, POP_CHUNK=16),
        dict(MW=16, MH=8, SIMD=16, PE=8, N_THRES=0, ACC_W=5, OUT_W=5, TW=5, W_REG=1, POP_CHUNK=1),
        dict(MW=200, MH=4, SIMD=200, PE=2, N_THRES=1, ACC_W=8, OUT_W=1, TW=8, W_REG=1, POP_CHUNK=8, SUM_GROUP=8,
             SUM_REG=1),
        dict(MW=64, MH=4, SIMD=64, PE=1, N_THRES=0, ACC_W=7, OUT_W=7, TW=7, POP_CHUNK=8, SUM_GROUP=4),
        dict(MW=16, MH=8, SIMD=4, PE=2, N_THRES=3, ACC_W=5, OUT_W=2, TW=5, THR_REG=1),
        dict(MW=2304, MH=256, SIMD=18, PE=1, N_THRES=1, ACC_W=12, OUT_W=1, TW=12, W_REG=1, W_BANK=1024, POP_CHUNK=8,
             SUM_REG=1),  # CNV's MVAU_hls_5: 32 banks
        dict(MW=20, MH=6, SIMD=2, PE=3, N_THRES=2, ACC_W=5, OUT_W=2, TW=5, W_REG=1, W_BANK=8),  # short last bank
        dict(MW=2304, MH=256, SIMD=18, PE=1, N_THRES=1, ACC_W=12, OUT_W=1, TW=12, W_REG=2, W_BANK=1024, POP_CHUNK=8,
             SUM_REG=1, THR_REG=1),  # CNV's MVAU_hls_5 as generated
        dict(MW=1024, MH=1024, SIMD=1024, PE=2, N_THRES=1, ACC_W=11, OUT_W=1, TW=11, W_REG=2, POP_CHUNK=8,
             SUM_GROUP=4, SUM_REG=1, THR_REG=2),  # LFC's hidden layers as generated
        dict(MW=576, MH=64, SIMD=64, PE=16, N_THRES=1, ACC_W=10, OUT_W=1, TW=10, W_REG=1, W_SLICE=64, POP_CHUNK=8,
             SUM_REG=1),  # CNV's MVAU_hls_1: 16 slices
        dict(MW=16, MH=8, SIMD=4, PE=2, N_THRES=1, ACC_W=5, OUT_W=1, TW=5, W_SLICE=3),  # short last slice
    ],
    "mvau_int": [
        dict(MW=16, MH=8, SIMD=4, PE=2, IN_W=8, IN_SIGNED=1, N_THRES=1, ACC_W=13, OUT_W=1, TW=13),
        dict(MW=9, MH=8, SIMD=9, PE=8, IN_W=8, IN_SIGNED=1, N_THRES=0, ACC_W=12, OUT_W=12, TW=12),
        dict(MW=17, MH=4, SIMD=1, PE=2, IN_W=4, IN_SIGNED=0, N_THRES=2, ACC_W=9, OUT_W=2, TW=10),
        dict(MW=1, MH=1, SIMD=1, PE=1, IN_W=8, IN_SIGNED=1, N_THRES=1, ACC_W=9, OUT_W=1, TW=9),
        dict(MW=9, MH=8, SIMD=3, PE=8, IN_W=8, IN_SIGNED=1, N_THRES=1, ACC_W=12, OUT_W=1, TW=12, W_REG=1),
        dict(MW=9, MH=64, SIMD=1, PE=16, IN_W=8, IN_SIGNED=1, N_THRES=1, ACC_W=12, OUT_W=1, TW=12, W_REG=1,
             SUM_REG=1),  # CNV's first layer as generated
        dict(MW=9, MH=8, SIMD=9, PE=8, IN_W=8, IN_SIGNED=1, N_THRES=0, ACC_W=12, OUT_W=12, TW=12, SUM_REG=1),
    ],
    "thresholding": [
        dict(C=8, PE=2), dict(C=8, PE=8, IN_SIGNED=1, N_THRES=3, OUT_W=2), dict(C=4, PE=1, IN_W=4, TW=5),
        dict(C=3, PE=3, N_THRES=255, OUT_W=8, OUT_BIAS=-128, CMP_REG=1), dict(C=2, PE=1, N_THRES=4, OUT_W=3, CMP_REG=1),
    ],
    "axis_fifo": [dict(WIDTH=8, DEPTH=32), dict(WIDTH=1, DEPTH=1), dict(WIDTH=9, DEPTH=5),
                  dict(WIDTH=9, DEPTH=5, OUT_REG=1, LUTRAM=1), dict(WIDTH=9, DEPTH=4, OUT_REG=1, LUTRAM=1, IN_REG=1), dict(WIDTH=3, DEPTH=1, IN_REG=1),
                  dict(WIDTH=1, DEPTH=1024, OUT_REG=1, IN_REG=1, RD_REGS=2), dict(WIDTH=4, DEPTH=8, OUT_REG=1, RD_REGS=1)],
    "axis_dwc": [dict(IN_W=8, OUT_W=16), dict(IN_W=16, OUT_W=4), dict(IN_W=8, OUT_W=8), dict(IN_W=1, OUT_W=2),
                 dict(IN_W=2, OUT_W=1024, OUT_REG=1)],
    "axis_frame_in": [dict(DMA_W=64, IN_W=112, IN_BEATS=7), dict(DMA_W=128, IN_W=24, IN_BEATS=5),
                      dict(DMA_W=64, IN_W=35, IN_BEATS=2)],
    "axis_frame_out": [dict(DMA_W=64, OUT_W=35, OUT_BEATS=2), dict(DMA_W=128, OUT_W=14, OUT_BEATS=1),
                       dict(DMA_W=64, OUT_W=784, OUT_BEATS=1)],
    "sliding_window": [
        dict(IH=30, IW=30, C=64, SIMD=16, ELEM_W=1, KH=3, KW=3),  # CNV 30x30x64 K3
        dict(IH=30, IW=30, C=64, SIMD=16, ELEM_W=1, KH=3, KW=3, WR_REG=1),  # as generated: writes registered
        dict(IH=1, IW=1, C=4, SIMD=2, ELEM_W=1, KH=1, KW=1, WR_REG=1),  # one pixel, CF = 2: registered writes
        dict(IH=28, IW=28, C=64, SIMD=2, ELEM_W=1, KH=2, KW=2, SH=2, SW=2, DEPTHWISE=1),  # CNV max-pool window
        dict(IH=32, IW=32, C=1, SIMD=1, ELEM_W=8, KH=3, KW=3),  # CF = 1: no cf address field
        dict(IH=9, IW=9, C=3, SIMD=1, ELEM_W=4, KH=3, KW=3, SH=2, SW=2, DH=2, DW=2),  # R = 7 row slots
        dict(IH=5, IW=5, C=8, SIMD=2, ELEM_W=4, KH=1, KW=1, SH=2, SW=2),  # 1x1 stride 2, odd H
        dict(IH=1, IW=1, C=2, SIMD=2, ELEM_W=1, KH=1, KW=1),  # one pixel: no pixel address field
    ],
    "maxpool": [dict(C=8, PE=2, K=4, ELEM_W=1), dict(C=12, PE=3, K=9, ELEM_W=4, SIGNED=1),
                dict(C=5, PE=5, K=1, ELEM_W=3, SIGNED=1), dict(C=1, PE=1, K=2, ELEM_W=1, SIGNED=1)],
}
CASES = [(b, p) for b, ps in BLOCK_PARAMS.items() for p in ps]


def _ids(case):
    block, params = case
    return block + "-" + "_".join(f"{k}{v}" for k, v in params.items())


def _run(cmd, cwd=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0 and "warning" not in (proc.stdout + proc.stderr).lower(), proc.stdout + proc.stderr


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_verilator_lint_wall(case):
    block, params = case
    exe = find_simulator("verilator")
    _run([exe, "--lint-only", "-Wall", "--top-module", block, *[f"-G{k}={v}" for k, v in params.items()],
          *map(str, block_sources(block))])


@pytest.mark.icarus
@pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog not installed (apt-get install iverilog)")
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_icarus_verilog2005(case, tmp_path):
    block, params = case
    _run(["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "a.vvp"), "-s", block,
          *[f"-P{block}.{k}={v}" for k, v in params.items()], *map(str, block_sources(block))])


def test_generated_top_lint_clean(tmp_path):
    rng = np.random.default_rng(0)
    w = lambda mh, mw: rng.integers(0, 2, (mh, mw), dtype=np.uint8)  # noqa: E731
    accel = Accelerator("lint", [
        ThresholdLayer("inq", 48, 4, 8, True, np.sort(rng.integers(-100, 100, (48, 3)), axis=1)),
        ThresholdLayer("requant", 48, 6, 2, False, np.sort(rng.integers(0, 4, (48, 1)), axis=1)),
        BinaryMVAU("fc0", 48, 24, 16, 6, w(24, 48), np.sort(rng.integers(0, 49, (24, 1)), axis=1)),
        BinaryMVAU("fc1", 24, 10, 8, 2, w(10, 24)),
    ])
    out = generate_rtl(accel, tmp_path / "lint")
    exe = find_simulator("verilator")
    _run([exe, "--lint-only", "-Wall", "--top-module", "accel_top", "-f", "filelist.f"], cwd=out)
    if shutil.which("iverilog"):
        _run(["iverilog", "-g2005", "-o", str(tmp_path / "t.vvp"), "-s", "accel_top", "-c", "filelist.f"], cwd=out)
