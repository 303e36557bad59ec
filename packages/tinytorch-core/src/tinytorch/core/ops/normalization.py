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
- Short rows are numpy's weak spot: for TinyGPT's (768, 128) activations a plain ufunc
  broadcasting a per-row number (`centered * rstd[:, None]`) or reducing along a row runs
  one inner loop of 128 numbers per row, and the loop overhead costs as much as the
  arithmetic. Row sums as one BLAS product with a vector of ones (`rows @ ones`, ~10 us
  against ~35 for `sum(axis=1)`) and the broadcasts as einsum (~37 us against ~54) made
  this op's forward and backward 17 % faster (846 -> 699 us, interleaved, 2026-12-01).
"""

from __future__ import annotations

import math

import numpy as np

from .. import parallel
from ..autograd import Function
from ..cost import Cost
from .reduction import row_sums

# Blocks are sized as if this many row-sized arrays were live at once. A block really
# touches ~4 (x, centered, x_hat, out), but rows are short and a block runs ~10 numpy
# calls, so the per-block overhead dominates: sized by 2, milestone 04's (768, 128)
# activations run as one block and (4096, 512) ones in 1 MB blocks, forward + backward
# 17 % and 23 % faster than in the 512 KB blocks sized by 4 used before (interleaved, on
# a machine with 1 MB of L2 per core, 2026-12-01).
_ARRAYS_PER_BLOCK = 2


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
            centered = part - row_sums(part)[:, None] * inv_features
            var = np.einsum("ij,ij->i", centered, centered) * inv_features
            rstd[r, 0] = 1.0 / np.sqrt(var + eps)
            np.einsum("ij,i->ij", centered, rstd[r, 0], out=x_hat[r])
            if w is not None:
                np.einsum("ij,j->ij", x_hat[r], w, out=out[r])
            if b is not None:
                np.add(x_hat[r] if w is None else out[r], b, out=out[r])

        if rows.nbytes * _ARRAYS_PER_BLOCK <= parallel.BLOCK_BYTES:
            block(slice(None))  # one block: skip the blocking machinery (a token at a time)
        else:
            parallel.for_each_block(block, len(rows), rows[0].nbytes * _ARRAYS_PER_BLOCK)
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
            scaled = np.einsum("ij,j->ij", g[r], w) if w is not None else g[r]
            if need_x:
                mean_g = row_sums(scaled) / features
                mean_gx = np.einsum("ij,ij->i", scaled, x_hat[r]) / features
                inner = np.einsum("ij,i->ij", x_hat[r], mean_gx)
                np.subtract(scaled, inner, out=inner)
                inner -= mean_g[:, None]
                np.einsum("ij,i->ij", inner, rstd[r, 0], out=grad_x[r])
            return (np.einsum("ij,ij->j", g[r], x_hat[r]) if need_w else None,
                    np.matmul(np.ones(len(g[r]), dtype=g.dtype), g[r]) if need_b else None)

        row_bytes = g[0].nbytes * _ARRAYS_PER_BLOCK if len(g) else 0
        sums = parallel.for_each_block(block, len(g), row_bytes)
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
