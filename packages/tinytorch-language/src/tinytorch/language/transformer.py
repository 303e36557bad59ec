"""TransformerBlock: pre-norm self-attention and MLP, each wrapped in a residual connection.

What it teaches: a GPT is a stack of identical blocks

    x = x + attention(layer_norm_1(x))      tokens exchange information
    x = x + mlp(layer_norm_2(x))            each token thinks on its own (4x wider, GELU)

The residual `x + f(x)` gives gradients a direct path from the loss to every layer, so
deep stacks train; normalizing *before* each sub-layer (pre-norm, GPT-2) keeps that path
free of normalization and trains more stably than the original post-norm. The block
equals `torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
activation="gelu", batch_first=True, norm_first=True)`, and uses the same parameter names
(`self_attn`, `linear1`, `linear2`, `norm1`, `norm2`), so weights copy across one to one.

Systems lesson, where parameters and FLOPs go: per block, attention has 4 d^2 weights and
the MLP 8 d^2 (two d x 4d matrices): two thirds of a transformer's parameters are in the
MLPs. Per token a block costs ~24 d^2 FLOPs forward (2 per multiply-add) plus 4 T d for
attention scores and sums.
"""

from __future__ import annotations

import tinytorch.core.nn.functional as F
from tinytorch.core.memory import allocating
from tinytorch.core.nn import Dropout, LayerNorm, Linear, Module
from tinytorch.core.random import get_rng
from tinytorch.core.tensor import Tensor

from .feedforward import FeedForward
from .multihead import MultiheadAttention

_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


class TransformerBlock(Module):
    """Pre-norm transformer block on batch-first input (batch, seq, d_model)."""

    @allocating("TransformerBlock", "its layers")
    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int | None = None,
                 dropout: float = 0.0, activation: str = "gelu", layer_norm_eps: float = 1e-5,
                 bias: bool = True, dtype=None):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"TransformerBlock: activation must be one of "
                             f"{sorted(_ACTIVATIONS)}, got {activation!r}")
        for name, value in (("d_model", d_model), ("dim_feedforward", dim_feedforward)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value <= 0):
                raise ValueError(f"TransformerBlock: {name} must be a positive int, got "
                                 f"{value!r:.40}")
        if d_model is None:
            raise ValueError("TransformerBlock: d_model must be a positive int, got None")
        dim_feedforward = 4 * d_model if dim_feedforward is None else dim_feedforward
        self.d_model, self.activation = d_model, activation
        self.self_attn = MultiheadAttention(d_model, num_heads, dropout=dropout, bias=bias,
                                            batch_first=True, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)   # inside the MLP, after the activation
        self.dropout1 = Dropout(dropout)  # on the attention branch
        self.dropout2 = Dropout(dropout)  # on the MLP branch

    def forward(self, x: Tensor, is_causal: bool = False, attn_bias=None,
                kv_cache=None) -> Tensor:
        """`attn_bias`: additive (.., T, S) array; `kv_cache`: a `LayerKVCache` (inference)."""
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"TransformerBlock: expected input (batch, seq, {self.d_model}), "
                             f"got {getattr(x, 'shape', type(x).__name__)}")
        # BEGIN SOLUTION
        attended = self.self_attn.self_attention(self.norm1(x), is_causal=is_causal,
                                                 bias=attn_bias, kv_cache=kv_cache)
        x = x + self.dropout1(attended)
        return x + self.dropout2(self._mlp(self.norm2(x)))
        # END SOLUTION

    def _mlp(self, x: Tensor) -> Tensor:
        if self.activation == "gelu":  # one fused node (feedforward.py)
            p = self.dropout.p if self.training else 0.0
            return FeedForward.apply(x, self.linear1.weight, self.linear1.bias,
                                     self.linear2.weight, self.linear2.bias, p,
                                     get_rng() if p > 0.0 else None)
        hidden = _ACTIVATIONS[self.activation](self.linear1(x))
        return self.linear2(self.dropout(hidden))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, activation={self.activation!r}, pre-norm"
