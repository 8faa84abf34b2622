"""`surge-hw deploy`: the folder to copy onto a PYNQ-Z1/Z2 board.

Contents: ``driver.py`` + ``packing.py`` (the exact files the simulator-backed tests exercise), ``io.json``
(stream widths, label post-processing), ``test_data.npz`` (real test images + labels), ``validate.py``
(accuracy and images/s on the board, writes ``board_results.json/.npz`` for `surge-hw compare`), and the
bitfile + hwh when a Vivado build produced them.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..rtl.packing import beat_bytes

VALIDATE_PY = '''"""Run on the PYNQ board: accuracy and images/s of the accelerator on the packaged test images."""
import argparse
import json

import numpy as np

from driver import BNNDriver, PynqDmaBackend, validate
from packing import beat_bytes

p = argparse.ArgumentParser()
p.add_argument("--bitfile", default="accel.bit")
p.add_argument("--dma", default="axi_dma_0")
p.add_argument("--images", type=int, default=None)
args = p.parse_args()
io = json.load(open("io.json"))
data = np.load("test_data.npz")
n = args.images or len(data["labels"])
backend = PynqDmaBackend(args.bitfile, beat_bytes(io["out_bits"], io["out_per_beat"]), args.dma)
res = validate(BNNDriver(io, backend), data["images"][:n], data["labels"][:n], "board_results")
print(json.dumps(res, indent=2))
'''


def io_spec(manifest: dict, mw_last: int, label_sign: int) -> dict:
    s, m = manifest["ports"]["s_axis"], manifest["ports"]["m_axis"]
    return {"in_elems": manifest["input_elems"], "in_bits": s["elem_bits"], "in_per_beat": s["elems_per_beat"],
            "in_beat_bytes": beat_bytes(s["elem_bits"], s["elems_per_beat"]),
            "out_elems": manifest["output_elems"], "out_bits": m["elem_bits"], "out_per_beat": m["elems_per_beat"],
            "out_beat_bytes": beat_bytes(m["elem_bits"], m["elems_per_beat"]),
            "mw_last": int(mw_last), "label_sign": int(label_sign)}


def write_deploy_package(rtl_dir: str | os.PathLike, out_dir: str | os.PathLike, images: np.ndarray,
                         labels: np.ndarray, mw_last: int, label_sign: int,
                         bitfile_dir: str | os.PathLike | None = None) -> Path:
    """Write the package atomically (temp dir, then rename). Returns its path."""
    rtl_dir, out_dir = Path(rtl_dir), Path(out_dir)
    manifest = json.loads((rtl_dir / "manifest.json").read_text())
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        here = Path(__file__).parent
        shutil.copy(here / "driver.py", tmp / "driver.py")
        shutil.copy(here.parent / "rtl" / "packing.py", tmp / "packing.py")
        (tmp / "io.json").write_text(json.dumps(io_spec(manifest, mw_last, label_sign), indent=2))
        np.savez_compressed(tmp / "test_data.npz", images=np.asarray(images, dtype=np.uint8),
                            labels=np.asarray(labels, dtype=np.int64))
        (tmp / "validate.py").write_text(VALIDATE_PY)
        found = []
        if bitfile_dir and Path(bitfile_dir).is_dir():
            for pat in ("*.bit", "*.hwh"):
                for f in Path(bitfile_dir).rglob(pat):
                    shutil.copy(f, tmp / ("accel" + f.suffix))
                    found.append(f.name)
        (tmp / "README.md").write_text(
            "# surge_hw deploy package\n\nCopy this folder to the board (e.g. `scp -r deploy xilinx@pynq:`), then "
            "`sudo python3 validate.py` there. It writes `board_results.json/.npz`; copy them back into the build "
            "dir and `surge-hw compare` adds the board as a stage.\n\n"
            + ("Bitfile: " + ", ".join(found) + "\n" if found else
               "**No bitfile here**: bitstreams need Vivado/Vitis (`surge-hw build` with them on PATH). The open "
               "Verilog backend's `rtl/` can be wrapped with an AXI DMA in any vendor flow; the stream format is "
               "`io.json`.\n"))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
