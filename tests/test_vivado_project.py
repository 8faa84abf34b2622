"""The Vivado project for the open RTL (surge_hw.deploy.vivado_project), run under a recording stand-in.

No Vivado here: ``tests/vivado_stub/vivado_recorder.tcl`` defines the Vivado commands make_bitfile.tcl uses
as Tcl procs that check arguments against the documented signatures, model the block design (pins per IP
configuration, nets, address reachability, runs) and log every call. These tests run the generated script
under it in plain tclsh and check what it asked Vivado to do; they prove the script is consistent, not
that Vivado builds a working bitfile.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from surge_hw.boards import BOARDS
from surge_hw.deploy import vivado_project as vp
from surge_hw.rtl.generate import generate_rtl
from surge_hw.rtl.ir import Accelerator, BinaryMVAU, ThresholdLayer

STUB = Path(__file__).parent / "vivado_stub"
needs_tclsh = pytest.mark.skipif(
    shutil.which("tclsh") is None,
    reason="tclsh not installed (apt-get install tcl): the Vivado stand-in runs in plain Tcl")


# ---- small rtl projects -----------------------------------------------------------------------------------
def _mvau(name, mw, mh, simd, pe, rng, thresholds=True):
    w = rng.integers(0, 2, (mh, mw), dtype=np.uint8)
    t = rng.integers(mw // 2 - 4, mw // 2 + 5, (mh, 1)) if thresholds else None
    return BinaryMVAU(name, mw, mh, simd, pe, w, t)


def tfc_like(seed=0) -> Accelerator:
    """uint8 784 -> threshold -> 64 -> 64 -> 10 popcounts (TFC's shape, narrower)."""
    rng = np.random.default_rng(seed)
    thr = np.sort(rng.integers(40, 216, (784, 1)), axis=1)
    return Accelerator("tfc_like", [
        ThresholdLayer("inq", 784, 16, 8, False, thr),
        _mvau("fc0", 784, 64, 49, 16, rng), _mvau("fc1", 64, 64, 16, 8, rng),
        _mvau("fc2", 64, 10, 32, 5, rng, thresholds=False)], fifo_depth=16)


def larger_fc(seed=1) -> Accelerator:
    """uint8 784 -> threshold -> 256 -> 256 -> 256 -> 10 (LFC-like depth, 256 wide)."""
    rng = np.random.default_rng(seed)
    thr = np.sort(rng.integers(40, 216, (784, 1)), axis=1)
    return Accelerator("larger_fc", [
        ThresholdLayer("inq", 784, 16, 8, False, thr),
        _mvau("fc0", 784, 256, 16, 16, rng), _mvau("fc1", 256, 256, 32, 16, rng),
        _mvau("fc2", 256, 256, 32, 8, rng), _mvau("fc3", 256, 10, 16, 10, rng, thresholds=False)])


NETS = {"tfc_like": tfc_like, "larger_fc": larger_fc}


@pytest.fixture(scope="module")
def rtl_projects(tmp_path_factory):
    root = tmp_path_factory.mktemp("rtl")
    return {name: generate_rtl(make(), root / name) for name, make in NETS.items()}


# The DMA shell is written alongside this work; until its files are in surge_hw/rtl/verilog/ the tests use
# placeholders with the same module names, parameters and ports (no function: only the stand-in reads them).
_PLACEHOLDER = {
    "accel_dma_shell.v": """// PLACEHOLDER for tests: accel_dma_shell's parameters and ports, no function.
`default_nettype none
module accel_dma_shell #(
    parameter integer DMA_W = 64, parameter integer IN_W = 8, parameter integer IN_BEATS = 1,
    parameter integer OUT_W = 8, parameter integer OUT_BEATS = 1, parameter integer FLAG_DEPTH = 16
) (
    (* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 ap_clk CLK" *)
    (* X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF s_axis:m_axis, ASSOCIATED_RESET ap_rst_n" *)
    input  wire ap_clk,
    (* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 ap_rst_n RST" *)
    (* X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW" *)
    input  wire ap_rst_n,
    input  wire [DMA_W-1:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,
    input  wire s_axis_tlast,
    output wire [DMA_W-1:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready,
    output wire m_axis_tlast
);
    wire rst = ~ap_rst_n;
    wire [IN_W-1:0] a_tdata;
    wire [OUT_W-1:0] b_tdata;
    wire a_tvalid, a_tready, b_tvalid, b_tready;
    axis_frame_in #(.DMA_W(DMA_W), .IN_W(IN_W), .IN_BEATS(IN_BEATS)) frame_in_i (.clk(ap_clk), .rst(rst),
        .s_tdata(s_axis_tdata), .s_tvalid(s_axis_tvalid), .s_tready(s_axis_tready), .s_tlast(s_axis_tlast),
        .m_tdata(a_tdata), .m_tvalid(a_tvalid), .m_tready(a_tready));
    accel_top accel_i (.clk(ap_clk), .rst(rst), .s_axis_tdata(a_tdata), .s_axis_tvalid(a_tvalid),
        .s_axis_tready(a_tready), .m_axis_tdata(b_tdata), .m_axis_tvalid(b_tvalid), .m_axis_tready(b_tready));
    axis_frame_out #(.DMA_W(DMA_W), .OUT_W(OUT_W), .OUT_BEATS(OUT_BEATS)) frame_out_i (.clk(ap_clk),
        .rst(rst), .s_tdata(b_tdata), .s_tvalid(b_tvalid), .s_tready(b_tready), .m_tdata(m_axis_tdata),
        .m_tvalid(m_axis_tvalid), .m_tready(m_axis_tready), .m_tlast(m_axis_tlast));
endmodule
""",
    "axis_frame_in.v": """// PLACEHOLDER for tests.
module axis_frame_in #(parameter integer DMA_W = 64, parameter integer IN_W = 8, parameter integer IN_BEATS = 1) (
    input wire clk, input wire rst, input wire [DMA_W-1:0] s_tdata, input wire s_tvalid, output wire s_tready,
    input wire s_tlast, output wire [IN_W-1:0] m_tdata, output wire m_tvalid, input wire m_tready);
    axis_fifo #(.WIDTH(IN_W), .DEPTH(2)) fifo_i (.clk(clk), .rst(rst), .s_tdata(s_tdata[IN_W-1:0]),
        .s_tvalid(s_tvalid), .s_tready(s_tready), .m_tdata(m_tdata), .m_tvalid(m_tvalid), .m_tready(m_tready));
endmodule
""",
    "axis_frame_out.v": """// PLACEHOLDER for tests.
module axis_frame_out #(parameter integer DMA_W = 64, parameter integer OUT_W = 8,
                        parameter integer OUT_BEATS = 1) (
    input wire clk, input wire rst, input wire [OUT_W-1:0] s_tdata, input wire s_tvalid, output wire s_tready,
    output wire [DMA_W-1:0] m_tdata, output wire m_tvalid, input wire m_tready, output wire m_tlast);
    assign m_tdata = s_tdata;
    assign m_tvalid = s_tvalid;
    assign s_tready = m_tready;
    assign m_tlast = 1'b1;
endmodule
""",
}


@pytest.fixture(scope="module")
def shell_dir(tmp_path_factory):
    """The real shell when all its files exist, else placeholders (+ the real axis_fifo.v)."""
    if all((vp.SHELL_DIR / f).is_file() for f in vp.SHELL_FILES):
        yield vp.SHELL_DIR
        return
    d = tmp_path_factory.mktemp("shell_placeholder")
    for name, text in _PLACEHOLDER.items():
        (d / name).write_text(text)
    shutil.copyfile(vp.SHELL_DIR / "axis_fifo.v", d / "axis_fifo.v")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vp, "SHELL_DIR", d)
        yield d


