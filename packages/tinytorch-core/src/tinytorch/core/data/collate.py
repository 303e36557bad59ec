"""default_collate: turn a list of samples into one batch.

What it teaches: a batch is the samples stacked along a new first dimension. Samples
are often nested (an `(image, label)` tuple, a dict of fields), so collation recurses
into the structure of the first sample and stacks leaf by leaf: a list of B `(x, y)`
tuples becomes `[X, Y]` with `X.shape == (B, *x.shape)`.

Systems lesson: `np.stack` of B arrays is one allocation plus B copies into it. That is
the price of the per-sample path; a dataset that stores its samples in one array can skip
it and gather the batch with a single fancy index (see `TensorDataset.__getitems__`).

Difference from PyTorch: Python floats collate to float32 (TinyTorch's default float),
not float64. numpy arrays and numpy scalars keep their dtype in both libraries.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from ..tensor import Tensor


def default_collate(batch):
    """Stack a list of samples into a batch, recursing into tuples, lists and dicts.

    Tensors, numpy arrays and numbers become Tensors with a leading batch dimension
    (Python ints -> int64, Python floats -> float32, bools -> bool); strings stay a
    list; tuples and lists are collated position by position (returned as a list, as in
    PyTorch; namedtuples keep their type); dicts key by key.
    """
    if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence) or not batch:
        raise TypeError(f"default_collate: expected a non-empty list of samples, got "
                        f"{_describe(batch)}")
    elem = batch[0]
    if isinstance(elem, (Tensor, np.ndarray)):
        return Tensor(_stack(batch, Tensor if isinstance(elem, Tensor) else np.ndarray))
    if isinstance(elem, np.generic):
        return Tensor(_stack(batch, np.generic))
    if isinstance(elem, (bool, np.bool_)):
        return Tensor(np.array(_same_kind(batch, bool), dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor(np.array(_same_kind(batch, numbers.Integral), dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor(np.array(_same_kind(batch, numbers.Real), dtype=np.float32))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([sample[key] for sample in batch])
                for key in _same_keys(batch)}
    if isinstance(elem, Sequence):
        columns = [default_collate(list(column)) for column in zip(*_same_length(batch))]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*columns)
        return columns
    raise TypeError(
        f"default_collate: samples must contain Tensors, numpy arrays, numbers, strings, "
        f"dicts, lists or tuples; found {type(elem).__name__}"
    )


def _stack(batch: list, kind: type) -> np.ndarray:
    arrays = [np.asarray(s.array if isinstance(s, Tensor) else s)
              for s in _same_kind(batch, kind)]
    # BEGIN SOLUTION
    first = arrays[0].shape
    for position, array in enumerate(arrays):
        if array.shape != first:
            raise ValueError(
                f"default_collate: samples must all have the same shape to be stacked, but "
                f"sample 0 has shape {first} and sample {position} has shape {array.shape}"
            )
    return np.stack(arrays)
    # END SOLUTION


def _same_kind(batch: list, kind: type) -> list:
    for position, sample in enumerate(batch):
        if not isinstance(sample, kind):
            raise TypeError(
                f"default_collate: sample 0 is a {type(batch[0]).__name__} but sample "
                f"{position} is a {type(sample).__name__}; every sample in a batch must "
                "have the same structure"
            )
    return batch


def _same_keys(batch: list) -> list:
    keys = list(batch[0])
    for position, sample in enumerate(batch):
        if not isinstance(sample, Mapping) or set(sample) != set(keys):
            raise ValueError(f"default_collate: sample 0 has keys {sorted(keys, key=str)} but "
                             f"sample {position} is {_describe(sample)}")
    return keys


def _same_length(batch: list) -> list:
    size = len(batch[0])
    for position, sample in enumerate(batch):
        if not isinstance(sample, Sequence) or len(sample) != size:
            raise ValueError(f"default_collate: sample 0 has {size} fields but sample "
                             f"{position} is {_describe(sample)}")
    return batch


def _describe(value) -> str:
    if isinstance(value, Mapping):
        return f"a dict with keys {sorted(value, key=str)}"
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"
