"""thresholding.v against surge_hw.rtl.golden: unsigned/signed inputs, 1..15 thresholds, PE=1..C."""
from __future__ import annotations

import numpy as np
import pytest

from rtl_bench import SIMULATORS, as_u64_or_str, pack_beats, run_bench
from surge_hw.rtl import golden
from surge_hw.rtl.generate import threshold_input_bounds, threshold_width, threshold_words, write_memh
from surge_hw.rtl.ir import ThresholdLayer

# (C, PE, IN_W, IN_SIGNED, N_THRES, OUT_BIAS): uint8 pixels -> 1 bit at PE=1, signed 3 thresholds, PE=C 4-bit
# 15 thresholds, CNV's input layer (uint8 -> 255 thresholds -> INT8 via ActVal -128), a positive bias
FOLDINGS = [
    (16, 1, 8, False, 1, 0),
    (12, 4, 8, True, 3, 0),
    (8, 8, 4, False, 15, 0),
    (3, 1, 8, False, 255, -128),
    (4, 2, 4, True, 6, 2),
]


def make_layer(c, pe, in_w, signed, n, rng, bias=0) -> ThresholdLayer:
    lo, hi = threshold_input_bounds(ThresholdLayer("t", c, pe, in_w, signed, np.zeros((c, 1), np.int64)))
    # edges: below the range (always true), the range ends, one past the end (never true), far beyond
    edge = np.array([lo - 9, lo, lo + 1, 0, hi - 1, hi, hi + 5])
    t = np.where(rng.random((c, n)) < 0.4, rng.choice(edge, (c, n)), rng.integers(lo, hi + 1, (c, n)))
    return ThresholdLayer("thresholding_bench", c, pe, in_w, signed, np.sort(t, axis=1).astype(np.int64),
                          out_bias=bias)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("cmp_reg", [0, 1], ids=["comb", "cmp_reg"])
@pytest.mark.parametrize("folding", FOLDINGS, ids=lambda f: "c{}_pe{}_w{}_{}_t{}_b{}".format(
    f[0], f[1], f[2], "s" if f[3] else "u", f[4], f[5]))
def test_thresholding(folding, simulator, cmp_reg, tmp_path):
    c, pe, in_w, signed, n, bias = folding
    rng = np.random.default_rng(c * 1000 + pe * 10 + n)
    layer = make_layer(c, pe, in_w, signed, n, rng, bias)
    layer.check()
    lo, hi = threshold_input_bounds(layer)
    hi -= 1  # largest input value
    edge = np.array([np.full(c, lo), np.full(c, hi), np.full(c, 0), layer.thresholds[:, 0].clip(lo, hi)])
    x = np.concatenate([edge, rng.integers(lo, hi + 1, (16, c))]).astype(np.int64)
    y = golden.run_layer(layer, x)

    tw = threshold_width(layer)
    write_memh(tmp_path / "thresholds.mem", threshold_words(layer), pe * n * tw)
    params = dict(C=c, PE=pe, IN_W=in_w, IN_SIGNED=int(signed), N_THRES=n, OUT_W=layer.out_bits, TW=tw,
                  OUT_BIAS=bias, THRES_FILE="thresholds.mem", CMP_REG=cmp_reg)
    data = {
        "in_beats": as_u64_or_str(pack_beats(x.reshape(-1, pe), in_w)),
        "out_beats": as_u64_or_str(pack_beats(y.reshape(-1, pe), layer.out_bits)),
        "out_beats_per_vector": c // pe, "ii": c // pe, "seed": 3,
    }
    run_bench("thresholding", params, "block_stream_cocotb", data, tmp_path, simulator)