# ---- running the script under the stand-in --------------------------------------------------------------
def recorded_commands(log: str | os.PathLike) -> list[tuple[str, list[str]]]:
    """The Vivado calls a stand-in run logged, in order: [(command, [args...]), ...]."""
    calls = [json.loads(line) for line in Path(log).read_text().splitlines() if line.strip()]
    return [(c["cmd"], c["args"]) for c in calls if not c["cmd"].startswith("#")]


def vivado_commands_used(log) -> list[str]:
    return sorted({cmd for cmd, _ in recorded_commands(log)})


def run_stub(out_dir: Path, script: str = "make_bitfile.tcl", **env) -> tuple[subprocess.CompletedProcess, list]:
    log = out_dir / "vivado_calls.jsonl"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SURGE_STUB_")}
    full_env.update(env)
    proc = subprocess.run(["tclsh", str(STUB / "run_recorded.tcl"), str(log), script], cwd=out_dir,
                          capture_output=True, text=True, env=full_env, timeout=120, check=False)
    return proc, recorded_commands(log)


def calls(cmds, name):
    return [args for c, args in cmds if c == name]


def opt(args, name):
    return args[args.index(name) + 1]


def config_of(cmds, cell) -> dict:
    """Every CONFIG.* a run set on one cell (set_property -dict [list CONFIG.X {v} ...] /cell)."""
    out = {}
    for args in calls(cmds, "set_property"):
        if args[0] == "-dict" and args[-1] == f"/{cell}":
            words = _tcl_words(args[1])
            out.update({k[len("CONFIG."):]: v for k, v in zip(words[::2], words[1::2])})
    return out


