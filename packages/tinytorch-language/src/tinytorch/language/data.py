"""Language-model data: windows of token ids and the same window shifted by one.

What it teaches: next-token prediction needs no labels. Take any window of T + 1
consecutive tokens; the first T are the input and the last T are the targets, so target t
is the token that follows input t. A corpus of N tokens holds N - T such windows, one per
start position, overlapping almost completely.

Systems lesson: a batch is one fancy index. `starts[:, None] + arange(T)` builds a
(batch, T) matrix of positions and `ids[positions]` gathers the whole batch in one numpy
call; no Python loop over windows, no copy of the corpus. Training samples start
positions at random with replacement (as nanoGPT does), so an "epoch" is simply a number
of steps; evaluation walks non-overlapping windows so every token is scored once.
"""

from __future__ import annotations

import numbers

import numpy as np

from tinytorch.core.bad_input import as_array
from tinytorch.core.data import Dataset
from tinytorch.core.random import get_rng
from tinytorch.core.tensor import Tensor


def as_token_array(op: str, ids, block_size: int) -> np.ndarray:
    data = as_array(op, "ids", ids)
    if data.ndim != 1 or data.dtype.kind not in "iu":
        raise ValueError(f"{op}: expected a 1-D array of integer token ids, got shape "
                         f"{data.shape} dtype {data.dtype}")
    if not isinstance(block_size, numbers.Integral) or block_size < 1:
        raise ValueError(f"{op}: block_size must be a positive int, got {block_size!r}")
    if data.size < block_size + 1:
        raise ValueError(f"{op}: {data.size} tokens are too few for one window of "
                         f"block_size {block_size} (needs block_size + 1 = {block_size + 1})")
    return data.astype(np.int64, copy=False)


def windows_at(ids: np.ndarray, starts: np.ndarray, block_size: int):
    """(inputs, targets), each (len(starts), block_size): ids[s:s+T] and ids[s+1:s+T+1]."""
    positions = starts[:, None] + np.arange(block_size)
    return ids[positions], ids[positions + 1]


def random_windows(ids, batch_size: int, block_size: int, generator=None):
    """A batch of windows at random start positions (with replacement): Tensors (B, T)."""
    ids = as_token_array("random_windows", ids, block_size)
    starts = get_rng(generator).integers(0, ids.size - block_size, size=batch_size)
    x, y = windows_at(ids, starts, block_size)
    return Tensor._make(x), Tensor._make(y)


class TextWindowDataset(Dataset):
    """Windows starting every `stride` tokens; `ds[i]` = (input ids, target ids), each (T,).

    stride=1 gives every window (training with a shuffling DataLoader); stride=block_size
    gives non-overlapping windows (evaluation: each token is predicted once). Batches are
    gathered at once through `__getitems__`.
    """

    def __init__(self, ids, block_size: int, stride: int | None = None):
        self.ids = as_token_array("TextWindowDataset", ids, block_size)
        self.block_size = block_size
        self.stride = block_size if stride is None else stride
        if not isinstance(self.stride, numbers.Integral) or self.stride < 1:
            raise ValueError(f"TextWindowDataset: stride must be a positive int, got {stride!r}")

    def __len__(self) -> int:
        return (self.ids.size - self.block_size - 1) // self.stride + 1

    def __getitem__(self, index):
        x, y = self.__getitems__([index])
        return x[0], y[0]

    def __getitems__(self, indices) -> list:
        indices = np.asarray(indices, dtype=np.int64)
        n = len(self)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"TextWindowDataset: index out of range for {n} windows")
        x, y = windows_at(self.ids, (indices % n) * self.stride, self.block_size)
        return [Tensor._make(x), Tensor._make(y)]


class RandomWindowLoader:
    """`num_batches` batches of random windows per iteration (one "epoch" of training)."""

    def __init__(self, ids, batch_size: int, block_size: int, num_batches: int,
                 generator=None):
        self.ids = as_token_array("RandomWindowLoader", ids, block_size)
        for name, value in (("batch_size", batch_size), ("num_batches", num_batches)):
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"RandomWindowLoader: {name} must be a positive int, got "
                                 f"{value!r}")
        self.batch_size, self.block_size = batch_size, block_size
        self.num_batches, self.generator = num_batches, generator

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self):
        rng = get_rng(self.generator)
        for _ in range(self.num_batches):
            starts = rng.integers(0, self.ids.size - self.block_size, size=self.batch_size)
            x, y = windows_at(self.ids, starts, self.block_size)
            yield Tensor._make(x), Tensor._make(y)
