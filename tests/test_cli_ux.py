"""The command line as a new user meets it (issue 14, sections 2-5): fast start-up, defaults, one-line errors with
their fix (exit 2, nothing written), never losing a user's run or build files, quiet and escape-code-free output.

One tiny real pipeline (TFC, 512 training images, 2 steps; 30 golden images) serves every test that needs real
artefacts; the rest check the parser, the light modules and fake stage directories.
"""
import argparse
import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from surge_hw.artefacts import building_dir, normal_mode, write_text_atomic
from surge_hw.cli import _need_golden_stage_input, build_parser, main
from surge_hw.console import progress_bar, quiet_library_noise

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "brevitas", "qonnx", "finn", "onnx", "matplotlib")
LIBRARY_NOISE = ("Assuming 4D input is NCHW", "No layout annotations", "fast_hadamard_transform", "TqdmWarning")
TRAIN = ["--model", "tfc", "--epochs", "1", "--max-train", "512", "--seed", "5", "--no-progress"]


def cli(capsys, *argv):
    """``surge-hw ARGV`` in-process: (exit code, stdout, stderr)."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # argparse: --help, --version, bad arguments
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def one_error_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"surge-hw {command}: error: "), err
    return lines[0]


def tree(path: Path) -> dict:
    """Every file under ``path`` with its content hash: to show a command wrote nothing."""
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from surge_hw.data import load_dataset, write_idx

    tmp = tmp_path_factory.mktemp("ux")
    outputs = {}
    for name, argv in (("train", ["train", *TRAIN, "--out", tmp / "run"]),
                       ("export", ["export", tmp / "run", "--out", tmp / "export", "--images", "30"])):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main([str(a) for a in argv]) == 0, err.getvalue()
        outputs[name] = (out.getvalue(), err.getvalue())
    # the build as a user starts it: a fresh process, output to pipes (not a terminal)
    build = subprocess.run([sys.executable, "-m", "surge_hw.cli", "build", str(tmp / "export"), "--out",
                            str(tmp / "build"), "--golden-images", "30", "--no-progress"],
                           capture_output=True, text=True, cwd=REPO, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    outputs["build"] = (build.stdout, build.stderr)
    test = load_dataset("mnist", "test")  # a 200-image test set in IDX files, for the --images reduction
    (tmp / "data200").mkdir()
    write_idx(tmp / "data200" / "t10k-images-idx3-ubyte", test.images[:200].reshape(200, 28, 28))
    write_idx(tmp / "data200" / "t10k-labels-idx1-ubyte", test.labels[:200].astype(np.uint8))
    return {"tmp": tmp, "run": tmp / "run", "export": tmp / "export", "build": tmp / "build",
            "data200": tmp / "data200", "out": outputs}


# ---------------------------------------------------------------------------------------------- 2. speed, defaults

def test_importing_the_cli_loads_no_heavy_library_and_bad_paths_answer_without_them(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "model.qonnx.onnx").write_bytes(b"")
    code = f"""
import json, sys
import surge_hw.cli as cli
after_import = sorted(m for m in {HEAVY!r} if m in sys.modules)
cli.build_parser()
rcs = [cli.main(argv) for argv in (["build", {str(tmp_path / 'missing')!r}, "--out", {str(tmp_path / 'b')!r}],
                                   ["rtlsim", {str(tmp_path / 'exp')!r}],
                                   ["export", {str(tmp_path / 'missing')!r}, "--out", {str(tmp_path / 'e')!r}])]
