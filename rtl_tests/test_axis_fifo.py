"""axis_fifo.v: random streams with gaps/stalls, full throughput, capacity = DEPTH (+ RD_REGS + 2 with OUT_REG,
+1 with IN_REG)."""
from __future__ import annotations

import numpy as np
import pytest

from rtl_bench import SIMULATORS, run_bench

# (WIDTH, DEPTH, OUT_REG, IN_REG, RD_REGS); the LUTRAM attribute is set with OUT_REG and no RD_REGS (it only
# steers synthesis); RD_REGS reads through 1 or 2 registers (block RAM, the generator's deep FIFOs). With
# IN_REG a beat reaches the read side two cycles after it is accepted: one beat per cycle needs DEPTH >= 3 (the
# generator gives it that), DEPTH 2 moves 2 beats per 3 cycles
CONFIGS = [(8, 1, 0, 0, 0), (12, 5, 0, 0, 0), (16, 32, 0, 0, 0), (8, 1, 1, 0, 0), (12, 5, 1, 0, 0),
           (16, 32, 1, 0, 0), (12, 3, 0, 1, 0), (16, 3, 1, 1, 0), (16, 32, 1, 1, 0), (8, 2, 1, 1, 0),
           (1, 40, 1, 1, 2), (8, 3, 1, 1, 1), (12, 5, 1, 0, 2), (8, 1, 1, 0, 1)]


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "w{}_d{}_r{}_i{}_rd{}".format(*c))
def test_axis_fifo(config, simulator, tmp_path):
    width, depth, out_reg, in_reg, rd_regs = config
    rng = np.random.default_rng(width * 100 + depth)
    beats = rng.integers(0, 1 << width, 200, dtype=np.uint64)
    beats[:4] = [0, (1 << width) - 1, 0, (1 << width) - 1]
    run_bench("axis_fifo", dict(WIDTH=width, DEPTH=depth, OUT_REG=out_reg, LUTRAM=int(out_reg and not rd_regs),
                                     IN_REG=in_reg, RD_REGS=rd_regs),
              "axis_fifo_cocotb", {"beats": beats, "depth": depth, "out_reg": out_reg, "in_reg": in_reg,
                                   "rd_regs": rd_regs, "seed": 5},
              tmp_path, simulator)
