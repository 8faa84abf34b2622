"""cocotb-side helpers shared by the block benches: reset, and stream-in / stream-out / compare.

``check_stream`` drives ``<s>_tdata/tvalid/tready`` with cocotbext-axi's AxiStreamSource and drains
``<m>_*`` with AxiStreamSink (one beat per frame: the blocks have no tlast), in two phases:

1. no backpressure: outputs must equal the expectation and, after the pipeline fills, consecutive
   vectors must complete exactly ``ii`` cycles apart (the analytic initiation interval);
2. random ``tvalid`` gaps and ``tready`` stalls (seeded): outputs must still be exact: nothing lost,
   duplicated or reordered.
"""
from __future__ import annotations

import os
import random

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

PERIOD_NS = 10


def load_bench_data() -> dict:
    with np.load(os.environ["BENCH_DATA"], allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


async def start(dut) -> None:
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 1)


def _pauses(p: float, rng: random.Random):
    while True:
        yield rng.random() < p


async def _run_phase(source, sink, in_beats, expected, timeout_cycles):
    times = []

    async def drain():
        got = []
        while len(got) < len(expected):
            frame = await sink.recv()
            got.extend(int(v) for v in frame.tdata)
            times.append(get_sim_time(unit="ns"))
        return got

    await source.send(AxiStreamFrame(tdata=[int(b) for b in in_beats]))
    got = await with_timeout(drain(), timeout_cycles * PERIOD_NS, "ns")
    return got, times


def _first_mismatch(got, expected, width_note=""):
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            return f"first mismatch at output beat {i}: got {g:#x}, expected {e:#x}{width_note}"
    return f"got {len(got)} beats, expected {len(expected)}"


async def check_stream(dut, s: str, m: str, in_beats, expected, *, out_beats_per_vector: int, ii: int | None,
                       gap: float = 0.3, stall: float = 0.4, seed: int = 1) -> None:
    in_beats = [int(b) for b in in_beats]
    expected = [int(b) for b in expected]
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, s), dut.clk, dut.rst, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, m), dut.clk, dut.rst, byte_lanes=1)
    await start(dut)
    budget = 50 + 4 * max(len(in_beats), len(expected) // max(1, out_beats_per_vector) * (ii or 2) + 1)

    # phase 1: full speed, exact outputs and exact initiation interval
    got, times = await _run_phase(source, sink, in_beats, expected, budget)
    assert got == expected, "no backpressure: " + _first_mismatch(got, expected)
    ends = times[out_beats_per_vector - 1::out_beats_per_vector]
    gaps = {round((b - a) / PERIOD_NS) for a, b in zip(ends[1:], ends[2:])}  # skip the fill
    if len(ends) >= 3 and ii is not None:  # None: the rate is checked elsewhere (or has no single interval)
        assert gaps == {ii}, f"initiation interval: vectors completed {sorted(gaps)} cycles apart, analytic {ii}"

    # phase 2: random valid gaps and ready stalls
    rng = random.Random(seed)
    source.set_pause_generator(_pauses(gap, rng))
    sink.set_pause_generator(_pauses(stall, rng))
    got, _ = await _run_phase(source, sink, in_beats, expected, budget * 6)
    assert got == expected, f"with gaps {gap} / stalls {stall}: " + _first_mismatch(got, expected)
    await ClockCycles(dut.clk, 5)
    assert sink.empty(), "extra output beats after the last expected one"
