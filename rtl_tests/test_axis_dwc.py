"""axis_dwc.v against a plain reference: the element stream is unchanged, only the beat width differs."""
from __future__ import annotations

import numpy as np
import pytest

from rtl_bench import SIMULATORS, as_u64_or_str, pack_beats, run_bench

# (IN_W, OUT_W, OUT_REG): widen x4, narrow x3, pass-through, 1-bit widen; widening with the output register
# (registered ready, the generator's choice under auto), also x2 where the register must refill every other cycle
# and x16 (a long group)
CONFIGS = [(8, 32, 0), (24, 8, 0), (6, 6, 0), (1, 3, 0), (8, 32, 1), (1, 3, 1), (4, 8, 1), (2, 32, 1)]


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "in{}_out{}_r{}".format(*c))
def test_axis_dwc(config, simulator, tmp_path):
    in_w, out_w, out_reg = config
    rng = np.random.default_rng(in_w * 100 + out_w)
    total = np.lcm(in_w, out_w) * 40
    bits = rng.integers(0, 2, total)
    bits[: 2 * max(in_w, out_w)] = 1  # an all-ones stretch first
    k_in, k_out = max(1, out_w // in_w), max(1, in_w // out_w)
    data = {
        # the bit stream cut LSB-first into beats of each width is exactly what FINN's DWC does
        "in_beats": as_u64_or_str(pack_beats(bits.reshape(-1, in_w), 1)),
        "out_beats": as_u64_or_str(pack_beats(bits.reshape(-1, out_w), 1)),
        # a "vector" = one wide beat: k_out narrow outputs per wide input, or one wide output per k_in inputs
        "out_beats_per_vector": k_out, "ii": max(k_in, k_out), "seed": 11,
    }
    run_bench("axis_dwc", dict(IN_W=in_w, OUT_W=out_w, OUT_REG=out_reg), "axis_dwc_cocotb", data, tmp_path, simulator)
