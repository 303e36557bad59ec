"""The transformer's MLP, Linear -> GELU -> (dropout) -> Linear, as one fused graph node.

What it teaches: the MLP half of a block is y = W2 gelu(W1 x + b1) + b2, with a hidden
layer 4x wider than the model. Its backward, written out once:

    g_a = g_y W2            dW2 = g_y^T a        db2 = sum(g_y)
    g_h = g_a * gelu'(h)    dW1 = g_h^T x        db1 = sum(g_h)      g_x = g_h W1

with gelu(h) = h * Phi(h) and gelu'(h) = Phi(h) + h * phi(h) (Phi, phi: the standard
normal CDF and density). Run as separate ops, the chain stores x, h, Phi(h), gelu(h) and
the dropout mask in four nodes; fused, it stores x, h and Phi(h) and recomputes gelu(h)
= h * Phi(h) in backward, one multiply instead of one (tokens x 4d) array.

Systems lesson: the hidden activations are the largest tensors of a small transformer:
(batch x seq) x 4 d_model floats per layer, 1.5 MB at the milestone's 12 x 64 x 512. The
elementwise work on them (the erf polynomial of Phi) is memory-bound: each numpy
expression writes a full temporary array, so core's `normal_cdf` (shared with `F.gelu`)
evaluates the polynomial in place, ~5x faster than the same formula with temporaries.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import Function
from tinytorch.core.cost import Cost
from tinytorch.core.ops import gelu_derivative, normal_cdf
from tinytorch.core.ops.linalg import rows_matmul
from tinytorch.core.random import dropout_mask


class FeedForward(Function):
    """y = linear2(dropout(gelu(linear1(x)))) for x of shape (..., d_in)."""

    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2, dropout_p, rng):
        h = rows_matmul(x, w1.T)
        if b1 is not None:
            h += b1
        cdf = normal_cdf(h)
        a = h * cdf
        keep = None
        if dropout_p > 0.0:
            keep = dropout_mask(rng, a.shape, dropout_p, a.dtype)
            a *= keep.astype(a.dtype)
        y = rows_matmul(a, w2.T)
        if b2 is not None:
            y += b2
        ctx.save_for_backward(x, w1, w2, h, cdf, keep)
        ctx.has_b1, ctx.has_b2 = b1 is not None, b2 is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w1, w2, h, cdf, keep = ctx.saved_tensors
        need_x, need_w1, need_b1, need_w2, need_b2 = ctx.needs_input_grad[:5]
        flat_grad = grad.reshape(-1, grad.shape[-1])
        a = h * cdf  # recomputed: cheaper than storing another (tokens x hidden) array
        if keep is not None:
            a *= keep.astype(a.dtype)
        grad_w2 = np.matmul(flat_grad.T, a.reshape(-1, a.shape[-1])) if need_w2 else None
        grad_b2 = flat_grad.sum(axis=0) if ctx.has_b2 and need_b2 else None
        grad_h = rows_matmul(grad, w2)
        if keep is not None:
            grad_h *= keep.astype(grad_h.dtype)
        grad_h *= gelu_derivative(h, cdf)  # Phi(h) + h * phi(h)
        flat_h = grad_h.reshape(-1, grad_h.shape[-1])
        grad_w1 = np.matmul(flat_h.T, x.reshape(-1, x.shape[-1])) if need_w1 else None
        grad_b1 = flat_h.sum(axis=0) if ctx.has_b1 and need_b1 else None
        grad_x = rows_matmul(grad_h, w1) if need_x else None
        return grad_x, grad_w1, grad_b1, grad_w2, grad_b2

    @staticmethod
    def cost(call, grads=None):
        # linear2(dropout(gelu(linear1(x)))) in one node
        x, w1, w2 = call.inputs[0], call.inputs[1], call.inputs[3]
        tokens, d_in, hidden, d_out = x.size // x.shape[-1], x.shape[-1], w1.shape[0], w2.shape[0]
        first, second = 2 * tokens * hidden * d_in, 2 * tokens * d_out * hidden
        if grads is None:
            dropout = call.inputs[5] > 0
            elementwise = (tokens * hidden * (call.has(2) + 5 + dropout)
                           + tokens * d_out * call.has(4))
            return Cost(first + second + elementwise, first + second)
        has = [g is not None for g in (tuple(grads) + (None,) * 5)[:5]]
        matmul = second + first * (has[0] + has[1]) + second * has[3]  # G W2 always needed
        sums = tokens * hidden * has[2] + tokens * d_out * has[4]
        return Cost(matmul + sums + 8 * tokens * hidden, matmul)  # gelu' and the recomputed a
