"""``surge-hw``: one command per stage, plus ``demo`` that chains them.

Each stage reads the previous stage's artefact from disk and prints where it wrote its own. Only the standard
library is imported up front: torch, Brevitas, qonnx and FINN load inside the command that needs them, after its
input paths and options are checked, so ``--help`` and a wrong path answer at once.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import fields
from pathlib import Path

from .boards import BOARDS
from .stage_dirs import need_build_dir, need_checkpoint, need_export_dir, need_rtl


class UsageError(ValueError):
    """Bad command-line input: ``main`` prints it as one line, ``surge-hw CMD: error: CAUSE; FIX``, and exits 2."""


def _unknown_keys(keys, valid: list[str], where: str) -> None:
    """One error for every key not in ``valid``, each with its nearest valid key (a typo like ``epoch``)."""
    bad = [k for k in keys if k not in valid]
    if not bad:
        return
    import difflib

    parts = []
    for k in bad:
        close = difflib.get_close_matches(str(k), valid, n=1)
        parts.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise UsageError(f"unknown option{'s' if len(bad) > 1 else ''} {', '.join(parts)} in {where}; "
                     f"valid keys: {', '.join(valid)}")


def _load_config_file(path: str | None) -> dict:
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"config file {p} not found; check the --config path")
    text = p.read_text()
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as e:  # yaml.YAMLError, json.JSONDecodeError
        raise UsageError(f"{p} is not valid {'YAML' if p.suffix in ('.yaml', '.yml') else 'JSON'} "
                         f"({' '.join(line.strip() for line in str(e).splitlines())[:240]}); fix the file") from None
    if not isinstance(data, dict):
        raise UsageError(f"{p} holds a {type(data).__name__}; it must be a mapping of training options "
                         f"(e.g. 'epochs: 3')")
    return data


RUN_FILES = ("last.pt", "config.json", "history.csv", "summary.json", "curves.png", "tb")  # what train writes


def _check_train_out(args, cfg: dict) -> list[Path]:
    """Never lose a run: an --out that holds a checkpoint is continued (--resume, same options) or replaced
    (--force), never overwritten silently; --resume needs a checkpoint. ``cfg``: the options given. Returns the
    old run's files that --force replaces (removed once the new options are known to be valid)."""
    from .train.config import as_options, comparable

    out = Path(args.out)
    ckpt = out / "last.pt"
    if args.resume and not ckpt.is_file():
        raise UsageError(f"--resume: no checkpoint at {ckpt}; drop --resume to start a new run there, or pass "
                         f"the --out of the run to continue")
    if not ckpt.is_file():
        return []
    try:
        old = json.loads((out / "config.json").read_text())["train"]
    except (OSError, ValueError, KeyError, TypeError):
        old = None
    new = as_options(cfg)
    differ = [k for k in comparable(new) if old.get(k) != new[k]] if isinstance(old, dict) else None
    what = (f"{old.get('model')} on {old.get('dataset')}, {old.get('estimator')}, epochs={old.get('epochs')}"
            if isinstance(old, dict) else "a checkpoint")
    if args.resume:
        if differ:
            raise UsageError(f"--resume: {out} holds a run with other options ({what}; differs in "
                             f"{', '.join(differ)}); use the same options to continue it, --force (without "
                             f"--resume) to replace it, or a new --out")
        return []
    if args.force:  # the old run's files only: anything else in the directory stays
        return [out / name for name in RUN_FILES if (out / name).exists()]
    if differ == []:
        raise UsageError(f"{out} already holds this run ({what}, {ckpt}); pass --resume to continue it, --force "
                         f"to start it over, or a new --out")
    why = f"; differs in {', '.join(differ)}" if differ else ""
    raise UsageError(f"{out} holds a checkpoint of another run ({what}{why}); pass --force to replace it (its "
                     f"TensorBoard logs too), or choose a new --out")


