"""Indexing and selection: t[idx], where, masked_fill, gather, and ops without gradients.

What it teaches: the backward of "read some elements" is "scatter the gradient back to
where they came from". When an index repeats (an embedding lookup of the same token
twice), the gradients must *add*; `np.add.at` does the unbuffered accumulation that a
plain `grad[idx] += g` silently gets wrong.

Systems lesson: basic slicing (`t[2:5]`) is a view and free; advanced indexing
(`t[[0, 2, 2]]`, boolean masks) always copies, and its backward writes a dense
zero tensor the size of the input.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, _check_dim
from .arithmetic import as_operands


def index_to_numpy(index):
    """Replace Tensors inside an index with their arrays (validated)."""
    if isinstance(index, tuple):
        return tuple(index_to_numpy(i) for i in index)
    if isinstance(index, Tensor):
        if index.dtype.kind not in "iub":
            raise IndexError(f"index: tensors used as indices must be long or bool, "
                             f"got {index.dtype}")
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               for p in parts)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.index, ctx.shape, ctx.dtype = index, a.shape, a.dtype
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        grad_in = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic(ctx.index):
            grad_in[ctx.index] = grad  # a slice never repeats an element
        else:
            np.add.at(grad_in, ctx.index, grad)  # repeated indices accumulate
        return grad_in, None


def getitem(a: Tensor, index) -> Tensor:
    index = index_to_numpy(index)
    try:
        return GetItem.apply(a, index)
    except IndexError as err:
        raise IndexError(f"index: {err} (tensor of shape {a.shape})") from None


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        zero = grad.dtype.type(0)
        return None, np.where(ctx.condition, grad, zero), np.where(ctx.condition, zero, grad)


def _bool_mask(op: str, mask) -> np.ndarray:
    array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype != np.bool_:
        raise TypeError(f"{op}: expected a bool mask/condition, got dtype {array.dtype}")
    return array


def where(condition, a, b) -> Tensor:
    cond = _bool_mask("where", condition)
    a, b = as_operands("where", a, b)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: condition {cond.shape}, input {a.shape} and other {b.shape} "
                         "cannot be broadcast together") from None
    return Where.apply(cond, a, b)


class MaskedFill(Function):
    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.mask = mask
        return np.where(mask, a.dtype.type(value), a)

    @staticmethod
    def backward(ctx, grad):
        return np.where(ctx.mask, grad.dtype.type(0), grad), None, None


def masked_fill(a: Tensor, mask, value) -> Tensor:
    array = _bool_mask("masked_fill", mask)
    try:
        shape = np.broadcast_shapes(a.shape, array.shape)
    except ValueError:
        shape = None
    if shape != a.shape:
        raise ValueError(f"masked_fill: mask of shape {array.shape} does not broadcast to the "
                         f"input's shape {a.shape}")
    if isinstance(value, Tensor):
        value = value.item()
    return MaskedFill.apply(a, array, value)


class Gather(Function):
    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.dim, ctx.index, ctx.shape = dim, index, a.shape
        return np.take_along_axis(a, index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        grad_in = np.zeros(ctx.shape, dtype=grad.dtype)
        full_index = list(np.indices(ctx.index.shape, sparse=True))
        full_index[ctx.dim] = ctx.index
        np.add.at(grad_in, tuple(full_index), grad)
        return grad_in, None, None


def gather(a: Tensor, dim: int, index) -> Tensor:
    dim = _check_dim("gather", dim, a.ndim)
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {idx.dtype}")
    if idx.ndim != a.ndim:
        raise ValueError(f"gather: index has {idx.ndim} dims but input has {a.ndim}")
    if idx.size and (idx.min() < -a.shape[dim] or idx.max() >= a.shape[dim]):
        raise IndexError(f"gather: index out of range for dim {dim} of size {a.shape[dim]}")
    return Gather.apply(a, dim, idx)


def nondifferentiable(np_name: str, a, b) -> Tensor:
    """Comparisons, logical ops, floor division: results carry no gradient."""
    a, b = as_operands(np_name, a, b)
    try:
        return Tensor._make(np.asarray(getattr(np, np_name)(a.data, b.data)))
    except ValueError:
        raise ValueError(f"{np_name}: shapes {a.shape} and {b.shape} cannot be broadcast "
                         "together") from None
