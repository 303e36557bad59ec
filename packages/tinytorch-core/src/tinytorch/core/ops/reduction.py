"""Reductions (sum, mean, var, max, min, argmax) and the numerically stable softmax.

What it teaches: a reduction's backward *spreads* the gradient back over the reduced
dimensions: sum copies it, mean divides it by the count, max sends it only to the winner.
Softmax subtracts the row max before exponentiating, so exp never overflows: the answer
is unchanged because softmax(x) = softmax(x - c) for any constant c.

Systems lesson: log_softmax + NLL computed together (see nn.functional.cross_entropy)
avoid materialising probabilities that underflow to 0 and turn into log(0) = -inf.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Function
from ..cost import FREE, Cost, data_movement, pointwise, returned
from ..tensor import Tensor, check_dim


def row_sums(rows: np.ndarray) -> np.ndarray:
    """Sums along the last axis of a numpy array, as one BLAS product with a vector of ones.

    For short rows (tens to hundreds of numbers: LayerNorm's features, attention's keys)
    `rows.sum(axis=-1)` runs one short inner loop per row, and its overhead costs as much
    as the adds; the product does every row inside BLAS (~10 us against ~35 for TinyGPT's
    (768, 128) activations). BLAS adds in its own order, so the last bits can differ from
    numpy's pairwise sum.
    """
    return np.matmul(rows, np.ones(rows.shape[-1], dtype=rows.dtype))


def normalize_dims(op: str, dim, ndim: int):
    """None -> all axes; int or tuple -> tuple of non-negative axes, validated."""
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(check_dim(op, d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim} names the same dimension twice")
    return axes


def _spread(grad, axes, shape, keepdim):
    """Broadcast a reduced gradient back to the input's shape."""
    # BEGIN SOLUTION
    if axes is None:
        return np.broadcast_to(grad.reshape((1,) * len(shape)) if len(shape) else grad, shape)
    if not keepdim:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)
    # END SOLUTION


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axes=None, keepdim=False):
        ctx.axes, ctx.shape, ctx.keepdim = axes, a.shape, keepdim
        # BEGIN SOLUTION
        return np.sum(a, axis=axes, keepdims=keepdim)
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        return _spread(grad, ctx.axes, ctx.shape, ctx.keepdim)

    @staticmethod
    def cost(call, grads=None):
        if grads is None:  # input elements minus output elements: the adds
            return Cost(call.arrays[0].size - call.out.size)
        return FREE  # the gradient is broadcast back: a view


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axes=None, keepdim=False):
        ctx.axes, ctx.shape, ctx.keepdim = axes, a.shape, keepdim
        # BEGIN SOLUTION
        ctx.count = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
        return np.mean(a, axis=axes, keepdims=keepdim)
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        return _spread(grad / grad.dtype.type(ctx.count), ctx.axes, ctx.shape, ctx.keepdim)

    @staticmethod
    def cost(call, grads=None):
        if grads is None:
            return Cost(call.arrays[0].size)
        return Cost(call.out.size, reads_inputs=False)  # one scale per incoming element


