"""The boards surge_hw builds for: one table, one line per board.

Every stage that needs a board fact reads it here: the FINN stage (part, resource totals for folding and
estimates, the DMA port width that sets the I/O floor), the deploy stage (Vivado board file, PS type, default
clock). To add a board, add one :class:`Board` line to ``BOARDS`` (the part and board-file names are the ones
FINN's Zynq shell uses, ``finn.util.basic.pynq_part_map`` and ``make_zynq_proj``'s templates; resource totals
from the device data sheets, DS190 / DS891).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Board:
    name: str            # as FINN and PYNQ spell it
    part: str            # FPGA part
    board_part: str      # Vivado board file (VLNV): PS preset, clocks, DDR
    ps: str              # "zynq7" (processing_system7) or "zynq_us+" (zynq_ultra_ps_e)
    lut: int
    ff: int
    bram_18k: int
    uram: int
    dsp: int
    dma_port_bits: int   # the PS's native HP port / AXI DMA stream width (FINN: pynq_native_port_width)
    fclk_mhz: float = 100.0  # default PL clock

    @property
    def resources(self) -> dict:
        """In FINN's resource names (``res_estimation``): LUT, FF, BRAM_18K, URAM, DSP."""
        return {"LUT": self.lut, "FF": self.ff, "BRAM_18K": self.bram_18k, "URAM": self.uram, "DSP": self.dsp}


BOARDS = {b.name: b for b in (
    Board("Pynq-Z1", "xc7z020clg400-1", "www.digilentinc.com:pynq-z1:part0:1.0", "zynq7",
          53_200, 106_400, 280, 0, 220, 64),
    Board("Pynq-Z2", "xc7z020clg400-1", "tul.com.tw:pynq-z2:part0:1.0", "zynq7",
          53_200, 106_400, 280, 0, 220, 64),
    Board("ZCU104", "xczu7ev-ffvc1156-2-e", "xilinx.com:zcu104:part0:1.1", "zynq_us+",
          230_400, 460_800, 624, 96, 1_728, 128),
    Board("Ultra96-V2", "xczu3eg-sbva484-1-i", "avnet.com:ultra96v2:part0:1.2", "zynq_us+",
          70_560, 141_120, 432, 0, 360, 128),
    Board("KV260_SOM", "xck26-sfvc784-2LV-c", "xilinx.com:kv260_som:part0:1.3", "zynq_us+",
          117_120, 234_240, 288, 64, 1_248, 128),
    Board("AUP-ZU3_8GB", "xczu3eg-sfvc784-2-e", "realdigital.org:aup-zu3-8gb:part0:1.0", "zynq_us+",
          70_560, 141_120, 432, 0, 360, 128),
)}
PARTS = {b.part: b.resources for b in BOARDS.values()}  # part -> resource totals


class BoardError(ValueError):
    """Unknown board: the message lists the supported ones and where to add one."""


def get_board(name: str) -> Board:
    if name not in BOARDS:
        raise BoardError(f"board {name!r} not supported; choose one of {', '.join(BOARDS)} "
                         f"(or add a line to surge_hw/boards.py)")
    return BOARDS[name]
