"""Module 14 (Transformers): the pre-norm residual block."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor, manual_seed, no_grad

from . import check_close, grading_test


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
