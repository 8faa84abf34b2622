"""Writing stage artefacts atomically: a temp file in the target directory, then ``os.replace``.

A crash or Ctrl-C mid-write leaves the previous file (or none), never half of one. Every stage writes its
JSON/Markdown/HTML outputs through these two functions, and whole directories through :func:`building_dir`.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

# What the stages after `build` write into a build dir. A rebuild drops them (they describe the old build); anything
# else found there (board_results.* copied back from the board, a user's notes) is carried into the new build dir.
BUILD_DIR_STAGE_OUTPUTS = frozenset({
    "rtl", "rtl_ir", "rtl_sim", "rtl_resources.json", "pnr",  # surge-hw rtl / pnr
    "rtlsim.json", "rtlsim_outputs.npz",  # surge-hw rtlsim
    "hls", "hlssim.json", "hlssim_outputs.npz",  # surge-hw hls / hlssim
    "report", "deploy",  # surge-hw compare / deploy
})


def normal_mode(directory: bool) -> int:
    """The mode ``mkdir``/``open`` would give (0o777/0o666 less the umask): ``mkdtemp``/``mkstemp`` make 0o700/0o600,
    and an artefact should be as readable as any file the user creates."""
    mask = None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                mask = int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    if mask is None:  # no procfs: read it by setting it (briefly process-wide)
        mask = os.umask(0o022)
        os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, normal_mode(directory=False))  # mkstemp makes it private; artefacts are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj, indent: int = 2) -> Path:
    """JSON with ``default=str`` so paths and numpy scalars in reports serialise."""
    return write_text_atomic(path, json.dumps(obj, indent=indent, default=str))


def _copy_entry(src: Path, dst: Path) -> None:
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True)
    else:
        try:
            os.link(src, dst)  # same file system (dst is a sibling dir): no copy needed
        except OSError:
            shutil.copy2(src, dst)


def swap_in_dir(tmp: Path, out_dir: Path, keep: Callable[[str], bool] | None = None) -> Path:
    """Move the finished directory ``tmp`` onto ``out_dir`` (an old one is renamed away first, then deleted), so
    a reader sees the old tree or the new one, never half of either.

    ``keep(name)``: entries of the old ``out_dir`` to carry over (those the new tree lacks); they are linked or
    copied into ``tmp`` before the swap, so a failure on the way leaves the old tree whole."""
    if out_dir.exists() and keep is not None:
        for entry in sorted(out_dir.iterdir()):
            if keep(entry.name) and not os.path.lexists(tmp / entry.name):
                _copy_entry(entry, tmp / entry.name)
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
        os.replace(out_dir, old / "project")
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)
    return out_dir


@contextmanager
def building_dir(out_dir: Path, keep: Callable[[str], bool] | None = None):
    """``with building_dir(out) as tmp:`` write the new tree into ``tmp`` (a sibling temp dir); on success it
    replaces ``out`` (:func:`swap_in_dir`, carrying over the old entries ``keep`` names), on any error it is
    removed and ``out`` is left as it was."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        yield tmp
        tmp.chmod(normal_mode(directory=True))  # mkdtemp makes it 0700; the result is a normal artefact
        swap_in_dir(tmp, out_dir, keep)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
