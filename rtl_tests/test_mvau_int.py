"""mvau_int.v (integer x bipolar MVAU, CNV's first layer) against surge_hw.rtl.golden over several foldings,
both simulators, with backpressure. The cocotb side is mvau_binary's: it only streams beats and compares."""
from __future__ import annotations

import numpy as np
import pytest

from rtl_bench import SIMULATORS, as_u64_or_str, pack_beats, run_bench
from surge_hw.rtl import golden
from surge_hw.rtl.generate import mvau_weight_words, threshold_width, threshold_words, write_memh
from surge_hw.rtl.ir import IntegerMVAU

# (MW, MH, SIMD, PE, N_THRES, IN_W, IN_SIGNED)
FOLDINGS = [
    (9, 64, 1, 16, 1, 8, 1),   # CNV layer 0 shape: 3x3x1 window, INT8, one threshold (bipolar out)
    (27, 16, 3, 4, 1, 8, 1),   # 3x3x3 CIFAR input, SIMD=3
    (9, 8, 9, 8, 0, 8, 1),     # fully parallel (NF = SF = 1, no input buffer), raw accumulator out
    (12, 6, 4, 1, 2, 4, 0),    # unsigned 4-bit, PE=1
    (8, 4, 1, 1, 3, 8, 1),     # SIMD = PE = 1, MW a power of two (acc_hi = 2^10 needs the extra bit)
    (17, 4, 1, 2, 2, 4, 0),    # unsigned: acc_hi = 255 exactly, so TW = ACC_W + 1
    (16, 4, 4, 4, 0, 8, 1),    # NF = 1, SF > 1, raw accumulator out
]
# every other folding also runs with the second weight-ROM register (W_REG = 1), and four of them with the
# registered lane sum (SUM_REG = 1; with W_REG as the generator sets both): same outputs and II


def _w_reg(folding) -> int:
    return FOLDINGS.index(folding) % 2


def _sum_reg(folding) -> int:
    return int(FOLDINGS.index(folding) in (0, 1, 2, 5))


def _in_range(in_bits, in_signed):
    return (-(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1) if in_signed else (0, (1 << in_bits) - 1)


def make_weights(mw, mh, rng) -> np.ndarray:
    w = rng.integers(0, 2, (mh, mw), dtype=np.uint8)
    w[0, :] = 1  # with the all-max / all-min inputs, rows 0 and 1 reach both accumulator extremes
    w[1, :] = 0
    return w


def make_vectors(mw, w, in_bits, in_signed, rng, n_random=14) -> np.ndarray:
    lo, hi = _in_range(in_bits, in_signed)
    alt = np.where(np.arange(mw) % 2 == 0, lo, hi)
    edge = [np.full(mw, lo), np.full(mw, hi), np.zeros(mw), alt, alt[::-1],
            np.where(w[2], hi, lo), np.where(w[2], lo, hi)]  # row 2's largest and smallest sums
    return np.concatenate([np.array(edge), rng.integers(lo, hi + 1, (n_random, mw))]).astype(np.int64)


def make_thresholds(layer_acc_range, acc, n_thres, rng) -> np.ndarray | None:
    """Per row: edge values (never / always true, exactly the extremes and one past them, 0), the row's own
    accumulator values and +-1 around them (the >= boundary), and random values in the busy middle."""
    if not n_thres:
        return None
    lo, hi = layer_acc_range
    mh = acc.shape[1]
    edge = np.array([lo - 9, lo - 1, lo, lo + 1, -1, 0, 1, hi - 1, hi, hi + 1, hi + 9])
    spread = max(4, int(np.abs(acc).std()))
    t = np.empty((mh, n_thres), dtype=np.int64)
    for r in range(mh):
        for k in range(n_thres):
            u = rng.random()
            if k == r % n_thres:  # at least one per row hits an accumulator value exactly: >= vs >
                t[r, k] = rng.choice(acc[:, r])
            elif u < 0.3:
                t[r, k] = rng.choice(edge)
            elif u < 0.7:
                t[r, k] = rng.choice(acc[:, r]) + rng.integers(-1, 2)
            else:
                t[r, k] = rng.integers(-spread, spread + 1)
    return np.sort(t, axis=1)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("folding", FOLDINGS, ids=lambda f: "mw{}_mh{}_simd{}_pe{}_t{}_in{}{}_wreg{}_sreg{}".format(
    f[0], f[1], f[2], f[3], f[4], "s" if f[6] else "u", f[5], _w_reg(f), _sum_reg(f)))
def test_mvau_int(folding, simulator, tmp_path):
    mw, mh, simd, pe, n_thres, in_bits, in_signed = folding
    rng = np.random.default_rng(abs(hash(folding)) % 2**32)
    w = make_weights(mw, mh, rng)
    x = make_vectors(mw, w, in_bits, bool(in_signed), rng)
    probe = IntegerMVAU("mvau_int_bench", mw, mh, simd, pe, w, None, in_bits=in_bits, in_signed=bool(in_signed))
    acc = golden.bipolar_dot(x, w)
    thresholds = make_thresholds(probe.acc_range, acc, n_thres, rng)
    layer = IntegerMVAU("mvau_int_bench", mw, mh, simd, pe, w, thresholds, in_bits=in_bits,
                        in_signed=bool(in_signed))
    layer.check()
    lo, hi = layer.acc_range
    assert acc.min() == lo and acc.max() == hi, "edge vectors must reach both accumulator extremes"
    y = golden.run_layer(layer, x)  # (V, MH)
    if n_thres:  # the thresholds really split the outputs: not all-0 / all-max
        assert 0 < y.mean() < n_thres
    nf, sf = mh // pe, mw // simd

    write_memh(tmp_path / "weights.mem", mvau_weight_words(layer), pe * simd)
    tw = threshold_width(layer)
    if layer.n_thres:
        write_memh(tmp_path / "thresholds.mem", threshold_words(layer), pe * layer.n_thres * tw)
    params = dict(MW=mw, MH=mh, SIMD=simd, PE=pe, IN_W=in_bits, IN_SIGNED=int(in_signed), N_THRES=layer.n_thres,
                  ACC_W=layer.acc_bits, OUT_W=layer.out_bits, TW=tw, WEIGHT_FILE="weights.mem",
                  THRES_FILE="thresholds.mem", W_REG=_w_reg(folding),
                  SUM_REG=_sum_reg(folding))
    data = {
        "in_beats": as_u64_or_str(pack_beats(x.reshape(-1, simd), in_bits)),
        "out_beats": as_u64_or_str(pack_beats(y.reshape(-1, pe), layer.out_bits)),
        "out_beats_per_vector": nf, "ii": nf * sf, "seed": 7,
    }
    run_bench("mvau_int", params, "block_stream_cocotb", data, tmp_path, simulator)
