"""`surge-hw build`: the export stage's directory (or a bare .onnx) -> FINN build dir + build_info.json."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .flow import BuildResult, build
from .vivado import build_bitfile, vivado_available
from ..artefacts import write_json_atomic
from ..stage_dirs import need_build_dir, need_export_dir

INFO_NAME = "build_info.json"


def build_from_export(source: str | os.PathLike, build_dir: str | os.PathLike, board: str = "Pynq-Z2",
                      target_fps: float | None = None, max_luts: float | None = None,
                      golden_images: int | None = 1000, progress: bool = True,
                      input_format: str = "uint8", fclk_mhz: float | None = None,
                      golden_file: str | os.PathLike | None = None, dataset: str | None = None,
                      data_dir: str | None = None) -> BuildResult:
    """``source``: an export dir (model.qonnx.onnx + golden.npz + export_info.json) or a .onnx file.

    Golden checks run on the export's real test images (``golden_images`` of them; None = all). A .onnx file
    takes its golden set from ``golden_file`` (the user's test vectors, :mod:`.user_golden`) or ``dataset``
    (``golden_images`` test images, expected outputs by QONNX execution); it is saved as BUILD/golden.npz. With
    Vivado and Vitis HLS on PATH, FINN's build_dataflow then produces the bitfile and PYNQ driver.
    """
    from ..boards import get_board

    fclk_mhz = fclk_mhz or get_board(board).fclk_mhz
    need_export_dir(source)
    source = Path(source)
    export_dir = source if source.is_dir() else source.parent
    onnx = source / "model.qonnx.onnx" if source.is_dir() else source
    golden = export_dir / "golden.npz"
    info = {}
    if (export_dir / "export_info.json").is_file():
        info = json.loads((export_dir / "export_info.json").read_text())
    user_golden = None
    if golden_file is not None or dataset is not None:
        if source.is_dir():
            raise ValueError(f"--golden/--dataset go with a .onnx file; the export dir {source} has its golden.npz")
        if golden_file is not None and dataset is not None:
            raise ValueError("--golden and --dataset are alternatives: pass one")
        from .user_golden import golden_for_onnx

        user_golden, reference = golden_for_onnx(onnx, golden_file, dataset, data_dir,
                                                 n_images=golden_images if dataset else None, progress=progress)
        info.update({"source": info.get("source", "qonnx file"), "reference": reference,
                     "golden_source": str(Path(golden_file).resolve()) if golden_file else f"dataset {dataset}"})
        if dataset:
            info["dataset"] = dataset
    elif not golden.is_file():
        print(f"build: warning: no golden set for {onnx} (no golden.npz beside it): golden checks are skipped and "
              f"rtlsim/compare/deploy will refuse; pass --golden VECTORS.npz or --dataset NAME", file=sys.stderr)
    result = build(onnx, build_dir, board=board, target_fps=target_fps, max_luts=max_luts,
                   golden=user_golden if user_golden is not None else golden if golden.is_file() else None,
                   golden_images=golden_images, progress=progress, input_format=input_format, fclk_mhz=fclk_mhz)
    if user_golden is not None:
        golden = user_golden.save(Path(build_dir) / "golden.npz")
    if "mw_last" not in info or "label_sign" not in info:  # not from a zoo checkpoint: read off the graphs
        from qonnx.core.modelwrapper import ModelWrapper

        from .user_golden import label_rule, last_layer_mw

        info.setdefault("mw_last", last_layer_mw(ModelWrapper(str(result.folded))))
        info.update(label_rule(ModelWrapper(str(result.dataflow_parent))))
    info.update({"export_dir": str(export_dir.resolve()), "onnx": str(onnx.resolve()), "board": board,
                 "input_format": input_format, "fclk_mhz": fclk_mhz,
                 "golden": str(golden.resolve()) if golden.is_file() else None,
                 "golden_checks": [g.to_dict() for g in result.golden]})
    write_json_atomic(Path(build_dir) / INFO_NAME, info)
    if vivado_available():
        status = build_bitfile(build_dir, board)
        print(f"build: {status}")
    est = result.estimates
    print(f"build: wrote {Path(build_dir)} (folded.onnx, report.md, estimates.json, {INFO_NAME}; FINN estimate "
          f"{est['fps']:,.0f} images/s, {est['totals'].get('LUT', 0):,.0f} LUT); next: `surge-hw rtl {build_dir}`")
    return result


def read_build_info(build_dir: str | os.PathLike) -> dict:
    need_build_dir(build_dir)
    return json.loads((Path(build_dir) / INFO_NAME).read_text())