def _tcl_words(text: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in re.finditer(r"\{([^}]*)\}|(\S+)", text)]


@pytest.fixture(scope="module")
def project_for(rtl_projects, shell_dir, tmp_path_factory):
    """(net, board name) -> written Vivado project dir (module-wide cache)."""
    root = tmp_path_factory.mktemp("vivado")
    cache = {}

    def get(net, board):
        if (net, board) not in cache:
            cache[net, board] = vp.write_vivado_project(rtl_projects[net], root / f"{net}_{board}", BOARDS[board])
        return cache[net, board]
    return get


# ---- the script completes under the stand-in and asks for the right design ---------------------------------
@needs_tclsh
@pytest.mark.parametrize("board", ["Pynq-Z2", "ZCU104"])
@pytest.mark.parametrize("net", list(NETS))
def test_make_bitfile_under_stand_in(project_for, rtl_projects, net, board):
    check_make_bitfile_under_stand_in(project_for(net, board), rtl_projects[net], board)


def check_make_bitfile_under_stand_in(out: Path, rtl_dir: Path, board: str) -> list[str]:
    """Run ``out``/make_bitfile.tcl under the stand-in and check what it asked Vivado to do; returns the Vivado
    commands it used. Also run by hand on real builds (TFC on Pynq-Z2, LFC on ZCU104: see the session notes)."""
    b = BOARDS[board]
    man = json.loads((rtl_dir / "manifest.json").read_text())
    proc, cmds = run_stub(out)
    assert proc.returncode == 0, proc.stderr
    used = vivado_commands_used(out / "vivado_calls.jsonl")
    print(f"\nVivado commands used by make_bitfile.tcl ({board}): {', '.join(used)}")

    (create,) = calls(cmds, "create_project")
    assert opt(create, "-part") == b.part
    assert ["board_part", b.board_part, "vivado_proj"] in calls(cmds, "set_property")
    cells = {a[-1]: a for a in calls(cmds, "create_bd_cell")}
    ps_ip = "processing_system7" if b.ps == "zynq7" else "zynq_ultra_ps_e"
    ps_cell = "processing_system7_0" if b.ps == "zynq7" else "zynq_ultra_ps_e_0"
    assert opt(cells[ps_cell], "-vlnv") == vp.IP_VLNV[ps_ip]
    other_ps = vp.IP_VLNV["zynq_ultra_ps_e" if b.ps == "zynq7" else "processing_system7"]
    assert not any(other_ps in a for a in cells.values())
    (auto,) = calls(cmds, "apply_bd_automation")
    assert 'apply_board_preset "1"' in opt(auto, "-config")

    ps_cfg = config_of(cmds, ps_cell)
    if b.ps == "zynq7":
        assert ps_cfg["PCW_USE_S_AXI_HP0"] == "1" and ps_cfg["PCW_USE_M_AXI_GP0"] == "1"
        assert float(ps_cfg["PCW_FPGA0_PERIPHERAL_FREQMHZ"]) == b.fclk_mhz
        assert int(ps_cfg["PCW_S_AXI_HP0_DATA_WIDTH"]) == b.dma_port_bits
    else:
        assert ps_cfg["PSU__USE__S_AXI_GP2"] == "1" and ps_cfg["PSU__USE__M_AXI_GP0"] == "1"
        assert float(ps_cfg["PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"]) == b.fclk_mhz
        assert int(ps_cfg["PSU__SAXIGP2__DATA_WIDTH"]) == b.dma_port_bits

    assert opt(cells["axi_dma_0"], "-vlnv") == vp.IP_VLNV["axi_dma"]
    dma = config_of(cmds, "axi_dma_0")
    assert dma["c_include_sg"] == "0" and dma["c_sg_length_width"] == "26"
    assert dma["c_include_mm2s"] == "1" and dma["c_include_s2mm"] == "1"
    for k in ("c_m_axis_mm2s_tdata_width", "c_s_axis_s2mm_tdata_width", "c_m_axi_mm2s_data_width",
              "c_m_axi_s2mm_data_width"):
        assert int(dma[k]) == b.dma_port_bits, k

    accel = cells["accel_0"]
    assert opt(accel, "-type") == "module" and opt(accel, "-reference") == "accel_dma_shell"
    params = {k: int(v) for k, v in config_of(cmds, "accel_0").items()}
    s_axis, m_axis = man["ports"]["s_axis"], man["ports"]["m_axis"]
    assert params == {"DMA_W": b.dma_port_bits, "IN_W": s_axis["tdata_bits"], "IN_BEATS": s_axis["beats_per_image"],
                      "OUT_W": m_axis["tdata_bits"], "OUT_BEATS": m_axis["beats_per_image"]}

    for args in calls(cmds, "create_bd_cell"):  # every IP pinned, no wildcard
        if opt(args, "-type") == "ip":
            assert re.fullmatch(r"[\w.]+:[\w.]+:\w+:\d+\.\d+", opt(args, "-vlnv")), args
    assert all("*" not in " ".join(a) for a in calls(cmds, "get_ipdefs"))

    added = [Path(f) for args in calls(cmds, "add_files") for f in _tcl_words(args[-1])]
    assert all(f.is_file() for f in added)
    assert sorted(f.name for f in added) == sorted(p.name for p in (out / "src").iterdir()), "every source added"
    mems = set(man["files"]["memories"])
    assert any(a[:2] == ["file_type", "Memory Initialization Files"] and
               {Path(f).name for f in _tcl_words(a[2])} == mems for a in calls(cmds, "set_property"))

    assert ["impl_1", "-to_step", "write_bitstream", "-jobs", "4"] in calls(cmds, "launch_runs")
    assert ["impl_1"] in calls(cmds, "open_run")
    assert calls(cmds, "get_timing_paths") and ["SLACK", "timing_path:setup"] in calls(cmds, "get_property")
    assert ["SLACK", "timing_path:hold"] in calls(cmds, "get_property")
    assert (out / "accel.bit").is_file() and (out / "accel.hwh").is_file()
    return used


