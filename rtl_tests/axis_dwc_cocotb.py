"""cocotb bench for axis_dwc.v: LSB-first repacking under gaps/stalls, one beat per cycle on the wide side."""
import cocotb

from axis_harness import check_stream, load_bench_data


@cocotb.test()
async def dwc_stream(dut):
    d = load_bench_data()
    await check_stream(dut, "s", "m", d["in_beats"], d["out_beats"],
                       out_beats_per_vector=int(d["out_beats_per_vector"]), ii=int(d["ii"]), seed=int(d["seed"]))
