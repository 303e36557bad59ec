"""Sorting and selection: sort, argsort, topk.

What it teaches: these ops have no derivative of their own. They choose *which* elements
come out (integer indices), and the values are then a gather of those positions, so the
gradient flows back to exactly the chosen elements through gather's backward.

Systems lesson: `topk` with a small k needs only a partial sort (`np.argpartition`,
O(n)) instead of a full O(n log n) sort; sampling from a language model's 50k-entry
vocabulary with top-k=50 uses this every token.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..tensor import Tensor, check_dim
from .indexing import gather

SortResult = namedtuple("sort", ["values", "indices"])
TopKResult = namedtuple("topk", ["values", "indices"])


def _order(values: np.ndarray, dim: int, descending: bool, stable: bool) -> np.ndarray:
    keys = -values if descending and values.dtype.kind != "b" else values
    if descending and values.dtype.kind == "b":
        keys = ~values
    return np.argsort(keys, axis=dim, kind="stable" if stable else "quicksort")


def argsort(a: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    dim = check_dim("argsort", dim, a.ndim)
    if a.ndim == 0:
        return Tensor._make(np.zeros((), np.int64))
    return Tensor._make(_order(a.array, dim, descending, stable).astype(np.int64))


def sort(a: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    indices = argsort(a, dim, descending, stable)
    if a.ndim == 0:
        return SortResult(a.clone(), indices)
    return SortResult(gather(a, dim, indices), indices)


def topk(a: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The k largest (or smallest) entries along `dim`, with their indices."""
    dim = check_dim("topk", dim, a.ndim)
    size = a.shape[dim] if a.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= size:
        raise RuntimeError(f"topk: k ({k}) must be an int in [0, {size}] for dim {dim} of "
                           f"size {size}")
    if a.ndim == 0:
        return TopKResult(a.clone(), Tensor._make(np.zeros((), np.int64)))
    keys = -a.array if largest else a.array
    if 0 < k < size:  # partial sort: only the k chosen ones are ordered afterwards
        chosen = np.argpartition(keys, k - 1, axis=dim)
        chosen = np.take(chosen, np.arange(k), axis=dim)
    else:
        chosen = np.argsort(keys, axis=dim, kind="stable")
        chosen = np.take(chosen, np.arange(k), axis=dim)
    if sorted:
        within = np.argsort(np.take_along_axis(keys, chosen, axis=dim), axis=dim,
                            kind="stable")
        chosen = np.take_along_axis(chosen, within, axis=dim)
    indices = Tensor._make(chosen.astype(np.int64))
    return TopKResult(gather(a, dim, indices), indices)
