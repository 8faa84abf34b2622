"""Bring your own Brevitas model: any FINN-compatible ``nn.Module`` -> the export dir the zoo models get.

Two ways in, one way out (``model.qonnx.onnx``, ``golden.npz``, ``export_info.json``, as :mod:`.stage`):

* CLI: ``surge-hw export --model-file my_model.py:build --checkpoint w.pt --dataset mnist --out EXP`` imports
  ``my_model.py``, calls ``build()`` (it must return an ``nn.Module``), loads the state dict with
  ``torch.load(w.pt, weights_only=True)`` and takes the input shape and the test images from the dataset;
* Python: :func:`export_brevitas` ``(module, example_input, test_images, out, labels=None)``.

The module takes what the zoo models take: float pixels ``x = p / 255`` in [0, 1], NCHW (the FINN stage
prepends the ``/255`` so that the accelerator reads raw uint8 pixels). Its golden integer outputs are those of
its last ``QuantLinear`` (:mod:`.reference`), and ``export_info.json`` records ``model_file`` and
``checkpoint``, so that ``surge-hw compare`` can rebuild it for its PyTorch row and per-layer locator.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

from ..artefacts import write_json_atomic

# torch, Brevitas and qonnx load inside the functions: the CLI checks a spec (check_model_file) before them


class ModelFileError(ValueError):
    """A ``--model-file FILE.py:CALLABLE`` or ``--checkpoint`` that cannot give a Brevitas module."""


def parse_model_file(spec: str) -> tuple[Path, str]:
    """``"path/to/my_model.py:build"`` -> (path, "build")."""
    path, sep, name = str(spec).rpartition(":")
    if not sep or not path or not name.isidentifier():
        raise ModelFileError(f"--model-file {spec!r}: expected FILE.py:CALLABLE, e.g. my_model.py:build (a "
                             f"function or class in FILE.py that returns the Brevitas nn.Module)")
    return Path(path), name


def check_model_file(spec: str, checkpoint: str | os.PathLike | None = None) -> None:
    """The checks that need no import: FILE.py and the checkpoint exist."""
    path, _ = parse_model_file(spec)
    if not path.is_file():
        raise ModelFileError(f"--model-file {spec!r}: {path} does not exist")
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise ModelFileError(f"--checkpoint {checkpoint} does not exist")


def load_model_file(spec: str, checkpoint: str | os.PathLike | None = None):
    """Import FILE.py, call CALLABLE() -> ``nn.Module``, load ``checkpoint``'s state dict (if given); eval mode."""
    import torch

    path, name = parse_model_file(spec)
    if not path.is_file():
        raise ModelFileError(f"--model-file {spec!r}: {path} does not exist")
    mod_spec = importlib.util.spec_from_file_location(f"surge_hw_user_model_{path.stem}", path)
    if mod_spec is None or mod_spec.loader is None:
        raise ModelFileError(f"--model-file {spec!r}: {path} is not a Python file")
    module = importlib.util.module_from_spec(mod_spec)
    sys.path.insert(0, str(path.resolve().parent))  # so the file can import its neighbours
    try:
        mod_spec.loader.exec_module(module)
    except Exception as e:
        raise ModelFileError(f"--model-file {spec!r}: importing {path} failed: {type(e).__name__}: {e}") from e
    finally:
        sys.path.remove(str(path.resolve().parent))
    fn = getattr(module, name, None)
    if not callable(fn):
        found = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
                       and getattr(v, "__module__", None) == module.__name__)
        raise ModelFileError(f"--model-file {spec!r}: {path} has no callable {name!r}"
                             + (f" (it defines {', '.join(found)})" if found else ""))
    try:
        model = fn()
    except Exception as e:
        raise ModelFileError(f"--model-file {spec!r}: {name}() raised {type(e).__name__}: {e}") from e
    if not isinstance(model, torch.nn.Module):
        raise ModelFileError(f"--model-file {spec!r}: {name}() returned {type(model).__name__}, not a torch "
                             f"nn.Module (return the Brevitas model itself)")
    if checkpoint is not None:
        load_weights(model, checkpoint)
    return model.eval()


def load_weights(model, checkpoint: str | os.PathLike) -> None:
    """A state dict saved with ``torch.save(model.state_dict(), path)`` (or a dict holding it under ``state_dict``
    or ``model``, as a surge_hw checkpoint does), read with ``weights_only=True``."""
    import torch

    path = Path(checkpoint)
    if not path.is_file():
        raise ModelFileError(f"--checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelFileError(f"--checkpoint {path}: not readable with torch.load(weights_only=True) "
                             f"({type(e).__name__}: {str(e).splitlines()[0][:160]}); save model.state_dict()") from None
    if isinstance(state, dict):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"--checkpoint {path}: expected a state dict of tensors, got {type(state).__name__}")
    missing, unexpected = [], []
    try:
        result = model.load_state_dict(state, strict=False)
        missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    except RuntimeError as e:  # shape mismatches
        raise ModelFileError(f"--checkpoint {path} does not fit the model: {str(e).splitlines()[-1].strip()}") from None
    if missing or unexpected:
        raise ModelFileError(f"--checkpoint {path} does not fit the model: missing keys {missing[:4]}"
                             f"{'...' if len(missing) > 4 else ''}, unexpected keys {unexpected[:4]}"
                             f"{'...' if len(unexpected) > 4 else ''}")


