"""cocotb side of :func:`surge_hw.sim.rtlsim.simulate`: clock, reset, then sleep until ``done``.

The Verilog wrapper ``tb_accel`` does all per-cycle work (stimulus, sink, counters). This test wakes every
``chunk_cycles`` to write progress and to check that some stream still moves; on a stall or timeout it
fails with a per-stream table (beats seen vs expected, current valid/ready) naming the stalled layer.
Configuration comes from the JSON file named by ``$SURGE_RTLSIM_CONFIG``.
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, RisingEdge, Timer


def _count(dut, name: str) -> int:
    return int(getattr(dut, f"{name}_beats").value)


def _handshake_state(dut, name: str) -> str:
    hs = str(getattr(dut, f"{name}_hs").value)  # "{valid}{ready}"
    return f"valid={hs[0]} ready={hs[1]}"


def stall_report(dut, streams: list) -> str:
    rows, culprit = [], None
    for st in streams:
        got = _count(dut, st["name"])
        rows.append(f"  {st['name']:<12} {got:>10} / {st['expected']:<10} {_handshake_state(dut, st['name'])}")
    # the stalled layer: the first one whose input is complete-or-waiting but whose output fell short
    for st_in, st_out in zip(streams[1::2], streams[2::2]):
        if st_in.get("layer") and _count(dut, st_out["name"]) < st_out["expected"]:
            culprit = st_in["layer"]
            break
    head = f"stalled stream: layer {culprit!r} did not produce all its outputs\n" if culprit else ""
    return head + "  stream        beats seen / expected   handshake now\n" + "\n".join(rows)


@cocotb.test()
async def run_images(dut):
    cfg = json.loads(open(os.environ["SURGE_RTLSIM_CONFIG"]).read())
    period = cfg["clock_ns"]
    Clock(dut.clk, period, unit="ns", impl="gpi").start()
    dut.rst.value = 1
    dut.n_images.value = cfg["n_images"]
    dut.seed.value = cfg["seed"] & 0xFFFFFFFF
    dut.gap_thr.value = cfg["gap_thr"]
    dut.stall_thr.value = cfg["stall_thr"]
    dut.taps_en.value = cfg["taps"]
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0

    progress = cfg["progress_file"]
    chunk = Timer(cfg["chunk_cycles"] * period, unit="ns")
    last_total, last_move = -1, 0
    while True:
        await First(RisingEdge(dut.done), chunk)
        cycle = int(dut.cycle.value)
        if int(dut.done.value):
            break
        out_images = _count(dut, "m_axis") // max(1, cfg["streams"][-1]["expected"] // max(1, cfg["n_images"]))
        with open(progress + ".tmp", "w") as f:
            f.write(f"{out_images} {cycle}\n")
        os.replace(progress + ".tmp", progress)
        total = sum(_count(dut, st["name"]) for st in cfg["streams"])
        if total != last_total:
            last_total, last_move = total, cycle
        elif cycle - last_move > cfg["stall_window"]:
            raise AssertionError(f"no stream moved for {cycle - last_move} cycles (at cycle {cycle}):\n"
                                 + stall_report(dut, cfg["streams"]))
        if cycle > cfg["timeout_cycles"]:
            raise AssertionError(f"timeout after {cycle} cycles (limit {cfg['timeout_cycles']}):\n"
                                 + stall_report(dut, cfg["streams"]))
    cycles = int(dut.cycle.value)
    await ClockCycles(dut.clk, 2)  # the wrapper flushes its files one cycle after done
    assert int(dut.flushed.value) == 1, "tb_accel did not flush its output files"
    with open(os.path.join(os.path.dirname(progress), "summary.json"), "w") as f:
        json.dump({"cycles": cycles, "beats": {st["name"]: _count(dut, st["name"]) for st in cfg["streams"]}}, f)
    with open(progress, "w") as f:
        f.write(f"{cfg['n_images']} {cycles}\n")
