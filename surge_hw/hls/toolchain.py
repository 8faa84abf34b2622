"""The C++ toolchain of the HLS path: where the headers are, the flags, and one g++ call.

The kernels (``hls/include/surge_hls/``) build against Xilinx's open ``ap_int.h`` / ``hls_stream.h`` C-simulation
headers as shipped in the hls4ml 1.3.0 wheel (``hls4ml/templates/vivado/ap_types``). They are found without
importing hls4ml (importing it pulls in heavy dependencies) and included with ``-isystem``, so their own
warnings do not trip our ``-Werror``. Standard library and numpy-free: a C-sim needs nothing else.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

AP_TYPES_FIX = "pip install --no-deps hls4ml==1.3.0"

# -Wno-unknown-pragmas: -Wall warns on every `#pragma HLS`, which only Vitis HLS understands.
CXXFLAGS = ["-std=c++14", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas"]

ERROR_LINES = 40  # compiler output shown in a RuntimeError


def ap_types_include() -> Path:
    """The directory holding ``ap_int.h`` and ``hls_stream.h`` (hls4ml's vivado ``ap_types``)."""
    spec = importlib.util.find_spec("hls4ml")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "templates" / "vivado" / "ap_types"
        if (path / "ap_int.h").is_file() and (path / "hls_stream.h").is_file():
            return path
    where = f" (looked in {locations[0]}/templates/vivado/ap_types)" if locations else ""
    raise FileNotFoundError(f"ap_int.h / hls_stream.h not found{where}: the HLS C-sim needs the hls4ml wheel's "
                            f"ap_types headers; install them with `{AP_TYPES_FIX}`")


def surge_hls_include() -> Path:
    """The repository's ``hls/include`` (``#include <surge_hls/surge_hls.h>``)."""
    path = Path(__file__).resolve().parents[2] / "hls" / "include"
    if not (path / "surge_hls" / "surge_hls.h").is_file():
        raise FileNotFoundError(f"surge_hls headers not found at {path}: the HLS kernels live in the repository's "
                                f"hls/include (use an editable install, `pip install -e .`, from a checkout)")
    return path


def compile_cpp(sources: list[Path], exe: Path, include_dirs=(), defines=None, flags=None) -> Path:
    """Compile and link ``sources`` into ``exe`` with g++; returns ``exe``.

    Include path: ``include_dirs`` (``-I``), then the surge_hls headers (``-I``) and the ap_types headers
    (``-isystem``). ``defines``: ``{name: value}`` (``-Dname=value``; value ``None`` gives ``-Dname``).
    ``flags`` replaces :data:`CXXFLAGS` when given. The executable appears atomically (a failed or interrupted
    build leaves the previous one, or none). Raises ``RuntimeError`` when g++ is missing or the build fails
    (with the first lines of the compiler's output).
    """
    gxx = shutil.which("g++")
    if gxx is None:
        raise RuntimeError("g++ not found on PATH: the HLS C-sim needs a C++14 compiler (apt install g++)")
    exe = Path(exe)
    exe.parent.mkdir(parents=True, exist_ok=True)
    cmd = [gxx, *(CXXFLAGS if flags is None else flags)]
    for d in include_dirs:
        cmd.append(f"-I{d}")
    cmd += [f"-I{surge_hls_include()}", "-isystem", str(ap_types_include())]
    for name, value in (defines or {}).items():
        cmd.append(f"-D{name}" if value is None else f"-D{name}={value}")
    fd, tmp = tempfile.mkstemp(dir=exe.parent, prefix=f".{exe.name}.", suffix=".tmp")
    os.close(fd)
    try:
        proc = subprocess.run([*cmd, *(str(s) for s in sources), "-o", tmp], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).splitlines()
            shown = "\n".join(lines[:ERROR_LINES])
            more = f"\n... ({len(lines) - ERROR_LINES} more lines)" if len(lines) > ERROR_LINES else ""
            raise RuntimeError(f"g++ failed (exit {proc.returncode}) building {exe.name} from "
                               f"{', '.join(Path(s).name for s in sources)}:\n{shown}{more}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, exe)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return exe
