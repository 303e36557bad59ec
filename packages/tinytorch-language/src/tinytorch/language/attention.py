"""Scaled dot-product attention, fused into one graph node: the one attention kernel.

Every attention in TinyTorch runs `ScaledDotProductAttention` (the functional form,
`MultiheadAttention` on packed heads, the KV-cached decoding step), so there is one
forward, one backward and one cost formula to read.

What it teaches: attention lets every query position read a weighted average of the value
vectors, with weights softmax(q . k / sqrt(d)) saying how well the query matches each key:

    S = Q K^T * scale + bias        (L, S)   scores; bias is -inf where attending is forbidden
    P = softmax(S)                  (L, S)   each row sums to 1
    O = P V                         (L, d)

Backward, with G = dL/dO (derived once, here, instead of through six generic ops):

    dV = P^T G,   dP = G V^T,   dS = P * (dP - rowsum(dP * P)),   dQ = dS K * scale,
    dK = dS^T Q * scale

Masks follow PyTorch: a bool `attn_mask` is True where a query MAY attend; a float mask is
added to the scores; `is_causal=True` lets query i see keys 0..i (top-left aligned, as
torch does when L != S). A query row with nothing to attend to outputs zeros, as torch's
`scaled_dot_product_attention` does, instead of NaN.

Systems lesson, O(N^2) memory: the probability matrix P has L x S entries per head. For
TinyGPT's milestone (batch 12, 4 heads, T = 64) that is 12*4*64*64*4 B = 786 KB per layer,
but at T = 2,048 it is 12*4*2048*2048*4 B = 805 MB per layer: attention memory grows with
the square of the context while everything else grows linearly. The fused node keeps just
P (plus Q, K, V) for backward; six separate ops would keep S, exp(S), P and P-after-dropout,
four L x S arrays. FlashAttention goes further and keeps none: it recomputes P blockwise
in backward, trading FLOPs for memory.
"""

from __future__ import annotations

import math
from math import prod

import numpy as np

from tinytorch.core.autograd import Function
from tinytorch.core.bad_input import as_array
from tinytorch.core.cost import Cost, attention_products
from tinytorch.core.ops.reduction import row_sums
from tinytorch.core.random import dropout_keep, get_rng
from tinytorch.core.tensor import Tensor

# ---------------------------------------------------------------- masks -> additive bias


