"""Checkpoints: written atomically, loaded with ``weights_only=True``, checked before use.

A checkpoint is a plain dict of tensors and JSON-like values (no pickled classes), so
``torch.load(..., weights_only=True)`` can read it and a foreign or corrupt file fails with a clear error.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

FORMAT = "surge_hw.checkpoint/1"
REQUIRED = ("format", "model_config", "model", "epoch")


class CheckpointError(RuntimeError):
    pass


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` via a temp file + rename: a crash never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, **state}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "last.pt"
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; pass a file written by `surge-hw train` "
                              f"(RUN_DIR/last.pt) or its run directory")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, random bytes, pickled classes...
        raise CheckpointError(f"{path} is not a readable surge_hw checkpoint ({type(e).__name__}: "
                              f"{str(e).splitlines()[0][:200]}); it may be truncated or from another tool. "
                              f"Re-run `surge-hw train` or point to another checkpoint.") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path} is not a surge_hw checkpoint (format {found!r}, expected {FORMAT!r}); "
                              f"a plain state_dict or another project's file cannot be resumed or exported")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CheckpointError(f"{path} lacks {missing}; it was not written by `surge-hw train`")
    return state


def model_from_checkpoint(path: str | os.PathLike, with_aux: bool = False):
    """Rebuild the trained BNN (eval mode). The SURGE aux branch is dropped unless ``with_aux``."""
    from .models import BNN, ModelConfig
    from .quantizers import set_estimator
    from .surge import SurgeConfig, enable_surge

    state = load_checkpoint(path)
    model = BNN(ModelConfig(**state["model_config"]))
    sd = state["model"]
    if with_aux and state.get("surge"):
        enable_surge(model, SurgeConfig(**state["surge"]))
    else:
        sd = {k: v for k, v in sd.items() if not k.endswith("aux_weight")}
    model.load_state_dict(sd)
    set_estimator(model, "ste")
    return model.eval(), state