print(json.dumps({{"after_import": after_import, "rcs": rcs,
                  "after_errors": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["after_import"] == [] and res["after_errors"] == []
    assert res["rcs"] == [2, 2, 2]
    assert len(r.stderr.strip().splitlines()) == 3 and "does not exist" in r.stderr
    assert not (tmp_path / "b").exists() and not (tmp_path / "e").exists()


def test_default_threads_is_one_and_training_is_deterministic_for_it(pipeline, capsys):
    cfg = json.loads((pipeline["run"] / "config.json").read_text())["train"]
    assert cfg["threads"] == 1  # the CLI's default (TrainConfig's)
    rc, out, err = cli(capsys, "train", *TRAIN, "--out", pipeline["tmp"] / "run_again")
    assert rc == 0, err
    a = torch.load(pipeline["run"] / "last.pt", weights_only=True)["model"]
    b = torch.load(pipeline["tmp"] / "run_again" / "last.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    threads = next(a for a in _subparsers()[1]["train"]._actions if a.dest == "threads")
    assert "default 1:" in threads.help and "identical weights" in threads.help


# ---------------------------------------------------------------------------------------------- 3. input validation

@pytest.mark.parametrize("command", ["export", "rtlsim", "compare", "deploy"])
def test_negative_image_count_is_rejected(pipeline, capsys, tmp_path, command):
    src = pipeline["run"] if command == "export" else pipeline["build"]
    before = tree(pipeline["build"])
    extra = ["--out", tmp_path / "out"] if command in ("export", "deploy") else []
    rc, out, err = cli(capsys, command, src, "--images", "-5", *extra)
    assert rc == 2
    assert "argument --images: must be >= 0 (0 = all images), got -5" in one_error_line(err, command)
    assert not (tmp_path / "out").exists() and tree(pipeline["build"]) == before


def test_zero_images_means_all():
    p = build_parser()
    assert p.parse_args(["deploy", "B"]).images == 0  # the default: every image of the golden set
    for cmd in ("rtlsim", "compare", "deploy"):
        assert p.parse_args([cmd, "B", "--images", "0"]).images == 0


def test_more_images_than_the_set_warns_once(pipeline, capsys, tmp_path):
    rc, out, err = cli(capsys, "export", pipeline["run"], "--out", tmp_path / "e", "--images", "5000",
                       "--data-dir", pipeline["data200"])
    assert rc == 0, err
    assert err.count("export: warning: using all 200 images; 5000 requested") == 1
    with np.load(tmp_path / "e" / "golden.npz") as z:
        assert len(z["images"]) == 200
    for command in ("rtlsim", "compare", "deploy"):  # what each of these commands checks before it starts
        _need_golden_stage_input(argparse.Namespace(command=command, build_dir=str(pipeline["build"]), images=5000),
                                 rtl=False)
        assert capsys.readouterr().err == f"surge-hw {command}: warning: using all 30 images; 5000 requested\n"
        for n in (0, 30):
            _need_golden_stage_input(argparse.Namespace(command=command, build_dir=str(pipeline["build"]),
                                                        images=n), rtl=False)
            assert capsys.readouterr().err == ""


@pytest.mark.parametrize("option,value", [("--stall", "1.5"), ("--stall", "1"), ("--gap", "-0.1"), ("--gap", "x")])
def test_rtlsim_probabilities_outside_0_1_are_rejected(pipeline, capsys, option, value):
    before = tree(pipeline["build"])
    rc, out, err = cli(capsys, "rtlsim", pipeline["build"], option, value)
    assert rc == 2 and f"argument {option}:" in one_error_line(err, "rtlsim")
    assert tree(pipeline["build"]) == before
    assert build_parser().parse_args(["rtlsim", "B", "--stall", "0.9", "--gap", "0"]).stall == 0.9


def test_rtlsim_stage_rejects_a_stall_probability_of_one(tmp_path):
    from surge_hw.sim.stage import rtlsim_from_build

    with pytest.raises(ValueError, match=r"out_stall is a probability per cycle in \[0, 1\), got 1.0"):
        rtlsim_from_build(tmp_path, out_stall=1.0)


def test_target_fps_and_max_luts_are_alternatives(pipeline, capsys, tmp_path):
    rc, out, err = cli(capsys, "build", pipeline["export"], "--out", tmp_path / "b", "--target-fps", "1000",
                       "--max-luts", "5000")
    assert rc == 2 and "--max-luts: not allowed with argument --target-fps" in one_error_line(err, "build")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("alias", ["fashion_mnist", "fashion-mnist", "Fashion-MNIST", "FashionMNIST", "fmnist",
                                   "fashion mnist"])
def test_dataset_aliases(alias):
    from surge_hw.data.datasets import canonical_dataset
    from surge_hw.train.config import TrainConfig

    p = build_parser()
    assert p.parse_args(["train", "--dataset", alias, "--out", "x"]).dataset == "fashion_mnist"
    assert p.parse_args(["demo", "--dataset", alias]).dataset == "fashion_mnist"
    assert canonical_dataset(alias) == "fashion_mnist"
    assert TrainConfig(dataset=alias).dataset == "fashion_mnist"
    assert TrainConfig(model="cnv", dataset=alias).dataset == "fashion_mnist32"


def test_unknown_dataset_names_the_valid_ones(capsys, tmp_path):
    rc, out, err = cli(capsys, "train", "--dataset", "imagenet", "--out", tmp_path / "r")
    line = one_error_line(err, "train")
    assert rc == 2 and "unknown dataset 'imagenet'; use one of mnist, fashion_mnist, cifar10" in line
    assert not (tmp_path / "r").exists()


def test_config_file_typo_says_did_you_mean_and_lists_user_options(capsys, tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("model: tfc\nepoch: 3\n")
    rc, out, err = cli(capsys, "train", "--config", cfg, "--out", tmp_path / "r")
    line = one_error_line(err, "train")
    assert rc == 2 and "unknown option 'epoch' (did you mean 'epochs'?)" in line
    valid = line.split("valid keys: ")[1].split(", ")
    assert {"model", "dataset", "epochs", "lr", "threads", "surge"} <= set(valid)
    assert not {"progress", "tensorboard", "max_steps"} & set(valid)  # internals: accepted, not offered
    assert not (tmp_path / "r").exists()
    cfg.write_text("surge:\n  etta: 0.1\n")
    rc, out, err = cli(capsys, "train", "--config", cfg, "--out", tmp_path / "r")
    assert rc == 2 and "unknown option 'etta' (did you mean 'eta'?)" in one_error_line(err, "train")
    rc, out, err = cli(capsys, "train", "--config", tmp_path / "none.yaml", "--out", tmp_path / "r")
    assert rc == 2 and "config file" in one_error_line(err, "train") and not (tmp_path / "r").exists()


def test_build_on_a_train_dir_says_run_export_first(pipeline, capsys, tmp_path):
    rc, out, err = cli(capsys, "build", pipeline["run"], "--out", tmp_path / "b")
    line = one_error_line(err, "build")
    assert rc == 2 and f"run `surge-hw export {pipeline['run']} --out EXPORT_DIR` first" in line
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("command", ["compare", "rtlsim"])
def test_compare_and_rtlsim_on_an_export_dir_say_build_into_another_dir(pipeline, capsys, command):
    before = tree(pipeline["export"])
    rc, out, err = cli(capsys, command, pipeline["export"])
    line = one_error_line(err, command)
    assert rc == 2 and f"run `surge-hw build {pipeline['export']} --out BUILD_DIR` first" in line
    assert f"--out {pipeline['export']}" not in line and "new directory" in line
    assert tree(pipeline["export"]) == before


def test_build_into_its_own_export_dir_is_refused(pipeline, capsys):
    before = tree(pipeline["export"])
    rc, out, err = cli(capsys, "build", pipeline["export"], "--out", pipeline["export"])
    assert rc == 2 and "pass a new directory for the build" in one_error_line(err, "build")
    assert tree(pipeline["export"]) == before


# ---------------------------------------------------------------------------------------------- 4. never lose work

def test_train_into_a_dir_holding_another_run_is_refused(pipeline, capsys):
    before = tree(pipeline["run"])
    rc, out, err = cli(capsys, "train", *TRAIN, "--model", "sfc", "--out", pipeline["run"])
    line = one_error_line(err, "train")
    assert rc == 2 and "holds a checkpoint of another run" in line and "differs in model" in line
    assert "--force" in line
    rc, out, err = cli(capsys, "train", *TRAIN, "--out", pipeline["run"])  # same options, no --resume
    assert rc == 2 and "already holds this run" in one_error_line(err, "train") and "--resume" in err
    rc, out, err = cli(capsys, "train", *TRAIN, "--model", "sfc", "--resume", "--out", pipeline["run"])
    assert rc == 2 and "differs in model" in one_error_line(err, "train")
    assert tree(pipeline["run"]) == before


def test_resume_without_a_checkpoint_is_an_error(capsys, tmp_path):
    rc, out, err = cli(capsys, "train", *TRAIN, "--resume", "--out", tmp_path / "r")
    assert rc == 2 and "--resume: no checkpoint at" in one_error_line(err, "train")
    assert not (tmp_path / "r").exists()


def test_train_force_replaces_the_run_and_keeps_other_files(pipeline, capsys, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(pipeline["run"], run)
    (run / "notes.txt").write_text("mine")
    old_tb = {p.name for p in (run / "tb").iterdir()}
    rc, out, err = cli(capsys, "train", *TRAIN, "--estimator", "nope", "--force", "--out", run)
    assert rc == 2 and (run / "last.pt").is_file()  # invalid options: nothing replaced
    rc, out, err = cli(capsys, "train", *TRAIN, "--estimator", "ste", "--force", "--out", run)
    assert rc == 0, err
    assert json.loads((run / "config.json").read_text())["train"]["estimator"] == "ste"
    assert (run / "notes.txt").read_text() == "mine"
    assert not old_tb & {p.name for p in (run / "tb").iterdir()}  # no mixed TensorBoard logs


def test_build_into_a_previous_build_needs_force_and_keeps_user_files(pipeline, capsys, tmp_path):
    before = tree(pipeline["build"])
    rc, out, err = cli(capsys, "build", pipeline["export"], "--out", pipeline["build"], "--golden-images", "30")
    assert rc == 2 and "holds a previous build; pass --force" in one_error_line(err, "build")
    assert tree(pipeline["build"]) == before
    build = tmp_path / "build"
    shutil.copytree(pipeline["build"], build)
    user = {"board_results.json": "{}", "board_results.npz": "npz", "notes.txt": "mine"}
    for name, text in user.items():
        (build / name).write_text(text)
    for name in ("rtl", "report", "deploy"):  # what later stages derived from the old build
        (build / name).mkdir()
        (build / name / "old.txt").write_text("old")
    (build / "rtlsim.json").write_text("{}")
    rc, out, err = cli(capsys, "build", pipeline["export"], "--out", build, "--golden-images", "30", "--force",
                       "--no-progress")
    assert rc == 0, err
    assert f"build: wrote {build}" in out
    for name, text in user.items():
        assert (build / name).read_text() == text
    for name in ("rtl", "report", "deploy", "rtlsim.json"):
        assert not (build / name).exists(), name
    assert (build / "folded.onnx").is_file() and (build / "build_info.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_building_dir_carries_kept_entries_and_stays_atomic(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    (out / "rtl").mkdir()
    with building_dir(out, keep=lambda name: name != "rtl") as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt", "new.txt"]

    def broken(name):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        with building_dir(out, keep=broken) as tmp:
            (tmp / "newer.txt").write_text("newer")
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt", "new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# ---------------------------------------------------------------------------------------------- 5. output

def test_every_stage_prints_where_it_wrote(pipeline):
    assert f"wrote {pipeline['run'] / 'last.pt'}" in pipeline["out"]["train"][0]
    assert f"export: wrote {pipeline['export'] / 'model.qonnx.onnx'}" in pipeline["out"]["export"][0]
    assert f"build: wrote {pipeline['build']} " in pipeline["out"]["build"][0]  # with --no-progress too


def test_no_library_noise_and_no_escape_codes_in_logs(pipeline):
    for stage, (out, err) in pipeline["out"].items():
        for noise in LIBRARY_NOISE:
            assert noise not in out + err, (stage, noise)
        assert "\r" not in out + err and "\x1b[" not in out + err, stage


def test_quiet_library_noise_filters_only_the_named_messages(caplog):
    from tqdm import TqdmWarning

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_library_noise()
        warnings.warn("Assuming 4D input is NCHW")
        warnings.warn("fast_hadamard_transform package not found, using standard pytorch kernels")
        warnings.warn("IProgress not found", TqdmWarning)
        warnings.warn("something the user should see")
    assert [str(w.message) for w in seen] == ["something the user should see"]
    with caplog.at_level(logging.WARNING):
        finn_log = logging.getLogger("finn_logger")
        finn_log.warning("AbsorbAddIntoMultiThreshold (Add_0): No layout annotations for Add_0_param0: "
                         "Assuming channel dimension at index 1")
        finn_log.warning("a FINN warning that matters")
    assert [r.getMessage() for r in caplog.records] == ["a FINN warning that matters"]


def test_progress_bars_write_nothing_when_not_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    log = io.StringIO()
    assert sum(progress_bar(range(50), file=log, desc="x")) == sum(range(50))
    assert log.getvalue() == ""
    term = Terminal()
    list(progress_bar(range(5), file=term, desc="x", mininterval=0))
    assert "x" in term.getvalue()  # on a terminal the bar is drawn
    term = Terminal()
    list(progress_bar(range(5), file=term, desc="x", enabled=False))  # --no-progress
    assert term.getvalue() == ""


def test_stage_dirs_get_normal_permissions_under_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert normal_mode(directory=True) == 0o750 and normal_mode(directory=False) == 0o640
        with building_dir(tmp_path / "deploy") as tmp:
            write_text_atomic(tmp / "io.json", "{}")
        assert (tmp_path / "deploy").stat().st_mode & 0o777 == 0o750
        assert (tmp_path / "deploy" / "io.json").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
    with building_dir(tmp_path / "deploy2"):
        pass
    assert (tmp_path / "deploy2").stat().st_mode & 0o777 == 0o777 & ~old


def _subparsers():
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return p, sub.choices


def test_help_shows_defaults_and_text_for_every_option_without_backticks(capsys):
    p, commands = _subparsers()
    assert "`" not in p.format_help()
    for name, sp in commands.items():
        for action in sp._actions:
            assert action.help, f"surge-hw {name} {action.option_strings or action.dest}: no help text"
        text = sp.format_help()
        assert "`" not in text, name
    def flat(name):
        return " ".join(commands[name].format_help().split())

    assert "--images IMAGES test images from the golden set (0 = all) (default: 1000)" in flat("rtlsim")
    assert "(default: Pynq-Z2)" in flat("build")
    assert "--epochs EPOCHS training epochs (default 10)" in flat("train")  # TrainConfig's default
    rc, out, err = cli(capsys, "rtlsim", "--help")
    assert rc == 0 and "--stall" in out


def test_version(capsys):
    rc, out, err = cli(capsys, "--version")
    assert rc == 0 and out.startswith("surge-hw ") and len(out.split()) == 2
