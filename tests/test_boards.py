"""The board table (surge_hw/boards.py) agrees with FINN's own board maps, and every stage reads it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from surge_hw.boards import BOARDS, BoardError, get_board


def test_board_table_matches_finn():
    from finn.util.basic import pynq_native_port_width, pynq_part_map

    assert {"Pynq-Z1", "Pynq-Z2", "ZCU104", "Ultra96-V2", "KV260_SOM", "AUP-ZU3_8GB"} <= set(BOARDS)
    for name, b in BOARDS.items():
        assert pynq_part_map[name] == b.part, name
        assert pynq_native_port_width[name] == b.dma_port_bits, name
        assert b.ps == ("zynq7" if b.part.startswith("xc7z") else "zynq_us+"), name
        assert b.board_part.count(":") == 3 and b.lut > 0 and b.bram_18k > 0, name


def test_unknown_board_names_the_choices():
    with pytest.raises(BoardError, match="ZCU104.*surge_hw/boards.py"):
        get_board("Pynq-Z3")
    r = subprocess.run([sys.executable, "-m", "surge_hw.cli", "build", "x", "--out", "y", "--board", "Pynq-Z3"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Pynq-Z3" in r.stderr and "ZCU104" in r.stderr


def test_folding_budget_follows_the_board():
    from surge_hw.finn.folding import DEFAULT_LUT_SHARE, DEVICE_RESOURCES

    assert DEVICE_RESOURCES[get_board("ZCU104").part]["LUT"] == 230_400
    assert DEVICE_RESOURCES[get_board("Pynq-Z2").part]["BRAM_18K"] == 280
    assert DEFAULT_LUT_SHARE * DEVICE_RESOURCES[get_board("KV260_SOM").part]["LUT"] > 80_000