def causal_mask(query_len: int, key_len: int, offset: int = 0) -> np.ndarray:
    """Bool (L, S) mask, True where query i may see key j: j <= i + offset.

    offset=0 is PyTorch's `is_causal` (top-left aligned). With a KV cache the L new queries
    sit after `offset = S - L` cached positions, so offset aligns the mask bottom-right.
    """
    for name, n in (("query_len", query_len), ("key_len", key_len), ("offset", offset)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or \
                (name != "offset" and n < 0):
            raise ValueError(f"causal_mask: {name} must be an int (>= 0), got {n!r:.40}")
    if query_len * key_len > 2**31:
        raise ValueError(f"causal_mask: a {query_len:,} x {key_len:,} mask is too large")
    # BEGIN SOLUTION
    rows = np.arange(query_len)[:, None] + offset
    return np.arange(key_len)[None, :] <= rows
    # END SOLUTION


def mask_to_bias(mask, dtype) -> np.ndarray:
    """A PyTorch-style attention mask as an additive bias: bool True = attend -> 0, else -inf."""
    if mask.dtype == np.bool_:
        return np.where(mask, dtype.type(0), dtype.type(-np.inf))
    return mask.astype(dtype, copy=False)


# ---------------------------------------------------------------- the numpy kernels


def attention_forward(q, k, v, bias, scale: float, dropout_p: float = 0.0, rng=None):
    """O = dropout(softmax(Q K^T * scale + bias)) V on (..., L, d) arrays.

    Returns (output, probs, keep): probs before dropout and the dropout keep-mask (or None),
    which is everything backward needs.
    """
    # BEGIN SOLUTION
    scores = np.matmul(q, np.swapaxes(k, -1, -2))
    scores *= q.dtype.type(scale)
    if bias is not None:
        scores += bias
    probs = _softmax_inplace(scores)
    # END SOLUTION
    keep = None
    weights = probs
    if dropout_p > 0.0:
        keep = dropout_keep(rng, probs.shape, dropout_p)
        weights = probs * (keep / q.dtype.type(1.0 - dropout_p)).astype(q.dtype)
    return np.matmul(weights, v), probs, keep


def attention_backward(grad, q, k, v, probs, keep, scale: float, dropout_p: float = 0.0):
    """Gradients (dQ, dK, dV, dS) of `attention_forward`; dS is the gradient of the bias."""
    weights = probs
    if keep is not None:
        drop_scale = (keep / q.dtype.type(1.0 - dropout_p)).astype(q.dtype)
        weights = probs * drop_scale
    grad_v = np.matmul(np.swapaxes(weights, -1, -2), grad)
    grad_probs = np.matmul(grad, np.swapaxes(v, -1, -2))
    if keep is not None:
        grad_probs *= drop_scale
    # softmax backward: dS = P * (dP - sum_j dP_j P_j), computed in place in grad_probs
    # BEGIN SOLUTION
    row_dot = np.einsum("...j,...j->...", grad_probs, probs)[..., None]
    grad_probs -= row_dot
    grad_probs *= probs
    # END SOLUTION
    grad_scores = grad_probs
    scaled = grad_scores * q.dtype.type(scale)
    # BEGIN SOLUTION
    grad_q = np.matmul(scaled, k)
    grad_k = np.matmul(np.swapaxes(scaled, -1, -2), q)
    # END SOLUTION
    return grad_q, grad_k, grad_v, grad_scores


def _softmax_inplace(scores: np.ndarray) -> np.ndarray:
    """Row softmax, overwriting `scores`; rows that are all -inf become all zeros.

    Rows are short (64 keys at the milestone), numpy's weak spot: `max(axis=-1)` and
    `sum(axis=-1)` run one short inner loop per row. The row max is taken across the rows
    of the transposed copy instead (one long vectorised loop), the row sums as one BLAS
    product with a vector of ones, and the division as a multiply by 1 / sum: 440 -> 320 us
    for milestone 04's (12, 4, 64, 64) scores (interleaved, 2026-12-01). Each row still
    uses only its own numbers, so a causal model stays exactly causal.
    """
    row_max = np.ascontiguousarray(np.swapaxes(scores, -1, -2)).max(axis=-2)[..., None]
    blocked = ~np.isfinite(row_max)
    any_blocked = blocked.any()
    if any_blocked:
        row_max = np.where(blocked, scores.dtype.type(0), row_max)
    scores -= row_max
    np.exp(scores, out=scores)
    total = row_sums(scores)[..., None]
    if any_blocked:
        total[total == 0] = 1  # an all-masked row: exp gave zeros; keep them zero
    scores *= np.reciprocal(total, out=total)
    return scores


# ---------------------------------------------------------------- the graph node


def split_heads(qkv: np.ndarray, num_heads: int):
    """(B, T, 3E), one packed projection -> three (B, H, T, E/H) views (no copy)."""
    B, T, three_e = qkv.shape
    head_dim = three_e // (3 * num_heads)
    parts = qkv.reshape(B, T, 3, num_heads, head_dim).transpose(2, 0, 3, 1, 4)
    return parts[0], parts[1], parts[2]


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(B, H, T, D) -> (B, T, H*D)."""
    B, H, T, D = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * D)


class ScaledDotProductAttention(Function):
    """One node for scores, mask, softmax, dropout and the weighted sum of values: every
    attention in TinyTorch (the functional form, MultiheadAttention, the KV-cached
    decoding step) runs this forward and this backward.

    `heads=h` takes q as the packed (B, T, 3E) output of one projection (k and v None):
    the heads are split as views, the output comes back as (B, T, E), and backward writes
    dQ, dK, dV straight into one packed gradient instead of three slice backwards.
    """

    @staticmethod
    def forward(ctx, q, k, v, float_mask, bias, scale, dropout_p, rng, heads=None):
        if heads is not None:
            q, k, v = split_heads(q, heads)
        if float_mask is not None:
            bias = float_mask if bias is None else bias + float_mask
        out, probs, keep = attention_forward(q, k, v, bias, scale, dropout_p, rng)
        ctx.save_for_backward(q, k, v, probs, keep)  # q, k, v: views of a packed input
        ctx.scale, ctx.dropout_p, ctx.packed = scale, dropout_p, heads is not None
        return merge_heads(out) if heads is not None else out

    @staticmethod
    def backward(ctx, grad):
        q, k, v, probs, keep = ctx.saved_tensors
        if ctx.packed:
            B, H, T, D = q.shape
            grad = grad.reshape(B, T, H, D).transpose(0, 2, 1, 3)
        grad_q, grad_k, grad_v, grad_scores = attention_backward(
            grad, q, k, v, probs, keep, ctx.scale, ctx.dropout_p)
        if ctx.packed:
            grad_qkv = np.empty((B, T, 3, H, D), dtype=q.dtype)
            for i, g in enumerate((grad_q, grad_k, grad_v)):
                grad_qkv[:, :, i] = g.transpose(0, 2, 1, 3)
            return grad_qkv.reshape(B, T, 3 * H * D), None, None, None
        need_mask = len(ctx.needs_input_grad) > 3 and ctx.needs_input_grad[3]
        return grad_q, grad_k, grad_v, grad_scores if need_mask else None

    @staticmethod
    def cost(call, grads=None):
        heads = call.attrs.get("heads")
        if heads is not None:  # packed (B, T, 3E): L = S = T, head_dim = E / heads
            batch, T, three_e = call.inputs[0].shape
            batch_heads, L, S = batch * heads, T, T
            E = Ev = three_e // 3 // heads
        else:
            q, k, v = call.inputs[:3]
            batch_heads = prod(np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]))
            L, S, E, Ev = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
        products = attention_products(batch_heads, L, S, E, Ev)
        scores = batch_heads * L * S
        if grads is None:
            masked = call.has(3) or call.has(4)
            dropout = call.inputs[6] > 0
            # scale, (mask), softmax (5: max, subtract, exp, sum, divide), (dropout)
            return Cost(products + scores * (1 + masked + 5 + dropout), products)
        # dV, dP, dQ, dK; softmax backward (4) and the scale
        return Cost(2 * products + 5 * scores, 2 * products)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, generator=None) -> Tensor:
    """Mirrors `torch.nn.functional.scaled_dot_product_attention`.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev). `attn_mask`
    broadcasts to (..., L, S): bool (True = attend) or float (added to the scores; it may
    require grad). Dropout is applied whenever `dropout_p > 0` (pass 0.0 in eval mode).
    """
    _check_qkv(query, key, value)
    if isinstance(dropout_p, bool) or not isinstance(dropout_p, (int, float)) \
            or not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got "
                         f"{dropout_p}")
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    bias, float_mask = None, None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass either attn_mask or "
                             "is_causal=True, not both (as in PyTorch)")
        bias = mask_to_bias(causal_mask(L, S), query.dtype)
    if attn_mask is not None:
        mask = attn_mask if isinstance(attn_mask, Tensor) else \
            Tensor(as_array("scaled_dot_product_attention", "attn_mask", attn_mask))
        _check_mask(mask, query, np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) + (L, S))
        if mask.dtype == np.bool_:
            bias = mask_to_bias(mask.array, query.dtype)
        else:
            float_mask = mask
    rng = get_rng(generator) if dropout_p > 0.0 else None
    return ScaledDotProductAttention.apply(query, key, value, float_mask, bias, scale,
                                           dropout_p, rng)


def _check_qkv(query, key, value) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor, got "
                            f"{type(t).__name__}")
        if t.ndim < 2 or t.dtype.kind != "f":
            raise ValueError(f"scaled_dot_product_attention: {name} must be a floating tensor "
                             f"of shape (..., seq, dim), got shape {t.shape} dtype {t.dtype}")
    if len({query.dtype, key.dtype, value.dtype}) != 1:
        raise TypeError(f"scaled_dot_product_attention: query, key and value must share a "
                        f"dtype, got {query.dtype}, {key.dtype}, {value.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"scaled_dot_product_attention: query {query.shape} and key "
                         f"{key.shape} must have the same last dim (embedding size)")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: key {key.shape} and value "
                         f"{value.shape} must have the same sequence length (dim -2)")
    try:
        np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: batch dims of query {query.shape}, "
                         f"key {key.shape} and value {value.shape} do not broadcast") from None


def _check_mask(mask: Tensor, query: Tensor, scores_shape: tuple) -> None:
    if mask.dtype != np.bool_ and mask.dtype != query.dtype:
        raise TypeError(f"scaled_dot_product_attention: attn_mask must be bool or of the "
                        f"query's dtype {query.dtype}, got {mask.dtype}")
    try:
        fits = np.broadcast_shapes(mask.shape, scores_shape) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"scaled_dot_product_attention: attn_mask of shape {mask.shape} does "
                         f"not broadcast to the scores' shape {scores_shape}")