def cmd_train(args) -> int:
    from .train.config import TrainConfig, user_options

    cfg = _load_config_file(args.config)
    known = [f.name for f in fields(TrainConfig)]  # internal ones (max_steps, ...) are accepted, not offered
    _unknown_keys([k for k in cfg if k not in known], user_options(), args.config)
    for key in ("model", "dataset", "estimator", "epochs", "batch_size", "lr", "seed", "device", "data_dir",
                "max_train", "act_bits", "optimizer", "momentum", "base_estimator", "dropout", "augment_shift",
                "threads"):
        val = getattr(args, key, None)
        if val is not None:
            cfg[key] = val
    if args.download:
        cfg["download"] = True
    surge = dict(cfg.get("surge") or {})
    if args.eta is not None:
        surge["eta"] = args.eta
    for key in ("fixed_lambda", "eta_final", "aux_input", "aux_init"):  # flags override the config's surge: block
        if getattr(args, key, None) is not None:
            surge[key] = getattr(args, key)
    cfg["surge"] = surge
    cfg["progress"] = not args.no_progress
    replaced = _check_train_out(args, cfg)
    config = TrainConfig(**cfg)  # checks estimator, optimizer, dataset name (imports the estimators: torch)
    from .train.estimators import EstimatorState
    from .train.surge import SurgeConfig

    for name, cls in (("surge", SurgeConfig), ("estimator_state", EstimatorState)):
        _unknown_keys(getattr(config, name), [f.name for f in fields(cls)], f"the {name!r} options")
        cls(**getattr(config, name))  # its value checks (eta in (0, 1), ...), before anything is replaced
    for p in replaced:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
    from .train.trainer import train

    train(config, args.out, resume=args.resume)
    return 0


def _loose_build_dir(path: str) -> None:
    """rtl/pnr take a bare FINN build dir too (no build_info.json): reject here only what is clearly wrong."""
    from .stage_dirs import kind

    if not Path(path).exists() or kind(path) in ("train", "export"):
        need_build_dir(path, "rtl")


def _golden_images(build_dir: str) -> int | None:
    """How many images the build's golden set holds (reads one small array of golden.npz), None if unknown."""
    try:
        golden = json.loads((Path(build_dir) / "build_info.json").read_text()).get("golden")
    except (OSError, ValueError):
        return None
    if not golden or not Path(golden).is_file():
        return None
    import numpy as np

    with np.load(golden) as z:
        return len(z["int_dots"])


def _warn_fewer_images(command: str, requested: int, available: int | None) -> None:
    if requested and available is not None and requested > available:
        print(f"surge-hw {command}: warning: using all {available} images; {requested} requested", file=sys.stderr)


def _need_golden_stage_input(args, rtl: bool) -> None:
    """rtlsim/compare/deploy: a build dir (and its RTL where needed); warns once if --images exceeds the set."""
    need_build_dir(args.build_dir, args.command)
    if rtl:
        need_rtl(args.build_dir)
    _warn_fewer_images(args.command, args.images, _golden_images(args.build_dir))


def cmd_export(args) -> int:
    if args.model_file:  # your own Brevitas model (README: Bring your own model)
        if args.checkpoint:
            raise UsageError(f"pass a training run ({args.checkpoint}) or --model-file, not both; the module's weights "
                             f"go in --checkpoint W.pt")
        from .export.user_model import check_model_file, export_model_file

        check_model_file(args.model_file, args.weights)
        export_model_file(args.model_file, args.out, checkpoint=args.weights, dataset=args.dataset or "mnist",
                          n_images=args.images, data_dir=args.data_dir)
        return 0
    if args.weights or args.dataset:
        raise UsageError("--checkpoint and --dataset go with --model-file FILE.py:CALLABLE; a training run "
                         "(RUN_DIR) has its own weights and dataset")
    if not args.checkpoint:
        raise UsageError("pass a training run (RUN_DIR written by `surge-hw train`) or --model-file FILE.py:CALLABLE")
    need_checkpoint(args.checkpoint)
    from .export.stage import export_checkpoint

    export_checkpoint(args.checkpoint, args.out, n_images=args.images, data_dir=args.data_dir)
    return 0


