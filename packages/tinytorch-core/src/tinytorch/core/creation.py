"""Factory functions: tensor, zeros, ones, full, arange, randn, rand, ... and *_like.

What it teaches: how tensors come into being, with PyTorch's defaults: floating factories
give float32, `arange` of integers gives int64, random ones draw from the seeded global
generator (`manual_seed`) unless given their own `generator=`.

Systems lesson: `zeros((4096, 4096))` is 64 MiB of float32 before a single FLOP happens.
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .devices import resolve
from .random import get_rng
from .tensor import Tensor, _shape_args


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Build a new tensor from data (always a copy, like torch.tensor)."""
    resolve("tensor", device)
    if isinstance(data, Tensor):
        data = data.array
    source = np.array(data, copy=True) if isinstance(data, np.ndarray) else data
    return Tensor(source, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like `tensor`, but shares memory with a numpy array or tensor when it can."""
    resolve("as_tensor", device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and data.dtype in dtypes.SUPPORTED:
        return Tensor(data, dtype=dtype)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """Wrap a numpy array without copying: same memory, same dtype (like torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    if array.dtype not in dtypes.SUPPORTED:
        raise TypeError(f"from_numpy: can't convert np.ndarray of type {array.dtype}; supported "
                        "types are " + ", ".join(str(d) for d in dtypes.SUPPORTED))
    return Tensor._make(array)


def _size(op: str, size) -> tuple:
    """Validate a factory's size (`zeros(2, 3)` or `zeros((2, 3))`): non-negative ints."""
    try:
        shape = _shape_args(size)
    except TypeError:
        raise TypeError(f"{op}: size must be a sequence of ints, got {size!r}") from None
    if any(n < 0 for n in shape):
        raise RuntimeError(f"{op}: trying to create a tensor with negative dimension: size "
                           f"{shape}")
    return shape


def _float_dtype(op: str, dtype):
    return dtypes.default_float if dtype is None else dtypes.as_dtype(dtype)


def _random_float_dtype(op: str, dtype):
    resolved = _float_dtype(op, dtype)
    if resolved.kind != "f":
        raise TypeError(f"{op}: draws floating point numbers, so dtype must be a floating "
                        f"point type, got {resolved} (use randint for integers)")
    return resolved


def _new(op, array, requires_grad, device) -> Tensor:
    resolve(op, device)
    return Tensor(array, requires_grad=requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _new("zeros", np.zeros(_size("zeros", size), dtype=_float_dtype("zeros", dtype)),
                requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _new("ones", np.ones(_size("ones", size), dtype=_float_dtype("ones", dtype)),
                requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _new("empty", np.empty(_size("empty", size), dtype=_float_dtype("empty", dtype)),
                requires_grad, device)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = dtypes.int64 if isinstance(fill_value, (int, np.integer)) and \
            not isinstance(fill_value, bool) else (dtypes.bool_ if isinstance(fill_value, bool)
                                                    else dtypes.default_float)
    return _new("full", np.full(_size("full", (size,)), fill_value, dtype=dtypes.as_dtype(dtype)),
                requires_grad, device)


def eye(n: int, m: int | None = None, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    rows, cols = _eye_shape(n, m)
    return _new("eye", np.eye(rows, cols, dtype=_float_dtype("eye", dtype)), requires_grad, device)


def _eye_shape(n, m) -> tuple:
    (rows,) = _size("eye", (n,))
    (cols,) = _size("eye", (rows if m is None else m,))
    return rows, cols


def arange(start, end=None, step=1, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    default = dtypes.int64 if integral else dtypes.default_float
    dtype = default if dtype is None else dtypes.as_dtype(dtype)
    return _new("arange", np.arange(start, end, step).astype(dtype), requires_grad, device)


def linspace(start, end, steps: int, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    (steps,) = _size("linspace", (steps,))
    return _new("linspace", np.linspace(start, end, steps).astype(_float_dtype("linspace", dtype)),
                requires_grad, device)


def randn(*size, dtype=None, generator=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype = _random_float_dtype("randn", dtype)
    draw = get_rng(generator).standard_normal(_size("randn", size))
    return _new("randn", draw.astype(dtype), requires_grad, device)


def rand(*size, dtype=None, generator=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype = _random_float_dtype("rand", dtype)
    draw = get_rng(generator).random(_size("rand", size))
    return _new("rand", draw.astype(dtype), requires_grad, device)


def randint(*args, size=None, low=None, high=None, dtype=None, generator=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): PyTorch's overloads
    `randint(high, size)`, `randint(low, high, size)` and their keyword forms."""
    bounds = list(args)
    if bounds and isinstance(bounds[-1], (tuple, list)):
        if size is not None:
            raise TypeError("randint: size given twice (positionally and as size=)")
        size = bounds.pop()
    if low is not None:
        bounds.insert(0, low)
    if high is not None:
        bounds.append(high)
    if len(bounds) not in (1, 2) or size is None:
        raise TypeError(f"randint: expected randint(high, size) or randint(low, high, size), "
                        f"got bounds {tuple(bounds)} and size {size!r}")
    low, high = (0, *bounds) if len(bounds) == 1 else bounds
    low, high = (v.item() if isinstance(v, Tensor) else v for v in (low, high))
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (low, high)):
        raise TypeError(f"randint: low and high must be ints, got {low!r} and {high!r}")
    if low >= high:
        raise RuntimeError(f"randint: random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    draw = get_rng(generator).integers(low, high, size=_size("randint", (size,)))
    dtype = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    return _new("randint", draw.astype(dtype), requires_grad, device)


def randperm(n: int, generator=None, dtype=None, device=None) -> Tensor:
    (n,) = _size("randperm", (n,))
    order = get_rng(generator).permutation(n)
    return _new("randperm", order.astype(dtypes.int64 if dtype is None else dtype), False, device)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False,
                generator=None) -> Tensor:
    """Draw `num_samples` category indices per row with probability proportional to `input`
    (non-negative weights, rows need not sum to 1), as torch.multinomial."""
    if not isinstance(input, Tensor) or input.ndim not in (1, 2):
        raise ValueError(f"multinomial: expected a 1-D or 2-D tensor of weights, got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    weights = input.array.astype(np.float64).reshape(-1, input.shape[-1])
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or "
                           "element < 0")
    totals = weights.sum(axis=1)
    if (totals <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise RuntimeError(f"multinomial: num_samples must be a positive int, got {num_samples}")
    if not replacement and num_samples > (weights > 0).sum(axis=1).min():
        raise RuntimeError(f"multinomial: cannot sample n_sample={num_samples} > "
                           "prob_dist.size(-1) non-zero categories without replacement")
    rng = get_rng(generator)
    probs = weights / totals[:, None]
    if replacement:  # inverse CDF: one uniform per sample; row r's CDF is shifted to [r, r+1]
        rows = np.arange(len(probs))[:, None]
        cdf = np.cumsum(probs, axis=1)
        cdf = cdf / cdf[:, -1:] + rows
        u = rng.random((len(probs), num_samples)) + rows
        draws = np.searchsorted(cdf.ravel(), u.ravel(), side="right").reshape(u.shape)
        draws = draws - rows * probs.shape[1]
    else:  # Gumbel-top-k: the k largest of log p + Gumbel noise are a sample without replacement
        with np.errstate(divide="ignore"):
            keys = np.log(probs) + rng.gumbel(size=probs.shape)
        draws = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    draws = np.minimum(draws, input.shape[-1] - 1).astype(np.int64)
    return Tensor._make(draws.reshape(*input.shape[:-1], num_samples))


def _like(fn, other: Tensor, dtype, requires_grad, device, **kwargs) -> Tensor:
    return fn(*other.shape, dtype=other.dtype if dtype is None else dtype,
              requires_grad=requires_grad, device=device, **kwargs)


def zeros_like(other: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(zeros, other, dtype, requires_grad, device)


def ones_like(other: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(ones, other, dtype, requires_grad, device)


def empty_like(other: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(empty, other, dtype, requires_grad, device)


def randn_like(other: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(randn, other, dtype, requires_grad, device)


def rand_like(other: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(rand, other, dtype, requires_grad, device)


def full_like(other: Tensor, fill_value, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    return full(other.shape, fill_value, dtype=other.dtype if dtype is None else dtype,
                device=device, requires_grad=requires_grad)


def tril(t: Tensor, diagonal: int = 0) -> Tensor:
    return Tensor._make(np.tril(t.array, diagonal)) if not t.requires_grad \
        else t.masked_fill(Tensor._make(~np.tril(np.ones(t.shape[-2:], bool), diagonal)), 0)


def triu(t: Tensor, diagonal: int = 0) -> Tensor:
    return Tensor._make(np.triu(t.array, diagonal)) if not t.requires_grad \
        else t.masked_fill(Tensor._make(~np.triu(np.ones(t.shape[-2:], bool), diagonal)), 0)
