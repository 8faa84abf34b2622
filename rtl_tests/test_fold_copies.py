"""mvau_fold's duplicated flip-flops survive yosys synth_ecp5 as separate cells.

The fold sequencer keeps copies of its "nf == 0" flag (one per 64-bit slice of the input buffer) and of the
three flags `issue` is decoded from, so that no single flip-flop or LUT fans out to the whole input buffer and
the weight-address enables. Yosys merges equal flip-flops unless each is written in its own always block with
the keep attribute: a keep on the reg or one vector of copies is merged (this is how the input buffer's copies
were lost before, which put the fold's own loop, nf0_q -> issue -> nf0_q, across LFC's die). The property is
checked on the synthesised netlist, so a change of RTL style or of yosys that loses the copies fails here.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from surge_hw.rtl.generate import block_sources
from surge_hw.rtl.synth import YosysNotFound, find_yosys

SF, NF, BEAT_W, ODEPTH = 2, 3, 200, 3
NSL = (BEAT_W + 63) // 64  # input-buffer slices of 64 bits: one fs copy each


@pytest.fixture(scope="module")
def fold_netlist(tmp_path_factory) -> dict:
    try:
        yosys = find_yosys()
    except YosysNotFound as e:
        pytest.skip(str(e))
    work: Path = tmp_path_factory.mktemp("fold_copies")
    src = block_sources("mvau_fold")[0]
    (work / src.name).write_text(src.read_text())
    script = (f"read_verilog {src.name}; chparam -set SF {SF} -set NF {NF} -set BEAT_W {BEAT_W} -set ODEPTH {ODEPTH} "
              f"mvau_fold; synth_ecp5 -top mvau_fold -json fold.json")
    r = subprocess.run(yosys + ["-q", "-p", script], cwd=work, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads((work / "fold.json").read_text())["modules"]["mvau_fold"]


def _drivers(mod: dict) -> dict[int, tuple[str, dict]]:
    out = {}
    for name, cell in mod["cells"].items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "output":
                for b in bits:
                    out[b] = (name, cell)
    return out


def _net(mod: dict, name: str) -> list[int]:
    return mod["netnames"][name]["bits"]


def test_input_buffer_flag_copies_are_separate_flip_flops(fold_netlist):
    drv = _drivers(fold_netlist)
    copies = [drv[b] for i in range(NSL) for b in _net(fold_netlist, f"g_ibuf.g_slice[{i}].fs")]
    assert all(cell["type"] == "TRELLIS_FF" for _, cell in copies)
    names = {name for name, _ in copies}
    assert len(names) == NSL, f"{NSL} copies of nf0_q expected, yosys left {len(names)}: {sorted(names)}"
    assert drv[_net(fold_netlist, "nf0_q")[0]][0] not in names  # none of them is nf0_q itself


def test_issue_is_decoded_from_its_own_copies_of_the_flags(fold_netlist):
    drv = _drivers(fold_netlist)
    own = {b for n in ("nf0_q", "sf0_q", "cr_q") for b in _net(fold_netlist, n)}
    copies = {b for n in ("nf0_o", "sf0_o", "cr_o") for b in _net(fold_netlist, n)}
    assert len(copies) == 3 and not copies & own
    # walk the LUT cone of `issue` back to flip-flops / ports
    seen, frontier, leaves = set(), [_net(fold_netlist, "issue")[0]], set()
    while frontier:
        b = frontier.pop()
        if b in seen or not isinstance(b, int):
            continue
        seen.add(b)
        if b not in drv or drv[b][1]["type"] == "TRELLIS_FF":
            leaves.add(b)
            continue
        cell = drv[b][1]
        frontier += [x for p, bits in cell["connections"].items()
                     if cell["port_directions"].get(p) == "input" for x in bits]
    assert copies <= leaves, "issue does not read the copied flags"
    assert not leaves & own, "issue reads the fold's own flags (shared with its state loop)"
