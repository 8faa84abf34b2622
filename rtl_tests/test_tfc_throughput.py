"""TFC-size accelerator (784-64-64-64-10, FINN-like tfc folding): 10,000 images bit-exact on Verilator,
steady-state II equal to the slowest layer's analytic cycles, and well under a minute of simulation."""
from __future__ import annotations

import numpy as np
import pytest

from surge_hw.rtl import golden
from surge_hw.rtl.generate import generate_rtl
from surge_hw.rtl.ir import Accelerator, BinaryMVAU, ThresholdLayer
from surge_hw.sim.tools import default_build_root


def tfc_accel(seed=0) -> Accelerator:
    rng = np.random.default_rng(seed)

    def fc(name, mw, mh, simd, pe, act=True):
        t = np.sort(rng.integers(mw // 2 - 6, mw // 2 + 7, (mh, 1)), axis=1) if act else None
        return BinaryMVAU(name, mw, mh, simd, pe, rng.integers(0, 2, (mh, mw), dtype=np.uint8), t)

    return Accelerator("tfc_w1a1", [
        ThresholdLayer("inq", 784, 49, 8, False, rng.integers(60, 200, (784, 1))),  # 16 cycles
        fc("fc0", 784, 64, 49, 16),  # (64/16)*(784/49) = 64 cycles
        fc("fc1", 64, 64, 16, 16),  # 16
        fc("fc2", 64, 64, 16, 16),  # 16
        fc("fc3", 64, 10, 16, 10, act=False),  # 4
    ])


@pytest.mark.slow
def test_tfc_10k_images(tmp_path):
    from surge_hw.sim.rtlsim import simulate

    accel = tfc_accel()
    out = generate_rtl(accel, tmp_path / "tfc")
    x = np.random.default_rng(1).integers(0, 256, (10_000, 784))
    res = simulate(out, x, work_dir=default_build_root() / "rtlsim", progress=True)
    np.testing.assert_array_equal(res.outputs, golden.run_accelerator(accel, x))
    assert res.initiation_interval == 64.0
    print(f"\nTFC 10k images: {res.wall_s:.1f} s simulation (+{res.build_s:.1f} s build), "
          f"{res.cycles_total} cycles, latency {res.cycles_per_image}, II {res.initiation_interval}")
    assert res.wall_s < 60
