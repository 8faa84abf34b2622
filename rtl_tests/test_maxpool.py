"""maxpool.v against surge_hw.rtl.golden: unsigned bits (OR), PE=1..C, 3x3 signed 4-bit, 8-bit, K=1."""
from __future__ import annotations

import numpy as np
import pytest

from rtl_bench import SIMULATORS, as_u64_or_str, pack_beats, run_bench
from surge_hw.rtl import golden
from surge_hw.rtl.ir import MaxPool

# (C, PE, K, ELEM_W, SIGNED): 2x2 on bits, PE = C, PE = 1, 3x3 signed 4-bit, 8-bit unsigned, K = 1 signed
CONFIGS = [
    (64, 2, 4, 1, 0),
    (8, 8, 4, 1, 0),
    (6, 1, 4, 1, 0),
    (12, 3, 9, 4, 1),
    (4, 2, 4, 8, 0),
    (5, 5, 1, 3, 1),
]
N_IMAGES, N_PIXELS = 3, 7


def make_inputs(layer: MaxPool, n: int, rng) -> np.ndarray:
    """(n, in_elems) windows: edge pixels first (all-min, all-max, lone max in the last / first window
    element, min in all but a random element per lane), then random values biased to the range ends."""
    w, signed = layer.in_bits, layer.in_signed
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)
    cf, k, pe = layer.channels // layer.pe, layer.kernel_elems, layer.pe
    shape = (n, layer.out_pixels, cf, k, pe)  # the stream order
    x = rng.integers(lo, hi + 1, shape)
    x = np.where(rng.random(shape) < 0.3, rng.choice([lo, hi], shape), x)
    x[0, 0] = lo
    x[0, 1] = hi
    x[0, 2] = lo
    x[0, 2, :, k - 1] = hi
    x[0, 3] = lo
    x[0, 3, :, 0] = hi
    x[0, 4] = lo
    pos = rng.integers(0, k, (cf, pe))
    x[0, 4, np.arange(cf)[:, None], pos, np.arange(pe)[None, :]] = rng.integers(lo, hi + 1, (cf, pe))
    x[1, 0] = hi - 1 if hi - 1 >= lo else hi  # one below max everywhere: max must not be invented
    x[1, 0, :, k - 1] = lo
    return x.reshape(n, -1).astype(np.int64)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda f: "c{}_pe{}_k{}_w{}_{}".format(
    f[0], f[1], f[2], f[3], "s" if f[4] else "u"))
def test_maxpool(config, simulator, tmp_path):
    c, pe, k, w, signed = config
    rng = np.random.default_rng(c * 1000 + pe * 100 + k * 10 + w)
    layer = MaxPool("maxpool_bench", channels=c, pe=pe, kernel_elems=k, out_pixels=N_PIXELS, in_bits=w,
                    in_signed=bool(signed))
    layer.check()
    x = make_inputs(layer, N_IMAGES, rng)
    y = golden.run_layer(layer, x)
    assert y.shape == (N_IMAGES, layer.out_elems)

    params = dict(C=c, PE=pe, K=k, ELEM_W=w, SIGNED=signed, NUM_PIXELS=N_PIXELS)
    data = {
        "in_beats": as_u64_or_str(pack_beats(x.reshape(-1, pe), w)),
        "out_beats": as_u64_or_str(pack_beats(y.reshape(-1, pe), layer.out_bits)),
        "out_beats_per_vector": c // pe, "ii": c // pe * k, "seed": 5,
    }
    run_bench("maxpool", params, "block_stream_cocotb", data, tmp_path, simulator)
