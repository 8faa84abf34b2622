"""cocotb side of the DMA frame benches (tb_frames, tb_dma_shell in tb_dma_frames.v): the Verilog wrapper
streams the hex files; this test sets its run inputs, resets, wakes every few hundred cycles until ``done``,
lets it run on a little (so an extra output beat would be counted), flushes the files and writes the
wrapper's counters to ``result.json``. The pytest side (test_dma_shell.py) compares the files with numpy.

Config (JSON, ``$BENCH_CONFIG``): ``inputs`` {port: value}, ``report`` [output ports], ``timeout_cycles``.
"""
import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles

PERIOD_NS = 10


@cocotb.test()
async def file_streams(dut):
    with open(os.environ["BENCH_CONFIG"]) as f:
        cfg = json.load(f)
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    dut.rst.value = 1
    dut.flush.value = 0
    for port, value in cfg["inputs"].items():
        getattr(dut, port).value = int(value)
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    waited = 0
    while not int(dut.done.value):
        await ClockCycles(dut.clk, 200)
        waited += 200
        report = {p: int(getattr(dut, p).value) for p in cfg["report"]}
        assert waited < cfg["timeout_cycles"], f"no done after {waited} cycles: {report}"
    await ClockCycles(dut.clk, 50)
    dut.flush.value = 1
    await ClockCycles(dut.clk, 2)
    report = {p: int(getattr(dut, p).value) for p in cfg["report"]}
    with open(os.path.join(os.path.dirname(os.environ["BENCH_CONFIG"]), "result.json"), "w") as f:
        json.dump(report, f)
