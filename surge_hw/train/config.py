"""``TrainConfig``: every training option, in a module that imports no torch, so that the CLI can check a config
file's keys and show the defaults in ``surge-hw train --help`` at once."""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields

from ..data.datasets import PADDED, canonical_dataset

# 32x32 convolutional topologies (train on CIFAR-10 or the zero-padded 28x28 sets): bnn_pynq's CNV and a
# quarter-width CNV for estimator sweeps on CPUs (models.CONV_WIDTHS)
CONV_MODELS = ("cnv", "cnv_small")


OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass
class TrainConfig:
    model: str = "tfc"
    dataset: str = "mnist"
    estimator: str = "surge"
    base_estimator: str = "ste"  # SURGE's binary-path surrogate
    epochs: int = 10
    batch_size: int = 256
    lr: float = 0.01
    weight_decay: float = 0.0
    optimizer: str = "adam"  # adam | adamw | sgd
    momentum: float = 0.9  # sgd only (heavy-ball, PyTorch's SGD); ignored by adam/adamw
    seed: int = 0
    device: str = "cpu"
    act_bits: int = 1
    dropout: float = 0.0
    # data augmentation: each training image moved by a random whole-pixel shift of up to this many pixels in x
    # and y, zero-filled (the background), drawn per image and epoch from the seed; 0 = none
    augment_shift: int = 0
    data_dir: str | None = None
    download: bool = False
    max_train: int | None = None  # subsample the training set (tests, quick demos)
    max_steps: int | None = None  # stop an epoch early (tests)
    surge: dict = field(default_factory=dict)  # SurgeConfig fields
    estimator_state: dict = field(default_factory=dict)  # EstimatorState fields (reste_o, ede_tmin, ...)
    progress: bool = True
    tensorboard: bool = True
    # torch intra-op threads on CPU; 0/None: torch's default (all cores). 1 because on a shared 2-core machine a
    # 15k-image TFC epoch took 0.8-1.0 s with 1 thread and 13-24 s with 2 (OpenMP threads spinning against other
    # work); results are identical for the same seed and thread count, not across thread counts.
    threads: int | None = 1

    def __post_init__(self):
        from .estimators import ESTIMATOR_NAMES  # torch: only when a config is built, not to read its fields

        if self.estimator not in ESTIMATOR_NAMES:
            raise ValueError(f"unknown estimator {self.estimator!r}; choose one of {', '.join(ESTIMATOR_NAMES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if not 0 <= int(self.augment_shift) <= 8 or int(self.augment_shift) != self.augment_shift:
            raise ValueError(f"augment_shift must be a whole number of pixels in [0, 8], got {self.augment_shift}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        self.dataset = resolved_dataset(self.model, self.dataset)


def resolved_dataset(model: str, dataset: str) -> str:
    """The canonical name (aliases accepted); CNV, a 32x32 topology, takes the zero-padded 28x28 sets."""
    name = canonical_dataset(dataset)
    if model in CONV_MODELS and name in PADDED.values():
        name = next(k for k, v in PADDED.items() if v == name)
    return name


def as_options(options: dict) -> dict:
    """What ``asdict(TrainConfig(**options))`` holds, without validating (which imports torch): the CLI compares
    it with an existing run's config.json before deciding to train."""
    out = {f.name: f.default if f.default is not MISSING else f.default_factory() for f in fields(TrainConfig)}
    out.update(options)
    try:
        out["dataset"] = resolved_dataset(out["model"], out["dataset"])
    except ValueError:
        pass  # reported when the TrainConfig is built
    return out


# Fields set by the program or by tests, not options a user writes in a config file: still accepted there, but not
# offered in "valid keys" lists or help.
INTERNAL_FIELDS = ("progress", "tensorboard", "max_steps")


def user_options() -> list[str]:
    """The TrainConfig fields a config file is meant to set, in declaration order."""
    return [f.name for f in fields(TrainConfig) if f.name not in INTERNAL_FIELDS]


def defaults() -> dict:
    """Each plain field's default (``surge``/``estimator_state`` are dicts of their own config classes)."""
    return {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}


# Options that may change between a run and its --resume: how it runs, not what it computes.
RESUME_FREE = ("progress", "tensorboard", "device", "data_dir", "download", "threads")


def comparable(train_options: dict) -> dict:
    """The options that must match to resume a run (``asdict(TrainConfig)`` or a run's config.json "train")."""
    out = {k: v for k, v in train_options.items() if k not in RESUME_FREE}
    if out.get("optimizer", "adam") != "sgd":
        out.pop("momentum", None)  # no effect on adam/adamw: runs made before the option existed still match
    if not out.get("augment_shift"):
        out.pop("augment_shift", None)  # likewise for runs made before augmentation existed
    return out
