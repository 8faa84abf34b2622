"""The Vivado/Vitis end of the FINN stage: HLS/RTL code generation (python only), build config, bitfile.

Without Vivado/Vitis on PATH we still produce everything that needs only python: the folded graph, the
estimates, the per-layer HLS C++ / Verilog sources (FINN's ``PrepareIP``) and a ready-to-run FINN
``build_dataflow`` config. HLS synthesis, IP stitching and the bitfile need the Xilinx tools.
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from .errors import FinnFlowError
from .passes import is_hw_node
from ..artefacts import write_text_atomic
from ..boards import BOARDS as BOARD_TABLE

BOARDS = {name: b.part for name, b in BOARD_TABLE.items()}  # board -> part (the table: surge_hw/boards.py)
CONFIG_NAME = "dataflow_build_config.json"
FOLDING_CONFIG_NAME = "folding_config.json"
FOLDED_NAME = "folded.onnx"
# FINN build steps that continue from our folded, specialized dataflow graph to a PYNQ deployment package
BITFILE_STEPS = [
    "step_apply_folding_config",
    "step_generate_estimate_reports",
    "step_generate_hardware",      # HLS/RTL codegen + IP generation (Vitis HLS) + FIFO sizing (rtlsim)
    "step_create_stitched_ip",
    "step_prepare_synthesis",
    "step_synthesize_bitfile",     # Vivado: Zynq shell, synthesis, place & route -> .bit/.hwh
    "step_make_driver",
    "step_deployment_package",
]
FOLDING_ATTRS = ["PE", "SIMD", "parallel_window", "ram_style", "ram_style_thresholds", "mem_mode", "resType"]


def board_part(board: str) -> str:
    if board not in BOARDS:
        raise FinnFlowError("config", f"board {board!r} not supported; choose one of {', '.join(BOARDS)}")
    return BOARDS[board]


def vivado_status() -> dict:
    """Where the Xilinx tools are (None if absent) and whether a bitfile build can run."""
    status = {
        "vivado": shutil.which("vivado"),
        "vitis_hls": shutil.which("vitis_hls") or shutil.which("vitis-hls"),
        "XILINX_VIVADO": os.environ.get("XILINX_VIVADO"),
        "XILINX_VITIS": os.environ.get("XILINX_VITIS") or os.environ.get("XILINX_HLS"),
    }
    status["available"] = bool(status["vivado"] and status["vitis_hls"])
    return status


def vivado_available() -> bool:
    """True if ``vivado`` and ``vitis_hls`` (or ``vitis-hls``) are on PATH."""
    return vivado_status()["available"]


@contextlib.contextmanager
def finn_build_dir(path: Path):
    """Point FINN's code generators (``make_build_dir``) at ``path`` for the duration of the block."""
    from finn.interface.settings import FINNSettings
    from finn.util import settings as finn_settings

    path.mkdir(parents=True, exist_ok=True)
    saved_settings = finn_settings._SETTINGS
    saved_env = os.environ.get("FINN_BUILD_DIR")
    try:
        if saved_settings is None:
            finn_settings._SETTINGS = FINNSettings.init(flow_config=path / "dummy.yaml",
                                                        finn_build_dir=str(path),
                                                        auto_set_environment_vars=False)
        else:
            saved_dir = saved_settings._finn_build_dir
            saved_settings._finn_build_dir = str(path)
        yield path
    finally:
        if saved_settings is None:
            finn_settings._SETTINGS = None
        else:
            saved_settings._finn_build_dir = saved_dir
        if saved_env is None:
            os.environ.pop("FINN_BUILD_DIR", None)
        else:
            os.environ["FINN_BUILD_DIR"] = saved_env


def generate_ip_sources(folded: ModelWrapper, ipgen_dir: Path, final_ipgen_dir: Path, fpgapart: str,
                        clk_ns: float) -> tuple[bool, str]:
    """FINN's ``PrepareIP`` (python-only code generation: HLS C++ + tcl, RTL Verilog, weight/threshold memory
    files) into ``ipgen_dir/<node name>/``. ``final_ipgen_dir`` is where that directory will live after the
    build is moved into place; the saved ``ipgen.onnx`` points there. Returns (ok, message)."""
    from finn.transformation.fpgadataflow.prepare_ip import PrepareIP

    model = ModelWrapper(copy.deepcopy(folded.model))
    scratch = ipgen_dir / ".finn_scratch"
    try:
        with finn_build_dir(scratch):
            model = model.transform(PrepareIP(fpgapart, clk_ns))
    except Exception as e:  # e.g. a layer whose codegen calls a Xilinx tool
        shutil.rmtree(ipgen_dir, ignore_errors=True)
        return False, f"skipped HW code generation (PrepareIP): {type(e).__name__}: {e}"
    for node in model.graph.node:
        if not is_hw_node(node):
            continue
        inst = getCustomOp(node)
        src = inst.get_nodeattr("code_gen_dir_ipgen")
        if src and Path(src).is_dir():
            os.replace(src, ipgen_dir / node.name)
            (ipgen_dir / node.name).chmod(0o755)
            inst.set_nodeattr("code_gen_dir_ipgen", str(final_ipgen_dir / node.name))
    shutil.rmtree(scratch, ignore_errors=True)
    model.save(str(ipgen_dir / "ipgen.onnx"))
    return True, (f"HLS C++/tcl and RTL sources for {sum(1 for n in model.graph.node if is_hw_node(n))} layers "
                  f"in ipgen/ (PrepareIP, python only); HLS synthesis needs Vitis HLS")