@needs_tclsh
@pytest.mark.parametrize("board", ["Pynq-Z2", "ZCU104"])
@pytest.mark.parametrize("env, needles", [
    ({"SURGE_STUB_SETUP_SLACK": "-0.137"}, ["timing not met", "setup slack -0.137"]),
    ({"SURGE_STUB_HOLD_SLACK": "-0.020"}, ["timing not met", "hold slack -0.020"]),
    ({"SURGE_STUB_SETUP_SLACK": "none"}, ["timing", "no constrained setup path (slack '')"]),
    ({"SURGE_STUB_HOLD_SLACK": "inf"}, ["timing", "no constrained hold path (slack 'inf')"]),
], ids=["setup", "hold", "no-path", "unconstrained"])
def test_timing_failure_is_an_error(project_for, board, env, needles):
    out = project_for("tfc_like", board)
    proc, _ = run_stub(out, **env)
    assert proc.returncode == 1
    assert all(n in proc.stderr for n in needles), proc.stderr
    assert "slack" in proc.stderr and not (out / "accel.bit").exists() and not (out / "accel.hwh").exists()


@needs_tclsh
@pytest.mark.parametrize("env, needle", [
    ({"SURGE_STUB_SYNTH_LOG": ("WARNING: [Synth 8-4445] could not open $readmem data file 'l1_fc0_weights.mem'; "
                               "please make sure the file is added to project and has read permission, ignoring")},
     ("could not read a ROM image, the bitfile would hold zeros: WARNING: [Synth 8-4445] could not open $readmem "
      "data file 'l1_fc0_weights.mem'")),
    ({"SURGE_STUB_FAIL_RUN": "synth_1"}, "synthesis failed (synth_design ERROR)"),
    ({"SURGE_STUB_FAIL_RUN": "impl_1"}, "implementation failed (write_bitstream ERROR)"),
    ({"SURGE_STUB_NO_BOARD_FILES": "1"}, "board files for tul.com.tw:pynq-z2:part0:1.0 not installed"),
], ids=["unread-rom", "synth-fails", "impl-fails", "no-board-files"])
def test_build_failures_are_errors(project_for, env, needle):
    out = project_for("tfc_like", "Pynq-Z2")
    proc, _ = run_stub(out, **env)
    assert proc.returncode == 1 and needle in proc.stderr, proc.stderr
    assert not (out / "accel.bit").exists()


