"""A Vivado project for the open RTL: ``src/`` + ``make_bitfile.tcl`` + ``README.md`` in one directory.

``write_vivado_project(rtl_dir, out_dir, board)`` copies the verified RTL project (every file of its
``filelist.f`` and every ROM image of its manifest) and the DMA shell (``accel_dma_shell`` and the blocks it
uses, from ``surge_hw/rtl/verilog/``) into ``out_dir/src/`` and writes a Tcl script that, run in ``out_dir``
with ``vivado -mode batch -source make_bitfile.tcl``, builds the PYNQ overlay pair ``accel.bit`` +
``accel.hwh``: Zynq PS + AXI DMA (``axi_dma_0``, simple mode) + the shell as a module reference, one PL
clock, and a timing check that fails the build on negative slack. The script is plain text with every
value baked in (board, part, parameters, file names), so the same inputs give the same bytes.

Nothing here runs Vivado; ``tests/vivado_stub/`` is a recording stand-in that checks the script's commands
against their documented signatures and a small model of the block design.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from ..artefacts import building_dir
from ..boards import Board

VIVADO_RELEASE = "2022.2"
# The IP versions Vivado 2022.2 ships (no wildcards: another release stops at the catalogue check in the
# script, naming the missing IP, instead of silently building with a different IP version).
IP_VLNV = {
    "processing_system7": "xilinx.com:ip:processing_system7:5.5",
    "zynq_ultra_ps_e": "xilinx.com:ip:zynq_ultra_ps_e:3.4",
    "axi_dma": "xilinx.com:ip:axi_dma:7.1",
    "proc_sys_reset": "xilinx.com:ip:proc_sys_reset:5.0",
    "smartconnect": "xilinx.com:ip:smartconnect:1.0",
}
SHELL_DIR = Path(__file__).resolve().parents[1] / "rtl" / "verilog"
SHELL_FILES = ("accel_dma_shell.v", "axis_frame_in.v", "axis_frame_out.v", "axis_fifo.v")
SHELL_MODULE = "accel_dma_shell"
MARKER = ".surge_vivado_project"  # marks a directory this module wrote (and may therefore replace)

# Per PS type: cell name, the automation rule, the PS ports the design uses and the CONFIG that enables them.
_PS = {
    "zynq7": {
        "ip": "processing_system7", "cell": "processing_system7_0",
        "rule": "xilinx.com:bd_rule:processing_system7",
        # make_external: DDR and the MIO pins become top-level ports of the wrapper (the board's PS pins)
        "automation": 'make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"',
        "master": "M_AXI_GP0", "slave": "S_AXI_HP0", "clk": "FCLK_CLK0", "resetn": "FCLK_RESET0_N",
        "port_clocks": ("M_AXI_GP0_ACLK", "S_AXI_HP0_ACLK"), "dma_addr_bits": 32,
        "config": lambda dma_w, mhz: [
            ("PCW_USE_M_AXI_GP0", "1"), ("PCW_USE_S_AXI_HP0", "1"), ("PCW_S_AXI_HP0_DATA_WIDTH", dma_w),
            ("PCW_EN_CLK0_PORT", "1"), ("PCW_EN_RST0_PORT", "1"), ("PCW_FPGA0_PERIPHERAL_FREQMHZ", mhz)]},
    "zynq_us+": {
        "ip": "zynq_ultra_ps_e", "cell": "zynq_ultra_ps_e_0", "rule": "xilinx.com:bd_rule:zynq_ultra_ps_e",
        "automation": 'apply_board_preset "1"',
        "master": "M_AXI_HPM0_FPD", "slave": "S_AXI_HP0_FPD", "clk": "pl_clk0", "resetn": "pl_resetn0",
        "port_clocks": ("maxihpm0_fpd_aclk", "saxihp0_fpd_aclk"), "dma_addr_bits": 64,
        # GP0 = M_AXI_HPM0_FPD on, GP1 (HPM1_FPD) and GP2 (HPM0_LPD) off whatever the preset enabled (an
        # enabled port needs its clock wired); S_AXI_GP2 = S_AXI_HP0_FPD. BASIC_CLOCK 0 lets PL0 be set.
        "config": lambda dma_w, mhz: [
            ("PSU__USE__M_AXI_GP0", "1"), ("PSU__USE__M_AXI_GP1", "0"), ("PSU__USE__M_AXI_GP2", "0"),
            ("PSU__USE__S_AXI_GP2", "1"), ("PSU__SAXIGP2__DATA_WIDTH", dma_w), ("PSU__FPGA_PL0_ENABLE", "1"),
            ("PSU__OVERRIDE__BASIC_CLOCK", "0"), ("PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ", mhz)]},
}

# Where the board files come from, by board-file vendor (the board_part's first field).
_BOARD_FILES = {
    "xilinx.com": "AMD/Xilinx board files: shipped with Vivado, or Vivado > Tools > Vivado Store > Boards",
    "tul.com.tw": "TUL's PYNQ-Z2 board files: Vivado Store > Boards, or the pynq-z2 folder of "
                  "github.com/Xilinx/XilinxBoardStore",
    "www.digilentinc.com": "Digilent's board files: github.com/Digilent/vivado-boards",
    "avnet.com": "Avnet's board files: Vivado Store > Boards, or github.com/Avnet/bdf",
    "realdigital.org": "Real Digital's board files: Vivado Store > Boards",
}


def _fmt_mhz(mhz: float) -> str:
    return str(int(mhz)) if float(mhz).is_integer() else f"{mhz:g}"


def _read_manifest(rtl_dir: Path) -> dict:
    if not rtl_dir.is_dir():
        raise FileNotFoundError(f"rtl project {rtl_dir} not found: generate it with `surge-hw rtl BUILD` "
                                f"(or surge_hw.rtl.generate.generate_rtl) first")
    path = rtl_dir / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {rtl_dir} is not a generated rtl project; regenerate it "
                                f"with `surge-hw rtl BUILD`")
    man = json.loads(path.read_text())
    try:
        for port in ("s_axis", "m_axis"):
            for key in ("tdata_bits", "beats_per_image"):
                int(man["ports"][port][key])
        man["files"]["memories"]
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} lacks ports.s_axis/m_axis.tdata_bits/beats_per_image or files.memories "
                         f"({err!r}): regenerate the rtl project with `surge-hw rtl BUILD`") from None
    return man


def _filelist(rtl_dir: Path, man: dict) -> list[Path]:
    flist = rtl_dir / man["files"].get("filelist", "filelist.f")
    if not flist.is_file():
        raise FileNotFoundError(f"{flist} not found: regenerate the rtl project with `surge-hw rtl BUILD`")
    files = []
    for n, line in enumerate(flist.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("//", "#")):
            continue
        if line.startswith(("+", "-")):
            raise ValueError(f"{flist}:{n}: option {line!r} not supported (only source file names): "
                             f"regenerate the rtl project with `surge-hw rtl BUILD`")
        path = rtl_dir / line
        if not path.is_file():
            raise FileNotFoundError(f"{flist}:{n}: {path} not found: the rtl project is incomplete; "
                                    f"regenerate it with `surge-hw rtl BUILD`")
        if path.suffix not in (".v", ".sv"):
            raise ValueError(f"{flist}:{n}: {line} is neither Verilog (.v) nor SystemVerilog (.sv); "
                             f"only those are supported")
        files.append(path)
    return files


def _collect_sources(rtl_dir: Path, man: dict) -> tuple[list[Path], list[Path]]:
    """(HDL files in compile order: rtl project's then the shell's, memory files); one per bare name."""
    hdl = _filelist(rtl_dir, man)
    mems = []
    for name in man["files"]["memories"]:
        path = rtl_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} (a ROM image listed in {rtl_dir / 'manifest.json'}) not found: "
                                    f"regenerate the rtl project with `surge-hw rtl BUILD`")
        mems.append(path)
    by_name = {}
    for path in hdl + mems:
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+", path.name):
            raise ValueError(f"source name {path.name!r} has characters the Tcl script cannot carry unquoted; "
                             f"use letters, digits, '_', '.', '-'")
        if path.name in by_name:
            raise ValueError(f"two sources named {path.name} ({by_name[path.name]}, {path}): synthesis finds "
                             f"files by bare name, so names must be unique")
        by_name[path.name] = path
    for name in SHELL_FILES:
        path = SHELL_DIR / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: the DMA shell ({', '.join(SHELL_FILES)}) is part of "
                                    f"surge_hw/rtl/verilog/; update the checkout")
        if name in by_name:  # axis_fifo.v: the rtl project already carries a copy
            if by_name[name].read_bytes() != path.read_bytes():
                raise ValueError(f"{by_name[name]} differs from {path} (two versions of one module): "
                                 f"regenerate the rtl project with `surge-hw rtl BUILD` so both are the same")
            continue
        by_name[name] = path
        hdl.append(path)
    if f"module {SHELL_MODULE}" not in (SHELL_DIR / "accel_dma_shell.v").read_text():
        raise ValueError(f"{SHELL_DIR / 'accel_dma_shell.v'} defines no module {SHELL_MODULE}")
    return hdl, mems


def accel_params(man: dict, board: Board) -> dict:
    """The shell's parameters: DMA_W from the board, the rest from the rtl project's manifest."""
    s, m = man["ports"]["s_axis"], man["ports"]["m_axis"]
    return {"DMA_W": int(board.dma_port_bits), "IN_W": int(s["tdata_bits"]), "IN_BEATS": int(s["beats_per_image"]),
            "OUT_W": int(m["tdata_bits"]), "OUT_BEATS": int(m["beats_per_image"])}


def _used_vlnvs(board: Board) -> list[str]:
    return [IP_VLNV[k] for k in (_PS[board.ps]["ip"], "axi_dma", "proc_sys_reset", "smartconnect")]


def render_make_bitfile(man: dict, board: Board, fclk_mhz: float, hdl: list[str], mems: list[str]) -> str:
    ps = _PS[board.ps]
    dma_w = str(board.dma_port_bits)
    mhz = _fmt_mhz(fclk_mhz)
    params = accel_params(man, board)
    verilog = [f for f in hdl if f.endswith(".v")]
    sv = [f for f in hdl if f.endswith(".sv")]
    ps_config = " \\\n    ".join(f"CONFIG.{k} {{{v}}}" for k, v in ps["config"](dma_w, mhz))
    accel_config = " ".join(f"CONFIG.{k} {{{v}}}" for k, v in params.items())
    ps_vlnv = IP_VLNV[ps["ip"]]
    used_vlnvs = _used_vlnvs(board)
    vendor = board.board_part.split(":")[0]
    fill = {
        "ACCEL": man.get("accelerator", "?"), "BOARD": board.name, "PART": board.part,
        "BOARD_PART": board.board_part, "FCLK": mhz, "DMA_W": dma_w,
        "RELEASE": VIVADO_RELEASE, "USED_VLNVS": " \\\n    ".join(used_vlnvs),
        "VERILOG": " \\\n    ".join(verilog), "SV": " \\\n    ".join(sv), "MEMS": " \\\n    ".join(mems),
        "PS_VLNV": ps_vlnv, "PS": ps["cell"], "PS_RULE": ps["rule"], "PS_AUTOMATION": ps["automation"],
        "PS_CONFIG": ps_config, "PS_MASTER": ps["master"], "PS_SLAVE": ps["slave"], "PL_CLK": ps["clk"],
        "PL_RESETN": ps["resetn"], "PS_PORT_CLOCKS": " ".join(f"[get_bd_pins $ps/{p}]" for p in ps["port_clocks"]),
        "DMA_ADDR": str(ps["dma_addr_bits"]), "DMA_VLNV": IP_VLNV["axi_dma"],
        "RESET_VLNV": IP_VLNV["proc_sys_reset"], "SMC_VLNV": IP_VLNV["smartconnect"],
        "ACCEL_CONFIG": accel_config, "SHELL": SHELL_MODULE,
        "BOARD_FILES": _BOARD_FILES.get(vendor, f"{vendor}'s board files: see the vendor's site"),
    }
    text = _TCL
    for key, value in fill.items():
        text = text.replace(f"@{key}@", value)
    assert not re.search(r"@[A-Z_]+@", text), "unfilled placeholder"
    return text


def render_readme(man: dict, board: Board, fclk_mhz: float) -> str:
    vendor = board.board_part.split(":")[0]
    p = accel_params(man, board)
    return f"""# Vivado project: {man.get('accelerator', '?')} on {board.name}

