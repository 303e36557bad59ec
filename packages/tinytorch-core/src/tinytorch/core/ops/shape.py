"""Shape ops: reshape/view, permute/transpose, squeeze/unsqueeze/flatten, expand, cat/stack.

What it teaches: these ops move no arithmetic, only bookkeeping, and their backward is
the inverse bookkeeping: reshape back, apply the inverse permutation, split a
concatenation, sum over what `expand` repeated.

Systems lesson: numpy's reshape/transpose/expand return *views* (new strides over the
same buffer), O(1) in time and memory. A transposed view is non-contiguous; the next op
that needs contiguous memory pays the copy. `view` refuses when a copy would be needed,
`reshape` copies silently: that is the whole difference.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import Function
from ..cost import Cost, data_movement, sum_back
from ..tensor import Tensor, check_dim
from .indexing import getitem


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return np.reshape(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, ctx.inverse)

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


class Expand(Function):
    """Broadcast to a larger shape without copying; the engine sums the gradient back."""

    @staticmethod
    def forward(ctx, a, shape):
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


class Repeat(Function):
    @staticmethod
    def forward(ctx, a, repeats):
        ctx.shape = (1,) * (len(repeats) - a.ndim) + a.shape
        ctx.repeats = repeats
        return np.tile(a, repeats)

    @staticmethod
    def backward(ctx, grad):
        interleaved = [n for pair in zip(ctx.repeats, ctx.shape) for n in pair]
        summed = grad.reshape(interleaved).sum(axis=tuple(range(0, len(interleaved), 2)))
        return summed

    @staticmethod
    def cost(call, grads=None):
        return Cost(0) if grads is None else sum_back(call, grads)


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        ctx.splits = np.cumsum([a.shape[dim] for a in arrays])[:-1].tolist()
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.splits, axis=ctx.dim))

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.dim, 0))

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


def _infer_shape(op: str, shape: tuple, size: int) -> tuple:
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1 or any(n < -1 for n in shape):
        raise ValueError(f"{op}: invalid shape {list(shape)}: only one dimension can be -1")
    known = int(np.prod([n for n in shape if n != -1]))
    if unknown:
        if known == 0 or size % known:
            raise ValueError(f"{op}: shape {list(shape)} is invalid for input of size {size}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    elif known != size:
        raise ValueError(f"{op}: shape {list(shape)} is invalid for input of size {size}")
    return shape


def reshape(a: Tensor, shape: tuple, view: bool = False) -> Tensor:
    op = "view" if view else "reshape"
    shape = _infer_shape(op, shape, a.numel())
    if view:
        try:
            np.reshape(a.array, shape, copy=False)
        except ValueError:
            raise RuntimeError(
                f"view: shape {list(shape)} is not compatible with the input's memory layout "
                f"(shape {a.shape}, strides {a.array.strides}); use .reshape() or .contiguous()"
            ) from None
    if shape == a.shape:
        return a
    return Reshape.apply(a, shape)


def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if a.ndim == 0:
        return reshape(a, (1,))
    start = check_dim("flatten", start_dim, a.ndim)
    end = check_dim("flatten", end_dim, a.ndim)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} cannot come after end_dim {end_dim}")
    shape = a.shape[:start] + (-1,) + a.shape[end + 1:]
    if 0 in a.shape:
        shape = a.shape[:start] + (int(np.prod(a.shape[start:end + 1])),) + a.shape[end + 1:]
    return reshape(a, shape)


def squeeze(a: Tensor, dim=None) -> Tensor:
    if dim is None:
        shape = tuple(n for n in a.shape if n != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = {check_dim("squeeze", d, a.ndim) for d in dims}
        shape = tuple(n for i, n in enumerate(a.shape) if not (i in axes and n == 1))
    return reshape(a, shape)


def unsqueeze(a: Tensor, dim: int) -> Tensor:
    axis = check_dim("unsqueeze", dim, a.ndim + 1)
    return reshape(a, a.shape[:axis] + (1,) + a.shape[axis:])


def permute(a: Tensor, dims: tuple) -> Tensor:
    if len(dims) != a.ndim:
        raise ValueError(f"permute: number of dims {len(dims)} does not match the tensor's "
                         f"{a.ndim} dimensions (shape {a.shape})")
    axes = tuple(check_dim("permute", d, a.ndim) for d in dims)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of 0..{a.ndim - 1}")
    if axes == tuple(range(a.ndim)):
        return a
    return Permute.apply(a, axes)


def transpose(a: Tensor, dim0: int, dim1: int) -> Tensor:
    if a.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return a
    axes = list(range(a.ndim))
    i, j = check_dim("transpose", dim0, a.ndim), check_dim("transpose", dim1, a.ndim)
    axes[i], axes[j] = axes[j], axes[i]
    return permute(a, tuple(axes))


def expand(a: Tensor, sizes: tuple) -> Tensor:
    if len(sizes) < a.ndim:
        raise ValueError(f"expand: the number of sizes {len(sizes)} must be at least the "
                         f"tensor's {a.ndim} dimensions (shape {a.shape})")
    padded = (1,) * (len(sizes) - a.ndim) + a.shape
    target = tuple(old if new == -1 else new for old, new in zip(padded, sizes))
    for old, new in zip(padded, target):
        if old != 1 and old != new:
            raise ValueError(f"expand: cannot expand shape {a.shape} to {sizes}: a dimension "
                             f"of size {old} can only expand if it is 1")
    if target == a.shape:
        return a
    return Expand.apply(a, target)


def repeat(a: Tensor, repeats: tuple) -> Tensor:
    if len(repeats) < a.ndim:
        raise ValueError(f"repeat: number of repeats {len(repeats)} cannot be smaller than the "
                         f"tensor's {a.ndim} dimensions")
    return Repeat.apply(a, repeats)


def _check_joinable(op: str, tensors) -> list:
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, got {type(t).__name__}")
    dtypes_seen = {t.dtype for t in tensors}
    if len(dtypes_seen) > 1:
        raise TypeError(f"{op}: all tensors must share a dtype, got "
                        f"{sorted(map(str, dtypes_seen))}")
    return tensors


def cat(tensors, dim: int = 0) -> Tensor:
    tensors = _check_joinable("cat", tensors)
    ndim = tensors[0].ndim
    axis = check_dim("cat", dim, ndim)
    for t in tensors:
        if t.ndim != ndim or any(t.shape[i] != tensors[0].shape[i]
                                 for i in range(ndim) if i != axis):
            raise ValueError(f"cat: shapes {[t.shape for t in tensors]} must match in every "
                             f"dimension except dim {dim}")
    return Cat.apply(*tensors, dim=axis)


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = _check_joinable("stack", tensors)
    if len({t.shape for t in tensors}) > 1:
        raise ValueError(f"stack: expects each tensor to be equal size, got "
                         f"{[t.shape for t in tensors]}")
    axis = check_dim("stack", dim, tensors[0].ndim + 1)
    return Stack.apply(*tensors, dim=axis)


def split(a: Tensor, split_size, dim: int = 0) -> tuple:
    axis = check_dim("split", dim, a.ndim)
    length = a.shape[axis]
    if isinstance(split_size, numbers.Integral):
        if split_size <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size}")
        sizes = [split_size] * (length // split_size) + ([length % split_size]
                                                         if length % split_size else [])
    else:
        sizes = list(split_size)
        if sum(sizes) != length:
            raise ValueError(f"split: sizes {sizes} do not sum to the length {length} of dim {dim}")
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * axis + (slice(start, start + size),)
        pieces.append(getitem(a, index))
        start += size
    return tuple(pieces)


def chunk(a: Tensor, chunks: int, dim: int = 0) -> tuple:
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    length = a.shape[check_dim("chunk", dim, a.ndim)]
    return split(a, max(1, -(-length // chunks)), dim)