@needs_tclsh
def test_board_repo_override(project_for, tmp_path):
    """SURGE_BOARD_REPO points Vivado at board files outside its own search path."""
    out = project_for("tfc_like", "ZCU104")
    proc, cmds = run_stub(out, SURGE_BOARD_REPO=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert calls(cmds, "set_param") == [["board.repoPaths", str(tmp_path)]]
    assert [c for c, _ in cmds].index("set_param") < [c for c, _ in cmds].index("create_project")


# ---- the stand-in is not a rubber stamp: edits that would break a Vivado build are caught ------------------
@needs_tclsh
@pytest.mark.parametrize("old, new, needle", [
    ("[get_bd_pins axi_dma_0/m_axi_s2mm_aclk] ", "", "clk pin /axi_dma_0/m_axi_s2mm_aclk is not connected"),
    ("axi_dma_0/S_AXI_LITE]", "axi_dma_0/S_AXI_LIT]", "needs two interface pins"),
    ("xilinx.com:ip:axi_dma:7.1 axi_dma_0", "xilinx.com:ip:axi_dma:* axi_dma_0", "must be pinned"),
    ("-to_step write_bitstream", "-to_stp write_bitstream", "unknown option '-to_stp'"),
    ("CONFIG.c_m_axis_mm2s_tdata_width {64}", "CONFIG.c_m_axis_mm2s_tdata_width {32}",
     "AXI-Stream /accel_0/s_axis is 64 bits wide, /axi_dma_0/M_AXIS_MM2S 32 bits"),
    ("CONFIG.c_include_sg {0}", "CONFIG.c_include_sg {1}", "m_axi_sg_aclk is not connected"),
    ("CONFIG.c_sg_length_width {26}", "CONFIG.c_sg_length_width {27}", "not an integer in 8..26"),
    ("CONFIG.c_sg_length_width {26}", "CONFIG.c_sg_length_widht {26}", "has no parameter C_SG_LENGTH_WIDHT"),
    ("CONFIG.DMA_W {64}", "CONFIG.DMA_WIDTH {64}", "accel_0 has no parameter DMA_WIDTH"),
    ("[get_bd_pins rst_pl/peripheral_aresetn]", "[get_bd_pins rst_pl/peripheral_reset]", "reset polarity"),
    ("assign_bd_address\n", "", "address segments unassigned"),
    ('make_external "FIXED_IO, DDR" ', "", "/processing_system7_0/DDR must be made external"),
    ("CONFIG.NUM_SI {2}", "CONFIG.NUM_SI {3}", "interface /mem_smc/S02_AXI is not connected"),
    ("set_property synth_checkpoint_mode None $bd_file", "", "set synth_checkpoint_mode None"),
    (("add_files -norecurse [src_paths $mem_files]\nset_property file_type {Memory Initialization Files} "
      "[get_files [src_paths $mem_files]]\n"), "", "is passed to an instance for $readmemh but is no Memory"),
    (" \\\n    axis_frame_out.v]", "]", "module axis_frame_out (instantiated in accel_dma_shell"),
    ("open_run impl_1", "open_run", "0 positional argument(s)"),
    ("set_property board_part $board_part [current_project]", "", "needs the project's board_part"),
    ("validate_bd_design\n", "", "validate_bd_design after the last change"),
], ids=lambda v: v if len(v) < 28 else v[:28])
def test_stand_in_catches_broken_scripts(project_for, tmp_path, old, new, needle):
    out = project_for("tfc_like", "Pynq-Z2")
    text = (out / "make_bitfile.tcl").read_text()
    assert old in text, old
    (out / "broken.tcl").write_text(text.replace(old, new, 1))
    try:
        proc, _ = run_stub(out, "broken.tcl")
    finally:
        (out / "broken.tcl").unlink()
    assert proc.returncode == 1 and needle in proc.stderr, proc.stderr


# ---- the Python side -------------------------------------------------------------------------------------------
def test_project_files(project_for, rtl_projects, shell_dir):
    out = project_for("tfc_like", "ZCU104")
    rtl = rtl_projects["tfc_like"]
    man = json.loads((rtl / "manifest.json").read_text())
    listed = [ln.strip() for ln in (rtl / "filelist.f").read_text().splitlines() if ln.strip()]
    expect = set(listed) | set(man["files"]["memories"]) | set(vp.SHELL_FILES)
    assert {p.name for p in (out / "src").iterdir()} == expect
    for name in listed + man["files"]["memories"]:
        assert (out / "src" / name).read_bytes() == (rtl / name).read_bytes()
    assert (out / "src" / "accel_dma_shell.v").read_bytes() == (shell_dir / "accel_dma_shell.v").read_bytes()
    readme = (out / "README.md").read_text()
    for needle in ("vivado -mode batch -source make_bitfile.tcl", f"Vivado {vp.VIVADO_RELEASE}",
                   "xilinx.com:zcu104:part0:1.1", "accel.bit", "accel.hwh", "SURGE_BOARD_REPO"):
        assert needle in readme, needle
    tcl = (out / "make_bitfile.tcl").read_text()
    vlnvs = re.findall(r"xilinx\.com:ip:[^\s\]]+", tcl)
    assert len(vlnvs) >= 5 and all(re.fullmatch(r"xilinx\.com:ip:\w+:\d+\.\d+", v) for v in vlnvs), vlnvs
    assert not list(out.parent.glob(f".{out.name}.*")), "temp dir left behind"


def test_deterministic_and_replaces_own_dir(rtl_projects, shell_dir, tmp_path):
    out = vp.write_vivado_project(rtl_projects["tfc_like"], tmp_path / "viv", BOARDS["Pynq-Z2"])
    first = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != vp.MARKER}
    (out / "vivado_proj").mkdir()  # as after a Vivado run: replaced with the rest
    again = vp.write_vivado_project(rtl_projects["tfc_like"], tmp_path / "viv", BOARDS["Pynq-Z2"])
    assert again == out and not (out / "vivado_proj").exists()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != vp.MARKER} == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["viv"]
    other = vp.write_vivado_project(rtl_projects["tfc_like"], tmp_path / "viv125", BOARDS["Pynq-Z2"], fclk_mhz=125)
    assert "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {125}" in (other / "make_bitfile.tcl").read_text()


