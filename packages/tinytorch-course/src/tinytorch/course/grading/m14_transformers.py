"""Module 14 (Transformers): the pre-norm residual block.

The property-based test draws blocks of any width and head count, GELU or ReLU, float32 or
float64, causal or not, with or without an additive attention bias, on batches of any
length, and compares outputs and the gradients of the input and of every parameter with
the pre-norm formula built from the block's own sub-layers."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor, manual_seed, no_grad

from . import as_numpy, check_close, check_equal, grading_test


def _block_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "batch": st.integers(1, 2), "seq": st.integers(1, 5), "heads": st.sampled_from([1, 2]),
        "head_dim": st.integers(1, 3), "activation": st.sampled_from(["gelu", "relu"]),
        "causal": st.booleans(), "bias": st.booleans(), "dtype": h.cases.float_dtypes(h),
        "seed": h.cases.seeds(h)})


def _grads(block, x):
    return [np.array(as_numpy(x.grad), copy=True)] + \
        [np.array(as_numpy(p.grad), copy=True) for _, p in block.named_parameters()]


@grading_test(points=2, cases=_block_cases, examples=10)
def block_any_shape_dtype_and_mask(student, case):
    """For any width, heads, activation, dtype, causal flag and attention bias:
    block(x) = h + mlp(norm2(h)) with h = x + attn(norm1(x)), and backward gives the same
    gradients for x and every parameter."""
    heads, dtype = case["heads"], np.dtype(case["dtype"])
    d = heads * case["head_dim"]
    manual_seed(case["seed"])
    block = student.TransformerBlock(d, heads, dim_feedforward=2 * d,
                                     activation=case["activation"], dtype=dtype)
    rng = np.random.default_rng(case["seed"])
    data = rng.standard_normal((case["batch"], case["seq"], d)).astype(dtype)
    g = Tensor(rng.standard_normal(data.shape).astype(dtype))
    bias = rng.standard_normal((case["seq"], case["seq"])).astype(dtype) \
        if case["bias"] else None
    causal = case["causal"]
    label = (f"TransformerBlock({d}, {heads}, activation={case['activation']!r}, "
             f"dtype={dtype}) on {data.shape}, is_causal={causal}, bias={case['bias']}")

    x = Tensor(data.copy(), requires_grad=True)
    h = x + block.self_attn.self_attention(block.norm1(x), is_causal=causal, bias=bias)
    expected = h + block._mlp(block.norm2(h))
    (expected * g).sum().backward()
    expected_grads = _grads(block, x)
    block.zero_grad()

    x = Tensor(data.copy(), requires_grad=True)
    out = block(x, is_causal=causal, attn_bias=bias)
    tol = 1e-4 if dtype == np.float32 else 1e-9
    check_close(out, as_numpy(expected), label, rtol=tol, atol=tol)
    (out * g).sum().backward()
    names = ["x"] + [n for n, _ in block.named_parameters()]
    missing = [n for n, p in zip(names, [x, *block.parameters()]) if p.grad is None]
    check_equal(missing, [], f"{label}: inputs and parameters that got no gradient")
    for name, got, want in zip(names, _grads(block, x), expected_grads):
        check_close(got, want, f"{label}: gradient of {name}", rtol=tol, atol=tol)


def _block(student, d=8, heads=2):
    manual_seed(0)
    return student.TransformerBlock(d, heads)


def _input(batch=2, seq=5, d=8, seed=1):
    return Tensor(np.random.default_rng(seed).standard_normal((batch, seq, d)).astype(
        np.float32))


@grading_test(points=2)
def block_is_pre_norm_residual(student):
    """forward(x) = h + mlp(norm2(h)) with h = x + attn(norm1(x)), built from the block's
    own sub-layers."""
    block, x = _block(student), _input()
    with no_grad():
        out = block(x, is_causal=True)
        h = x + block.self_attn.self_attention(block.norm1(x), is_causal=True)
        expected = h + block._mlp(block.norm2(h))
    check_close(out, expected.array, "TransformerBlock(x, is_causal=True)", rtol=1e-4, atol=1e-5)


@grading_test(points=1)
def zero_sublayers_give_identity(student):
    """With every projection (weights and biases) zeroed, both residual branches add
    nothing: block(x) == x."""
    block, x = _block(student), _input()
    for name, p in block.named_parameters():
        if not name.startswith("norm"):
            p.array[...] = 0
    with no_grad():
        check_close(block(x), x.array, "block(x) with zeroed projections")


@grading_test(points=2)
def causal_block_ignores_the_future(student):
    """With is_causal=True, changing token t+1.. never changes the outputs up to t."""
    block, x = _block(student), _input(batch=1, seq=6)
    changed = x.array.copy()
    changed[:, 3:] = np.random.default_rng(9).standard_normal(changed[:, 3:].shape)
    with no_grad():
        a = block(x, is_causal=True).array
        b = block(Tensor(changed), is_causal=True).array
    check_close(b[:, :3], a[:, :3], "outputs of positions 0-2 after editing positions 3-5",
                atol=1e-5)
    assert not np.allclose(a[:, 3:], b[:, 3:]), "later positions must see their own input"


class _GrowingCache:
    """The smallest KV cache (module 15 writes the real one): keeps every appended
    position and returns all of them, as LayerKVCache.append does."""

    def __init__(self):
        self.keys = self.values = None

    def append(self, keys, values):
        if self.keys is None:
            self.keys, self.values = keys.copy(), values.copy()
        else:
            self.keys = np.concatenate([self.keys, keys], axis=2)
            self.values = np.concatenate([self.values, values], axis=2)
        return self.keys, self.values


def _cache_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "batch": st.integers(1, 2), "chunks": st.lists(st.integers(1, 3), min_size=2,
                                                       max_size=4),
        "heads": st.sampled_from([1, 2]), "head_dim": st.integers(1, 3),
        "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h)})


@grading_test(points=1, cases=_cache_cases, examples=8)
def cached_block_equals_the_full_causal_pass(student, case):
    """Fed a sequence in chunks through a KV cache (queries shorter than the keys, at an
    offset), the block's outputs equal those of one causal pass over the whole sequence."""
    heads, dtype = case["heads"], np.dtype(case["dtype"])
    d = heads * case["head_dim"]
    manual_seed(case["seed"])
    block = student.TransformerBlock(d, heads, dim_feedforward=2 * d, dtype=dtype)
    length = sum(case["chunks"])
    x = np.random.default_rng(case["seed"]).standard_normal(
        (case["batch"], length, d)).astype(dtype)
    cache, start, pieces = _GrowingCache(), 0, []
    with no_grad():
        full = as_numpy(block(Tensor(x), is_causal=True))
        for size in case["chunks"]:
            pieces.append(as_numpy(block(Tensor(x[:, start:start + size]), is_causal=True,
                                         kv_cache=cache)))
            start += size
    tol = 1e-4 if dtype == np.float32 else 1e-9
    check_close(np.concatenate(pieces, axis=1), full, f"TransformerBlock({d}, {heads}) fed "
                f"chunks {case['chunks']} through a KV cache, {dtype}", rtol=tol, atol=tol)
