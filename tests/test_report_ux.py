"""The compare report, the plots and the docs as a new user meets them (issue 14, sections 5 and 6).

Fast: the report is rendered from StageResult rows and small build directories made here, the plots are checked
as matplotlib Figures (axes, limits, texts, overlaps), not as pixels; no pipeline runs.
"""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from surge_hw import figures
from surge_hw.compare.report import (StageResult, accuracy_figure, agreement_figure, agreement_matrix_figure,
                                     fmt_int, fmt_seconds, model_details, report_context, write_report)

REPO = Path(__file__).resolve().parents[1]
N, TOTAL = 300, 2000


def stages(n=N, rtl_ints=None, wall=(0.42, 0.004, 0.031, 3.1)):
    """PyTorch, two FINN graphs, the RTL and a board that did not run -- as compare_build returns them."""
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 10, n)
    rtl_labels = ref.copy()
    if rtl_ints is not None and rtl_ints < n:
        rtl_labels[: (n - rtl_ints) // 2] += 1
    acc = 0.937
    out = [StageResult("PyTorch", True, n_images=n, accuracy=acc, label_agree=n, int_agree=n, wall_s=wall[0], labels=ref),
           StageResult("QONNX exec", True, n_images=n, accuracy=acc, label_agree=n, int_agree=n, wall_s=wall[1],
                       labels=ref),
           StageResult("folded (FINN exec)", True, n_images=n, accuracy=acc, label_agree=n, int_agree=n,
                       wall_s=wall[2], labels=ref),
           StageResult("RTL sim (verilator)", True, n_images=n, accuracy=acc - 0.01 * (rtl_ints is not None),
                       label_agree=int((rtl_labels == ref).sum()), int_agree=n if rtl_ints is None else rtl_ints,
                       wall_s=wall[3], labels=rtl_labels,
                       extra={"initiation_interval": 98.0, "latency_cycles": 341}),
           StageResult("board (PYNQ)", False, "no board_results.npz")]
    return out


ESTIMATES = {
    "board": "Pynq-Z2", "fpga_part": "xc7z020clg400-1", "fclk_mhz": 100.0, "max_cycles": 98, "fps": 1020408.163,
    "latency_cycles": 362, "bottleneck": "MVAU_hls_0",
    "totals": {"LUT": 5884.0, "BRAM_18K": 20.0, "URAM": 0.0, "DSP": 0.0},
    "device": {"LUT": 53200, "FF": 106400, "BRAM_18K": 280, "DSP": 220},
    "layers": [{"name": "Thresholding_rtl_0", "cycles": 56, "LUT": 112.0},
               {"name": "MVAU_hls_0", "cycles": 98, "LUT": 3960.0},
               {"name": "MVAU_hls_1", "cycles": 64, "LUT": 727.0},
               {"name": "MVAU_hls_3", "cycles": 80, "LUT": 358.0}],
}
RESOURCES = {"yosys": {"lut": 6233, "lutram": 199, "lut_total": 6432, "ff": 3054, "bram36": 0.0, "dsp": 0},
             "finn_estimate": {"LUT": 5884.0, "BRAM_18K": 20.0}, "xc7z020": {"lut": 53200, "ff": 106400,
                                                                           "bram36": 140, "dsp": 220}}
PNR = {"fmax_mhz_worst": 129.4, "fmax_mhz": [129.4, 130.4, 136.1], "device": "LFE5U-85F"}
STATE = {"train_config": {"model": "tfc", "dataset": "mnist", "estimator": "surge", "base_estimator": "ste",
                          "epochs": 10, "batch_size": 256, "lr": 0.01, "optimizer": "adam", "seed": 7},
         "surge": {"eta": 0.25, "eta_final": 0.05, "aux_input": "real", "aux_init": "copy"},
         "history": [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.8 + e / 100, "test_acc": 0.85 + e / 100}
                     for e in range(1, 11)]}


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """A build directory as the stages leave it (files with just enough content), and its build_info."""
    tmp_path = tmp_path_factory.mktemp("report")
    b = tmp_path / "build"
    for d in ("rtl", "rtl_ir", "hls", "ipgen"):
        (b / d).mkdir(parents=True)
    (b / "rtl" / "manifest.json").write_text("{}")
    for f in ("folded.onnx", "report.md", "dataflow_build_config.json"):
        (b / f).write_text("")
    (b / "estimates.json").write_text(json.dumps(ESTIMATES))
    (b / "rtl_resources.json").write_text(json.dumps(RESOURCES))
    (b / "pnr").mkdir()
    (b / "pnr" / "pnr.json").write_text(json.dumps(PNR))
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, TOTAL)
    logits = np.eye(10, dtype=np.float32)[labels]
    logits[: TOTAL // 10] = np.roll(logits[: TOTAL // 10], 1, axis=1)  # PyTorch wrong on 10 %: 90.00 %
    np.savez(tmp_path / "golden.npz", images=np.zeros((TOTAL, 1, 2, 2), np.uint8),
             int_dots=np.zeros((TOTAL, 10), np.int64), labels=labels, logits=logits)
    info = {"checkpoint": str(tmp_path / "train"), "dataset": "mnist", "golden": str(tmp_path / "golden.npz"),
            "onnx": str(tmp_path / "export" / "model.qonnx.onnx"), "torch_top1": 0.9, "n_images": TOTAL,
            "model_config": {"name": "tfc", "weight_bits": 1, "act_bits": 1, "in_shape": [1, 28, 28],
                             "num_classes": 10}}
    return b, info


def render(out, build, rows=None, history=STATE["history"], **meta):
    b, info = build
    m = {"title": "TFC on mnist", "images": N, "dataset": "mnist", "reference": "PyTorch eval",
         "notes": {"input format": "uint8 pixels into the RTL"}, **report_context(b, info, STATE), **meta}
    paths = write_report(out, rows or stages(), m, ESTIMATES, history)
    return paths["md"].read_text(), paths["html"].read_text()


@pytest.fixture(scope="module")
def report(build):
    """(report.md, report.html, report dir) for the build, rendered once for the tests that read it."""
    out = build[0].parent / "report"
    return (*render(out, build), out)


# ------------------------------------------------------------------------------------------------ the report


def test_report_lists_every_artefact_path(report, build):
    md, html, _ = report
    b = build[0].resolve()
    for rel in ("rtl/", "rtl/manifest.json", "folded.onnx", "hls/", "estimates.json", "rtl_resources.json",
                "pnr/pnr.json", "report.md", "ipgen/"):
        path = f"{b / rel}" + ("/" if rel.endswith("/") else "")
        assert f"`{path}`" in md and f"<code>{path}</code>" in html, rel
    assert str(build[0].parent / "golden.npz") in md and "model.qonnx.onnx" in md


def test_report_names_tool_versions(report):
    md, html, _ = report
    tools = dict(re.findall(r"^\| ([\w+.-]+) \| ([^|]+) \|$", md.split("## Tool versions")[1], re.M))
    for tool in ("python", "torch", "brevitas", "qonnx", "finn-plus", "verilator", "cocotb", "g++"):
        assert tool in tools, tool
    import torch

    assert tools["torch"] == torch.__version__
    assert "<h2>Tool versions</h2>" in html


def test_report_explains_the_image_count_and_the_full_set_accuracy(report, tmp_path, build):
    md, _, _ = report
    assert f"300 of {TOTAL:,} test images of mnist" in md
    assert f"The full-set accuracy is 90.00 %" in md  # computed from the whole golden set
    assert "on these 300" in md and "`--images 0` runs all" in md
    md_all, _ = render(tmp_path, build, images=TOTAL, rows=stages(TOTAL)[:1], history=None)
    assert f"All {TOTAL:,} test images of mnist" in md_all


def test_report_formats_counts_and_shows_finn_beside_yosys_and_measured(report):
    md, html, _ = report
    assert "5884.0" not in md and "5,884" in md and "5884.0" not in html
    assert "6,432 (199 as LUTRAM)" in md and "3,054" in md
    # FINN's BRAM estimate is shown, and yosys' 0 explained instead of "0.0 BRAM36"
    assert "0.0 BRAM36" not in md and "10 (20 BRAM18)" in md and "yosys mapped no block RAM" in md
    perf = md.split("## Throughput and latency")[1].split("## ")[0]
    assert "| latency (cycles, first input to last output) | 362 | 341 |" in perf  # FINN beside measured
    assert "| images/s at 100 MHz | 1,020,408 | 1,020,408 |" in perf
    assert "images/s at the measured Fmax, 129.4 MHz" in perf and "1,320,408" in perf
    assert "1,020,408.2" not in md


def test_report_stage_times_are_not_rounded_to_zero(report):
    md, _, _ = report
    table = md.split("## Every stage against PyTorch")[1].split("## ")[0]
    assert "| 4 ms (75,000 images/s) |" in table and "| 31 ms" in table and "| 0.42 s" in table
    assert "| 3.10 s" in table and "| 0.0 |" not in table and " 0.0 s" not in table
    assert fmt_seconds(0.004) == "4 ms" and fmt_seconds(0.0004) == "< 1 ms" and fmt_seconds(125) == "2 min 05 s"
    assert fmt_int(5884.0) == "5,884" and fmt_int(43.5) == "43.5" and fmt_int(None) == "–"


def test_report_has_readable_headings_and_the_model_details(report):
    md, html, _ = report
    headings = re.findall(r"^## (.+)$", md, re.M)
    for h in ("Every stage against PyTorch", "Throughput and latency", "Resources", "Model and training",
              "Artefacts", "Tool versions", "Plots"):
        assert h in headings
    assert "<h3 id=\"agreement_matrix\">Label agreement between stages</h3>" in html
    model = md.split("## Model and training")[1].split("## ")[0]
    for text in ("TFC-w1a1", "surge (eta 0.25, eta_final 0.05", "10 epochs, batch 256, adam lr 0.01",
                 "| seed | 7 |", "| dataset | mnist |", "95.00 % after epoch 10", "90.00 % on 2,000 test images"):
        assert text in model, text
    assert model_details({}, {}) == []  # a bare QONNX build: nothing to invent


def test_report_plots_are_files_beside_the_report_and_embedded(report):
    md, html, _ = report
    for name in ("accuracy", "agreement", "agreement_matrix", "training", "layers"):
        assert (report[2] / f"{name}.png").is_file()
        assert f"]({name}.png)" in md and f'alt="{name}"' in html


# ------------------------------------------------------------------------------------------------- the plots


def _bbox(artist, fig):
    """Where ``artist`` is drawn (display pixels); the figure is laid out once, on the first call."""
    if not getattr(fig, "_drawn_for_test", False):
        fig.canvas.draw()
        fig._drawn_for_test = True
    return artist.get_window_extent(fig.canvas.get_renderer())


def test_accuracy_bars_start_at_zero_and_carry_their_values():
    fig = accuracy_figure(stages(rtl_ints=280))
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 100
    assert len(ax.containers) == 1 and len(ax.containers[0]) == 4  # the board did not run: no bar
    assert [t.get_text() for t in ax.texts] == ["93.70"] * 3 + ["92.70"]
    assert accuracy_figure([StageResult("RTL", True, n_images=5, label_agree=5, int_agree=5)]) is None  # no labels


def test_agreement_legend_covers_no_bar_and_bars_are_counted():
    for rows in (stages(), stages(rtl_ints=280)):
        fig = agreement_figure(rows)
        ax = fig.axes[0]
        legend = _bbox(ax.get_legend(), fig)
        for bars in ax.containers:
            for bar in bars:
                assert not legend.overlaps(_bbox(bar, fig))
        texts = [t.get_text() for t in ax.texts]
        assert "300" in texts
    assert "280" in texts and "290" in texts  # a stage that differs: one count per bar
    assert ax.get_xticklabels()[3].get_color() == "tab:red"


def test_agreement_matrix_title_clears_the_colour_bar():
    fig = agreement_matrix_figure(stages(rtl_ints=280))
    ax, cbar = fig.axes
    title = _bbox(fig._suptitle, fig)
    assert not title.overlaps(_bbox(cbar, fig)) and not title.overlaps(_bbox(ax, fig))
    assert cbar.get_ylabel() == "% of images with the same label"


def test_layer_plot_is_linear_for_a_small_range_and_marks_the_bottleneck():
    fig = figures.layer_estimates(ESTIMATES, measured_ii=98.0)
    cycles, luts = fig.axes
    assert cycles.get_yscale() == "linear" and luts.get_yscale() == "linear"  # 56-98 cycles: < 10x
    assert cycles.get_ylim()[0] == 0 and luts.get_ylim()[0] == 0
    assert cycles.get_ylabel() == "cycles per image" and luts.get_ylabel() and luts.get_xlabel() == "layer"
    colours = [bar.get_facecolor() for bar in cycles.containers[0]]
    from matplotlib.colors import to_rgba

    assert colours[1] == to_rgba(figures.BOTTLENECK_COLOUR) and colours.count(colours[1]) == 1
    assert "bottleneck" in [t.get_text() for t in cycles.texts]
    assert {"56", "98", "64", "80"} <= {t.get_text() for t in cycles.texts}
    assert "3,960" in [t.get_text() for t in luts.texts]
    assert any(line.get_ydata()[0] == 98.0 for line in cycles.get_lines())  # the measured interval
    wide = dict(ESTIMATES, layers=[{"name": "a", "cycles": 1024, "LUT": 1}, {"name": "b", "cycles": 25088, "LUT": 2}],
                bottleneck="b")
    assert figures.layer_estimates(wide).axes[0].get_yscale() == "log"
    assert figures.value_scale([56, 98]) == "linear" and figures.value_scale([10, 101]) == "log"


def test_build_stage_estimates_png_uses_the_linear_layer_plot(monkeypatch, tmp_path):
    from surge_hw.finn.estimates import plot_estimates

    drawn = []
    monkeypatch.setattr(figures, "save_png", lambda fig, path, dpi=110: drawn.append(fig) or Path(path))
    plot_estimates(ESTIMATES, tmp_path / "estimates.png")
    assert drawn[0].axes[0].get_yscale() == "linear"


def test_a_single_epoch_is_a_labelled_point_on_a_one_tick_axis(monkeypatch, tmp_path):
    fig = figures.training_curves(STATE["history"][:1], "tfc")
    loss, acc = fig.axes
    for ax in (loss, acc):
        assert list(ax.get_xticks()) == [1] and ax.get_xlim() == (0.5, 1.5)
        assert all(line.get_linestyle() == "None" for line in ax.get_lines())  # markers, no line
    assert acc.get_ylim() == (0, 100) and loss.get_ylim()[0] == 0
    assert {"train 81.00 %", "test 86.00 %"} <= {t.get_text() for t in acc.texts}
    assert "1 epoch" in fig._suptitle.get_text()
    many = figures.training_curves(STATE["history"], "tfc")
    ticks = many.axes[1].get_xticks()
    assert all(t == int(t) for t in ticks) and many.axes[1].get_lines()[0].get_linestyle() == "-"
    # the train stage's curves.png is this figure
    from surge_hw.train import trainer

    drawn = []
    monkeypatch.setattr(figures, "save_png", lambda fig, path, dpi=110: drawn.append(fig) or Path(path))
    trainer.plot_curves(STATE["history"][:1], tmp_path / "curves.png", "tfc mnist surge")
    assert list(drawn[0].axes[1].get_xticks()) == [1]


# -------------------------------------------------------------------------------------------- CLI and docs


def _commands(parser) -> dict:
    import argparse

    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_surge_options_reach_the_train_config(monkeypatch, tmp_path, capsys):
    from surge_hw.cli import main
    from surge_hw.train import trainer

    seen = []
    monkeypatch.setattr(trainer, "train", lambda cfg, out, resume=False: seen.append(cfg))
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("surge:\n  eta: 0.2\n  aux_init: random\n")
    assert main(["train", "--config", str(cfg_file), "--estimator", "surge", "--eta-final", "0.05",
                 "--aux-input", "clipped", "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert seen[0].surge == {"eta": 0.2, "aux_init": "random", "eta_final": 0.05, "aux_input": "clipped"}
    assert main(["train", "--estimator", "surge", "--eta", "0.3", "--aux-input", "binary", "--aux-init", "copy",
                 "--out", str(tmp_path / "run2"), "--no-progress"]) == 0
    assert seen[1].surge == {"eta": 0.3, "aux_input": "binary", "aux_init": "copy"}
    with pytest.raises(SystemExit) as e:  # argparse: exit 2
        main(["train", "--aux-init", "zeros", "--out", str(tmp_path / "run3")])
    assert e.value.code == 2 and "invalid choice: 'zeros'" in capsys.readouterr().err


def test_cli_surge_choices_are_the_surge_modules():
    from surge_hw.cli import build_parser
    from surge_hw.train.surge import AUX_INITS, AUX_INPUTS

    train = _commands(build_parser())["train"]
    opts = {a.dest: a for a in train._actions}
    assert tuple(opts["aux_input"].choices) == AUX_INPUTS and tuple(opts["aux_init"].choices) == AUX_INITS
    assert opts["eta_final"].type is float


def test_deploy_readme_says_what_is_needed_before_validate(tmp_path):
    from surge_hw.deploy.package import package_readme

    text = package_readme("Pynq-Z2", tmp_path)
    assert "No bitfile here yet" in text
    first = text.index("sudo python3 validate.py")
    assert text.index("surge-hw deploy BUILD --bitfile") < first and text.index("make_bitfile.tcl") < first
    for f in ("accel.bit", "accel.hwh"):
        (tmp_path / f).write_text("")
    text = package_readme("Pynq-Z2", tmp_path)
    assert "No bitfile" not in text and "Bitfile present" in text and "sudo python3 validate.py" in text


def test_readme_diagram_and_pipeline_use_the_command_names():
    from surge_hw.cli import build_parser

    commands = set(_commands(build_parser()))
    readme = (REPO / "README.md").read_text()
    diagram = readme.split("```")[1]
    flow = [line for line in diagram.splitlines() if "─►" in line]  # the stage lines, not their descriptions
    names = [n for line in flow for n in re.findall(r"[a-z]+", line)]
    assert names[0] == "data" and set(names[1:]) <= commands, names
    assert {"build", "rtl", "rtlsim", "hls", "hlssim", "compare", "deploy"} <= set(names)
    manual = readme.split("## Manual pipeline")[1].split("\n## ")[0]
    steps = re.findall(r"^surge-hw (\w+)", manual, re.M)
    assert steps == ["train", "export", "build", "rtl", "rtlsim", "hlssim", "compare", "deploy"]
    assert "python3 -m venv" in readme and "--eta-final" in readme and "--aux-input" in readme
