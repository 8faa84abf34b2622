"""cocotb bench shared by the streaming layer blocks (mvau_binary, mvau_int, thresholding, maxpool).

The pytest side computes the expected beats with surge_hw.rtl.golden and writes the memories with the
generator's own writers into ``bench.npz``; this side only drives ``in_*``, drains ``out_*`` and checks
(axis_harness.check_stream: exact outputs, the initiation interval, then random gaps and stalls).
"""
import cocotb

from axis_harness import check_stream, load_bench_data


@cocotb.test()
async def block_stream(dut):
    d = load_bench_data()
    await check_stream(dut, "in", "out", d["in_beats"], d["out_beats"],
                       out_beats_per_vector=int(d["out_beats_per_vector"]), ii=int(d["ii"]),
                       seed=int(d["seed"]))