Generated by `surge_hw.deploy.vivado_project` from a verified rtl project; regenerate rather than edit.

**Run** on a machine with Vivado {VIVADO_RELEASE} installed (Linux or Windows; not on the board), in this
directory:

```bash
vivado -mode batch -source make_bitfile.tcl
```

- **Vivado {VIVADO_RELEASE}**: every IP is pinned to the version that release ships
  ({', '.join(_used_vlnvs(board))}); another release stops at the IP catalogue check naming the
  missing IP.
- **Board files** for `{board.board_part}` must be installed
  ({_BOARD_FILES.get(vendor, vendor + "'s board files")}).
  If they are in a folder Vivado does not search, run with `SURGE_BOARD_REPO=/path/to/boards` set.
- Part `{board.part}`, PL clock {_fmt_mhz(fclk_mhz)} MHz from the PS, AXI DMA `axi_dma_0` (simple mode,
  {p['DMA_W']}-bit streams, 26-bit length register), accelerator `accel_0` = module reference
  `{SHELL_MODULE}` with DMA_W={p['DMA_W']} IN_W={p['IN_W']} IN_BEATS={p['IN_BEATS']} OUT_W={p['OUT_W']}
  OUT_BEATS={p['OUT_BEATS']}. Takes tens of minutes (synthesis + implementation).

