"""The DMA shell: axis_frame_in / axis_frame_out against packing.pack_frames / unpack_frames, and
accel_dma_shell around a generated accelerator against surge_hw.rtl.golden, on Verilator and Icarus.

Each run is file-driven (tb_dma_frames.v): a first run at full speed checks the outputs and the
throughput (one word or one beat per cycle, whichever side is busier), a second run with random tvalid
gaps and tready stalls checks that nothing is lost, duplicated or reordered. TLAST sits on a mid-batch
image's last word and on the last image's; the frame_in input carries garbage in every padding bit and a
stray TLAST on a word that does not end an image (both must be ignored).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rtl_bench import HERE, SIMULATORS
from surge_hw.rtl import golden
from surge_hw.rtl.generate import VERILOG_DIR, block_sources, generate_rtl
from surge_hw.rtl.ir import Accelerator, BinaryMVAU, ThresholdLayer
from surge_hw.rtl.packing import frame_words, pack, pack_frames, unpack_frames
from surge_hw.sim.tools import build, find_simulator, run_test

TB = HERE / "tb_dma_frames.v"
COCOTB_MODULE = "dma_shell_cocotb"
# (DMA_W, beat width, beats per image, element bits): beat narrower than a word, wider and not a multiple,
# one 784-bit beat, CNV-like 24-bit pixels on a 128-bit DMA, popcount outputs, beat == word, 1-bit beats
FRAME_CONFIGS = [(64, 112, 7, 8), (64, 784, 1, 1), (64, 8, 98, 8), (128, 24, 5, 8), (64, 35, 2, 7),
                 (64, 64, 3, 16), (64, 1, 5, 1)]
N_IMAGES = 9
BATCH_ENDS = (3, N_IMAGES - 1)  # images whose last word carries TLAST
GAP, STALL = 0.3, 0.4


# ---- helpers ------------------------------------------------------------------------------------------------
def _word_ints(frames: np.ndarray) -> list:
    return [int.from_bytes(row.tobytes(), "little") for row in frames]


def _word_bytes(words: list, word_bits: int) -> np.ndarray:
    return np.array([list(w.to_bytes(word_bits // 8, "little")) for w in words], dtype=np.uint8)


def _write_hex(path: Path, values) -> None:
    path.write_text("".join(f"{int(v):x}\n" for v in values))


def _read_hex(path: Path) -> list:
    return [int(line, 16) for line in path.read_text().split()]


def _tlast_words(n_images: int, words: int) -> np.ndarray:
    tlast = np.zeros(n_images * words, dtype=bool)
    tlast[[(i + 1) * words - 1 for i in BATCH_ENDS]] = True
    return tlast


def _run(b, run_dir: Path, inputs: dict, report: list, timeout_cycles: int) -> dict:
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg = {"inputs": inputs, "report": report, "timeout_cycles": timeout_cycles}
    (run_dir / "config.json").write_text(json.dumps(cfg))
    run_test(b, COCOTB_MODULE, run_dir, extra_env={"BENCH_CONFIG": str(run_dir / "config.json")})
    return json.loads((run_dir / "result.json").read_text())


def _phases(stall: float = STALL) -> list:
    """(name, gap_thr, stall_thr): full speed, then random gaps and stalls (p = thr/256)."""
    return [("full_speed", 0, 0), ("gaps_stalls", round(GAP * 256), round(stall * 256))]


# ---- the host side: pack_frames / unpack_frames against the format written out with Python integers ----------
def _frames_reference(values, bits: int, words: int, word_bits: int) -> np.ndarray:
    out = []
    for row in np.asarray(values).tolist():
        image = 0
        for i, v in enumerate(row):
            image |= (int(v) & ((1 << bits) - 1)) << (i * bits)
        out += [list(((image >> (j * word_bits)) & ((1 << word_bits) - 1)).to_bytes(word_bits // 8, "little"))
                for j in range(words)]
    return np.array(out, dtype=np.uint8)


@pytest.mark.parametrize("layout", [(1, 112, 7, 64, False), (8, 1, 98, 64, False), (3, 8, 5, 128, True),
                                    (7, 5, 2, 64, False), (16, 3, 3, 64, True), (32, 1, 3, 64, False),
                                    (12, 2, 3, 8, True), (1, 1, 1, 64, False)],
                         ids=lambda c: "bits{}_per{}_beats{}_word{}_signed{}".format(*c))
def test_pack_frames_layout(layout):
    bits, per_beat, beats, word_bits, signed = layout
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    v = np.random.default_rng(bits).integers(lo, hi, (6, beats * per_beat), endpoint=True)
    v[0], v[1] = hi, lo
    words = frame_words(bits, per_beat, beats, word_bits)
    frames = pack_frames(v, bits, per_beat, word_bits)
    np.testing.assert_array_equal(frames, _frames_reference(v, bits, words, word_bits))
    np.testing.assert_array_equal(unpack_frames(frames, bits, per_beat, beats * per_beat, word_bits, signed), v)
    if (beats * per_beat * bits) % word_bits == 0 and (per_beat * bits) % 8 == 0:  # no padding: pack's bytes
        np.testing.assert_array_equal(frames.reshape(-1), pack(v, bits, per_beat).reshape(-1))


def test_pack_frames_10k_images_vectorised():
    """A PYNQ batch: 10,000 images (uint8 and 1-bit packed inputs, 7-bit popcount outputs) well under seconds."""
    import time

    rng = np.random.default_rng(0)
    for bits, elems, per_beat in [(8, 784, 49), (1, 784, 16), (7, 10, 5)]:
        v = rng.integers(0, 1 << bits, (10_000, elems))
        t0 = time.perf_counter()
        frames = pack_frames(v, bits, per_beat, 64)
        back = unpack_frames(frames, bits, per_beat, elems, 64)
        assert time.perf_counter() - t0 < 10
        np.testing.assert_array_equal(back, v)


# ---- (a) the frame blocks against pack_frames / unpack_frames ------------------------------------------------
@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("config", FRAME_CONFIGS, ids=lambda c: "dma{}_w{}_beats{}".format(*c[:3]))
def test_frame_blocks(config, simulator, tmp_path):
    dma_w, width, beats, bits = config
    per_beat = width // bits
    rng = np.random.default_rng(dma_w * 1000 + width * 10 + beats)
    values = rng.integers(0, 1 << bits, (N_IMAGES, beats * per_beat))
    values[0] = (1 << bits) - 1  # all ones: a stray carry or a shifted-in padding bit shows
    values[1] = 0
    words = frame_words(bits, per_beat, beats, dma_w)
    frames = pack_frames(values, bits, per_beat, dma_w)
    assert frames.shape == (N_IMAGES * words, dma_w // 8)
    word_ints = _word_ints(frames)
    tlast = _tlast_words(N_IMAGES, words)
    flags = tlast[words - 1::words].astype(int)
    beat_ints = _word_ints(pack(values, bits, per_beat))

    # frame_in's input: padding bits of every image's last word set at random, a stray TLAST mid-image
    last_bits = beats * width - (words - 1) * dma_w
    garbage = [(int(rng.integers(1, 1 << 62)) << last_bits) & ((1 << dma_w) - 1) for _ in range(N_IMAGES)]
    dirty = list(word_ints)
    for i in range(N_IMAGES):
        dirty[(i + 1) * words - 1] |= garbage[i]
    stray = np.zeros_like(tlast)
    if words > 1:
        stray[5 * words] = True  # first word of image 5: not an image end
    words_in = [w | (int(t or s) << dma_w) for w, t, s in zip(dirty, tlast, stray)]

    b = build([VERILOG_DIR / "axis_frame_in.v", VERILOG_DIR / "axis_frame_out.v", TB], "tb_frames", simulator,
              parameters=dict(DMA_W=dma_w, W=width, BEATS=beats))
    n_words, n_beats = len(word_ints), len(beat_ints)
    for name, gap_thr, stall_thr in _phases():
        run_dir = tmp_path / name
        run_dir.mkdir()
        _write_hex(run_dir / "words_in.hex", words_in)
        _write_hex(run_dir / "out_beats.hex", beat_ints)
        _write_hex(run_dir / "out_flags.hex", flags)
        res = _run(b, run_dir, dict(n_words=n_words, n_beats=n_beats, n_images=N_IMAGES, seed=11,
                                    gap_thr=gap_thr, stall_thr=stall_thr),
                   ["in_beats_got", "in_flags_got", "out_words_got", "words_in_span", "in_beats_span", "out_beats_span",
                    "out_words_span"],
                   timeout_cycles=40 * (n_words + n_beats) + 1000)
        where = f"{simulator}, {name}"
        # axis_frame_in: beats exactly as pack() cuts the elements, one flag per image
        assert (res["in_beats_got"], res["in_flags_got"]) == (n_beats, N_IMAGES), where
        got = _read_hex(run_dir / "in_beats.hex")
        bad = [i for i, (g, e) in enumerate(zip(got, beat_ints)) if g != e]
        assert not bad, f"{where}: frame_in beat {bad[0]} (image {bad[0] // beats}) {got[bad[0]]:#x} != {beat_ints[bad[0]]:#x}"
        assert _read_hex(run_dir / "in_flags.hex") == flags.tolist(), where
        # axis_frame_out: words exactly as pack_frames() lays them out, TLAST where the flags say
        assert res["out_words_got"] == n_words, where
        out = _read_hex(run_dir / "out_words.hex")
        out_words = [w & ((1 << dma_w) - 1) for w in out]
        bad = [i for i, (g, e) in enumerate(zip(out_words, word_ints)) if g != e]
        assert not bad, f"{where}: frame_out word {bad[0]} {out_words[bad[0]]:#x} != {word_ints[bad[0]]:#x}"
        assert [bool(w >> dma_w) for w in out] == tlast.tolist(), f"{where}: TLAST positions"
        np.testing.assert_array_equal(unpack_frames(_word_bytes(out_words, dma_w), bits, per_beat,
                                                    beats * per_beat, dma_w), values)
        if name == "full_speed":  # the busier side of each block moves one word or beat every cycle
            for block, side, count in [("frame_in", "words_in", n_words), ("frame_in", "in_beats", n_beats),
                                       ("frame_out", "out_beats", n_beats), ("frame_out", "out_words", n_words)]:
                if count == max(n_words, n_beats):
                    span = res[f"{side}_span"]
                    assert span == count, f"{where}: {block} took {span} cycles for {count} {side}"


# ---- (b) accel_dma_shell around a generated accelerator --------------------------------------------------------
def shell_accel(seed=0) -> Accelerator:
    """uint8 thresholds 60 ch (12 per beat: 96-bit input beats, 5 per image = 7.5 words of 64 bits)
    -> MVAU 60->32 -> MVAU 32->10 popcounts out (5 x 6 bits: 30-bit beats, 2 per image)."""
    rng = np.random.default_rng(seed)

    def w(mh, mw):
        return rng.integers(0, 2, (mh, mw), dtype=np.uint8)

    return Accelerator("dma_shell_test", [
        ThresholdLayer("inq", 60, 12, 8, False, rng.integers(60, 200, (60, 1))),
        BinaryMVAU("fc0", 60, 32, 12, 8, w(32, 60), rng.integers(24, 37, (32, 1))),
        BinaryMVAU("fc1", 32, 10, 16, 5, w(10, 32)),
    ])


@pytest.fixture(scope="module")
def shell_project(tmp_path_factory):
    accel = shell_accel()
    return accel, generate_rtl(accel, tmp_path_factory.mktemp("dma_shell") / "rtl")


def _shell_sources(project: Path) -> list:
    """The project's files (filelist.f), then the shell's blocks it does not already hold (block_sources)."""
    files = [project / f for f in (project / "filelist.f").read_text().split()]
    names = {f.name for f in files}
    return files + [p for p in block_sources("accel_dma_shell") if p.name not in names]


def _shell_params(project: Path, dma_w: int, flag_depth: int) -> dict:
    ports = json.loads((project / "manifest.json").read_text())["ports"]
    return dict(DMA_W=dma_w, IN_W=ports["s_axis"]["tdata_bits"], IN_BEATS=ports["s_axis"]["beats_per_image"],
                OUT_W=ports["m_axis"]["tdata_bits"], OUT_BEATS=ports["m_axis"]["beats_per_image"],
                FLAG_DEPTH=flag_depth)


SHELL_CONFIGS = [(64, 16), (128, 2)]  # (DMA_W, FLAG_DEPTH): the default, and a flag FIFO that fills up


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("config", SHELL_CONFIGS, ids=lambda c: "dma{}_flags{}".format(*c))
def test_dma_shell(config, simulator, shell_project, tmp_path):
    dma_w, flag_depth = config
    accel, project = shell_project
    man = json.loads((project / "manifest.json").read_text())
    s, m = man["ports"]["s_axis"], man["ports"]["m_axis"]
    n = 12
    x = np.random.default_rng(3).integers(0, 256, (n, man["input_elems"]))
    x[0], x[1] = 255, 0
    y = golden.run_accelerator(accel, x)

    words_in = frame_words(s["elem_bits"], s["elems_per_beat"], s["beats_per_image"], dma_w)
    words_out = frame_words(m["elem_bits"], m["elems_per_beat"], m["beats_per_image"], dma_w)
    frames = _word_ints(pack_frames(x, s["elem_bits"], s["elems_per_beat"], dma_w))
    tlast_in = _tlast_words(n, words_in)
    tlast_out = _tlast_words(n, words_out)
    stream = [w | (int(t) << dma_w) for w, t in zip(frames, tlast_in)]

    b = build(_shell_sources(project) + [TB], "tb_dma_shell", simulator,
              parameters=_shell_params(project, dma_w, flag_depth))
    ii, latency = man["analytic"]["initiation_interval"], man["analytic"]["latency_estimate"]
    for name, gap_thr, stall_thr in _phases(stall=0.6):  # long stalls: the flag FIFO fills
        run_dir = tmp_path / name
        run_dir.mkdir()
        for mem in man["files"]["memories"]:  # referenced by bare name: the simulator's working dir
            shutil.copyfile(project / mem, run_dir / mem)
        _write_hex(run_dir / "words_in.hex", stream)
        res = _run(b, run_dir, dict(n_words_in=len(stream), n_words_out=n * words_out, seed=5, gap_thr=gap_thr,
                                    stall_thr=stall_thr),
                   ["cycles", "words_got", "flag_full_cycles"], timeout_cycles=20 * (n * ii + latency) + 5000)
        where = f"{simulator}, {name}"
        assert res["words_got"] == n * words_out, where
        out = _read_hex(run_dir / "words_out.hex")
        assert [bool(w >> dma_w) for w in out] == tlast_out.tolist(), f"{where}: TLAST positions"
        data = _word_bytes([w & ((1 << dma_w) - 1) for w in out], dma_w)
        got = unpack_frames(data, m["elem_bits"], m["elems_per_beat"], man["output_elems"], dma_w,
                            signed=m["signed"])
        bad = np.argwhere(got != y)
        assert not len(bad), f"{where}: image {bad[0][0]} element {bad[0][1]}: {got[tuple(bad[0])]} != {y[tuple(bad[0])]}"
        if name == "full_speed":  # the shell does not slow the accelerator down
            assert res["cycles"] <= n * ii + 2 * latency, f"{where}: {res['cycles']} cycles for {n} images, II {ii}"
        elif flag_depth <= 2:
            assert res["flag_full_cycles"] > 0, f"{where}: the flag FIFO never filled; back-pressure untested"


def test_dma_shell_lint_clean(shell_project, tmp_path):
    """accel_dma_shell with a generated accel_top: verilator -Wall clean, Icarus compiles it as Verilog-2005."""
    _, project = shell_project
    sources = [str(p) for p in _shell_sources(project)]
    for dma_w, flag_depth in SHELL_CONFIGS:
        params = _shell_params(project, dma_w, flag_depth)
        cmd = [find_simulator("verilator"), "--lint-only", "-Wall", "--top-module", "accel_dma_shell",
               *[f"-G{k}={v}" for k, v in params.items()], *sources]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=project)
        assert proc.returncode == 0 and "warning" not in (proc.stdout + proc.stderr).lower(), proc.stdout + proc.stderr
        if shutil.which("iverilog"):
            cmd = ["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "shell.vvp"), "-s", "accel_dma_shell",
                   *[f"-Paccel_dma_shell.{k}={v}" for k, v in params.items()], *sources]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=project)
            assert proc.returncode == 0 and "warning" not in (proc.stdout + proc.stderr).lower(), \
                proc.stdout + proc.stderr
