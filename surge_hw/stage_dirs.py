"""Which stage wrote a directory, and the command that makes the directory a stage needs.

Only ``pathlib`` here: the CLI checks its input paths with these before it imports torch or FINN, so a wrong path
is reported at once; the stages raise the same messages when called from Python.
"""
from __future__ import annotations

import os
from pathlib import Path

# The file that marks each stage's directory
TRAIN_MARK, EXPORT_MARK, BUILD_MARK = "last.pt", "model.qonnx.onnx", "build_info.json"


def kind(path: str | os.PathLike) -> str | None:
    """"train", "export" or "build" for a directory that stage wrote, else None."""
    path = Path(path)
    for name, mark in (("build", BUILD_MARK), ("export", EXPORT_MARK), ("train", TRAIN_MARK)):
        if (path / mark).is_file():
            return name
    return None


def need_checkpoint(path: str | os.PathLike) -> None:
    """``surge-hw export``'s input: a run dir with last.pt, or a checkpoint file."""
    path = Path(path)
    if path.is_file():
        return
    if path.is_dir() and (path / TRAIN_MARK).is_file():
        return
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist; pass a run directory written by "
                                f"`surge-hw train --out RUN_DIR` (or its RUN_DIR/last.pt)")
    what = {"export": "an export dir", "build": "a build dir"}.get(kind(path), "not a training run")
    raise FileNotFoundError(f"{path} is {what} ({path / TRAIN_MARK} does not exist); pass the run directory "
                            f"written by `surge-hw train --out RUN_DIR`")


def need_export_dir(source: str | os.PathLike) -> None:
    """``surge-hw build``'s input: an export dir (model.qonnx.onnx + golden.npz) or a .onnx file."""
    source = Path(source)
    if source.is_file() or (source.is_dir() and (source / EXPORT_MARK).is_file()):
        return
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist; pass the export dir written by "
                                f"`surge-hw export TRAIN_DIR --out EXPORT_DIR` (or a .onnx file)")
    found = kind(source)
    if found == "train":
        raise FileNotFoundError(f"{source} is a training run ({TRAIN_MARK}), not an export; run "
                                f"`surge-hw export {source} --out EXPORT_DIR` first, then "
                                f"`surge-hw build EXPORT_DIR --out BUILD_DIR`")
    if found == "build":
        raise FileNotFoundError(f"{source} is a build dir already; build from its export dir "
                                f"(`surge-hw build EXPORT_DIR --out BUILD_DIR`) or go on with "
                                f"`surge-hw rtl {source}`")
    raise FileNotFoundError(f"{source / EXPORT_MARK} does not exist; run `surge-hw export TRAIN_DIR --out "
                            f"{source}` first, or pass a .onnx file")


def _then(command: str | None) -> str:
    """What to run after the build: rtl first, then the command that was asked for."""
    if command in (None, "rtl"):
        return "then `surge-hw rtl BUILD_DIR`"
    return f"then `surge-hw rtl BUILD_DIR` and `surge-hw {command} BUILD_DIR`"


def need_build_dir(build_dir: str | os.PathLike, command: str | None = None) -> None:
    """The input of rtl, rtlsim, compare, deploy (``command``, for the next-step hint): a ``surge-hw build`` dir."""
    build_dir = Path(build_dir)
    if (build_dir / BUILD_MARK).is_file():
        return
    if not build_dir.exists():
        raise FileNotFoundError(f"{build_dir} does not exist; pass a build dir written by "
                                f"`surge-hw build EXPORT_DIR --out BUILD_DIR`")
    found = kind(build_dir)
    if found == "export":
        raise FileNotFoundError(f"{build_dir} is an export dir ({EXPORT_MARK}, no {BUILD_MARK}); run "
                                f"`surge-hw build {build_dir} --out BUILD_DIR` first (BUILD_DIR: a new "
                                f"directory), {_then(command)}")
    if found == "train":
        raise FileNotFoundError(f"{build_dir} is a training run ({TRAIN_MARK}, no {BUILD_MARK}); run "
                                f"`surge-hw export {build_dir} --out EXPORT_DIR` and `surge-hw build EXPORT_DIR "
                                f"--out BUILD_DIR` first, {_then(command)}")
    raise FileNotFoundError(f"{build_dir / BUILD_MARK} not found: {build_dir} is not a `surge-hw build` directory; "
                            f"run `surge-hw build EXPORT_DIR --out {build_dir}` first")


def need_rtl(build_dir: str | os.PathLike) -> None:
    """rtlsim's and deploy's input: the Verilog project ``surge-hw rtl`` writes into BUILD_DIR/rtl."""
    rtl = Path(build_dir) / "rtl"
    if not (rtl / "manifest.json").is_file():
        raise FileNotFoundError(f"{rtl} not found: run `surge-hw rtl {build_dir}` first")
