"""pytest-side helpers for the block benches: simulators to parametrize over, build + run one bench.

Builds are cached by (block source, parameters, simulator) under ``surge_hw.sim.tools.default_build_root``
and guarded by a file lock, so pytest-xdist workers share them; the stimulus and the memories are
runtime inputs written into the test's own dir, so every case of one folding reuses one build.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from surge_hw.rtl.generate import block_sources
from surge_hw.sim.tools import build, run_test

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the cocotb modules beside this file must import in the simulator
    sys.path.insert(0, str(HERE))

SIMULATORS = [
    pytest.param("verilator", id="verilator"),
    pytest.param("icarus", id="icarus", marks=[
        pytest.mark.icarus,
        pytest.mark.skipif(shutil.which("iverilog") is None or shutil.which("vvp") is None,
                           reason="Icarus Verilog not installed (apt-get install iverilog)")]),
]


def run_bench(block: str, params: dict, cocotb_module: str, data: dict, test_dir: Path, simulator: str,
              seed: int = 1) -> None:
    """Build ``<block>.v`` (and the blocks it instantiates) with ``params`` (cached), save ``data`` for the cocotb test, run it in ``test_dir``."""
    b = build(block_sources(block), block, simulator, parameters=params)
    test_dir.mkdir(parents=True, exist_ok=True)
    np.savez(test_dir / "bench.npz", **{k: np.asarray(v) for k, v in data.items()})
    run_test(b, cocotb_module, test_dir, extra_env={"BENCH_DATA": str(test_dir / "bench.npz")}, seed=seed)


def pack_beats(elems: np.ndarray, elem_bits: int) -> np.ndarray:
    """(M, per_beat) element values -> M beat integers (element 0 in the LSBs), as Python ints in an object array."""
    mask = (1 << elem_bits) - 1
    out = []
    for row in np.asarray(elems).tolist():
        v = 0
        for k, e in enumerate(row):
            v |= (int(e) & mask) << (k * elem_bits)
        out.append(v)
    return out


def as_u64_or_str(beats: list) -> np.ndarray:
    """Beats as a numpy array np.savez can store: uint64 when they fit, else decimal strings."""
    if all(b < (1 << 64) for b in beats):
        return np.array(beats, dtype=np.uint64)
    return np.array([str(b) for b in beats])
