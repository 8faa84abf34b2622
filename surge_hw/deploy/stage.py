"""`surge-hw deploy BUILD_DIR`: the PYNQ package from a build (driver, io.json, test data, validate.py) and the
Vivado project that turns the verified RTL into its overlay (``vivado/``); with ``--bitfile`` and Vivado on
PATH, the project is built and ``accel.bit`` + ``accel.hwh`` land in the package."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..artefacts import write_text_atomic
from ..boards import get_board
from ..export.golden import GoldenSet
from ..finn.stage import read_build_info
from .package import package_readme, write_deploy_package


class VivadoMissing(RuntimeError):
    """``--bitfile`` without Vivado: says what to run, where."""


def deploy_from_build(build_dir: str | os.PathLike, out: str | os.PathLike | None = None,
                      n_images: int | None = 10000, board: str | None = None, fclk_mhz: float | None = None,
                      bitfile: bool = False) -> Path:
    """``board``/``fclk_mhz`` default to the build's (``build_info.json``)."""
    build_dir = Path(build_dir)
    info = read_build_info(build_dir)
    if not (build_dir / "rtl" / "manifest.json").is_file():
        raise FileNotFoundError(f"{build_dir / 'rtl'} not found: run `surge-hw rtl {build_dir}` first "
                                f"(the package's stream format comes from the generated accelerator)")
    b = get_board(board or info.get("board", "Pynq-Z2"))
    fclk_mhz = fclk_mhz or info.get("fclk_mhz") or b.fclk_mhz
    if not info.get("golden"):
        raise FileNotFoundError(f"{build_dir} has no golden set (built from a bare .onnx): rebuild with "
                                f"`surge-hw build MODEL.onnx --golden VECTORS.npz` or `--dataset NAME`")
    golden = GoldenSet.load(info["golden"]).first(n_images)
    if info.get("label_sign") is None or golden.labels is None:  # a user's model / test vectors (README)
        raise ValueError(f"{build_dir}: the board package needs " + (
            "labels in the golden set (validate.py measures accuracy); add 'labels' to the --golden file"
            if golden.labels is None else "one scale for all classes behind the last layer (the driver's label is "
            "argmax(label_sign * dot)); this model has a per-class scale or bias there (output_affine in "
            "build_info.json)"))
    out = Path(out) if out else build_dir / "deploy"
    path = write_deploy_package(build_dir / "rtl", out, golden.images, golden.labels, info["mw_last"],
                                info["label_sign"], b, fclk_mhz)
    if bitfile:
        run_vivado(path / "vivado")
        for name in ("accel.bit", "accel.hwh"):
            shutil.copy(path / "vivado" / name, path / name)
        write_text_atomic(path / "README.md", package_readme(b.name, path))  # now says the bitfile is there
    how = ("bitfile included; on the board run `sudo python3 validate.py`" if (path / "accel.bit").is_file() else
           f"no bitfile yet, which validate.py needs: `surge-hw deploy {build_dir} --bitfile` with Vivado on PATH, "
           f"or `vivado -mode batch -source make_bitfile.tcl` in {path / 'vivado'}, first; see {path / 'README.md'}")
    print(f"deploy: wrote {path} for {b.name} at {fclk_mhz:g} MHz ({len(golden)} test images; {how})")
    return path


def run_vivado(project_dir: Path) -> None:
    """``vivado -mode batch -source make_bitfile.tcl`` in ``project_dir``; raises if Vivado is missing or fails."""
    exe = shutil.which("vivado")
    if exe is None:
        raise VivadoMissing(f"vivado not on PATH: the project is ready in {project_dir}; on a machine with Vivado "
                            f"(see {project_dir / 'README.md'}) run `vivado -mode batch -source make_bitfile.tcl` "
                            f"there, then copy accel.bit and accel.hwh into {project_dir.parent}")
    r = subprocess.run([exe, "-mode", "batch", "-source", "make_bitfile.tcl"], cwd=project_dir)
    if r.returncode != 0 or not (project_dir / "accel.bit").is_file():
        raise RuntimeError(f"Vivado failed (exit {r.returncode}) in {project_dir}: see vivado.log there")