def _copy_rtl(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_errors_name_cause_and_fix(rtl_projects, shell_dir, tmp_path):
    board = BOARDS["Pynq-Z2"]
    with pytest.raises(FileNotFoundError, match=r"rtl project .*nope not found: generate it with `surge-hw rtl"):
        vp.write_vivado_project(tmp_path / "nope", tmp_path / "o1", board)
    rtl = _copy_rtl(rtl_projects["tfc_like"], tmp_path / "rtl")
    (rtl / "manifest.json").rename(rtl / "manifest.bak")
    with pytest.raises(FileNotFoundError, match=r"manifest.json not found: .* regenerate it with `surge-hw rtl"):
        vp.write_vivado_project(rtl, tmp_path / "o2", board)
    (rtl / "manifest.bak").rename(rtl / "manifest.json")
    (rtl / "axis_dwc.v").unlink()
    with pytest.raises(FileNotFoundError, match=r"filelist.f:\d+: .*axis_dwc.v not found: .*regenerate"):
        vp.write_vivado_project(rtl, tmp_path / "o3", board)
    shutil.copyfile(rtl_projects["tfc_like"] / "axis_dwc.v", rtl / "axis_dwc.v")
    (rtl / "l1_fc0_weights.mem").unlink()
    with pytest.raises(FileNotFoundError, match=r"l1_fc0_weights.mem \(a ROM image listed in .*\) not found"):
        vp.write_vivado_project(rtl, tmp_path / "o4", board)
    shutil.copyfile(rtl_projects["tfc_like"] / "l1_fc0_weights.mem", rtl / "l1_fc0_weights.mem")
    (rtl / "axis_fifo.v").write_text((rtl / "axis_fifo.v").read_text() + "// edited\n")
    with pytest.raises(ValueError, match=r"axis_fifo.v differs from .* regenerate the rtl project"):
        vp.write_vivado_project(rtl, tmp_path / "o5", board)
    shutil.copyfile(rtl_projects["tfc_like"] / "axis_fifo.v", rtl / "axis_fifo.v")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not written by write_vivado_project"):
        vp.write_vivado_project(rtl, tmp_path / "mine", board)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    with pytest.raises(ValueError, match="fclk_mhz=0 out of range"):
        vp.write_vivado_project(rtl, tmp_path / "o6", board, fclk_mhz=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "rtl"], "nothing half-written"


def test_missing_shell_is_an_error(rtl_projects, tmp_path, monkeypatch):
    monkeypatch.setattr(vp, "SHELL_DIR", tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match=
                       r"accel_dma_shell.v not found: the DMA shell .* update the checkout"):
        vp.write_vivado_project(rtl_projects["tfc_like"], tmp_path / "o", BOARDS["ZCU104"])
    assert not (tmp_path / "o").exists()


@needs_tclsh
def test_systemverilog_sources(rtl_projects, shell_dir, tmp_path):
    """.sv files of the filelist (FINN's sliding window in CNV designs) are added as SystemVerilog."""
    rtl = _copy_rtl(rtl_projects["tfc_like"], tmp_path / "rtl")
    (rtl / "extra_pkg.sv").write_text("package extra_pkg;\n  localparam int W = 8;\nendpackage\n")
    (rtl / "filelist.f").write_text("extra_pkg.sv\n" + (rtl / "filelist.f").read_text())
    out = vp.write_vivado_project(rtl, tmp_path / "viv", BOARDS["Pynq-Z2"])
    proc, cmds = run_stub(out)
    assert proc.returncode == 0, proc.stderr
    sv = [a for a in calls(cmds, "set_property") if a[:2] == ["file_type", "SystemVerilog"]]
    assert len(sv) == 1 and Path(sv[0][2]).name == "extra_pkg.sv"
