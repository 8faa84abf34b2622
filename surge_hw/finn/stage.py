"""`surge-hw build`: the export stage's directory (or a bare .onnx) -> FINN build dir + build_info.json."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .flow import BuildResult, build
from .vivado import build_bitfile, vivado_available
from ..artefacts import write_json_atomic

INFO_NAME = "build_info.json"


def build_from_export(source: str | os.PathLike, build_dir: str | os.PathLike, board: str = "Pynq-Z2",
                      target_fps: float | None = None, max_luts: float | None = None,
                      golden_images: int | None = 1000, progress: bool = True,
                      input_format: str = "uint8", fclk_mhz: float | None = None) -> BuildResult:
    """``source``: an export dir (model.qonnx.onnx + golden.npz + export_info.json) or a .onnx file.

    Golden checks run on the export's real test images (``golden_images`` of them; None = all). With Vivado and
    Vitis HLS on PATH, FINN's build_dataflow then produces the bitfile and PYNQ driver.
    """
    from ..boards import get_board

    fclk_mhz = fclk_mhz or get_board(board).fclk_mhz
    source = Path(source)
    export_dir = source if source.is_dir() else source.parent
    onnx = source / "model.qonnx.onnx" if source.is_dir() else source
    golden = export_dir / "golden.npz"
    info = {}
    if (export_dir / "export_info.json").is_file():
        info = json.loads((export_dir / "export_info.json").read_text())
    result = build(onnx, build_dir, board=board, target_fps=target_fps, max_luts=max_luts,
                   golden=golden if golden.is_file() else None, golden_images=golden_images, progress=progress,
                   input_format=input_format, fclk_mhz=fclk_mhz)
    info.update({"export_dir": str(export_dir.resolve()), "onnx": str(onnx.resolve()), "board": board,
                 "input_format": input_format, "fclk_mhz": fclk_mhz,
                 "golden": str(golden.resolve()) if golden.is_file() else None,
                 "golden_checks": [g.to_dict() for g in result.golden]})
    write_json_atomic(Path(build_dir) / INFO_NAME, info)
    if vivado_available():
        status = build_bitfile(build_dir, board)
        print(f"build: {status}")
    return result


def read_build_info(build_dir: str | os.PathLike) -> dict:
    path = Path(build_dir) / INFO_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {build_dir} is not a `surge-hw build` directory "
                                f"(run `surge-hw build EXPORT_DIR --out {build_dir}` first)")
    return json.loads(path.read_text())