**Produces** `accel.bit` + `accel.hwh` (the PYNQ overlay pair: copy both next to the deploy package's
`driver.py`), `timing_summary.rpt`, `utilization.rpt`, and the Vivado project in `vivado_proj/`.
The script exits with an error, and writes no `accel.bit`, when timing is not met (negative setup slack:
regenerate with a lower `fclk_mhz`, `surge_hw.deploy.vivado_project.write_vivado_project(..., fclk_mhz=...)`;
negative hold slack), when synthesis could not read a ROM image (`.mem`), or when a run fails.

`src/` holds copies of the rtl project's sources and ROM images and of the DMA shell.
"""


def write_vivado_project(rtl_dir: str | os.PathLike, out_dir: str | os.PathLike, board: Board,
                         fclk_mhz: float | None = None) -> Path:
    """Write ``out_dir`` (src/, make_bitfile.tcl, README.md) for ``rtl_dir`` on ``board``; return its path.

    ``out_dir`` is replaced atomically; an existing directory is replaced only if this function wrote it.
    Raises FileNotFoundError / ValueError naming the cause and the fix.
    """
    rtl_dir, out_dir = Path(rtl_dir).resolve(), Path(out_dir).resolve()
    fclk = float(board.fclk_mhz if fclk_mhz is None else fclk_mhz)
    if not 0 < fclk <= 500:
        raise ValueError(f"fclk_mhz={fclk_mhz} out of range: the PS PL clock is 0 < f <= 500 MHz")
    if board.ps not in _PS:
        raise ValueError(f"board {board.name}: PS type {board.ps!r} unknown here (know {', '.join(_PS)})")
    man = _read_manifest(rtl_dir)
    hdl, mems = _collect_sources(rtl_dir, man)
    if out_dir == rtl_dir or rtl_dir.is_relative_to(out_dir) or out_dir.is_relative_to(rtl_dir):
        raise ValueError(f"out_dir {out_dir} overlaps the rtl project {rtl_dir}: choose a separate directory")
    if out_dir.exists() and not (out_dir / MARKER).is_file():
        raise FileExistsError(f"{out_dir} exists and was not written by write_vivado_project: choose another "
                              f"output directory or remove it")
    with building_dir(out_dir) as tmp:
        (tmp / "src").mkdir()
        for path in hdl + mems:
            shutil.copyfile(path, tmp / "src" / path.name)
        (tmp / "make_bitfile.tcl").write_text(
            render_make_bitfile(man, board, fclk, [p.name for p in hdl], [p.name for p in mems]))
        (tmp / "README.md").write_text(render_readme(man, board, fclk))
        (tmp / MARKER).write_text(json.dumps({"accelerator": man.get("accelerator"), "board": board.name,
                                              "rtl_dir": str(rtl_dir)}) + "\n")
    return out_dir


_TCL = r"""# make_bitfile.tcl: PYNQ overlay (accel.bit + accel.hwh) for accelerator '@ACCEL@' on @BOARD@.
#
# Generated by surge_hw.deploy.vivado_project; regenerate rather than edit. Run in this directory:
#     vivado -mode batch -source make_bitfile.tcl
# Written for Vivado @RELEASE@: every IP is pinned to the version that release ships.
# Block design: Zynq PS -> SmartConnect -> AXI DMA axi_dma_0 (simple mode) -> @SHELL@ (module reference:
# the verified RTL in src/) -> DMA -> SmartConnect -> PS HP port; one PL clock and one reset from the PS.
# Fails (Tcl error, non-zero exit, no accel.bit) on negative setup/hold slack or a ROM image synthesis
# could not read.