def _check_build_out(args) -> None:
    """A rebuild replaces a previous build only with --force (and keeps what no stage wrote, board_results.*)."""
    out, source = Path(args.out), Path(args.source)
    export_dir = (source if source.is_dir() else source.parent).resolve()
    if out.resolve() == export_dir or out.resolve() in export_dir.parents:
        raise UsageError(f"--out {out} is or holds the export dir {args.source}; pass a new directory for the "
                         f"build, e.g. --out {Path(args.source).with_name(Path(args.source).name + '_build')}")
    if not out.is_dir() or not any(out.iterdir()) or args.force:
        return
    if (out / "build_info.json").is_file():
        raise UsageError(f"{out} holds a previous build; pass --force to replace it (its graphs, rtl/, report/, "
                         f"deploy/ and sim results; files no stage wrote, such as board_results.*, are kept) or "
                         f"choose a new --out")
    raise UsageError(f"{out} is not empty and is not a build dir; choose a new --out, or pass --force to build "
                     f"there (its files are kept)")


def cmd_build(args) -> int:
    need_export_dir(args.source)
    if (args.golden_file or args.dataset) and Path(args.source).is_dir():
        raise UsageError(f"--golden/--dataset go with a .onnx file; the export dir {args.source} has its golden.npz")
    if args.golden_file and not Path(args.golden_file).is_file():
        raise UsageError(f"--golden {args.golden_file} does not exist; pass a .npz with 'images' and 'int_dots' "
                         f"and/or 'labels' (README: Bring your own model)")
    _check_build_out(args)
    from .finn.stage import build_from_export

    build_from_export(args.source, args.out, board=args.board, target_fps=args.target_fps, max_luts=args.max_luts,
                      golden_images=args.golden_images or None, progress=not args.no_progress,
                      input_format=args.input_format, fclk_mhz=args.fclk_mhz, golden_file=args.golden_file,
                      dataset=args.dataset, data_dir=args.data_dir)
    return 0


def cmd_rtl(args) -> int:
    _loose_build_dir(args.build_dir)
    from .rtl.stage import generate_from_build

    generate_from_build(args.build_dir, fifo_depth=args.fifo_depth, synth=not args.no_synth, pipeline=args.pipeline)
    return 0


def cmd_pnr(args) -> int:
    _loose_build_dir(args.build_dir)
    from .rtl.stage import pnr_from_build

    res = pnr_from_build(args.build_dir, device=args.device, package=args.package, speed=args.speed,
                         freq_mhz=args.freq, seeds=args.seeds, jobs=args.jobs, ebr_outreg=args.ebr_outreg,
                         progress=not args.no_progress, placer_timing_weight=args.placer_timing_weight,
                         timeout_s=args.timeout_min * 60)
    return 0 if res["meets_target"] or not args.fail_on_timing else 1


def cmd_hls(args) -> int:
    from .hls.stage import generate_from_build, vitis_synth

    if args.synth:
        vitis_synth(args.build_dir)
    else:
        generate_from_build(args.build_dir, force=True)
    return 0


def cmd_hlssim(args) -> int:
    from .hls.stage import hlssim_from_build

    summary, _ = hlssim_from_build(args.build_dir, n_images=args.images or None, progress=not args.no_progress,
                                   jobs=args.jobs)
    return 0 if summary["int_equal_images"] == summary["n_images"] else 1


def cmd_rtlsim(args) -> int:
    _need_golden_stage_input(args, rtl=True)
    from .sim.stage import rtlsim_from_build

    summary, _ = rtlsim_from_build(args.build_dir, n_images=args.images or None, simulator=args.simulator,
                                   out_stall=args.stall, in_gap=args.gap, progress=not args.no_progress,
                                   jobs=args.jobs)
    return 0 if summary["int_equal_images"] == summary["n_images"] else 1


def cmd_compare(args) -> int:
    _need_golden_stage_input(args, rtl=False)
    from .compare.stage import compare_build

    stages = compare_build(args.build_dir, n_images=args.images or None, simulator=args.simulator, jobs=args.jobs,
                           progress=not args.no_progress)
    return 0 if all(s.bit_exact is not False for s in stages) else 1


