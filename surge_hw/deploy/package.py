"""`surge-hw deploy`: the folder to copy onto a PYNQ board, and the Vivado project that makes its overlay.

Contents: ``driver.py`` + ``packing.py`` (the exact files the simulator-backed tests exercise), ``io.json``
(stream widths, DMA frame format, host steps, label post-processing), ``test_data.npz`` (real test images +
labels), ``validate.py`` (accuracy and images/s on the board, writes ``board_results.json/.npz`` for
`surge-hw compare`), ``vivado/`` (``make_bitfile.tcl`` + sources: the verified RTL inside the DMA shell, see
:mod:`surge_hw.deploy.vivado_project`), and ``accel.bit`` + ``accel.hwh`` once that project has been built.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..artefacts import building_dir
from ..boards import Board
from ..rtl.packing import frame_words
from .vivado_project import write_vivado_project

VALIDATE_PY = '''"""Run on the PYNQ board: accuracy and images/s of the accelerator on the packaged test images."""
import argparse
import json

import numpy as np

from driver import BNNDriver, PynqDmaBackend, validate

p = argparse.ArgumentParser()
p.add_argument("--bitfile", default="accel.bit")
p.add_argument("--dma", default="axi_dma_0")
p.add_argument("--images", type=int, default=None)
p.add_argument("--batch", type=int, default=1000, help="images per DMA transfer")
args = p.parse_args()
io = json.load(open("io.json"))
data = np.load("test_data.npz")
n = args.images or len(data["labels"])
backend = PynqDmaBackend(args.bitfile, io["dma_word_bits"] // 8, args.dma)
res = validate(BNNDriver(io, backend), data["images"][:n], data["labels"][:n], "board_results", batch=args.batch)
print(json.dumps(res, indent=2))
'''


def io_spec(manifest: dict, mw_last: int, label_sign: int, board: Board) -> dict:
    s, m = manifest["ports"]["s_axis"], manifest["ports"]["m_axis"]
    w = board.dma_port_bits
    return {"board": board.name, "dma_word_bits": w,
            "in_elems": manifest["input_elems"], "in_bits": s["elem_bits"], "in_per_beat": s["elems_per_beat"],
            "in_words_per_image": frame_words(s["elem_bits"], s["elems_per_beat"], s["beats_per_image"], w),
            "out_elems": manifest["output_elems"], "out_bits": m["elem_bits"], "out_per_beat": m["elems_per_beat"],
            "out_words_per_image": frame_words(m["elem_bits"], m["elems_per_beat"], m["beats_per_image"], w),
            "mw_last": int(mw_last), "label_sign": int(label_sign),
            "input_format": manifest.get("input_format", "uint8"), "host": manifest.get("host", [])}


def write_deploy_package(rtl_dir: str | os.PathLike, out_dir: str | os.PathLike, images: np.ndarray,
                         labels: np.ndarray, mw_last: int, label_sign: int, board: Board,
                         fclk_mhz: float | None = None) -> Path:
    """Write the package atomically (temp dir, then rename). Returns its path. A bitfile built earlier in
    ``out_dir`` (``accel.bit``/``accel.hwh``) is kept when ``vivado/``'s script and sources are byte-identical."""
    rtl_dir, out_dir = Path(rtl_dir), Path(out_dir)
    manifest = json.loads((rtl_dir / "manifest.json").read_text())
    with building_dir(out_dir) as tmp:
        here = Path(__file__).parent
        shutil.copy(here / "driver.py", tmp / "driver.py")
        shutil.copy(here.parent / "rtl" / "packing.py", tmp / "packing.py")
        (tmp / "io.json").write_text(json.dumps(io_spec(manifest, mw_last, label_sign, board), indent=2))
        np.savez_compressed(tmp / "test_data.npz", images=np.asarray(images, dtype=np.uint8),
                            labels=np.asarray(labels, dtype=np.int64))
        (tmp / "validate.py").write_text(VALIDATE_PY)
        write_vivado_project(rtl_dir, tmp / "vivado", board, fclk_mhz)
        # a bitfile from an earlier run is kept only if it was built from exactly these sources and script
        same = _same_files(tmp / "vivado", out_dir / "vivado")
        found = [f.name for f in (out_dir / "accel.bit", out_dir / "accel.hwh") if same and f.is_file()]
        for name in found:
            shutil.copy(out_dir / name, tmp / name)
        (tmp / "README.md").write_text(package_readme(board.name, tmp))
    return out_dir


def package_readme(board_name: str, package_dir: Path) -> str:
    """The package's README.md: what to run on the board, and first, when ``accel.bit`` is not in the package,
    how to make it (validate.py loads the overlay from accel.bit + accel.hwh beside it)."""
    have = [f for f in ("accel.bit", "accel.hwh") if (Path(package_dir) / f).is_file()]
    run = ("copy this folder to the board (e.g. `scp -r deploy xilinx@pynq:`), then run `sudo python3 validate.py` "
           "there (PYNQ needs root for the overlay). It measures accuracy and images/s on the packaged test images "
           "and writes `board_results.json/.npz`; copy those back into the build dir and `surge-hw compare BUILD` "
           "adds the board as a stage.\n")
    head = f"# surge_hw deploy package ({board_name})\n\n"
    if len(have) == 2:
        return (head + "Bitfile present: `accel.bit` + `accel.hwh` (the PYNQ overlay of the verified RTL).\n\n"
                + run[0].upper() + run[1:])
    return head + (
        "**No bitfile here yet.** `validate.py` loads the overlay from `accel.bit` + `accel.hwh` next to it, so "
        "make them first, with Vivado (2022.2; not needed for anything else in surge_hw), in one of two ways:\n\n"
        "- `surge-hw deploy BUILD --bitfile` on a machine with `vivado` on PATH: builds the Vivado project in "
        "`vivado/` and copies both files here; or\n"
        "- `cd vivado && vivado -mode batch -source make_bitfile.tcl` (the project: the generated Verilog inside a "
        "DMA shell, see `vivado/README.md`), then copy `vivado/accel.bit` and `vivado/accel.hwh` into this folder."
        "\n\nThe script fails, and writes no bitfile, when timing is not met.\n\n"
        "Then " + run)


def _same_files(new: Path, old: Path) -> bool:
    """``old`` holds every file of ``new`` (script and sources) with the same bytes."""
    if not old.is_dir():
        return False
    for f in new.rglob("*"):
        if f.is_file():
            g = old / f.relative_to(new)
            if not g.is_file() or g.read_bytes() != f.read_bytes():
                return False
    return True
