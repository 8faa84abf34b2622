"""`surge-hw deploy BUILD_DIR`: the PYNQ package from a build (driver, io.json, test data, validate.py,
and FINN's bitfile + driver when a Vivado build produced them in BUILD_DIR/finn_output)."""
from __future__ import annotations

import os
from pathlib import Path

from ..export.golden import GoldenSet
from ..finn.stage import read_build_info
from .package import write_deploy_package


def deploy_from_build(build_dir: str | os.PathLike, out: str | os.PathLike | None = None,
                      n_images: int | None = 10000) -> Path:
    build_dir = Path(build_dir)
    info = read_build_info(build_dir)
    if not (build_dir / "rtl" / "manifest.json").is_file():
        raise FileNotFoundError(f"{build_dir / 'rtl'} not found: run `surge-hw rtl {build_dir}` first "
                                f"(the package's stream format comes from the generated accelerator)")
    golden = GoldenSet.load(info["golden"]).first(n_images)
    out = Path(out) if out else build_dir / "deploy"
    path = write_deploy_package(build_dir / "rtl", out, golden.images, golden.labels, info["mw_last"],
                                info["label_sign"], bitfile_dir=build_dir / "finn_output")
    has_bit = any(path.glob("*.bit"))
    print(f"deploy: wrote {path} ({len(golden)} test images; "
          f"{'bitfile included' if has_bit else 'no bitfile: needs a Vivado build'}); on the board run "
          f"`sudo python3 validate.py`")
    return path
