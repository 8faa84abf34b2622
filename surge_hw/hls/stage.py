"""`surge-hw hls` and `surge-hw hlssim`: the build's IR as Vitis-HLS C++ (``BUILD/hls/``), C-simulated with g++
on real test images and compared with PyTorch exactly.

``hls`` writes ``BUILD/hls/`` (:mod:`surge_hw.hls.generate`) and, with ``--synth``, runs Vitis HLS on it when
``vitis_hls`` is on PATH. ``hlssim`` compiles the project's C-sim testbench (g++ ``-O2``; ``ap_int.h`` /
``hls_stream.h`` from the hls4ml wheel) and runs it on the export's golden images in chunks, writing
``BUILD/hlssim.json`` (per-image equality, accuracy, wall time) and ``BUILD/hlssim_outputs.npz``. With
``taps`` the testbench also dumps every layer's output stream, which `surge-hw compare` uses to name the first
diverging layer.

Stage order: ... -> rtl -> sim -> hls -> compare: this stage reads the IR the rtl stage writes (creating it
when absent) and the golden set as the sim stage does.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..boards import get_board
from ..console import progress_bar
from ..finn.stage import read_build_info
from ..rtl.ir import Accelerator
from ..rtl.packing import accelerator_inputs, pack_frames, unpack, unpack_frames
from ..rtl.stage import IR_DIR, ir_from_build, load_ir
from ..sim.stage import equality_summary, load_golden, write_results
from .generate import WORD_BITS, generate_hls, ir_fingerprint
from .toolchain import compile_cpp

HLS_DIR, RESULT_NAME, OUTPUTS_NAME = "hls", "hlssim.json", "hlssim_outputs.npz"
CHUNK_IMAGES = 500  # images per testbench run: a progress bar, bounded memory, and chunks for --jobs
VITIS_CSIM_IMAGES = 100  # images left in hls/csim/input.bin for `vitis_hls` C-sim
VITIS_FIX = ("copy {hls} to a machine with Vitis HLS 2022.2 or later and run `vitis_hls -f run_hls.tcl` in it "
             "(C-sim without Vitis: `surge-hw hlssim {build}`)")


def build_ir(build_dir: Path) -> Accelerator:
    """The IR of `surge-hw rtl` (BUILD/rtl_ir), created from the folded graph when the build has none yet."""
    if (build_dir / IR_DIR / "accel.json").is_file():
        return load_ir(build_dir)
    return ir_from_build(build_dir)


def _board_target(build_dir: Path) -> tuple[str, float]:
    info = read_build_info(build_dir)
    board = get_board(info.get("board") or "Pynq-Z2")
    return board.part, float(info.get("fclk_mhz") or board.fclk_mhz)


def generate_from_build(build_dir: str | os.PathLike, force: bool = False) -> Path:
    """``BUILD/hls/`` from the build's IR; an up-to-date project (same IR and kernels) is kept, with its compiled
    C-sim."""
    build_dir = Path(build_dir)
    accel = build_ir(build_dir)
    out = build_dir / HLS_DIR
    man = out / "manifest.json"
    if not force and man.is_file() and json.loads(man.read_text()).get("ir_fingerprint") == ir_fingerprint(accel):
        return out
    part, fclk = _board_target(build_dir)
    generate_hls(accel, out, part=part, fclk_mhz=fclk)
    print(f"hls: wrote {out} ({len(accel.layers)} layers as surge_hls kernels, part {part}, {fclk:g} MHz; "
          f"`surge-hw hlssim {build_dir}` C-simulates it)")
    return out


def vitis_synth(build_dir: str | os.PathLike) -> Path:
    """Run ``vitis_hls -f run_hls.tcl`` in BUILD/hls; without Vitis HLS raise ``FileNotFoundError`` saying what to
    run where."""
    build_dir = Path(build_dir)
    hls = generate_from_build(build_dir)
    exe = shutil.which("vitis_hls")
    if exe is None:
        raise FileNotFoundError("vitis_hls not on PATH: " + VITIS_FIX.format(hls=hls, build=build_dir))
    subprocess.run([exe, "-f", "run_hls.tcl"], cwd=hls, check=True)
    ip = hls / "surge_hls_prj" / "solution1" / "impl" / "ip"
    print(f"hls: Vitis HLS synthesis done -> {ip}")
    return ip


@dataclass
class CsimResult:
    outputs: np.ndarray  # (N, output_elems) the last layer's integers
    wall_s: float
    kernel_s: float
    build_s: float
    taps: list = field(default_factory=list)  # per layer (N, out_elems), with taps
    layer_names: list = field(default_factory=list)


def testbench(hls_dir: Path, taps: bool = False) -> tuple[Path, float]:
    """The compiled C-sim testbench (built once per project; ``taps``: the variant dumping every layer)."""
    exe = hls_dir / "csim" / ("tb_csim_taps" if taps else "tb_csim")
    if exe.is_file():
        return exe, 0.0
    man = json.loads((hls_dir / "manifest.json").read_text())
    t = time.perf_counter()
    compile_cpp([hls_dir / "tb_csim.cpp", hls_dir / f"{man['top']}.cpp"], exe, include_dirs=[hls_dir, hls_dir / "include"],
                defines={"SURGE_CSIM_TAPS": None} if taps else None)
    return exe, time.perf_counter() - t


def csim(hls_dir: str | os.PathLike, inputs: np.ndarray, taps: bool = False, progress: bool = True,
         jobs: int = 1) -> CsimResult:
    """(N, input_elems) stream elements (after the host steps) through the C-sim; the last layer's outputs."""
    hls_dir = Path(hls_dir).resolve()
    man = json.loads((hls_dir / "manifest.json").read_text())
    i, o = man["input"], man["output"]
    x = np.asarray(inputs).reshape(len(inputs), -1)
    if x.shape[1] != i["elems"]:
        raise ValueError(f"inputs have {x.shape[1]} elements per image, {hls_dir} takes {i['elems']}")
    exe, build_s = testbench(hls_dir, taps)
    n = len(x)
    chunks = [(a, min(n, a + CHUNK_IMAGES)) for a in range(0, n, CHUNK_IMAGES)]
    words = pack_frames(x, i["elem_bits"], i["elems_per_beat"], WORD_BITS)
    per_in = i["words_per_image"]
    keep = min(n, VITIS_CSIM_IMAGES)  # input frames for Vitis HLS's own csim_design (run_hls.tcl)
    words[:keep * per_in].tofile(hls_dir / "csim" / "input.bin")
    (hls_dir / "csim" / "input.json").write_text(json.dumps({"images": keep, "words_per_image": per_in}) + "\n")

    def run(chunk):
        a, b = chunk
        with tempfile.TemporaryDirectory(dir=hls_dir / "csim", prefix=".run-") as tmp:
            tmp = Path(tmp)
            words[a * per_in:b * per_in].tofile(tmp / "input.bin")
            proc = subprocess.run([str(exe), "input.bin", "output.bin", str(b - a), "."], cwd=tmp,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"HLS C-sim failed on images {a}..{b - 1} (exit {proc.returncode}): "
                                   f"{(proc.stderr or proc.stdout).strip()[:2000]}")
            out = np.fromfile(tmp / "output.bin", dtype=np.uint8)
            tapped = [np.fromfile(tmp / t["file"], dtype=np.uint8) for t in man["taps"]] if taps else []
            return (unpack_frames(out, o["elem_bits"], o["elems_per_beat"], o["elems"], WORD_BITS, o["signed"]),
                    json.loads(proc.stdout.strip().splitlines()[-1])["kernel_s"], tapped)

    t = time.perf_counter()
    results = [None] * len(chunks)
    with ThreadPoolExecutor(max(1, jobs)) as pool, \
            progress_bar(total=n, desc="HLS C-sim", unit="img", enabled=progress) as bar:
        futures = {pool.submit(run, c): k for k, c in enumerate(chunks)}
        for fut in futures:
            results[futures[fut]] = fut.result()
            bar.update(chunks[futures[fut]][1] - chunks[futures[fut]][0])
    wall = time.perf_counter() - t
    outputs = np.concatenate([r[0] for r in results]) if results else np.zeros((0, o["elems"]), dtype=np.int64)
    layer_taps = []
    if taps:
        for k, tap in enumerate(man["taps"]):
            data = np.concatenate([r[2][k] for r in results])
            layer_taps.append(unpack(data, tap["bits"], tap["per_beat"], tap["elems"], tap["signed"]))
    return CsimResult(outputs, wall, sum(r[1] for r in results), build_s, layer_taps,
                      [t["layer"] for t in man["taps"]])


