"""cocotb bench for maxpool.v: stream window beats, compare with the golden per-lane maxima."""
import cocotb

from axis_harness import check_stream, load_bench_data


@cocotb.test()
async def maxpool_stream(dut):
    d = load_bench_data()
    await check_stream(dut, "in", "out", d["in_beats"], d["out_beats"],
                       out_beats_per_vector=int(d["out_beats_per_vector"]), ii=int(d["ii"]),
                       seed=int(d["seed"]))
