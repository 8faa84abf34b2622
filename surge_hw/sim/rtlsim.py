"""Cycle-accurate simulation of a generated accelerator project (Verilator or Icarus, driven by cocotb).

Python stays out of the per-cycle loop: a generated Verilog wrapper ``tb_accel.v`` streams the input
beats from ``inputs.hex`` into ``s_axis`` (optionally with pseudo-random valid gaps), drains ``m_axis``
into ``outputs.hex`` (optionally with pseudo-random ``tready`` stalls), counts cycles and beats per stream,
and raises ``done``. The cocotb test (:mod:`surge_hw.sim.tb_accel_cocotb`) only starts the clock, resets,
and wakes every few thousand cycles to report progress and catch stalls. The build depends on the project
only (image count, stalls and taps are runtime inputs), so it is cached per project and simulator.

    res = simulate("runs/demo/rtl", x_uint8)          # (N, 784) -> res.outputs (N, 10)
    res.cycles_per_image, res.initiation_interval, res.wall_s
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .tools import build, find_simulator, run_test

COCOTB_MODULE = "surge_hw.sim.tb_accel_cocotb"
CLOCK_NS = 10  # 100 MHz, FINN's default fclk on the PYNQ boards


@dataclass
class SimResult:
    outputs: np.ndarray = field(repr=False)  # (N, output_elems) int64
    cycles_total: int  # reset release to the last output beat
    cycles_per_image: int  # latency: first input beat of image 0 -> last output beat of image 0
    initiation_interval: float  # steady-state cycles between consecutive images' last output beats
    wall_s: float  # simulation run (build excluded)
    build_s: float  # build time spent in this call (0 when cached)
    simulator: str
    n_images: int
    in_start_cycles: np.ndarray = field(repr=False, default=None)  # per image, first input beat
    out_end_cycles: np.ndarray = field(repr=False, default=None)  # per image, last output beat
    taps: list | None = field(repr=False, default=None)  # per layer (N, out_elems) outputs, if taps=True
    layer_names: list = field(default_factory=list)

    @property
    def images_per_s_at_100mhz(self) -> float:
        return 1e9 / CLOCK_NS / self.initiation_interval if self.initiation_interval else float("nan")


def simulate(project_dir: str | os.PathLike, inputs: np.ndarray, simulator: str = "verilator",
             work_dir: str | os.PathLike | None = None, progress: bool = True, taps: bool = False,
             in_gap: float = 0.0, out_stall: float = 0.0, seed: int = 1,
             timeout_cycles: int | None = None, keep_run_dir: bool = False, jobs: int = 1) -> SimResult:
    """Simulate ``inputs`` (N, input_elems) through the Verilog project at ``project_dir``.

    ``in_gap`` / ``out_stall``: probability per cycle that ``s_axis_tvalid`` is withheld / ``m_axis_tready``
    is low (pseudo-random, ``seed``). ``taps``: also record every layer's output stream (for
    :func:`locate_divergence`). Builds go to ``work_dir`` (default ``<project_dir>_sim`` beside the
    project) keyed by the sources' hash, so they are reused while the project is unchanged.
    ``jobs`` > 1 splits the images into that many consecutive chunks simulated in parallel processes (one
    build, one core each); latency and II are then measured on the first chunk.
    Raises ``RuntimeError`` on a stall or timeout, naming the stalled layer.
    """
    if jobs > 1 and len(inputs) >= 4 * jobs:
        return _simulate_parallel(project_dir, np.asarray(inputs), jobs, simulator=simulator, work_dir=work_dir,
                                  progress=progress, taps=taps, in_gap=in_gap, out_stall=out_stall, seed=seed,
                                  timeout_cycles=timeout_cycles, keep_run_dir=keep_run_dir)
    project_dir = Path(project_dir).resolve()
    man = json.loads((project_dir / "manifest.json").read_text())
    if simulator not in man.get("simulators", ("verilator", "icarus")):
        raise ValueError(f"{project_dir.name}: this design includes FINN's SystemVerilog sliding-window generator, "
                         f"which {simulator} cannot compile; simulate it with --simulator verilator")
    find_simulator(simulator)
    s_port, m_port = man["ports"]["s_axis"], man["ports"]["m_axis"]
    x = np.asarray(inputs)
    x = x.reshape(len(x), -1).astype(np.int64)
    n = len(x)
    if x.shape[1] != man["input_elems"]:
        raise ValueError(f"inputs have {x.shape[1]} elements per image, "
                         f"the accelerator takes {man['input_elems']}")
    _check_range(x, s_port)
    if n == 0:
        return SimResult(np.zeros((0, man["output_elems"]), np.int64), 0, 0, float("nan"), 0.0, 0.0, simulator, 0,
                         layer_names=[lay["name"] for lay in man["layers"]])
    # next to the project, not inside it: regenerating the project (atomic replace) keeps the build cache
    work_dir = Path(work_dir).resolve() if work_dir else project_dir.parent / f"{project_dir.name}_sim"
    work_dir.mkdir(parents=True, exist_ok=True)

    # ---- build (cached per project + simulator) --------------------------------------------------------
    tb_text = render_tb(man)
    src_dir = work_dir / "tb_src" / hashlib.sha256(tb_text.encode()).hexdigest()[:16]  # one per wrapper
    src_dir.mkdir(parents=True, exist_ok=True)
    tb_path = src_dir / "tb_accel.v"
    if not tb_path.is_file() or tb_path.read_text() != tb_text:
        tmp = src_dir / f".tb_accel.v.{os.getpid()}"
        tmp.write_text(tb_text)
        os.replace(tmp, tb_path)
    sources = [project_dir / f for f in (project_dir / "filelist.f").read_text().split()] + [tb_path]
    t0 = time.perf_counter()
    b = build(sources, "tb_accel", simulator, build_root=work_dir, build_args=_speed_args(simulator),
              public_flat_rw=False)
    if progress:
        print(f"rtlsim: {simulator} build {'reused' if b.cached else f'took {b.seconds:.1f} s'} ({b.build_dir})")
    build_s = time.perf_counter() - t0 if not b.cached else 0.0

    # ---- run ----------------------------------------------------------------------------------------
    run_dir = Path(tempfile.mkdtemp(dir=work_dir, prefix=f"run-{simulator}-"))
    for mem in man["files"]["memories"]:
        _link_or_copy(project_dir / mem, run_dir / mem)
    in_beats = x.reshape(n * s_port["beats_per_image"], s_port["elems_per_beat"])
    (run_dir / "inputs.hex").write_bytes(_hex_lines(in_beats, s_port["elem_bits"]))
    ii_est = max(1, man["analytic"]["initiation_interval"])
    slow = 1.0 / max(1e-3, (1 - in_gap) * (1 - out_stall))
    if timeout_cycles is None:
        timeout_cycles = int((n * ii_est + 20 * man["analytic"]["latency_estimate"]) * 4 * slow) + 20000
    cfg = {"n_images": n, "seed": seed, "taps": int(bool(taps)), "clock_ns": CLOCK_NS,
           "gap_thr": int(round(in_gap * 256)), "stall_thr": int(round(out_stall * 256)),
           "timeout_cycles": timeout_cycles, "stall_window": int(max(20000, 50 * ii_est * slow)),
           "chunk_cycles": int(max(2000, min(100000, 20 * ii_est))),  # Python wakes once per chunk
           "streams": _streams(man, n), "progress_file": str(run_dir / "progress.txt")}
    (run_dir / "rtlsim_config.json").write_text(json.dumps(cfg, indent=1))

    t0 = time.perf_counter()
    err: list = []

    def _run():
        try:
            run_test(b, COCOTB_MODULE, run_dir,
                     extra_env={"SURGE_RTLSIM_CONFIG": str(run_dir / "rtlsim_config.json")})
        except BaseException as e:  # reported in the main thread
            err.append(e)

    th = threading.Thread(target=_run, daemon=True)
    th.start()
    _follow_progress(th, run_dir / "progress.txt", n, progress)
    wall = time.perf_counter() - t0
    if err:
        raise RuntimeError(f"rtlsim on {simulator} failed (run dir kept: {run_dir}):\n{err[0]}") from None

    outputs = _parse_hex(run_dir / "outputs.hex", m_port["elem_bits"], m_port["elems_per_beat"], m_port["signed"])
    if outputs.size != n * man["output_elems"]:
        raise RuntimeError(f"rtlsim: {outputs.size} output elements for {n} images x {man['output_elems']} "
                           f"(run dir kept: {run_dir})")
    outputs = outputs.reshape(n, man["output_elems"])
    in_start = np.loadtxt(run_dir / "in_events.txt", dtype=np.int64, ndmin=1)
    out_end = np.loadtxt(run_dir / "out_events.txt", dtype=np.int64, ndmin=1)
    summary = json.loads((run_dir / "summary.json").read_text())
    tap_arrays = None
    if taps:
        tap_arrays = []
        for lay in man["layers"]:
            a = _parse_hex(run_dir / f"tap_l{lay['index']}.hex", lay["out_elem_bits"], lay["out_elems_per_beat"],
                           lay.get("out_signed", False))
            tap_arrays.append(a.reshape(n, lay["out_elems"]))
    half = n // 2
    ii = float((out_end[-1] - out_end[half]) / (n - 1 - half)) if n - 1 - half > 0 else float("nan")
    res = SimResult(outputs=outputs, cycles_total=int(summary["cycles"]),
                    cycles_per_image=int(out_end[0] - in_start[0] + 1), initiation_interval=ii,
                    wall_s=wall, build_s=build_s, simulator=simulator, n_images=n,
                    in_start_cycles=in_start, out_end_cycles=out_end, taps=tap_arrays,
                    layer_names=[lay["name"] for lay in man["layers"]])
    if not keep_run_dir:
        shutil.rmtree(run_dir, ignore_errors=True)
    if progress:
        print(f"rtlsim: {n} images on {simulator} in {wall:.2f} s; latency {res.cycles_per_image} cycles, "
              f"II {ii:.1f} cycles (analytic {ii_est}), {res.cycles_total} cycles total")
    return res


def _simulate_parallel(project_dir, x: np.ndarray, jobs: int, progress: bool, **kw) -> SimResult:
    simulate(project_dir, x[:1], progress=progress, **kw)  # build once (cached) before the chunks start
    chunks = np.array_split(x, jobs)
    results: list = [None] * jobs
    errors: list = []

    def run(i):
        try:
            results[i] = simulate(project_dir, chunks[i], progress=progress and i == 0, **kw)
        except BaseException as e:  # re-raised below
            errors.append(e)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(jobs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    first = results[0]
    res = SimResult(outputs=np.concatenate([r.outputs for r in results]),
                    cycles_total=max(r.cycles_total for r in results), cycles_per_image=first.cycles_per_image,
                    initiation_interval=first.initiation_interval, wall_s=time.perf_counter() - t0,
                    build_s=0.0, simulator=first.simulator, n_images=len(x), in_start_cycles=first.in_start_cycles,
                    out_end_cycles=first.out_end_cycles,
                    taps=None if first.taps is None else [np.concatenate(t) for t in zip(*[r.taps for r in results])],
                    layer_names=first.layer_names)
    if progress:
        print(f"rtlsim: {len(x)} images in {jobs} parallel simulations in {res.wall_s:.1f} s")
    return res


def locate_divergence(result: SimResult, golden_layers: list) -> dict | None:
    """First (layer, image, element) where the tapped RTL streams differ from the golden per-layer outputs.

    ``golden_layers``: ``surge_hw.rtl.golden.run_accelerator(accel, x, all_layers=True)``. Needs
    ``simulate(..., taps=True)``. Returns None when every layer matches.
    """
    if result.taps is None:
        raise ValueError("simulate(..., taps=True) records the per-layer streams this needs")
    for i, (rtl, ref) in enumerate(zip(result.taps, golden_layers)):
        bad = np.argwhere(rtl != np.asarray(ref))
        if len(bad):
            img, el = (int(v) for v in bad[0])
            return {"layer": i, "name": result.layer_names[i], "image": img, "element": el,
                    "rtl": int(rtl[img, el]), "golden": int(ref[img, el]), "mismatches": int(len(bad))}
    return None


# ---- helpers --------------------------------------------------------------------------------------------
def _speed_args(simulator: str) -> list:
    if simulator == "verilator":
        # OPT_FAST: the model's C++ at -O2 instead of verilated.mk's -Os (CNV: 20 % more images/s, measured)
        return ["-O3", "--x-assign", "fast", "--x-initial", "fast", "--noassert", "-MAKEFLAGS", "OPT_FAST=-O2"]
    return []


def _check_range(x: np.ndarray, port: dict) -> None:
    w = port["elem_bits"]
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if port["signed"] else (0, (1 << w) - 1)
    if x.size and (x.min() < lo or x.max() > hi):
        raise ValueError(f"inputs must lie in [{lo}, {hi}] ({w}-bit {'signed' if port['signed'] else 'unsigned'}); "
                         f"got [{x.min()}, {x.max()}]")


def _streams(man: dict, n: int) -> list:
    """Streams in chain order with their expected beat totals (for the stall report)."""
    out = [{"name": "s_axis", "expected": n * man["ports"]["s_axis"]["beats_per_image"]}]
    for lay in man["layers"]:
        out.append({"name": f"l{lay['index']}_in", "expected": n * lay["in_beats_per_image"], "layer": lay["name"]})
        out.append({"name": f"l{lay['index']}_out", "expected": n * lay["out_beats_per_image"], "layer": lay["name"]})
    out.append({"name": "m_axis", "expected": n * man["ports"]["m_axis"]["beats_per_image"]})
    return out


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.symlink(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE = np.full(256, -1, dtype=np.int16)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _NIBBLE[_c] = 10 + _i


def _hex_lines(beats: np.ndarray, elem_bits: int) -> bytes:
    """(M, per_beat) ints -> one zero-padded hex beat per line, element 0 in the LSBs."""
    m, per = beats.shape
    vals = beats.astype(np.int64) & ((1 << elem_bits) - 1)
    bits = ((vals[:, :, None] >> np.arange(elem_bits)) & 1).astype(np.uint8).reshape(m, per * elem_bits)
    digits = (per * elem_bits + 3) // 4
    bits = np.pad(bits, ((0, 0), (0, digits * 4 - bits.shape[1])))
    nib = bits.reshape(m, digits, 4) @ np.array([1, 2, 4, 8], dtype=np.uint8)
    chars = _HEX[nib[:, ::-1]]
    out = np.concatenate([chars, np.full((m, 1), ord("\n"), dtype=np.uint8)], axis=1)
    return out.tobytes()


def _parse_hex(path: Path, elem_bits: int, per_beat: int, signed: bool = False) -> np.ndarray:
    """Inverse of :func:`_hex_lines` for the files ``$fwrite("%h")`` writes (two's complement elements when
    ``signed``); rejects X/Z digits."""
    raw = path.read_bytes()
    lines = raw.split()
    if not lines:
        return np.zeros((0, per_beat), dtype=np.int64)
    width = per_beat * elem_bits
    digits = (width + 3) // 4
    if any(len(ln) != digits for ln in lines):
        raise RuntimeError(f"{path.name}: beats are not {digits} hex digits wide")
    arr = np.frombuffer(b"".join(lines), dtype=np.uint8).reshape(len(lines), digits)
    nib = _NIBBLE[arr]
    if (nib < 0).any():
        r = int(np.argwhere(nib < 0)[0][0])
        raise RuntimeError(f"{path.name}: beat {r} has X/Z bits ({lines[r].decode()}): uninitialised logic in the RTL")
    nib = nib[:, ::-1].astype(np.uint8)  # LSB nibble first
    bits = ((nib[:, :, None] >> np.arange(4)) & 1).reshape(len(lines), digits * 4)[:, :width]
    bits = bits.reshape(len(lines), per_beat, elem_bits).astype(np.int64)
    v = (bits << np.arange(elem_bits)).sum(-1)
    return np.where(v >= 1 << (elem_bits - 1), v - (1 << elem_bits), v) if signed else v


def _follow_progress(th: threading.Thread, path: Path, n: int, progress: bool) -> None:
    bar = None
    if progress:
        from ..console import interactive, progress_bar

        bar = progress_bar(total=n, unit="img", desc="rtlsim", leave=False) if interactive() else None
    done = 0
    while th.is_alive():
        th.join(0.2)
        if bar is not None:
            try:
                now = int(path.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if now > done:
                bar.update(now - done)
                done = now
    if bar is not None:
        bar.close()


# ---- the Verilog wrapper ----------------------------------------------------------------------------------
def render_tb(man: dict) -> str:
    """``tb_accel.v`` for a project manifest: file-driven source/sink, cycle and beat counters, taps."""
    s, m = man["ports"]["s_axis"], man["ports"]["m_axis"]
    top = man["top"]
    layers = man["layers"]
    decl, count, taps_open, taps_write = [], [], [], []
    for lay in layers:
        i = lay["index"]
        for d in ("in", "out"):
            decl.append(f"    reg [31:0] l{i}_{d}_beats /*verilator public_flat_rw*/;")
            decl.append(f"    wire [1:0] l{i}_{d}_hs /*verilator public_flat_rw*/ = {{dut.l{i}_{d}_tvalid, dut.l{i}_{d}_tready}};")
            count.append(f"            if (dut.l{i}_{d}_tvalid & dut.l{i}_{d}_tready) l{i}_{d}_beats <= l{i}_{d}_beats + 1;")
        decl.append(f"    integer fd_tap{i};")
        taps_open.append(f'        fd_tap{i} = $fopen("tap_l{i}.hex", "w");')
        taps_write.append(f"            if (taps_en & dut.l{i}_out_tvalid & dut.l{i}_out_tready & ~done)\n"
                          f'                $fwrite(fd_tap{i}, "%h\\n", dut.l{i}_out_tdata);')
    reset_counts = "\n".join(f"            l{lay['index']}_{d}_beats <= 32'd0;" for lay in layers for d in ("in", "out"))
    flushes = "\n".join(f"                $fflush(fd_tap{lay['index']});" for lay in layers)
    return f"""// tb_accel: generated by surge_hw.sim.rtlsim for {top} ({man['accelerator']}). Simulation only.
