"""axis_fifo.v: random streams with gaps/stalls, full throughput, capacity = DEPTH."""
from __future__ import annotations

import numpy as np
import pytest

from rtl_bench import SIMULATORS, run_bench

CONFIGS = [(8, 1), (12, 5), (16, 32)]  # (WIDTH, DEPTH)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "w{}_d{}".format(*c))
def test_axis_fifo(config, simulator, tmp_path):
    width, depth = config
    rng = np.random.default_rng(width * 100 + depth)
    beats = rng.integers(0, 1 << width, 200, dtype=np.uint64)
    beats[:4] = [0, (1 << width) - 1, 0, (1 << width) - 1]
    run_bench("axis_fifo", dict(WIDTH=width, DEPTH=depth), "axis_fifo_cocotb",
              {"beats": beats, "depth": depth, "seed": 5}, tmp_path, simulator)
