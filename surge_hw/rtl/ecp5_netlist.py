"""Netlist passes on yosys' ``synth_ecp5`` JSON, run by `surge-hw pnr --ebr-outreg` between synthesis and
nextpnr.

:class:`AbsorbEbrOutputRegisters` puts a flip-flop that only re-registers a block RAM's read data into the RAM's
own output register. Why it is ours: yosys' ECP5 memory mapping (``brams_16kd.txt``) absorbs one read register
(the synchronous read) and never sets a DP16KD's ``REGMODE`` to ``OUTREG``, so the register the generator puts
after a weight ROM (``mvau_binary`` W_REG, the BRAM output register Vivado absorbs on Xilinx parts) stays a
fabric flip-flop, and every path out of a block RAM starts with its 5.6 ns clock-to-out plus the route to that
flip-flop. Measured on CNV: that route set the clock (9.2 ns, 3.6 ns of it routing).

The pass is the same rewrite a vendor tool does: a DP16KD read port in 1..18-bit mode whose every used output
bit drives exactly one flip-flop, and nothing else, on the port's clock, always enabled, with no reset, gets
``REGMODE_<port> = "OUTREG"`` and ``OCE<port> = 1``; the flip-flops are removed and their output nets driven by
the RAM. The output register is enabled by OCE and loads every cycle, like the removed flip-flops, so every
net carries the same value on every clock edge (the gate-level bench rtl_tests/test_ecp5_netlist.py runs both
netlists). Ports in 36-bit (pseudo-dual-port) mode, read data with other loads, and registers with an enable
or a reset are left alone.

Why it is off by default: nextpnr-ecp5 (0.11, ``ecp5/arch.cc``) gives every DP16KD output the clock-to-out of
its ``REGMODE_A_NOREG_REGMODE_B_NOREG`` timing entry, whatever REGMODE says, so it times an output register as
if it were absent: the path from the RAM to the logic the removed flip-flop fed then looks 5.6 ns longer than
it is. On CNV (the same synthesised netlist, seed 1) it gave no gain: 100.0 MHz with the pass (77 RAMs, 1,044
flip-flops; the critical path a FIFO RAM the pass does not touch) vs 108.8 MHz without. The bitstream does use
the registers (nextpnr writes ``EBRn.REGMODE_A OUTREG`` for each into the config ecppack packs), so a board
gets the shorter paths; only the open timer cannot show them, and every Fmax figure of this project comes from
runs without the pass.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

BITS = 18  # data pins per DP16KD port


@dataclass
class AbsorbStats:
    absorbed_ebr: int = 0   # read ports now with REGMODE OUTREG (one per RAM: ROMs read through one port)
    absorbed_ff: int = 0    # flip-flops removed
    kept_ebr: int = 0       # RAMs left as they were
    reasons: dict = field(default_factory=dict)  # why kept -> count

    def to_dict(self) -> dict:
        return {"absorbed_ebr": self.absorbed_ebr, "absorbed_ff": self.absorbed_ff, "kept_ebr": self.kept_ebr,
                "kept_because": dict(sorted(self.reasons.items()))}


def _int(param) -> int:
    """A yosys JSON parameter or attribute: an int, or a string of binary digits."""
    return param if isinstance(param, int) else int(str(param), 2)


def _top(netlist: dict) -> dict:
    tops = [m for m in netlist["modules"].values() if _int(m.get("attributes", {}).get("top", 0))]
    if len(tops) != 1:
        raise ValueError(f"expected one top module in the netlist, found {len(tops)}")
    return tops[0]


class AbsorbEbrOutputRegisters:
    """Move block-RAM read-data flip-flops into the DP16KD output registers (see the module docstring)."""

    def apply(self, netlist: dict) -> AbsorbStats:
        mod = _top(netlist)
        cells = mod["cells"]
        sinks: dict[int, list] = defaultdict(list)  # net bit -> [(cell name, port)]
        for name, cell in cells.items():
            for port, bits in cell["connections"].items():
                if cell.get("port_directions", {}).get(port) == "input":
                    for b in bits:
                        if isinstance(b, int):
                            sinks[b].append((name, port))
        for port in mod.get("ports", {}).values():
            if port["direction"] != "input":
                for b in port["bits"]:
                    if isinstance(b, int):
                        sinks[b].append((None, None))

        stats, remove = AbsorbStats(), set()
        for name, cell in cells.items():
            if cell["type"] != "DP16KD":
                continue
            plan, why = self._plan(cell, cells, sinks)
            if why:
                stats.kept_ebr += 1
                stats.reasons[why] = stats.reasons.get(why, 0) + 1
                continue
            side, moves = plan
            for pin, ff in moves:
                cell["connections"][pin] = list(cells[ff]["connections"]["Q"])
                remove.add(ff)
            cell["parameters"][f"REGMODE_{side}"] = "OUTREG"
            cell["connections"][f"OCE{side}"] = ["1"]
            stats.absorbed_ebr += 1
            stats.absorbed_ff += len(moves)
        for ff in remove:
            del cells[ff]
        return stats

    @staticmethod
    def _plan(cell: dict, cells: dict, sinks: dict) -> tuple[tuple | None, str | None]:
        """(port letter, [(output pin, flip-flop)]) for a RAM whose read data can move into its output
        register, else (None, the reason it cannot)."""
        p, c = cell["parameters"], cell["connections"]
        used = {}
        for side in "AB":
            pins = [(f"DO{side}{i}", c.get(f"DO{side}{i}", [None])[0]) for i in range(BITS)]
            used[side] = [(pin, b) for pin, b in pins if isinstance(b, int) and sinks.get(b)]
        sides = [s for s in "AB" if used[s]]
        if not sides:
            return None, "no read data used"
        if len(sides) > 1:
            return None, "read data on both ports"
        side = sides[0]
        if _int(p.get(f"DATA_WIDTH_{side}", BITS)) > BITS or _int(p.get("DATA_WIDTH_B" if side == "A" else
                                                                           "DATA_WIDTH_A", BITS)) > BITS:
            return None, "36-bit mode"
        if p.get(f"REGMODE_{side}", "NOREG") != "NOREG":
            return None, "output register in use"
        if c.get(f"RST{side}") != ["0"]:
            return None, "read reset"
        clk = c.get(f"CLK{side}")
        if not clk or not isinstance(clk[0], int) or p.get(f"CLK{side}MUX", f"CLK{side}") != f"CLK{side}":
            return None, "no plain clock"
        moves = []
        for pin, b in used[side]:
            loads = sinks[b]
            if len(loads) != 1 or loads[0][1] != "DI":
                return None, "read data with other loads"
            ff = cells[loads[0][0]]
            fc, fp = ff["connections"], ff["parameters"]
            always_on = str(fp.get("CEMUX", "")).strip() == "1" or fc.get("CE") == ["1"]
            if ff["type"] != "TRELLIS_FF" or not always_on or fc.get("LSR", ["0"]) != ["0"]:
                return None, "register with an enable or reset"
            if fc.get("CLK") != clk or str(fp.get("CLKMUX", "CLK")).strip() != "CLK":
                return None, "register on another clock"
            moves.append((pin, loads[0][0]))
        return (side, moves), None
