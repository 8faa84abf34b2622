"""cocotb bench for mvau_binary.v: stream input vectors, compare every output beat with the golden model.

The pytest side (test_mvau_binary.py) computes the expected beats with surge_hw.rtl.golden and writes the
weight/threshold memories with the generator's own writers; this side only drives and checks.
"""
import cocotb

from axis_harness import check_stream, load_bench_data


@cocotb.test()
async def mvau_stream(dut):
    d = load_bench_data()
    await check_stream(dut, "in", "out", d["in_beats"], d["out_beats"],
                       out_beats_per_vector=int(d["out_beats_per_vector"]), ii=int(d["ii"]),
                       seed=int(d["seed"]))
