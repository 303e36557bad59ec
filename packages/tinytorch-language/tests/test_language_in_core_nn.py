"""With tinytorch-language installed, its layers resolve under tinytorch.core.nn and F."""

from __future__ import annotations

import tinytorch.core as torch
from tinytorch import language
from tinytorch.core import nn
from tinytorch.core.nn import functional as F


def test_language_layers_resolve_from_core_nn():
    assert nn.Embedding is language.Embedding
    assert nn.MultiheadAttention is language.MultiheadAttention
    assert F.scaled_dot_product_attention is language.scaled_dot_product_attention
    # one embedding lookup: F.embedding is the function nn.Embedding calls (padding_idx too)
    from tinytorch.language.embedding import embedding

    assert F.embedding is embedding


def test_an_attention_block_written_against_core_nn_runs():
    embed = nn.Embedding(10, 8)
    x = embed(torch.tensor([[1, 2, 3]]))
    q = k = v = x.reshape(1, 1, 3, 8)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert out.shape == (1, 1, 3, 8)
