"""Module 13 (Attention): masks, the fused forward and backward, and O(N^2) memory."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor
from tinytorch.core.memory import activation_bytes

from . import check_close, grading_test


def _qkv(length=5, dim=4, seed=0, batch=(2,)):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal((*batch, length, dim)), requires_grad=True)
            for _ in range(3)]


def _reference(q, k, v, causal=False):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape[-2:], bool)), scores, -np.inf)
    probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    return probs @ v


@grading_test(points=1)
def causal_mask_shape_and_offset(student):
    """causal_mask(L, S, offset): True where key j <= query i + offset."""
    mask = student.causal_mask(3, 3)
    assert mask.dtype == np.bool_, f"the mask must be bool, got {mask.dtype}"
    assert (mask == np.tril(np.ones((3, 3), bool))).all(), f"causal_mask(3, 3) gave\n{mask}"
    shifted = student.causal_mask(2, 5, offset=3)
    expected = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], bool)
    assert (shifted == expected).all(), f"causal_mask(2, 5, offset=3) gave\n{shifted}"


@grading_test(points=2)
def attention_forward_matches_softmax_qk_v(student):
    """scaled_dot_product_attention = softmax(Q K^T / sqrt(d)) V, with and without a causal mask."""
    q, k, v = _qkv()
    check_close(student.scaled_dot_product_attention(q, k, v),
                _reference(q.array, k.array, v.array), "attention output")
    check_close(student.scaled_dot_product_attention(q, k, v, is_causal=True),
                _reference(q.array, k.array, v.array, causal=True), "causal attention output")


@grading_test(points=2)
def attention_backward_matches_numeric(student):
    """Gradients of Q, K and V match central differences of the attention output."""
    q, k, v = _qkv(length=4, dim=3, batch=())
    weights = np.random.default_rng(5).standard_normal((4, 3))
    (student.scaled_dot_product_attention(q, k, v, is_causal=True) * Tensor(weights)).sum() \
        .backward()
    for name, t in (("query", q), ("key", k), ("value", v)):
        numeric = np.zeros_like(t.array)
        for index in np.ndindex(t.shape):
            old = t.array[index]
            values = []
            for delta in (1e-6, -1e-6):
                t.array[index] = old + delta
                values.append(float((_reference(q.array, k.array, v.array, causal=True)
                                     * weights).sum()))
            t.array[index] = old
            numeric[index] = (values[0] - values[1]) / 2e-6
        check_close(t.grad, numeric, f"d loss / d {name}", rtol=1e-4, atol=1e-6)


@grading_test(points=1)
def attention_memory_is_quadratic(student):
    """Doubling the sequence length quadruples what the graph saves beyond Q, K, V."""
    saved = []
    for length in (64, 128):
        q, k, v = (Tensor(t.array.astype(np.float32), requires_grad=True)
                   for t in _qkv(length=length, dim=8, batch=()))
        out = student.scaled_dot_product_attention(q, k, v)
        saved.append(activation_bytes(out.sum(), exclude=[q.array, k.array, v.array]))
    assert saved[0] == 64 * 64 * 4, f"expected the 64x64 float32 probabilities (16384 bytes) " \
                                    f"to be saved, got {saved[0]} bytes"
    assert saved[1] == 4 * saved[0], f"doubling N should quadruple the saved bytes: {saved}"