class Var(Function):
    """Variance with Bessel's correction by default (correction=1), as in torch.var."""

    @staticmethod
    def forward(ctx, a, axes=None, keepdim=False, correction=1):
        count = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
        centered = a - a.mean(axis=axes, keepdims=True)
        ctx.save_for_backward(centered)
        ctx.axes, ctx.shape, ctx.keepdim = axes, a.shape, keepdim
        ctx.denominator = a.dtype.type(max(count - correction, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(centered**2, axis=axes, keepdims=keepdim) / ctx.denominator

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_tensors
        spread = _spread(grad, ctx.axes, ctx.shape, ctx.keepdim)
        return spread * centered * (2 / ctx.denominator)

    @staticmethod
    def cost(call, grads=None):
        if grads is None:
            return Cost(4 * call.arrays[0].size)
        return Cost(2 * sum(g.size for g in returned(grads)))


class MaxMin(Function):
    """max/min over all elements: ties share the gradient equally (as torch.max() does)."""

    @staticmethod
    def forward(ctx, a, mode):
        out = np.max(a) if mode == "max" else np.min(a)
        winners = a == out
        ctx.save_for_backward(winners / winners.sum())
        return np.asarray(out)

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return (grad * share).astype(grad.dtype)

    @staticmethod
    def cost(call, grads=None):
        if grads is None:  # comparisons
            return Cost(call.arrays[0].size - 1)
        return Cost(sum(g.size for g in returned(grads)))


class MaxMinDim(Function):
    """max/min along one dim: the gradient goes to the index returned (first winner)."""

    @staticmethod
    def forward(ctx, a, indices, dim, keepdim):
        values = np.take_along_axis(a, indices, axis=dim)
        ctx.save_for_backward(indices)
        ctx.dim, ctx.shape, ctx.keepdim = dim, a.shape, keepdim
        return values if keepdim else values.squeeze(dim)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdim:
            grad = np.expand_dims(grad, ctx.dim)
        grad_in = np.zeros(ctx.shape, dtype=grad.dtype)
        (indices,) = ctx.saved_tensors
        np.put_along_axis(grad_in, indices, grad, axis=ctx.dim)
        return grad_in

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


class Softmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        # BEGIN SOLUTION
        shifted = a - a.max(axis=dim, keepdims=True)
        exp = np.exp(shifted)
        out = exp / exp.sum(axis=dim, keepdims=True)
        # END SOLUTION
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(axis=ctx.dim, keepdims=True))

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=5, backward=4)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        shifted = a - a.max(axis=dim, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - np.exp(out) * grad.sum(axis=ctx.dim, keepdims=True)

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=5, backward=4)


def reduce_sum(a: Tensor, dim=None, keepdim=False) -> Tensor:
    axes = normalize_dims("sum", dim, a.ndim)
    if a.dtype.kind in "bu" or a.dtype.kind == "i":
        total = np.sum(a.array, axis=axes, keepdims=keepdim, dtype=np.int64)
        return Tensor._make(np.asarray(total))
    return Sum.apply(a, axes, keepdim)


def mean(a: Tensor, dim=None, keepdim=False) -> Tensor:
    if a.dtype.kind != "f":
        raise TypeError(f"mean: input dtype should be floating point, got {a.dtype}; "
                        "call .float() first")
    return Mean.apply(a, normalize_dims("mean", dim, a.ndim), keepdim)


def var(a: Tensor, dim=None, keepdim=False, correction=1) -> Tensor:
    if a.dtype.kind != "f":
        raise TypeError(f"var: input dtype should be floating point, got {a.dtype}")
    return Var.apply(a, normalize_dims("var", dim, a.ndim), keepdim, correction)


def max_min(a: Tensor, dim, keepdim, mode):
    if a.numel() == 0:
        raise RuntimeError(f"{mode}: cannot reduce an empty tensor of shape {a.shape}")
    if dim is None:
        return MaxMin.apply(a, mode)
    dim = check_dim(mode, dim, a.ndim)
    find = np.argmax if mode == "max" else np.argmin
    indices = find(a.array, axis=dim, keepdims=True).astype(np.int64)
    values = MaxMinDim.apply(a, indices, dim, keepdim)
    return MaxResult(values, Tensor._make(indices if keepdim else indices.squeeze(dim)))


def arg_reduce(a: Tensor, dim, keepdim, mode) -> Tensor:
    fn = np.argmax if mode == "argmax" else np.argmin
    if dim is None:
        return Tensor._make(np.asarray(fn(a.array), dtype=np.int64))
    dim = check_dim(mode, dim, a.ndim)
    return Tensor._make(fn(a.array, axis=dim, keepdims=keepdim).astype(np.int64))


def softmax(a: Tensor, dim: int = -1) -> Tensor:
    return Softmax.apply(a, check_dim("softmax", dim, a.ndim))


def log_softmax(a: Tensor, dim: int = -1) -> Tensor:
    return LogSoftmax.apply(a, check_dim("log_softmax", dim, a.ndim))
