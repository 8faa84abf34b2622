"""mvau_binary.v against surge_hw.rtl.golden over several foldings, both simulators, with backpressure."""
from __future__ import annotations

import numpy as np
import pytest

from rtl_bench import SIMULATORS, as_u64_or_str, pack_beats, run_bench
from surge_hw.rtl import golden
from surge_hw.rtl.generate import mvau_weight_banks, mvau_weight_words, threshold_width, threshold_words, write_memh
from surge_hw.rtl.ir import BinaryMVAU

# (MW, MH, SIMD, PE, N_THRES): PE=1/SIMD=1, fully parallel, middle values, NF=1 (no input buffer), SF=1
FOLDINGS = [
    (16, 8, 1, 1, 1),
    (32, 16, 32, 16, 0),
    (24, 12, 8, 3, 2),
    (20, 6, 4, 6, 1),
    (16, 8, 16, 1, 3),
]
# pipelined variants (folding, stage parameters): extra ROM register, partial popcounts (even, uneven,
# 1-bit chunks), registered group sums (even and zero-padded groups), the registered final sum, and all of
# them together; II must not change, and the bench checks it
PIPELINES = [
    ((16, 8, 1, 1, 1), dict(W_REG=1)),
    ((32, 16, 32, 16, 0), dict(W_REG=1, POP_CHUNK=8)),
    ((24, 12, 8, 3, 2), dict(POP_CHUNK=3)),
    ((20, 6, 4, 6, 1), dict(W_REG=1, POP_CHUNK=1)),
    ((32, 16, 32, 16, 0), dict(W_REG=1, POP_CHUNK=2, SUM_GROUP=3, SUM_REG=1)),
    ((24, 12, 8, 3, 2), dict(POP_CHUNK=1, SUM_GROUP=2)),
    ((64, 8, 64, 2, 1), dict(W_REG=1, POP_CHUNK=8, SUM_GROUP=4, SUM_REG=1)),
    ((200, 4, 200, 2, 1), dict(W_REG=1, POP_CHUNK=8, SUM_GROUP=3, SUM_REG=1)),  # 25 -> 9 -> 3: two levels
    ((98, 7, 49, 7, 0), dict(POP_CHUNK=2, SUM_GROUP=2)),                        # 25 -> 13 -> 7 -> 4 -> 2
    ((16, 8, 16, 1, 3), dict(W_REG=1, THR_REG=1)),                              # SF = 1: back-to-back groups
    ((24, 12, 8, 3, 2), dict(POP_CHUNK=3, THR_REG=1)),
    ((16, 8, 16, 1, 3), dict(W_REG=2, THR_REG=2)),                              # LFC-like: 2 threshold registers
    ((24, 12, 8, 3, 2), dict(POP_CHUNK=3, THR_REG=2)),
    ((32, 16, 32, 16, 0), dict(THR_REG=1)),                                     # no thresholds: no effect
    # banked weight ROM: 4 banks of 8 words (NF*SF = 32), 3 banks with a short last one (NF*SF = 20), SF = 1
    ((64, 8, 16, 2, 1), dict(W_REG=1, W_BANK=8, POP_CHUNK=8, SUM_REG=0)),
    ((20, 6, 2, 3, 2), dict(W_REG=1, W_BANK=8)),
    ((16, 8, 16, 1, 3), dict(W_REG=1, W_BANK=2, THR_REG=1)),
    # two and three registers after the ROM, alone and per bank
    ((24, 12, 8, 3, 2), dict(W_REG=2, POP_CHUNK=3)),
    ((16, 8, 16, 1, 3), dict(W_REG=3, THR_REG=1)),
    ((64, 8, 16, 2, 1), dict(W_REG=2, W_BANK=8, POP_CHUNK=8, SUM_REG=1)),
    ((20, 6, 2, 3, 2), dict(W_REG=3, W_BANK=8)),
    # ROM read in slices with their own address registers: 5-bit slices of 16 bits (a short last one)
    ((64, 8, 16, 1, 1), dict(W_REG=1, W_SLICE=5, POP_CHUNK=8, SUM_REG=1)),
    ((24, 12, 8, 3, 2), dict(W_SLICE=8)),
]