# ---- settings: from surge_hw/boards.py and the rtl project's manifest.json ------------------------------
set vivado_release "@RELEASE@"
set fpga_part      "@PART@"
set board_part     "@BOARD_PART@"
set fclk_mhz       @FCLK@
set dma_w          @DMA_W@
set jobs           4  ;# parallel runs; results do not depend on it

# The IP this design instantiates, as Vivado @RELEASE@ ships them (vendor:library:name:version).
set used_vlnvs [list \
    @USED_VLNVS@]

set here     [file dirname [file normalize [info script]]]
set src_dir  [file join $here src]
set proj_dir [file join $here vivado_proj]

# Sources, copied into src/ by write_vivado_project: the rtl project's filelist.f (compile order) + shell.
set verilog_files [list \
    @VERILOG@]
set sv_files [list \
    @SV@]
# ROM images (weights, thresholds), read by $readmemh by bare name.
set mem_files [list \
    @MEMS@]

proc fail {msg} { error "make_bitfile.tcl: $msg" }
proc src_paths {names} {
    global src_dir
    set out {}
    foreach n $names { lappend out [file join $src_dir $n] }
    return $out
}

# A failed run must not leave a previous run's bitfile looking like this one's.
file delete -force [file join $here accel.bit] [file join $here accel.hwh]

