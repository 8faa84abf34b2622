"""cocotb bench for axis_fifo.v: order-preserving under gaps/stalls, 1 beat/cycle, holds exactly DEPTH (+ the
output buffer's RD_REGS + 2 slots with OUT_REG, +1 with IN_REG: the beat in flight when the count of written beats
reaches DEPTH)."""
import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSource

from axis_harness import check_stream, load_bench_data, start


@cocotb.test()
async def fifo_stream(dut):
    d = load_bench_data()
    # DEPTH=1 cannot push while full (ready is registered, no combinational ready path): 1 beat / 2 cycles;
    # the output buffer adds capacity, not rate. IN_REG: a beat is popped two cycles after it is accepted,
    # so DEPTH >= 3 keeps one beat per cycle and DEPTH 2 moves two beats every three cycles (no single interval)
    depth, in_reg = int(d["depth"]), int(d.get("in_reg", 0))
    ii = (1 if depth > 2 else None) if in_reg else (1 if depth > 1 else 2)
    await check_stream(dut, "s", "m", d["beats"], d["beats"], out_beats_per_vector=1, ii=ii, seed=int(d["seed"]))


@cocotb.test()
async def fifo_fills_to_depth(dut):
    """With the sink stalled and a source that never pauses, exactly DEPTH (+ RD_REGS + 2 in the output buffer,
    +1 in flight with IN_REG) beats are accepted, then s_tready drops."""
    d = load_bench_data()
    depth = int(d["depth"]) + int(d["out_reg"]) * (int(d["rd_regs"]) + 2) + int(d.get("in_reg", 0))
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s"), dut.clk, dut.rst, byte_lanes=1)
    dut.m_tready.value = 0
    await start(dut)
    await source.send(AxiStreamFrame(tdata=list(range(depth + 3))))
    accepted = 0
    for _ in range(depth + 10):
        await RisingEdge(dut.clk)
        accepted += int(dut.s_tvalid.value) & int(dut.s_tready.value)
    assert int(dut.s_tready.value) == 0, "FIFO still ready after DEPTH beats"
    assert accepted == depth, f"the stalled FIFO accepted {accepted} beats, expected {depth}"
    assert int(dut.m_tvalid.value) == 1
    got = []
    dut.m_tready.value = 1
    for _ in range(3 * (depth + 3) + 10):
        await RisingEdge(dut.clk)
        if int(dut.m_tvalid.value) and int(dut.m_tready.value):
            got.append(int(dut.m_tdata.value))
    mask = (1 << len(dut.m_tdata)) - 1  # a 1-bit FIFO carries the sequence's low bit
    assert got == [v & mask for v in range(depth + 3)], f"after the stall the FIFO delivered {got}"
