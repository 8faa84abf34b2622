"""Data stage: real image datasets (MNIST, Fashion-MNIST, CIFAR-10) loaded offline, never synthesised."""

from surge_hw.data.datasets import (
    DATASETS,
    SPLITS,
    DataFormatError,
    DataNotFoundError,
    ImageDataset,
    load_dataset,
    read_idx,
    write_idx,
)

__all__ = ["DATASETS", "SPLITS", "DataFormatError", "DataNotFoundError", "ImageDataset", "load_dataset",
           "read_idx", "write_idx"]