def make_build_config(board: str = "Pynq-Z2", fclk_mhz: float = 100.0):
    """FINN ``DataflowBuildConfig`` for a PYNQ board's bitfile + PYNQ driver + deployment package, continuing
    from our folded graph. Paths are relative to the build dir (fixed up by :func:`build_bitfile`)."""
    from finn.builder.build_dataflow_config import DataflowBuildConfig, DataflowOutputType, ShellFlowType

    return DataflowBuildConfig(
        output_dir="finn_output",
        synth_clk_period_ns=1000.0 / fclk_mhz,
        board=board,
        fpga_part=board_part(board),
        shell_flow_type=ShellFlowType.VIVADO_ZYNQ,
        folding_config_file=Path(FOLDING_CONFIG_NAME),
        generate_outputs=[DataflowOutputType.ESTIMATE_REPORTS, DataflowOutputType.STITCHED_IP,
                          DataflowOutputType.BITFILE, DataflowOutputType.PYNQ_DRIVER,
                          DataflowOutputType.DEPLOYMENT_PACKAGE],
        steps=list(BITFILE_STEPS),
        minimize_bit_width=False,  # done (and corrected for XNOR popcounts) by our flow
        save_intermediate_models=True,
    )


def write_build_config(build_dir: Path, board: str = "Pynq-Z2", fclk_mhz: float = 100.0) -> Path:
    cfg = make_build_config(board, fclk_mhz)
    path = Path(build_dir) / CONFIG_NAME
    write_text_atomic(path, json.dumps(json.loads(cfg.to_json()), indent=2) + "\n")
    return path


def write_folding_config(model: ModelWrapper, path: Path) -> Path:
    from finn.util.config import extract_model_config

    cfg = extract_model_config(model, None, FOLDING_ATTRS)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(cfg, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    return path


@dataclass
class BitfileStatus:
    ran: bool
    ok: bool
    message: str
    config: Path
    produced: list[str] = field(default_factory=list)
    tools: dict = field(default_factory=dict)


def build_bitfile(build_dir: str | os.PathLike, board: str = "Pynq-Z2", fclk_mhz: float = 100.0) -> BitfileStatus:
    """Write ``build_dir/dataflow_build_config.json`` (always) and, only if Vivado + Vitis HLS are on PATH, run
    FINN's ``build_dataflow_cfg`` on ``build_dir/folded.onnx`` into ``build_dir/finn_output``
    (bitfile, PYNQ driver, deployment package)."""
    build_dir = Path(build_dir)
    folded = build_dir / FOLDED_NAME
    if not folded.exists():
        raise FinnFlowError("bitfile", f"{folded} not found: run surge_hw.finn.build first")
    config = write_build_config(build_dir, board, fclk_mhz)
    if not (build_dir / FOLDING_CONFIG_NAME).exists():
        write_folding_config(ModelWrapper(str(folded)), build_dir / FOLDING_CONFIG_NAME)
    tools = vivado_status()
    produced = [p.name for p in (folded, build_dir / "estimates.json", config, build_dir / FOLDING_CONFIG_NAME,
                                 build_dir / "ipgen") if p.exists()]
    if not tools["available"]:
        missing = [t for t in ("vivado", "vitis_hls") if not tools[t]]
        return BitfileStatus(False, False, (
            f"Vivado/Vitis not found ({', '.join(missing)} not on PATH): produced {', '.join(produced)}; HLS "
            f"synthesis, IP stitching and the bitfile need Vivado + Vitis HLS on PATH "
            f"(then run surge_hw.finn.build_bitfile('{build_dir}', '{board}') or FINN with {CONFIG_NAME})"),
            config, produced, tools)
    from finn.builder.build_dataflow import build_dataflow_cfg
    from finn.builder.build_dataflow_config import DataflowBuildConfig

    cfg = DataflowBuildConfig.construct_from(config)
    cfg.output_dir = str(build_dir / "finn_output")
    with finn_build_dir(build_dir / "finn_tmp"):
        rc = build_dataflow_cfg(str(folded), cfg)
    out = build_dir / "finn_output"
    produced += [str(p.relative_to(build_dir)) for p in (out / "bitfile", out / "driver", out / "deploy")
                 if p.exists()]
    ok = rc == 0 and (out / "bitfile").exists()
    return BitfileStatus(True, ok, f"FINN build_dataflow_cfg returned {rc}; outputs in {out}", config, produced,
                         tools)