def hlssim_from_build(build_dir: str | os.PathLike, n_images: int | None = None, progress: bool = True,
                      jobs: int = 1) -> tuple[dict, CsimResult]:
    build_dir = Path(build_dir)
    golden, info = load_golden(build_dir, n_images)
    hls = generate_from_build(build_dir)
    man = json.loads((hls / "manifest.json").read_text())
    n = len(golden)
    res = csim(hls, accelerator_inputs(golden.images, man.get("host")), progress=progress, jobs=jobs)
    common, dots, labels = equality_summary(res.outputs, golden, info)
    summary = {
        "tool": "g++ C-sim of the surge_hls kernels (ap_int.h / hls_stream.h from hls4ml 1.3.0)",
        "input_format": man.get("input_format", "uint8"), **common,
        "wall_s": round(res.wall_s, 3), "kernel_s": round(res.kernel_s, 3), "compile_s": round(res.build_s, 1),
        "images_per_s": round(n / res.wall_s, 1) if res.wall_s else None, "jobs": jobs,
        "part": man["part"], "clock_ns": man["clock_ns"],
    }
    verdict = write_results(build_dir, RESULT_NAME, OUTPUTS_NAME, summary, res.outputs, dots, labels)
    print(f"hlssim: {verdict}; C-sim {res.wall_s:.1f} s ({res.kernel_s:.1f} s in "
          f"the kernels{f', compile {res.build_s:.0f} s' if res.build_s else ''}) -> {build_dir / RESULT_NAME}")
    return summary, res