# ---- 1. project: part, board files, IP catalogue --------------------------------------------------------
if {[string first $vivado_release [version -short]] != 0} {
    puts "WARNING: make_bitfile.tcl was written for Vivado $vivado_release, this is [version -short];\
          the pinned IP versions may be missing from its catalogue"
}
if {[info exists ::env(SURGE_BOARD_REPO)]} {
    set_param board.repoPaths [list $::env(SURGE_BOARD_REPO)]
}
create_project -force vivado_proj $proj_dir -part $fpga_part
if {[llength [get_board_parts -quiet $board_part]] == 0} {
    fail "board files for $board_part not installed. Install @BOARD_FILES@;\
          or set SURGE_BOARD_REPO to the folder that holds them"
}
set_property board_part $board_part [current_project]
foreach vlnv $used_vlnvs {
    if {[llength [get_ipdefs -all $vlnv]] == 0} {
        fail "IP $vlnv not in this Vivado's catalogue: use Vivado $vivado_release (the release these\
              IP versions come from)"
    }
}

# ---- 2. sources ---------------------------------------------------------------------------------------
add_files -norecurse [src_paths $verilog_files]
if {[llength $sv_files] > 0} {
    add_files -norecurse [src_paths $sv_files]
    set_property file_type SystemVerilog [get_files [src_paths $sv_files]]
}
# ROM images: $readmemh("l1_fc0_weights.mem") names them bare. Added to sources_1 as Memory Initialization
# Files, project-mode synthesis reads them (read_mem in the run script) and resolves the bare names; the
# block design is synthesised globally (synth_checkpoint_mode None, step 4) so the module reference's RTL
# is elaborated in synth_1 together with these files instead of in an out-of-context run that might not
# see them. Step 5 fails the build if synthesis still reports an unreadable ROM image (Synth 8-4445:
# Vivado would otherwise continue with all-zero ROMs).
add_files -norecurse [src_paths $mem_files]
set_property file_type {Memory Initialization Files} [get_files [src_paths $mem_files]]
update_compile_order -fileset sources_1

