"""Layer normalization as one fused op.

What it teaches: LayerNorm standardises each sample over its last dims,
y = (x - mean) / sqrt(var + eps) * weight + bias. Written with generic ops it is ~8 graph
nodes, each saving an array; fused, forward saves only x_hat and 1/std, and backward is
the closed form dx = rstd * (g' - mean(g') - x_hat * mean(g' x_hat)), g' = g * weight.

Systems lessons:
- Fusion cuts both interpreter overhead (one node, not eight) and memory (two saved
  arrays, not eight), the same reason PyTorch ships a fused layer_norm kernel.
- Every row is normalised on its own, so the rows are processed in blocks of half an L2
  cache on all cores (tinytorch.core.parallel): the temporaries of a block stay in cache, and the
  weight and bias gradients are per-block column sums, never a full-size product that the
  engine would then have to sum over the leading dims.
"""

from __future__ import annotations

import math

import numpy as np

from .. import parallel
from ..autograd import Function
from ..cost import Cost


class LayerNorm(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, axes, eps):
        normalized = tuple(x.shape[a] for a in axes)
        rows = x.reshape(-1, math.prod(normalized))
        x_hat, rstd = np.empty_like(rows), np.empty((len(rows), 1), dtype=x.dtype)
        out = np.empty_like(rows) if weight is not None or bias is not None else x_hat
        w = None if weight is None else weight.reshape(-1)
        b = None if bias is None else bias.reshape(-1)
        eps, inv_features = x.dtype.type(eps), x.dtype.type(1.0 / max(rows.shape[1], 1))

        def block(r):
            part = rows[r]
            centered = part - np.add.reduce(part, axis=1, keepdims=True) * inv_features
            var = np.einsum("ij,ij->i", centered, centered)[:, None] * inv_features
            rstd[r] = 1.0 / np.sqrt(var + eps)
            np.multiply(centered, rstd[r], out=x_hat[r])
            if w is not None:
                np.multiply(x_hat[r], w, out=out[r])
            if b is not None:
                np.add(x_hat[r] if w is None else out[r], b, out=out[r])

        # a block touches ~4 row-sized arrays (x, centered, x_hat, out): size blocks by that
        if rows.nbytes * 4 <= parallel.BLOCK_BYTES:
            block(slice(None))  # one block: skip the blocking machinery (a token at a time)
        else:
            parallel.for_each_block(block, len(rows), rows[0].nbytes * 4)
        ctx.save_for_backward(x_hat, rstd, weight)
        ctx.shapes = (x.shape, normalized)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x_hat, rstd, weight = ctx.saved_tensors
        w = None if weight is None else weight.reshape(-1)
        x_shape, normalized_shape = ctx.shapes
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        g = grad.reshape(x_hat.shape)
        grad_x = np.empty_like(x_hat) if need_x else None
        features = g.dtype.type(x_hat.shape[1])

        def block(r):
            scaled = g[r] * w if w is not None else g[r]
            if need_x:
                mean_g = scaled.mean(axis=1, keepdims=True)
                mean_gx = np.einsum("ij,ij->i", scaled, x_hat[r])[:, None] / features
                np.multiply(x_hat[r], mean_gx, out=grad_x[r])
                np.subtract(scaled, grad_x[r], out=grad_x[r])
                grad_x[r] -= mean_g
                grad_x[r] *= rstd[r]
            return (np.einsum("ij,ij->j", g[r], x_hat[r]) if need_w else None,
                    g[r].sum(axis=0) if need_b else None)

        sums = parallel.for_each_block(block, len(g), g[0].nbytes * 4 if len(g) else 0)
        grad_w = grad_b = None
        if need_w:
            grad_w = sum_blocks([s[0] for s in sums], x_hat.shape[1], g.dtype, normalized_shape)
        if need_b:
            grad_b = sum_blocks([s[1] for s in sums], x_hat.shape[1], g.dtype, normalized_shape)
        grad_x = None if grad_x is None else grad_x.reshape(x_shape)
        return grad_x, grad_w, grad_b, None, None

    @staticmethod
    def cost(call, grads=None):
        n, has_weight = call.out.size, call.has(1)
        if grads is None:
            per_element = 5 + has_weight + call.has(2)
            rows = n // call.out.shape[-1] if call.out.shape else 1
            return Cost(per_element * n + 3 * rows)  # + eps, sqrt, 1/x per row
        # the input's gradient; the weight's sum(g * x_hat) and the bias' sum(g) over rows
        per_element = (7 + has_weight, 2, 1)
        return Cost(sum(c * n for c, g in zip(per_element, grads) if g is not None))


def sum_blocks(parts: list, features: int, dtype, shape: tuple) -> np.ndarray:
    """Add the blocks' partial column sums (zeros if there were no rows) into `shape`."""
    total = sum(parts) if parts else np.zeros(features, dtype=dtype)
    return total.reshape(shape)
