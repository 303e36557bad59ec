"""Factory functions: tensor, zeros, ones, full, arange, randn, rand, ... and *_like.

What it teaches: how tensors come into being, with PyTorch's defaults: floating factories
give float32, `arange` of integers gives int64, random ones draw from the seeded global
generator (`manual_seed`) unless given their own `generator=`.

Systems lesson: `zeros((4096, 4096))` is 64 MiB of float32 before a single FLOP happens.
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .random import get_rng
from .tensor import Tensor, _shape_args


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """Build a new tensor from data (always a copy, like torch.tensor)."""
    if isinstance(data, Tensor):
        data = data.array
    source = np.array(data, copy=True) if isinstance(data, np.ndarray) else data
    return Tensor(source, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """Wrap a numpy array without copying (shares memory, like torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return Tensor(array)


def _float_dtype(dtype):
    return dtypes.default_float if dtype is None else dtypes.as_dtype(dtype)


def _new(array, requires_grad) -> Tensor:
    return Tensor(array, requires_grad=requires_grad)


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros(_shape_args(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _new(np.ones(_shape_args(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _new(np.empty(_shape_args(size), dtype=_float_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = dtypes.int64 if isinstance(fill_value, (int, np.integer)) and \
            not isinstance(fill_value, bool) else (dtypes.bool_ if isinstance(fill_value, bool)
                                                    else dtypes.default_float)
    return _new(np.full(_shape_args((size,)), fill_value, dtype=dtypes.as_dtype(dtype)),
                requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _new(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    default = dtypes.int64 if integral else dtypes.default_float
    dtype = default if dtype is None else dtypes.as_dtype(dtype)
    return _new(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    return _new(np.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def randn(*size, dtype=None, generator=None, requires_grad: bool = False) -> Tensor:
    draw = get_rng(generator).standard_normal(_shape_args(size))
    return _new(draw.astype(_float_dtype(dtype)), requires_grad)


def rand(*size, dtype=None, generator=None, requires_grad: bool = False) -> Tensor:
    draw = get_rng(generator).random(_shape_args(size))
    return _new(draw.astype(_float_dtype(dtype)), requires_grad)


def randint(low, high=None, size=(), dtype=None, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ValueError(f"randint: low ({low}) must be smaller than high ({high})")
    draw = get_rng(generator).integers(low, high, size=_shape_args((size,)))
    return Tensor(draw.astype(dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)))


def randperm(n: int, generator=None) -> Tensor:
    return Tensor(get_rng(generator).permutation(n).astype(np.int64))


def _like(fn, other: Tensor, dtype, requires_grad, **kwargs) -> Tensor:
    return fn(*other.shape, dtype=other.dtype if dtype is None else dtype,
              requires_grad=requires_grad, **kwargs)


def zeros_like(other: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _like(zeros, other, dtype, requires_grad)


def ones_like(other: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _like(ones, other, dtype, requires_grad)


def empty_like(other: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _like(empty, other, dtype, requires_grad)


def randn_like(other: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _like(randn, other, dtype, requires_grad)


def rand_like(other: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _like(rand, other, dtype, requires_grad)


def full_like(other: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return full(other.shape, fill_value, dtype=other.dtype if dtype is None else dtype,
                requires_grad=requires_grad)


def tril(t: Tensor, diagonal: int = 0) -> Tensor:
    return Tensor._make(np.tril(t.array, diagonal)) if not t.requires_grad \
        else t.masked_fill(Tensor._make(~np.tril(np.ones(t.shape[-2:], bool), diagonal)), 0)


def triu(t: Tensor, diagonal: int = 0) -> Tensor:
    return Tensor._make(np.triu(t.array, diagonal)) if not t.requires_grad \
        else t.masked_fill(Tensor._make(~np.triu(np.ones(t.shape[-2:], bool), diagonal)), 0)