// Streams inputs.hex into s_axis, drains m_axis into outputs.hex, logs per-image cycles, raises done.
`default_nettype none

module tb_accel (
    // `verilator public_flat_rw`: what cocotb touches stays visible when the rest is optimised
    input  wire        clk /*verilator public_flat_rw*/,
    input  wire        rst /*verilator public_flat_rw*/,
    input  wire [31:0] n_images /*verilator public_flat_rw*/,
    input  wire [31:0] seed /*verilator public_flat_rw*/,
    // s_axis valid withheld when rnd[7:0] < gap_thr, m_axis ready low when rnd[7:0] < stall_thr (p = thr/256)
    input  wire [8:0]  gap_thr /*verilator public_flat_rw*/,
    input  wire [8:0]  stall_thr /*verilator public_flat_rw*/,
    input  wire        taps_en /*verilator public_flat_rw*/,
    output reg         done /*verilator public_flat_rw*/,     // last output beat taken
    output reg         flushed /*verilator public_flat_rw*/   // files flushed, one cycle after done
);
    localparam integer IN_W = {s['tdata_bits']};
    localparam integer OUT_W = {m['tdata_bits']};
    localparam integer IN_BEATS = {s['beats_per_image']};
    localparam integer OUT_BEATS = {m['beats_per_image']};

    reg  [IN_W-1:0]  s_tdata;
    reg              s_tvalid;
    wire             s_tready;
    wire [OUT_W-1:0] m_tdata;
    wire             m_tvalid;
    reg              m_tready;

    {top} dut (
        .clk(clk), .rst(rst),
        .s_axis_tdata(s_tdata), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
        .m_axis_tdata(m_tdata), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready)
    );

    reg [63:0] cycle /*verilator public_flat_rw*/;
    reg [31:0] s_axis_beats /*verilator public_flat_rw*/;
    reg [31:0] m_axis_beats /*verilator public_flat_rw*/;
    wire [1:0] s_axis_hs /*verilator public_flat_rw*/ = {{s_tvalid, s_tready}};  // {{valid, ready}} now
    wire [1:0] m_axis_hs /*verilator public_flat_rw*/ = {{m_tvalid, m_tready}};
    reg [31:0] in_loaded, in_idx, out_idx;
    reg [31:0] rnd_in, rnd_out;
    reg [IN_W-1:0] beat;
    integer fd_in, fd_out, fd_in_ev, fd_out_ev, rc;
{chr(10).join(decl)}

    function [31:0] xorshift32;
        input [31:0] v;
        reg [31:0] t;
        begin
            t = v ^ (v << 13);
            t = t ^ (t >> 17);
            xorshift32 = t ^ (t << 5);
        end
    endfunction

    initial begin
        fd_in = $fopen("inputs.hex", "r");
        fd_out = $fopen("outputs.hex", "w");
        fd_in_ev = $fopen("in_events.txt", "w");
        fd_out_ev = $fopen("out_events.txt", "w");
{chr(10).join(taps_open)}
        if (fd_in == 0) begin
            $display("tb_accel: cannot open inputs.hex");
            $finish;
        end
    end

    // ---- source: one beat per line of inputs.hex, random valid gaps --------------------------------
    always @(posedge clk) begin
        if (rst) begin
            s_tvalid <= 1'b0;
            in_loaded <= 32'd0;
            rnd_in <= seed | 32'd1;
        end else begin
            rnd_in <= xorshift32(rnd_in);
            if (~s_tvalid | s_tready) begin
                if (in_loaded < n_images * IN_BEATS && {{1'b0, rnd_in[7:0]}} >= gap_thr) begin
                    rc = $fscanf(fd_in, "%h\\n", beat);
                    s_tdata <= beat;
                    s_tvalid <= 1'b1;
                    in_loaded <= in_loaded + 1;
                end else begin
                    s_tvalid <= 1'b0;
                end
            end
        end
    end

    // ---- sink: outputs.hex, random ready stalls; per-image cycle stamps ----------------------------
    always @(posedge clk) begin
        if (rst) begin
            m_tready <= 1'b0;
            rnd_out <= (seed * 32'd2654435761) | 32'd1;
            done <= 1'b0;
            flushed <= 1'b0;
        end else begin
            rnd_out <= xorshift32(rnd_out);
            m_tready <= {{1'b0, rnd_out[7:0]}} >= stall_thr;
            if (m_tvalid & m_tready & ~done) begin
                $fwrite(fd_out, "%h\\n", m_tdata);
                if (out_idx == OUT_BEATS - 1) $fwrite(fd_out_ev, "%0d\\n", cycle);
                if (m_axis_beats + 1 == n_images * OUT_BEATS) done <= 1'b1;
            end
            if (done & ~flushed) begin
                $fflush(fd_out);
                $fflush(fd_in_ev);
                $fflush(fd_out_ev);
{flushes}
                flushed <= 1'b1;
            end
        end
    end

    // ---- counters (read by the cocotb test for progress and the stall report) ---------------------
    always @(posedge clk) begin
        if (rst) begin
            cycle <= 64'd0;
            s_axis_beats <= 32'd0;
            m_axis_beats <= 32'd0;
            in_idx <= 32'd0;
            out_idx <= 32'd0;
{reset_counts}
        end else begin
            cycle <= cycle + 1;
            if (s_tvalid & s_tready) begin
                s_axis_beats <= s_axis_beats + 1;
                if (in_idx == 0) $fwrite(fd_in_ev, "%0d\\n", cycle);
                in_idx <= (in_idx == IN_BEATS - 1) ? 32'd0 : in_idx + 1;
            end
            if (m_tvalid & m_tready) begin
                m_axis_beats <= m_axis_beats + 1;
                out_idx <= (out_idx == OUT_BEATS - 1) ? 32'd0 : out_idx + 1;
            end
{chr(10).join(count)}
{chr(10).join(taps_write)}
        end
    end
endmodule

`default_nettype wire
"""