def cmd_deploy(args) -> int:
    _need_golden_stage_input(args, rtl=True)
    from .deploy.stage import deploy_from_build

    deploy_from_build(args.build_dir, args.out, n_images=args.images or None, board=args.board, fclk_mhz=args.fclk_mhz,
                      bitfile=args.bitfile)
    return 0


def cmd_sweep(args) -> int:
    from .train.sweep import run_sweep, summarize

    if args.summarize_only:
        summarize(args.out)
    else:
        run_sweep(args.config, args.out, parallel=args.parallel, progress=not args.no_progress)  # summarizes when done
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args)


# ------------------------------------------------------------------------------------------ argument checks
# Each raises argparse.ArgumentTypeError: argparse then exits 2 with one line naming the option.


def _whole_number(text: str, what: str, least: int, meaning: str = "") -> int:
    """``int(text)`` if it is at least ``least``, else argparse's one-line error (``meaning``: what the
    smallest allowed value stands for, e.g. "0 = all images")."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number{what}, got {text!r}") from None
    if n < least:
        raise argparse.ArgumentTypeError(f"must be >= {least}{f' ({meaning})' if meaning else ''}, got {n}")
    return n


def image_count(text: str) -> int:
    """``--images N``: N >= 0; 0 = all images of the set."""
    return _whole_number(text, " of images", 0, "0 = all images")


def positive_int(text: str) -> int:
    return _whole_number(text, "", 1)


def thread_count(text: str) -> int:
    return _whole_number(text, " of threads", 0, "0 = torch's default, all cores")


def probability(text: str) -> float:
    """A per-cycle probability in [0, 1): at 1 the stream never moves and the simulation cannot finish."""
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability, got {text!r}") from None
    if not 0 <= p < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (a probability per cycle), got {text}")
    return p


def dataset_name(text: str) -> str:
    """Any spelling :func:`surge_hw.data.datasets.canonical_dataset` accepts (fashion-mnist, FashionMNIST, ...)."""
    from .data.datasets import canonical_dataset

    try:
        return canonical_dataset(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


# Help for the arguments several commands share, used where a command gives none: one wording everywhere.
SHARED_HELP = {
    "build_dir": "build directory written by 'surge-hw build EXPORT_DIR --out BUILD_DIR'",
    "no_progress": "no progress bars (there are none anyway when stderr is not a terminal)",
    "images": "test images from the golden set (0 = all)",
    "jobs": "parallel processes, one core each (the images are split between them)",
    "data_dir": "directory with the dataset files (IDX or cifar-10-batches-py); default: the offline packages",
    "out": "output directory",
}


class _HelpFormatter(argparse.HelpFormatter):
    """Appends an option's default to its help, unless the help already says it or there is none to say."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (not action.option_strings or action.default in (None, False, argparse.SUPPRESS)
                or "default" in text):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class _VersionAction(argparse.Action):
    """``--version``: reads the installed package's version only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            from importlib.metadata import version

            v = version("surge_hw")
        except Exception:  # not installed (run from a checkout with PYTHONPATH)
            v = "unknown"
        print(f"surge-hw {v}")
        parser.exit(0)


class _Parser(argparse.ArgumentParser):
    """Shows defaults in help, fills :data:`SHARED_HELP`, makes every image count >= 0, and reports a bad
    argument as ONE line, ``surge-hw CMD: error: CAUSE; see 'surge-hw CMD --help'``, exit 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *names, **kwargs):
        long = next((n for n in names if n.startswith("--")), names[0] if names else "")
        dest = kwargs.get("dest") or long.lstrip("-").replace("-", "_")
        if kwargs.get("help") is None and dest in SHARED_HELP:
            kwargs["help"] = SHARED_HELP[dest]
        if dest in ("images", "golden_images") and kwargs.get("type") is int:
            kwargs["type"] = image_count
        return super().add_argument(*names, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    from .data.datasets import DATASETS
    from .train.config import defaults

    D = defaults()  # TrainConfig's: a train option not given here or in --config keeps it
    p = _Parser(prog="surge-hw", description="BNN hardware/software co-design: one command per stage (train, "
                                             "export, build, rtl, rtlsim, compare, deploy) and demo, which chains them")
    p.add_argument("--version", action=_VersionAction, help="print the surge_hw version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a BNN with SURGE or a baseline estimator")
    t.add_argument("--model", choices=["tfc", "sfc", "lfc", "cnv", "cnv_small"], help=f"topology (default {D['model']})")
    t.add_argument("--dataset", type=dataset_name, choices=DATASETS,
                   help=f"dataset (default {D['dataset']}; fashion-mnist, FashionMNIST, fmnist are accepted too); "
                        f"cnv and cnv_small (CNV at a quarter of its width) take 32x32 images: mnist/fashion_mnist become "
                        f"mnist32/fashion_mnist32 (zero-padded)")
    t.add_argument("--estimator", help=f"surge | ste | identity | approx_sign | ede | reste (default {D['estimator']})")
    t.add_argument("--base-estimator", dest="base_estimator",
                   help=f"SURGE's binary-path surrogate (default {D['base_estimator']})")
    t.add_argument("--epochs", type=positive_int, help=f"training epochs (default {D['epochs']})")
    t.add_argument("--batch-size", dest="batch_size", type=positive_int, help=f"default {D['batch_size']}")
    t.add_argument("--lr", type=float, help=f"learning rate, cosine-annealed to 0 (default {D['lr']})")
    t.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], help=f"default {D['optimizer']}")
    t.add_argument("--momentum", type=float, help=f"SGD momentum, sgd only (default {D['momentum']})")
    t.add_argument("--seed", type=int, help=f"weights, data order and SURGE init (default {D['seed']})")
    t.add_argument("--device", help=f"cpu | cuda | cuda:N (default {D['device']})")
    t.add_argument("--act-bits", dest="act_bits", type=int, choices=[1, 2],
                   help=f"activation bits: 1 = w1a1, 2 = w1a2 (default {D['act_bits']})")
    t.add_argument("--threads", type=thread_count,
                   help=f"torch CPU threads (default {D['threads']}: on a shared 2-core machine a TFC epoch took "
                        f"0.8-1.0 s with 1 thread and 13-24 s with 2; 0 = torch's default, all cores). The same "
                        f"seed and thread count give identical weights; another thread count can differ slightly")
    t.add_argument("--dropout", type=float,
                   help=f"dropout after each binary activation (default {D['dropout']}; bnn_pynq: 0.2)")
    t.add_argument("--augment-shift", dest="augment_shift", type=int, metavar="PIXELS",
                   help=f"move each training image by a random shift of up to PIXELS in x and y, zero-filled "
                        f"(default {D['augment_shift']}: none)")
    t.add_argument("--eta", type=float, help="SURGE eta, 0 < eta < 1 (default 0.25)")
    t.add_argument("--fixed-lambda", dest="fixed_lambda", type=float,
                   help="SURGE ablation: a constant lambda instead of the adaptive one")
    t.add_argument("--eta-final", dest="eta_final", type=float,
                   help="SURGE: eta decays linearly over training from --eta to this value (default: constant eta)")
    # the choices are surge.AUX_INPUTS / AUX_INITS (not imported here: it loads torch; a test checks they match)
    t.add_argument("--aux-input", dest="aux_input", choices=["real", "clipped", "binary"],
                   help="SURGE aux branch input: real (the block's real-valued input), clipped (to [-1, 1]) or "
                        "binary (the binary input: the aux gradient reaches the weights only) (default real)")
    t.add_argument("--aux-init", dest="aux_init", choices=["copy", "random"],
                   help="SURGE aux weights W_a at the start: a copy of the latent weights or random (Kaiming) "
                        "(default copy)")
    t.add_argument("--data-dir", dest="data_dir")
    t.add_argument("--download", action="store_true", help="allow a torchvision download (needs network)")
    t.add_argument("--max-train", dest="max_train", type=positive_int,
                   help="use only the first N training images (default: all)")
    t.add_argument("--config", help="YAML/JSON file of training options, any of these flags by their long name "
                                    "with _ (flags given here override it)")
    t.add_argument("--out", required=True, help="run directory (checkpoint, logs, curves)")
    again = t.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the run in OUT from OUT/last.pt (same options; an error if there is none)")
    again.add_argument("--force", action="store_true",
                       help="replace the run in OUT (its checkpoint, history and TensorBoard logs; other files "
                            "stay); without it an OUT holding a checkpoint is refused")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("export", help="checkpoint -> pure-BNN QONNX + golden set of real test images")
    e.add_argument("checkpoint", nargs="?", help="RUN_DIR or RUN_DIR/last.pt written by 'surge-hw train' "
                                                 "(or --model-file instead)")
    e.add_argument("--out", required=True, help="export directory")
    e.add_argument("--images", type=int, default=10000,
                   help="test images in the golden set (default 10000 = all of MNIST's; 0 = all)")
    e.add_argument("--data-dir", dest="data_dir")
    e.add_argument("--model-file", dest="model_file", metavar="FILE.py:CALLABLE",
                   help="your own Brevitas model instead of a training run: CALLABLE() in FILE.py returns the "
                        "nn.Module, which takes pixels/255 (README: Bring your own model)")
    e.add_argument("--checkpoint", dest="weights", metavar="W.pt",
                   help="with --model-file: its state dict (torch.save(model.state_dict(), W.pt)), loaded with "
                        "weights_only=True; none = the module's initial weights")
    e.add_argument("--dataset", type=dataset_name, choices=DATASETS,
                   help="with --model-file: the test set that gives the input shape and golden images (default mnist)")
    e.set_defaults(func=cmd_export)

    b = sub.add_parser("build", help="FINN flow: streamline -> HW layers -> folding -> estimates (+bitfile w/ Vivado)")
    b.add_argument("source", help="export directory written by 'surge-hw export' (or a .onnx file)")
    b.add_argument("--out", required=True, help="build directory (a new one, or a previous build with --force)")
    b.add_argument("--board", default="Pynq-Z2", choices=list(BOARDS), help="target board (surge_hw/boards.py)")
    b.add_argument("--fclk", dest="fclk_mhz", type=float, default=None,
                   help="PL clock in MHz for folding and estimates (default: the board's, 100)")
    fold = b.add_mutually_exclusive_group()
    fold.add_argument("--target-fps", dest="target_fps", type=float,
                      help="fold for this many images/s (default: the fastest design within 70 percent of the "
                           "board's LUTs); or give --max-luts")
    fold.add_argument("--max-luts", dest="max_luts", type=float,
                      help="fold for the fastest design within this FINN-estimated LUT budget; or give --target-fps")
    b.add_argument("--golden-images", dest="golden_images", type=int, default=1000,
                   help="real test images checked bit-exact after every step (0 = all)")
    b.add_argument("--input-format", dest="input_format", default="uint8", choices=["uint8", "packed"],
                   help="uint8: the accelerator takes raw pixels (default, as FINN's examples); packed: the host "
                        "applies the binarizing first layer and streams 1 bit per pixel (TFC/SFC/LFC)")
    vectors = b.add_mutually_exclusive_group()
    vectors.add_argument("--golden", dest="golden_file", metavar="VECTORS.npz",
                         help="with a .onnx file: your test vectors, 'images' (uint8) and 'int_dots' (the last "
                              "layer's integer outputs) and/or 'labels'; missing ones come from QONNX execution "
                              "(README: Bring your own model)")
    vectors.add_argument("--dataset", type=dataset_name, choices=DATASETS,
                         help="with a .onnx file: --golden-images test images of this dataset, expected outputs by "
                              "QONNX execution")
    b.add_argument("--data-dir", dest="data_dir")
    b.add_argument("--force", action="store_true",
                   help="replace a previous build in OUT (its graphs and the rtl/, report/, deploy/ and "
                        "simulation results derived from it); files no stage wrote, e.g. board_results.*, are kept")
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(func=cmd_build)

    r = sub.add_parser("rtl", help="folded graph -> open Verilog project (+ yosys resources)")
    r.add_argument("build_dir")
    r.add_argument("--fifo-depth", dest="fifo_depth", type=int, default=0,
                   help="FIFO depth between layers (default 0: one input vector per link)")
    r.add_argument("--no-synth", action="store_true", help="skip yosys synth_xilinx")
    r.add_argument("--pipeline", default="auto", choices=["auto", "none"],
                   help="MVAU pipeline registers for the clock (default auto; none: shortest latency)")
    r.set_defaults(func=cmd_rtl)

    q = sub.add_parser("pnr", help="open place-and-route (yosys synth_ecp5 + nextpnr-ecp5): measured Fmax, "
                                   "critical path, bitstream")
    q.add_argument("build_dir")
    q.add_argument("--device", default="LFE5U-85F", help="ECP5 device (default LFE5U-85F)")
    q.add_argument("--package", default="CABGA381", help="ECP5 package")
    q.add_argument("--speed", type=int, default=6, choices=[6, 7, 8], help="speed grade (default 6, the slowest)")
    q.add_argument("--freq", type=float, default=100.0, help="target clock in MHz (default 100)")
    q.add_argument("--seeds", type=positive_int, default=3, help="placement seeds; the worst Fmax is reported")
    q.add_argument("--jobs", type=positive_int, default=None, help="seeds placed in parallel (default: one per core)")
    q.add_argument("--fail-on-timing", action="store_true", help="exit 1 when a seed misses --freq")
    q.add_argument("--ebr-outreg", action=argparse.BooleanOptionalAction, default=True,
                   help="move flip-flops that re-register block-RAM read data into the RAMs' output registers, "
                        "as Vivado does on Xilinx parts (default on; --no-ebr-outreg places yosys' netlist as it is)")
    q.add_argument("--placer-timing-weight", dest="placer_timing_weight", type=positive_int, default=None, metavar="N",
                   help="nextpnr's placer timing weight (--placer-heap-timingweight, nextpnr's default 10): higher "
                        "weighs critical nets more in placement; a knob to try per design (LFC at 40: seed 1 "
                        "94.4 -> 100.7 MHz, seed 3 105.2 -> 98.4, no consistent gain)")
    q.add_argument("--timeout", dest="timeout_min", type=positive_int, default=60, metavar="MIN",
                   help="minutes each tool run (synthesis, one seed's place-and-route) may take before pnr stops "
                        "with an error (default 60; LFC's slowest seed routes in about 35)")
    q.add_argument("--no-progress", action="store_true", help="no stage lines while it runs (the summary stays)")
    q.set_defaults(func=cmd_pnr)

    h = sub.add_parser("hls", help="the build's IR as Vitis-HLS C++ (BUILD/hls: kernels, weights, C-sim testbench, "
                                   "run_hls.tcl); --synth runs Vitis HLS where installed")
    h.add_argument("build_dir")
    h.add_argument("--synth", action="store_true",
                   help="run vitis_hls -f run_hls.tcl (needs vitis_hls on PATH; without it, says what to run where)")
    h.set_defaults(func=cmd_hls)

    hs = sub.add_parser("hlssim", help="C-simulate the HLS C++ with g++ on real test images, bit-exact vs PyTorch")
    hs.add_argument("build_dir")
    hs.add_argument("--images", type=int, default=1000, help="0 = all images of the golden set")
    hs.add_argument("--jobs", type=int, default=1, help="parallel C-sim processes (images split)")
    hs.add_argument("--no-progress", action="store_true")
    hs.set_defaults(func=cmd_hlssim)

    s = sub.add_parser("rtlsim", help="simulate real test images through the RTL, bit-exact vs PyTorch")
    s.add_argument("build_dir")
    s.add_argument("--images", type=int, default=1000, help="test images from the golden set (0 = all)")
    s.add_argument("--simulator", default="verilator", choices=["verilator", "icarus"],
                   help="HDL simulator (CNV designs: verilator only)")
    s.add_argument("--stall", type=probability, default=0.0,
                   help="probability per cycle, in [0, 1), that m_axis tready is low (backpressure)")
    s.add_argument("--gap", type=probability, default=0.0,
                   help="probability per cycle, in [0, 1), that s_axis tvalid is low (input gaps)")
    s.add_argument("--jobs", type=positive_int, default=1,
                   help="parallel simulations, one core each (images split)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_rtlsim)

    c = sub.add_parser("compare", help="every stage on the same images: one report (md/json/html)")
    c.add_argument("build_dir")
    c.add_argument("--images", type=int, default=1000, help="test images from the golden set (0 = all)")
    c.add_argument("--simulator", default="verilator", choices=["verilator", "icarus"],
                   help="HDL simulator for the RTL stage (CNV designs: verilator only)")
    c.add_argument("--jobs", type=positive_int, default=1,
                   help="parallel RTL simulations, one core each (images split)")
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(func=cmd_compare)

    d = sub.add_parser("deploy", help="folder for a PYNQ board: driver, test data, validate.py, Vivado project "
                                      "(+bitfile with --bitfile and Vivado)")
    d.add_argument("build_dir")
    d.add_argument("--out", help="package directory (default BUILD_DIR/deploy)")
    d.add_argument("--images", type=int, default=0, help="test images for validate.py (default 0 = all of the golden set)")
    d.add_argument("--board", choices=list(BOARDS), default=None, help="default: the build's board")
    d.add_argument("--fclk", dest="fclk_mhz", type=float, default=None, help="PL clock in MHz (default: the build's)")
    d.add_argument("--bitfile", action="store_true",
                   help="run the Vivado project (needs vivado on PATH; without it, says what to run where)")
    d.set_defaults(func=cmd_deploy)

    w = sub.add_parser("sweep", help="SURGE vs baselines: models x datasets x estimators x seeds, table + plots")
    w.add_argument("config", help="sweep YAML (see benchmarks/configs/)")
    w.add_argument("--out", required=True, help="sweep directory (per-run results, table, plots; resumes there)")
    w.add_argument("--parallel", type=positive_int, default=None,
                   help="runs in flight (subprocesses; GPUs round-robin; default: the config's)")
    w.add_argument("--summarize-only", action="store_true", help="only rebuild the table and plots from OUT")
    w.add_argument("--no-progress", action="store_true")
    w.set_defaults(func=cmd_sweep)

    m = sub.add_parser("demo", help="train -> export -> FINN -> RTL -> cocotb -> report, on real MNIST / "
                                    "Fashion-MNIST (cnv: padded to 32x32)")
    m.add_argument("--out", default="runs/demo", help="demo directory (train/, export/, build/); resumes there")
    m.add_argument("--model", default="tfc", choices=["tfc", "sfc", "lfc", "cnv"], help="topology")
    m.add_argument("--dataset", type=dataset_name, default=None, choices=["mnist", "fashion_mnist"],
                   help="default mnist (cnv: fashion_mnist, zero-padded to 32x32)")
    m.add_argument("--estimator", default="surge", help="surge | ste | identity | approx_sign | ede | reste")
    m.add_argument("--epochs", type=positive_int, default=None, help="default 10 (cnv: 1)")
    m.add_argument("--images", type=int, default=1000,
                   help="test images through RTL simulation and the report (0 = all)")
    m.add_argument("--seed", type=int, default=0, help="training seed")
    m.add_argument("--no-synth", action="store_true", help="skip yosys synth_xilinx of the RTL")
    m.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    from .console import quiet_library_noise

    quiet_library_noise()  # qonnx/FINN/Brevitas/tqdm messages that say nothing a user can act on
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("surge-hw: interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        # User-facing errors (bad data, checkpoint, graph, folding, missing simulator) carry their fix in the
        # message; SURGE_HW_DEBUG=1 shows the traceback instead.
        if os.environ.get("SURGE_HW_DEBUG"):
            raise
        print(f"surge-hw {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