# ---- 3. block design ------------------------------------------------------------------------------------
create_bd_design top

# Zynq PS with the board's preset (DDR, MIO, clocks), then the ports this design uses.
set ps @PS@
create_bd_cell -type ip -vlnv @PS_VLNV@ $ps
apply_bd_automation -rule @PS_RULE@ -config {@PS_AUTOMATION@} [get_bd_cells $ps]
set_property -dict [list \
    @PS_CONFIG@] [get_bd_cells $ps]

# AXI DMA, simple mode (no scatter-gather: the PYNQ DMA driver's mode), both directions, streams and memory
# ports @DMA_W@ bits wide (the PS HP port's native width), 26-bit length register (transfers up to 64 MiB).
create_bd_cell -type ip -vlnv @DMA_VLNV@ axi_dma_0
set_property -dict [list \
    CONFIG.c_include_sg {0} CONFIG.c_sg_include_stscntrl_strm {0} CONFIG.c_sg_length_width {26} \
    CONFIG.c_include_mm2s {1} CONFIG.c_include_s2mm {1} CONFIG.c_addr_width {@DMA_ADDR@} \
    CONFIG.c_m_axi_mm2s_data_width {@DMA_W@} CONFIG.c_m_axis_mm2s_tdata_width {@DMA_W@} \
    CONFIG.c_m_axi_s2mm_data_width {@DMA_W@} CONFIG.c_s_axis_s2mm_tdata_width {@DMA_W@}] [get_bd_cells axi_dma_0]

# The accelerator: the shell around the generated accel_top, as an RTL module reference.
create_bd_cell -type module -reference @SHELL@ accel_0
set_property -dict [list @ACCEL_CONFIG@] [get_bd_cells accel_0]

# Control path PS master -> DMA registers; data path DMA masters -> PS HP port (DDR).
create_bd_cell -type ip -vlnv @SMC_VLNV@ ctrl_smc
set_property -dict [list CONFIG.NUM_SI {1} CONFIG.NUM_MI {1}] [get_bd_cells ctrl_smc]
create_bd_cell -type ip -vlnv @SMC_VLNV@ mem_smc
set_property -dict [list CONFIG.NUM_SI {2} CONFIG.NUM_MI {1}] [get_bd_cells mem_smc]
create_bd_cell -type ip -vlnv @RESET_VLNV@ rst_pl

connect_bd_intf_net [get_bd_intf_pins $ps/@PS_MASTER@] [get_bd_intf_pins ctrl_smc/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins ctrl_smc/M00_AXI] [get_bd_intf_pins axi_dma_0/S_AXI_LITE]
connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXI_MM2S] [get_bd_intf_pins mem_smc/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXI_S2MM] [get_bd_intf_pins mem_smc/S01_AXI]
connect_bd_intf_net [get_bd_intf_pins mem_smc/M00_AXI] [get_bd_intf_pins $ps/@PS_SLAVE@]
connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXIS_MM2S] [get_bd_intf_pins accel_0/s_axis]
connect_bd_intf_net [get_bd_intf_pins accel_0/m_axis] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]

# One clock domain: the PS's PL clock (@FCLK@ MHz) clocks the PS ports, DMA, SmartConnects and accelerator.
connect_bd_net [get_bd_pins $ps/@PL_CLK@] @PS_PORT_CLOCKS@ \
    [get_bd_pins axi_dma_0/s_axi_lite_aclk] [get_bd_pins axi_dma_0/m_axi_mm2s_aclk] \
    [get_bd_pins axi_dma_0/m_axi_s2mm_aclk] [get_bd_pins ctrl_smc/aclk] [get_bd_pins mem_smc/aclk] \
    [get_bd_pins accel_0/ap_clk] [get_bd_pins rst_pl/slowest_sync_clk]
# Resets: the PS's PL reset, synchronised by proc_sys_reset (active low everywhere).
connect_bd_net [get_bd_pins $ps/@PL_RESETN@] [get_bd_pins rst_pl/ext_reset_in]
connect_bd_net [get_bd_pins rst_pl/peripheral_aresetn] [get_bd_pins axi_dma_0/axi_resetn] \
    [get_bd_pins accel_0/ap_rst_n]
