"""Datasets: Dataset, TensorDataset, Subset and random_split.

What it teaches: a dataset is only two methods, `len(ds)` and `ds[i]`. Everything else
(batching, shuffling, splitting) is built on top of that contract, so any source of
samples (arrays in memory, files on disk, a generator of synthetic data) plugs into the
same DataLoader.

Systems lesson: calling `ds[i]` once per sample costs a Python call (microseconds) per
sample; for small samples that overhead dominates the actual copying. Datasets that keep
their samples in arrays can hand over a whole batch with one fancy index
(`__getitems__`), turning B Python calls into one vectorized gather. A `Subset` stores
only an index array, never a copy of the data: a random_split of a 1 GB dataset costs
8 bytes per sample.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from ..random import Generator, get_rng
from ..tensor import Tensor
from .collate import default_collate


class Dataset:
    """Base class of map-style datasets: subclasses define `__getitem__` and `__len__`."""

    def __getitem__(self, index):
        raise NotImplementedError(
            f"{type(self).__name__} must define __getitem__(index) to return one sample"
        )

    def __len__(self) -> int:
        raise NotImplementedError(
            f"{type(self).__name__} must define __len__() to return the number of samples"
        )


class TensorDataset(Dataset):
    """Samples are rows of the given tensors: `ds[i] == (t[i] for t in tensors)`.

    All tensors must have the same size along dimension 0 (one row per sample).
    """

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor, got none")
        for position, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {position} must be a Tensor, got "
                    f"{type(t).__name__}; wrap numpy arrays with tinytorch.core.tensor(...)"
                )
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {position} is a 0-d tensor; every "
                                 "tensor needs a first dimension indexing the samples")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(
                f"TensorDataset: size mismatch between tensors: first dimensions are {sizes}; "
                "all tensors must have the same number of samples"
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices) -> list:
        """A whole batch with one fancy index per tensor (already collated).

        Returns a list like `default_collate` would build from the individual samples,
        but without B separate `__getitem__` calls.
        """
        indices = _as_index_array("TensorDataset.__getitems__", indices, len(self))
        return [t[indices] for t in self.tensors]

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of `dataset` at positions `indices` (no data is copied)."""

    def __init__(self, dataset, indices: Sequence[int]):
        _check_dataset("Subset", dataset)
        self.dataset = dataset
        self.indices = indices
        self._index_array = _as_index_array("Subset", indices, len(dataset))

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[self._index_array[index].tolist()]
        return self.dataset[int(self._index_array[index])]

    def __getitems__(self, indices) -> list:
        """Batched fetch: map positions to the parent's indices, then fetch them at once."""
        positions = _as_index_array("Subset.__getitems__", indices, len(self))
        parent_indices = self._index_array[positions]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(parent_indices)
        return default_collate([self.dataset[int(i)] for i in parent_indices])

    def __len__(self) -> int:
        return len(self._index_array)


def random_split(dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split `dataset` into non-overlapping random subsets of the given lengths.

    `lengths` are either sample counts summing to `len(dataset)` or fractions summing to
    1; fractions are floored and the left-over samples go one each to the first subsets
    (round-robin), exactly as in PyTorch.
    """
    _check_dataset("random_split", dataset)
    total = len(dataset)
    counts = _split_counts(lengths, total)
    order = get_rng(generator).permutation(total)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]


def _split_counts(lengths, total: int) -> list[int]:
    if isinstance(lengths, (str, bytes)) or not isinstance(lengths, Sequence) or not lengths:
        raise ValueError(f"random_split: lengths must be a non-empty sequence, got {lengths!r}")
    if any(isinstance(n, bool) or not isinstance(n, numbers.Real) for n in lengths):
        raise TypeError(f"random_split: lengths must be ints or fractions, got {list(lengths)}")
    if any(n < 0 for n in lengths):
        raise ValueError(f"random_split: lengths must be non-negative, got {list(lengths)}")
    if math.isclose(sum(lengths), 1.0) and sum(lengths) <= total:  # fractions, as PyTorch
        counts = [math.floor(total * frac) for frac in lengths]
        for i in range(total - sum(counts)):
            counts[i % len(counts)] += 1
        return counts
    if any(not float(n).is_integer() for n in lengths):
        raise ValueError(f"random_split: fractional lengths must sum to 1, got {list(lengths)} "
                         f"(sum {sum(lengths)})")
    counts = [int(n) for n in lengths]
    if sum(counts) != total:
        raise ValueError(
            f"random_split: sum of input lengths {counts} is {sum(counts)}, which does not "
            f"equal the length of the input dataset ({total})"
        )
    return counts


def _as_index_array(op: str, indices, length: int) -> np.ndarray:
    """Validated int64 index array with every entry in [-length, length)."""
    if isinstance(indices, Tensor):
        indices = indices.array
    array = np.asarray(indices)
    if array.size == 0:
        return array.astype(np.int64).reshape(0)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be a 1-d sequence of ints, got "
                        f"shape {array.shape} and dtype {array.dtype}")
    low, high = int(array.min()), int(array.max())
    if low < -length or high >= length:
        bad = low if low < -length else high
        raise IndexError(f"{op}: index {bad} is out of range for a dataset of length {length}")
    return array.astype(np.int64, copy=False)


def _check_dataset(op: str, dataset) -> None:
    if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
        raise TypeError(f"{op}: expected a dataset with __getitem__ and __len__, got "
                        f"{type(dataset).__name__}")
