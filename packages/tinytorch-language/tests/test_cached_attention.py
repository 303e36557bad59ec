"""The KV-cached attention path runs the one attention kernel and honours `is_causal` and
the additive bias, checked against torch's `scaled_dot_product_attention` with a query
offset (query length != key length; causal aligned bottom-right, as torch's
`causal_lower_right` does for a cache)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinytorch.core as tt
from tinytorch.core.testing import assert_close
from tinytorch.language import LayerKVCache, MultiheadAttention

E, H, B = 8, 2, 2


def _setup(cached: int, new: int, dtype=np.float64):
    rng = np.random.default_rng(cached * 10 + new)
    mha = MultiheadAttention(E, H, dtype=dtype)
    x = rng.standard_normal((B, cached + new, E)).astype(dtype)
    cache = LayerKVCache(B, H, cached + new, E // H, dtype)
    return mha, x, cache


def _torch_reference(mha, x, cached, attn_mask=None):
    """The new queries (positions cached..) against every key, in torch."""
    qkv = torch.from_numpy(x) @ torch.from_numpy(mha.in_proj_weight.detach().numpy().copy()).T
    qkv = qkv + torch.from_numpy(mha.in_proj_bias.detach().numpy().copy())
    q, k, v = (t.reshape(B, -1, H, E // H).transpose(1, 2) for t in qkv.split(E, dim=-1))
    q = q[:, :, cached:]
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    out = out.transpose(1, 2).reshape(B, -1, E)
    w = torch.from_numpy(mha.out_proj.weight.detach().numpy().copy())
    return (out @ w.T + torch.from_numpy(mha.out_proj.bias.detach().numpy().copy())).numpy()


def _run_cached(mha, x, cache, cached, **kwargs):
    with tt.no_grad():
        if cached:
            mha.self_attention(tt.tensor(x[:, :cached]), is_causal=True, kv_cache=cache)
        return mha.self_attention(tt.tensor(x[:, cached:]), kv_cache=cache, **kwargs).numpy()


def _lower_right(L, S):
    return torch.ones(L, S, dtype=torch.bool).tril(diagonal=S - L)


@pytest.mark.parametrize("cached, new", [(3, 2), (0, 4), (4, 1)])
def test_cached_causal_attention_is_bottom_right_aligned(cached, new):
    mha, x, cache = _setup(cached, new)
    mine = _run_cached(mha, x, cache, cached, is_causal=True)
    assert_close(mine, _torch_reference(mha, x, cached, _lower_right(new, cached + new)),
                 "cached causal attention")


@pytest.mark.parametrize("cached, new", [(3, 2), (0, 4)])
def test_cached_attention_without_is_causal_attends_to_every_key(cached, new):
    mha, x, cache = _setup(cached, new)
    mine = _run_cached(mha, x, cache, cached, is_causal=False)
    assert_close(mine, _torch_reference(mha, x, cached), "cached attention, no mask")


def test_cached_attention_adds_the_bias():
    cached, new = 3, 2
    mha, x, cache = _setup(cached, new)
    blocked = np.zeros((B, 1, new, cached + new))
    blocked[0, :, :, 1] = -np.inf  # batch 0 may not look at key 1 (say, padding)
    blocked[1, :, 1, 0] = -np.inf
    mine = _run_cached(mha, x, cache, cached, is_causal=True, bias=blocked)
    mask = torch.from_numpy(blocked) + torch.zeros(new, cached + new).masked_fill(
        ~_lower_right(new, cached + new), float("-inf"))
    assert_close(mine, _torch_reference(mha, x, cached, mask), "cached attention with a bias")


def test_cached_attention_float32_matches_torch():
    cached, new = 2, 3
    mha, x, cache = _setup(cached, new, np.float32)
    mine = _run_cached(mha, x, cache, cached, is_causal=True)
    assert_close(mine, _torch_reference(mha, x, cached, _lower_right(new, cached + new)),
                 "cached causal attention, float32", atol=1e-5, rtol=1e-4)