def _images_nchw(test_images, shape: tuple) -> np.ndarray:
    from .qonnx_export import ExportError

    images = np.asarray(test_images)
    if images.dtype != np.uint8:
        raise ExportError(f"test_images must be uint8 pixels (what the accelerator is fed), got {images.dtype}")
    if images.ndim == 2 and images.shape[1] == int(np.prod(shape)):
        images = images.reshape((len(images),) + shape)
    if images.ndim != 4 or tuple(images.shape[1:]) != shape:
        raise ExportError(f"test_images have shape {images.shape}; the model's input is (N,) + {shape}")
    return np.ascontiguousarray(images)


def export_brevitas(module, example_input, test_images, out: str | os.PathLike, labels=None, *,
                    dataset: str | None = None, model_file: str | None = None,
                    checkpoint: str | os.PathLike | None = None):
    """Export a user's Brevitas module like a zoo checkpoint: QONNX + golden set on ``test_images``.

    ``example_input``: a (1, C, H, W) tensor (or just its shape) of what the module takes, pixels / 255;
    ``test_images``: uint8 (N, C, H, W) (or (N, C*H*W)) raw pixels; ``labels``: optional (N,) ints, for accuracy.
    ``dataset``/``model_file``/``checkpoint``: provenance for ``export_info.json`` (``compare`` rebuilds the module
    from ``model_file`` + ``checkpoint``; without them it uses the QONNX graph as the reference).
    Returns the :class:`~surge_hw.export.stage.ExportResult`.
    """
    import torch

    from .qonnx_export import ExportError, export_qonnx_model
    from .reference import _last_quant_linear, make_golden_set
    from .stage import GOLDEN_NAME, INFO_NAME, ONNX_NAME, ExportResult

    if not isinstance(module, torch.nn.Module):
        raise ExportError(f"module must be a torch nn.Module (Brevitas), got {type(module).__name__}")
    shape = tuple(int(d) for d in (example_input.shape if hasattr(example_input, "shape") else example_input))
    if len(shape) != 4 or shape[0] != 1:
        raise ExportError(f"example_input must be one (1, C, H, W) image, got shape {shape}")
    images = _images_nchw(test_images, shape[1:])
    if labels is not None:
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(labels) != len(images):
            raise ExportError(f"{len(labels)} labels for {len(images)} test images")
    out = Path(out)
    module.eval()
    onnx_path = export_qonnx_model(module, shape, out / ONNX_NAME)
    golden = make_golden_set(module, images, labels)
    golden.save(out / GOLDEN_NAME)
    top1 = None if labels is None else float((golden.logits.argmax(1) == labels).mean())
    info = {"source": "brevitas module", "model_name": type(module).__name__,
            "model_file": str(model_file) if model_file else None,
            "checkpoint": str(Path(checkpoint).resolve()) if checkpoint else None,
            "dataset": dataset, "n_images": len(images), "torch_top1": top1,
            "mw_last": int(_last_quant_linear(module).weight.shape[1])}
    # label_sign (the sign of the float scale behind the last layer) is read off the graph by `surge-hw build`
    write_json_atomic(out / INFO_NAME, info)
    acc = "" if top1 is None else f", PyTorch top-1 {100 * top1:.2f} %"
    print(f"export: wrote {onnx_path} ({type(module).__name__}) and {out / GOLDEN_NAME} ({len(images)} "
          f"{dataset + ' ' if dataset else ''}test images{acc}); next: `surge-hw build {out} --out BUILD_DIR`")
    return ExportResult(out, onnx_path, out / GOLDEN_NAME, len(images), top1)


def export_model_file(spec: str, out: str | os.PathLike, checkpoint: str | os.PathLike | None = None,
                      dataset: str = "mnist", n_images: int = 10000, data_dir: str | None = None):
    """``surge-hw export --model-file FILE.py:CALLABLE [--checkpoint W.pt] --dataset NAME``."""
    from ..data import load_dataset

    check_model_file(spec, checkpoint)
    model = load_model_file(spec, checkpoint)  # before the dataset: a bad spec fails at once
    if checkpoint is None:
        print("export: warning: no --checkpoint: exporting the module's initial weights", file=sys.stderr)
    test = load_dataset(dataset, "test", data_dir)
    if n_images and n_images > len(test):
        print(f"export: warning: using all {len(test)} images; {n_images} requested", file=sys.stderr)
    n = min(n_images, len(test)) if n_images else len(test)
    spec_path, name = parse_model_file(spec)
    return export_brevitas(model, (1,) + tuple(test.images.shape[1:]), test.images[:n], out, test.labels[:n],
                           dataset=dataset, model_file=f"{spec_path.resolve()}:{name}", checkpoint=checkpoint)
