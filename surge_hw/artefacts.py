"""Writing stage artefacts atomically: a temp file in the target directory, then ``os.replace``.

A crash or Ctrl-C mid-write leaves the previous file (or none), never half of one. Every stage writes its
JSON/Markdown/HTML outputs through these two functions.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; artefacts are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj, indent: int = 2) -> Path:
    """JSON with ``default=str`` so paths and numpy scalars in reports serialise."""
    return write_text_atomic(path, json.dumps(obj, indent=indent, default=str))


def swap_in_dir(tmp: Path, out_dir: Path) -> Path:
    """Move the finished directory ``tmp`` onto ``out_dir`` (an old one is renamed away first, then deleted), so
    a reader sees the old tree or the new one, never half of either."""
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
        os.replace(out_dir, old / "project")
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)
    return out_dir


@contextmanager
def building_dir(out_dir: Path):
    """``with building_dir(out) as tmp:`` write the new tree into ``tmp`` (a sibling temp dir); on success it
    replaces ``out`` (:func:`swap_in_dir`), on any error it is removed and ``out`` is left as it was."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes it private; the result is a normal artefact
        swap_in_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