def make_layer(mw, mh, simd, pe, n_thres, rng) -> BinaryMVAU:
    w = rng.integers(0, 2, (mh, mw), dtype=np.uint8)
    w[0, :] = 1  # row 0 all ones: all-ones input hits popcount MW, all-zeros hits 0
    thresholds = None
    if n_thres:
        # edge values (always true <= 0, exactly 0 and MW, MW+1 = never true, beyond MW+1) and the busy middle
        edge = np.array([-5, 0, 1, mw // 2, mw, mw + 1, mw + 7])
        t = np.where(rng.random((mh, n_thres)) < 0.4, rng.choice(edge, (mh, n_thres)),
                     rng.integers(mw // 2 - 3, mw // 2 + 4, (mh, n_thres)))
        thresholds = np.sort(t, axis=1).astype(np.int64)
    return BinaryMVAU("mvau_bench", mw, mh, simd, pe, w, thresholds)


def make_vectors(layer: BinaryMVAU, rng, n_random=14) -> np.ndarray:
    mw = layer.mw
    edge = [np.ones(mw), np.zeros(mw), layer.weights[1], 1 - layer.weights[1]]
    return np.concatenate([np.array(edge), rng.integers(0, 2, (n_random, mw))]).astype(np.int64)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("folding", FOLDINGS, ids=lambda f: "mw{}_mh{}_simd{}_pe{}_t{}".format(*f))
def test_mvau_binary(folding, simulator, tmp_path):
    _bench(folding, simulator, tmp_path)


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("pipe", PIPELINES, ids=lambda c: "mw{}_mh{}_simd{}_pe{}_t{}_".format(*c[0]) + "_".join(
    f"{k.lower().replace('_', '')}{v}" for k, v in c[1].items()))
def test_mvau_binary_pipelined(pipe, simulator, tmp_path):
    folding, stages = pipe
    _bench(folding, simulator, tmp_path, **stages)


def _bench(folding, simulator, tmp_path, **pipeline):
    rng = np.random.default_rng(abs(hash(folding)) % 2**32)
    layer = make_layer(*folding, rng)
    layer.check()
    x = make_vectors(layer, rng)
    y = golden.run_layer(layer, x)  # (V, MH)
    mw, mh, simd, pe, _ = folding
    nf, sf = mh // pe, mw // simd

    write_memh(tmp_path / "weights.mem", mvau_weight_words(layer), pe * simd)
    if pipeline.get("W_BANK"):  # the same image in bank files, as the generator writes them
        for b, bank in enumerate(mvau_weight_banks(mvau_weight_words(layer), pipeline["W_BANK"])):
            write_memh(tmp_path / f"weights_b{b:02d}.mem", bank, pe * simd)
    tw = threshold_width(layer)
    if layer.n_thres:
        write_memh(tmp_path / "thresholds.mem", threshold_words(layer), pe * layer.n_thres * tw)
    params = dict(MW=mw, MH=mh, SIMD=simd, PE=pe, N_THRES=layer.n_thres, ACC_W=layer.acc_bits,
                  OUT_W=layer.out_bits, TW=tw, WEIGHT_FILE="weights.mem", THRES_FILE="thresholds.mem",
                  **pipeline)
    data = {
        "in_beats": as_u64_or_str(pack_beats(x.reshape(-1, simd), 1)),
        "out_beats": as_u64_or_str(pack_beats(y.reshape(-1, pe), layer.out_bits)),
        "out_beats_per_vector": nf, "ii": nf * sf, "seed": 7,
    }
    run_bench("mvau_binary", params, "block_stream_cocotb", data, tmp_path, simulator)
