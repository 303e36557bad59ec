"""Module 13 (Attention): masks, the fused forward and backward, and O(N^2) memory."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor
from tinytorch.core.memory import activation_bytes

from . import as_numpy, check_close, check_equal, grading_test


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


def _mask_cases(h):
    st = h.st
    return st.fixed_dictionaries({"query_len": st.integers(1, 7), "key_len": st.integers(1, 9),
                                  "offset": st.integers(-2, 8)})


@grading_test(points=1, cases=_mask_cases)
def causal_mask_shape_and_offset(student, case):
    """causal_mask(L, S, offset): a bool (L, S) mask, True where key j <= query i + offset,
    for query length != key length and any offset (a KV cache's queries sit at the end)."""
    length, keys, offset = case["query_len"], case["key_len"], case["offset"]
    mask = student.causal_mask(length, keys, offset=offset)
    label = f"causal_mask({length}, {keys}, offset={offset})"
    check_equal(str(np.asarray(mask).dtype), "bool", f"dtype of {label}")
    expected = np.arange(keys)[None, :] <= np.arange(length)[:, None] + offset
    check_equal(np.asarray(mask).tolist(), expected.tolist(), label)


@grading_test(points=2)
def attention_forward_matches_softmax_qk_v(student):
    """scaled_dot_product_attention = softmax(Q K^T / sqrt(d)) V, with and without a causal mask."""
    q, k, v = _qkv()
    check_close(student.scaled_dot_product_attention(q, k, v),
                _reference(q.array, k.array, v.array), "attention output")
    check_close(student.scaled_dot_product_attention(q, k, v, is_causal=True),
                _reference(q.array, k.array, v.array, causal=True), "causal attention output")


def _attention_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "batch": st.lists(st.integers(1, 3), max_size=2).map(tuple),
        "query_len": st.integers(1, 6), "key_len": st.integers(1, 8),
        "dim": st.integers(1, 5), "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h),
        "mask": st.sampled_from(["none", "cache", "bias"])})


@grading_test(points=2, cases=_attention_cases)
def attention_with_masks_and_unequal_lengths(student, case):
    """Attention with L queries != S keys, batched, float32 and float64: no mask, a KV-cache
    causal mask (queries at the end: causal_mask(L, S, S - L)) and a float bias."""
    rng = np.random.default_rng(case["seed"])
    dtype, batch = np.dtype(case["dtype"]), case["batch"]
    length, keys, dim = case["query_len"], case["key_len"], case["dim"]
    q, k, v = (rng.standard_normal((*batch, n, dim)).astype(dtype)
               for n in (length, keys, keys))
    mask = None
    if case["mask"] == "cache":
        mask = np.arange(keys)[None, :] <= np.arange(length)[:, None] + (keys - length)
        mask[:, 0] = True  # every query sees at least one key
    elif case["mask"] == "bias":
        mask = rng.standard_normal((length, keys)).astype(dtype)
    scores = q.astype(np.float64) @ np.swapaxes(k, -1, -2) / np.sqrt(dim)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == np.bool_ else scores + mask
    probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    out = student.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v),
                                               attn_mask=None if mask is None else mask)
    check_close(out, probs @ v, f"attention of {length} queries on {keys} keys, batch {batch}, "
                f"dim {dim}, {dtype}, mask {case['mask']}", rtol=1e-4, atol=1e-5)


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


def _heads_cases(h):
    st = h.st
    return st.fixed_dictionaries({"batch": st.integers(1, 3), "length": st.integers(1, 6),
                                  "heads": st.sampled_from([1, 2, 4]),
                                  "head_dim": st.integers(1, 4), "causal": st.booleans(),
                                  "seed": h.cases.seeds(h)})


@grading_test(points=1, cases=_heads_cases, examples=8)
def multihead_attention_runs_on_your_attention(student, case):
    """MultiheadAttention (provided) splits E into heads, runs your causal mask and fused
    attention per head and merges them: equal to a numpy multi-head attention."""
    heads, dim = case["heads"], case["heads"] * case["head_dim"]
    layer = student.MultiheadAttention(dim, heads)
    x = np.random.default_rng(case["seed"]).standard_normal(
        (case["batch"], case["length"], dim)).astype(np.float32)
    out = layer.self_attention(Tensor(x), is_causal=case["causal"])
    w = as_numpy(layer.in_proj_weight).astype(np.float64)
    q, k, v = np.split(x @ w.T, 3, axis=-1)
    split = [t.reshape(*t.shape[:2], heads, -1).swapaxes(1, 2) for t in (q, k, v)]
    causal = case["causal"]
    mixed = _reference(*split, causal=causal).swapaxes(1, 2).reshape(x.shape)
    proj = as_numpy(layer.out_proj.weight).astype(np.float64)
    expected = mixed @ proj.T + as_numpy(layer.out_proj.bias)
    check_close(out, expected, f"MultiheadAttention({dim}, {heads}) on ({case['batch']}, "
                f"{case['length']}, {dim}), causal={causal}", rtol=1e-4, atol=1e-5)