connect_bd_net [get_bd_pins rst_pl/interconnect_aresetn] [get_bd_pins ctrl_smc/aresetn] \
    [get_bd_pins mem_smc/aresetn]

assign_bd_address
validate_bd_design
save_bd_design

# ---- 4. top level: the block design's HDL wrapper ------------------------------------------------------
set bd_file [get_files top.bd]
set_property synth_checkpoint_mode None $bd_file  ;# global synthesis (see the ROM images note, step 2)
make_wrapper -files $bd_file -top -import
set_property top top_wrapper [current_fileset]
update_compile_order -fileset sources_1

# ---- 5. synthesis; every ROM image read --------------------------------------------------------------------
launch_runs synth_1 -jobs $jobs
wait_on_run synth_1
set synth_dir [get_property DIRECTORY [get_runs synth_1]]
if {[get_property PROGRESS [get_runs synth_1]] ne "100%"} {
    fail "synthesis failed ([get_property STATUS [get_runs synth_1]]): see $synth_dir/runme.log"
}
set fh [open [file join $synth_dir runme.log] r]
set synth_log [read $fh]
close $fh
if {[regexp {[^\n]*Synth 8-4445[^\n]*} $synth_log unread]} {
    fail "synthesis could not read a ROM image, the bitfile would hold zeros: $unread"
}

# ---- 6. implementation to bitstream ------------------------------------------------------------------------
launch_runs impl_1 -to_step write_bitstream -jobs $jobs
wait_on_run impl_1
set impl_dir [get_property DIRECTORY [get_runs impl_1]]
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
    fail "implementation failed ([get_property STATUS [get_runs impl_1]]): see $impl_dir/runme.log"
}

# ---- 7. timing: the routed design must meet @FCLK@ MHz (setup and hold) ------------------------------------
open_run impl_1
report_timing_summary -max_paths 10 -file [file join $here timing_summary.rpt]
report_utilization -file [file join $here utilization.rpt]
proc worst_slack {delay_type} {
    set paths [get_timing_paths -delay_type $delay_type -max_paths 1 -nworst 1]
    if {[llength $paths] == 0} { return "" }
    return [get_property SLACK $paths]
}
set setup_slack [worst_slack max]
set hold_slack  [worst_slack min]
foreach {check slack} [list setup $setup_slack hold $hold_slack] {
    # a number, not "" (no path) or "inf" (unconstrained path)
    if {![regexp {^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$} $slack]} {
        fail "timing: no constrained $check path (slack '$slack'): the PL clock is not constrained"
    }
    if {$slack < 0 && $check eq "setup"} {
        fail "timing not met at $fclk_mhz MHz: worst setup slack $slack ns (negative); see\
              timing_summary.rpt, then lower fclk_mhz or pipeline the critical path"
    }
    if {$slack < 0} {
        fail "timing not met at $fclk_mhz MHz: worst hold slack $slack ns (negative); a slower clock\
              does not fix hold: see timing_summary.rpt and the clocking of the failing path"
    }
}
puts "make_bitfile.tcl: timing met at $fclk_mhz MHz (worst setup slack $setup_slack ns, hold $hold_slack ns)"

# ---- 8. the overlay pair -----------------------------------------------------------------------------------
file copy -force [file join $impl_dir top_wrapper.bit] [file join $here accel.bit]
# The hardware handoff is under .gen (Vivado 2020.2 and later) or .srcs (older releases).
set hwh [glob -nocomplain \
    [file join $proj_dir vivado_proj.gen sources_1 bd top hw_handoff top.hwh] \
    [file join $proj_dir vivado_proj.srcs sources_1 bd top hw_handoff top.hwh]]
if {[llength $hwh] == 0} {
    fail "top.hwh not found under $proj_dir: the block design's output products were not generated"
}
file copy -force [lindex $hwh 0] [file join $here accel.hwh]
puts "make_bitfile.tcl: wrote [file join $here accel.bit] and [file join $here accel.hwh]"
close_project
"""
