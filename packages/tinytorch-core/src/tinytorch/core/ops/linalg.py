"""Matrix multiplication and the fused linear layer y = x W^T + b.

What it teaches: for C = A B, dL/dA = dL/dC B^T and dL/dB = A^T dL/dC. Shapes tell you
the formula: the gradient of a (n, k) matrix must be (n, k), and only one product of the
available matrices has that shape. Batched matmul adds leading dims; the engine sums the
gradient over any batch dims that were broadcast.

Systems lesson: an (n, k) x (k, m) matmul does 2nkm FLOPs on (nk + km + nm) numbers, so
its arithmetic intensity grows with size: large matmuls are compute-bound and run at the
BLAS library's peak, which is why every layer is turned into one. Fusing x W^T + b into
one op saves a graph node and a temporary the size of the output. And one large product
beats many small ones: numpy's matmul of a (12, 64, k) batch by a (k, m) matrix makes 12
BLAS calls of 64 rows each; viewed as one (768, k) matrix it is a single call, ~1.5x
faster on one core and far better split across cores (`rows_matmul`).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..cost import Cost, returned, weighted_sum
from ..tensor import Tensor
from .arithmetic import as_operands


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # BEGIN SOLUTION
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a2 = a[None, :] if a.ndim == 1 else a  # treat vectors as 1-row / 1-column matrices
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        # BEGIN SOLUTION
        grad_a = grad_b = None
        if need_a:
            grad_a = np.matmul(g, np.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                grad_a = grad_a.squeeze(-2)
        if need_b:
            grad_b = np.matmul(np.swapaxes(a2, -1, -2), g)
            if b.ndim == 1:
                grad_b = grad_b.squeeze(-1)
        # END SOLUTION
        return grad_a, grad_b

    @staticmethod
    def cost(call, grads=None):
        a = call.arrays[0]
        product = 2 * call.out.size * a.shape[-1]  # each output: k multiplies, k adds
        if grads is None:
            return Cost(product, product)
        # dA = G B^T and dB = A^T G each cost exactly the forward product (any batch shape)
        flops = len(returned(grads)) * product
        return Cost(flops, flops)


def matmul(a, b) -> Tensor:
    a, b = as_operands("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    # BEGIN SOLUTION
    inner_a = a.shape[-1]
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if inner_a != inner_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
                         f"{inner_a} != {inner_b}")
    # END SOLUTION
    try:
        return MatMul.apply(a, b)
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of {a.shape} and {b.shape} cannot be "
                         "broadcast together") from None


def rows_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x (..., k) @ w (k, m) as one 2-D product over all the leading dims of x."""
    if x.ndim <= 2:
        return np.matmul(x, w)
    rows = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])
    return np.matmul(rows, w).reshape(*x.shape[:-1], w.shape[-1])


class Linear(Function):
    """y = x W^T + b in one node; x may have any number of leading dims."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        leading = x.shape[:-1]
        x = x.reshape(math.prod(leading), x.shape[-1])  # (..., in) -> (N, in): see rows_matmul
        # BEGIN SOLUTION
        out = np.matmul(x, weight.T)
        if bias is not None:
            out += bias
        # END SOLUTION
        return out.reshape(*leading, out.shape[-1])

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_x = rows_matmul(grad, weight) if need_x else None
        grad_w = grad_b = None
        flat_grad = grad.reshape(-1, grad.shape[-1])
        if need_w:
            grad_w = np.matmul(flat_grad.T, x.reshape(-1, x.shape[-1]))
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = flat_grad.sum(axis=0)
        return grad_x, grad_w, grad_b

    @staticmethod
    def cost(call, grads=None):
        return weighted_sum(call, grads, 2 * call.out.size * call.inputs[1].shape[-1])


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"linear: expected a Tensor input, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape "
                         f"{weight.shape}: expected the last input dim to be {weight.shape[-1]}")
    if x.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {x.dtype} does not match weight dtype "
                        f"{weight.dtype}; convert the input with .to({weight.dtype})")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"linear: bias of shape {bias.shape} does not match weight "
                         f"{weight.shape}")
    return Linear.apply(x, weight, bias) if bias is not None else Linear.apply(x, weight)
