"""cocotb bench for a sliding-window block, ours or FINN's finn-rtllib SWG (one ``c<i>_*`` port group of
the ``swin_bench`` / ``swg_bench`` shim top, which renames FINN's ports): stream NHWC pixel
beats of several images back to back, compare every window beat with the golden model, and measure cycles.

Phase 1 (no backpressure) records, from the handshakes on both streams, each image's cycles (its first
input beat accepted to its last input or output beat, inclusive: what FINN's rtlsim counts for one
inference), the interval between consecutive images' first input beats and that between their last
output beats; phase 2 repeats with random
``tvalid`` gaps and ``tready`` stalls. The cycle counts go to ``$BENCH_RESULT`` (JSON) for the pytest side.
"""
import json
import os
import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from axis_harness import PERIOD_NS, _first_mismatch, _pauses, load_bench_data, start


def _beats(a) -> list:
    return [int(v) for v in a.tolist()]


class HandshakeLog:
    """Cycle numbers of every accepted input beat and output beat (sampled like cocotbext-axi does)."""

    def __init__(self, dut, prefix: str):
        self.dut, self.cycle, self.ins, self.outs = dut, 0, [], []
        self.sig = [getattr(dut, f"{prefix}_{n}") for n in ("in_tvalid", "in_tready", "out_tvalid", "out_tready")]
        cocotb.start_soon(self._run())

    async def _run(self):
        clk, rst = self.dut.clk, self.dut.rst
        iv, ir, ov, orr = self.sig
        while True:
            await RisingEdge(clk)
            self.cycle += 1
            if rst.value:
                continue
            if iv.value and ir.value:
                self.ins.append(self.cycle)
            if ov.value and orr.value:
                self.outs.append(self.cycle)

    def clear(self):
        self.ins, self.outs = [], []


async def _phase(source, sink, in_beats, expected, timeout_cycles):
    async def drain():
        got = []
        while len(got) < len(expected):
            frame = await sink.recv()
            got.extend(int(v) for v in frame.tdata)
        return got

    await source.send(AxiStreamFrame(tdata=in_beats))
    return await with_timeout(drain(), timeout_cycles * PERIOD_NS, "ns")


@cocotb.test()
async def swg_stream(dut):
    d = load_bench_data()
    n_img, in_per, out_per = int(d["n_images"]), int(d["in_beats_per_image"]), int(d["out_beats_per_image"])
    exp_cycles = int(d["exp_cycles"])
    p = str(d["prefix"])  # this config's ports on the shared swg_bench top
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, f"{p}_in"), dut.clk, dut.rst, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, f"{p}_out"), dut.clk, dut.rst, byte_lanes=1)
    log = HandshakeLog(dut, p)
    await start(dut)
    budget = 100 + 3 * n_img * max(exp_cycles, in_per, out_per)
    result = {}

    # phase 1: no backpressure, images back to back
    x1, y1 = _beats(d["in_beats_1"]), _beats(d["out_beats_1"])
    log.clear()
    got = await _phase(source, sink, x1, y1, budget)
    assert got == y1, "no backpressure: " + _first_mismatch(got, y1)
    # an SWG may finish an image's windows before it has read the unused tail of its input (a 1x1 stride-2
    # window skips the last row): wait for the source to be drained before counting handshakes
    await with_timeout(source.wait(), budget * PERIOD_NS, "ns")
    await ClockCycles(dut.clk, 2)
    ins, outs = log.ins, log.outs
    assert len(ins) == len(x1) and len(outs) == len(y1), (len(ins), len(x1), len(outs), len(y1))
    first_in = [ins[i * in_per] for i in range(n_img)]
    done = [max(ins[(i + 1) * in_per - 1], outs[(i + 1) * out_per - 1]) for i in range(n_img)]
    result["cycles"] = [e - a + 1 for a, e in zip(first_in, done)]  # first beat in .. last beat in or out
    result["interval"] = [b - a for a, b in zip(first_in, first_in[1:])]  # image starts, back to back
    last_out = [outs[(i + 1) * out_per - 1] for i in range(n_img)]
    result["out_interval"] = [b - a for a, b in zip(last_out, last_out[1:])]  # image ends, back to back
    result["total_1"] = done[-1] - first_in[0] + 1

    # phase 2: random valid gaps and ready stalls
    rng = random.Random(int(d["seed"]))
    source.set_pause_generator(_pauses(float(d["gap"]), rng))
    sink.set_pause_generator(_pauses(float(d["stall"]), rng))
    x2, y2 = _beats(d["in_beats_2"]), _beats(d["out_beats_2"])
    got = await _phase(source, sink, x2, y2, budget * 8)
    assert got == y2, f"with gaps {d['gap']} / stalls {d['stall']}: " + _first_mismatch(got, y2)
    await ClockCycles(dut.clk, 20)
    assert sink.empty(), "extra output beats after the last expected one"
    with open(os.environ["BENCH_RESULT"], "w") as f:
        json.dump(result, f)
