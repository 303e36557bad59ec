"""The transformer's MLP, Linear -> GELU -> (dropout) -> Linear, as one fused graph node.

What it teaches: the MLP half of a block is y = W2 gelu(W1 x + b1) + b2, with a hidden
layer 4x wider than the model. Its backward, written out once:

    g_a = g_y W2            dW2 = g_y^T a        db2 = sum(g_y)
    g_h = g_a * gelu'(h)    dW1 = g_h^T x        db1 = sum(g_h)      g_x = g_h W1

with gelu(h) = h * Phi(h) and gelu'(h) = Phi(h) + h * phi(h) (Phi, phi: the standard
normal CDF and density). Run as separate ops, the chain stores x, h, Phi(h), gelu(h) and
the dropout mask in four nodes; fused, it stores x, a = dropout(gelu(h)) (the input of the
second matmul) and s = gelu'(h) * mask, and backward is g_h = (g_y W2) * s: h itself is
never needed again, and the mask lives inside s.

Systems lesson: the hidden activations are the largest tensors of a small transformer:
(batch x seq) x 4 d_model floats per layer, 1.5 MB at the milestone's 12 x 64 x 512. The
elementwise work on them (the erf polynomial of Phi) is memory-bound: each numpy
expression writes a full temporary array, so core's `gelu_with_derivative` (shared with
`F.gelu`) evaluates the polynomial in place, block by block, ~5x faster than the same
formula with temporaries, and computes gelu and gelu' together from one exp: forward does
~25 in-place steps, backward none, where keeping Phi(h) and recomputing cost ~30.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import Function, is_grad_enabled
from tinytorch.core.cost import Cost
from tinytorch.core.ops import gelu_with_derivative, normal_cdf
from tinytorch.core.ops.linalg import rows_matmul
from tinytorch.core.random import dropout_mask


class FeedForward(Function):
    """y = linear2(dropout(gelu(linear1(x)))) for x of shape (..., d_in)."""

    # numpy arrays in and out, wherever the class is defined (a course notebook too): its
    # forward then runs in the caller's grad mode and keeps gelu' only when training
    tensor_io = False

    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2, dropout_p, rng):
        h = rows_matmul(x, w1.T)
        if b1 is not None:
            h += b1
        training = is_grad_enabled() and any(ctx.needs_input_grad[:5])
        if training:
            a, slope = gelu_with_derivative(h)  # slope = gelu'(h), all backward needs of h
        else:
            a, slope = h * normal_cdf(h), None
        if dropout_p > 0.0:
            keep = dropout_mask(rng, a.shape, dropout_p, a.dtype)
            a *= keep
            if slope is not None:
                slope *= keep  # d(keep * gelu(h)) / dh: the mask folded into the slope
        y = rows_matmul(a, w2.T)
        if b2 is not None:
            y += b2
        if training:
            ctx.save_for_backward(x, w1, w2, a, slope)
        ctx.has_b1, ctx.has_b2 = b1 is not None, b2 is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w1, w2, a, slope = ctx.saved_tensors
        need_x, need_w1, need_b1, need_w2, need_b2 = ctx.needs_input_grad[:5]
        flat_grad = grad.reshape(-1, grad.shape[-1])
        grad_w2 = np.matmul(flat_grad.T, a.reshape(-1, a.shape[-1])) if need_w2 else None
        grad_b2 = flat_grad.sum(axis=0) if ctx.has_b2 and need_b2 else None
        grad_h = rows_matmul(grad, w2)
        grad_h *= slope
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
        return Cost(matmul + sums + tokens * hidden, matmul)  # g_h = (g_y W2) * s: one multiply
