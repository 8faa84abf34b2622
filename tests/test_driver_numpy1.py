"""The board's Python has numpy 1.x (PYNQ images): the deploy package's driver.py + packing.py must run there
and produce the same DMA frames as under this project's numpy 2. Slow: builds a venv with numpy<2 from PyPI."""
from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_driver_and_packing_identical_under_numpy1(tmp_path):
    env_dir = tmp_path / "np1"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "numpy<2"], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot install numpy<2 from the package index: {r.stderr[-300:]}")
    for f in (ROOT / "surge_hw/rtl/packing.py", ROOT / "surge_hw/deploy/driver.py",
              ROOT / "tests/data/driver_numpy_check.py"):
        shutil.copy(f, tmp_path / f.name)
    for exe, out in ((str(py), "np1.json"), (sys.executable, "np2.json")):
        r = subprocess.run([exe, "driver_numpy_check.py", out], cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
    assert "ok 1." in subprocess.run([str(py), "driver_numpy_check.py", "again.json"], cwd=tmp_path,
                                     capture_output=True, text=True).stdout
    assert (tmp_path / "np1.json").read_bytes() == (tmp_path / "np2.json").read_bytes()
