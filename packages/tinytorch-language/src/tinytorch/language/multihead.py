"""MultiheadAttention: h attention heads computed as one batched matmul, not h loops.

What it teaches: one head attends with d_model-dimensional queries; h heads split d_model
into h slices of d_model/h and attend in each slice independently, so different heads can
look at different positions (one at the previous word, one at the subject). The trick that
makes it fast is that "h independent attentions" is just a reshape: project once with a
(3*d_model, d_model) weight, view the result as (batch, seq, 3, heads, head_dim),
transpose to (3, batch, heads, seq, head_dim), and the attention matmuls treat
batch x heads as one batch dimension. No Python loop over heads, one graph node: the
attention kernel of attention.py in its packed layout (`heads=`), which the KV-cached
decoding step and cross-attention call as well.

The module mirrors `torch.nn.MultiheadAttention`: parameters `in_proj_weight`,
`in_proj_bias`, `out_proj`; `forward(query, key, value, key_padding_mask, need_weights,
attn_mask, average_attn_weights, is_causal)` returning `(output, weights)`; its masks use
torch's MultiheadAttention convention (bool True = NOT allowed), the opposite of
`scaled_dot_product_attention`'s.

Systems lesson, FLOPs: for sequence length T and width d, the projections cost
8*T*d^2 (Q, K, V and output) and attention 4*T^2*d. At TinyGPT's d = 128, T = 64 the
projections dominate (8.4 MFLOP vs 4.2 MFLOP); past T = 2d the T^2 term takes over.
"""

from __future__ import annotations

import math

import numpy as np

import tinytorch.core.nn.functional as F
from tinytorch.core.autograd import is_grad_enabled
from tinytorch.core.memory import allocating
from tinytorch.core.nn import Linear, Module, Parameter, init
from tinytorch.core.random import get_rng
from tinytorch.core.tensor import Tensor

from .attention import (
    ScaledDotProductAttention,
    causal_mask,
    mask_to_bias,
    merge_heads,
    split_heads,
)


class MultiheadAttention(Module):
    """Mirrors `torch.nn.MultiheadAttention(embed_dim, num_heads, dropout, bias, batch_first)`."""

    @allocating("MultiheadAttention", "its projections")
    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, dtype=None):
        super().__init__()
        for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"MultiheadAttention: {name} must be a positive int, got "
                                 f"{value!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        dtype = np.float32 if dtype is None else dtype
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # as torch: xavier-uniform packed projection, zero biases, Linear's default out_proj
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    # ------------------------------------------------------------ the self-attention path
    def self_attention(self, x: Tensor, is_causal: bool = False, bias=None,
                       kv_cache=None) -> Tensor:
        """Batch-first self-attention (B, T, E) -> (B, T, E): one packed projection.

        `bias` is an additive (.., T, S) array; `kv_cache` (a `LayerKVCache`, inference
        only) holds earlier positions' keys and values, so `x` holds only the new tokens;
        the T new queries then sit after the cached positions and `is_causal` aligns the
        mask bottom-right (query i sees keys up to its own position), as torch's
        `causal_lower_right` does.
        """
        self._check_input("self_attention", x)
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        if kv_cache is not None:
            out = self._cached_attention(qkv.array, kv_cache, is_causal, bias)
        else:
            if is_causal:
                causal = mask_to_bias(causal_mask(x.shape[1], x.shape[1]), x.dtype)
                bias = causal if bias is None else bias + causal
            dropout_p = self.dropout if self.training else 0.0
            rng = get_rng() if dropout_p > 0.0 else None
            out = ScaledDotProductAttention.apply(qkv, None, None, None, bias, self._scale,
                                                  dropout_p, rng, heads=self.num_heads)
        return self.out_proj(out)

    @property
    def _scale(self) -> float:
        return 1.0 / math.sqrt(self.head_dim)

    def _cached_attention(self, qkv: np.ndarray, cache, is_causal: bool, bias) -> Tensor:
        """The decoding step: this step's keys and values join the cache, and the same
        attention kernel runs the new queries against every cached key."""
        if is_grad_enabled() and self.in_proj_weight.requires_grad:
            raise RuntimeError("MultiheadAttention: a KV cache is for inference; run the model "
                               "under tinytorch.core.no_grad()")
        q, k, v = split_heads(qkv, self.num_heads)
        keys, values = cache.append(k, v)
        T, S = q.shape[2], keys.shape[2]
        if is_causal and T > 1:  # one query at the end sees every key: nothing to mask
            causal = mask_to_bias(causal_mask(T, S, offset=S - T), q.dtype)
            bias = causal if bias is None else bias + causal
        out = ScaledDotProductAttention.apply(q, keys, values, None, bias, self._scale, 0.0,
                                              None)
        return Tensor._make(merge_heads(out.array))

    # ------------------------------------------------------------ torch's general forward
    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        """Returns (attn_output, attn_weights or None), as torch does."""
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"MultiheadAttention.forward: {name} must be a Tensor, got "
                                f"{type(t).__name__}")
        self_attn = query is key and key is value
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.unsqueeze(0 if self.batch_first else 1)
                                 for t in (query, key, value))
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        for name, t in (("query", query), ("key", key), ("value", value)):
            self._check_input(f"forward ({name})", t)
        N, L, S = query.shape[0], query.shape[1], key.shape[1]
        bias = self._combined_bias(attn_mask, key_padding_mask, is_causal, N, L, S, query.dtype)
        if self_attn and not need_weights:
            output, weights = self.self_attention(query, bias=bias), None
        else:
            output, weights = self._general_attention(query, key, value, bias, need_weights,
                                                      average_attn_weights)
        if not self.batch_first:
            output = output.transpose(0, 1)
        if unbatched:
            output = output.squeeze(0 if self.batch_first else 1)
            weights = None if weights is None else weights.squeeze(0)
        return output, weights

    def _general_attention(self, query, key, value, bias, need_weights, average):
        E, H, D = self.embed_dim, self.num_heads, self.head_dim
        W, b = self.in_proj_weight, self.in_proj_bias
        projected = [F.linear(t, W[i * E:(i + 1) * E], None if b is None else b[i * E:(i + 1) * E])
                     for i, t in enumerate((query, key, value))]
        q, k, v = (p.reshape(p.shape[0], p.shape[1], H, D).transpose(1, 2) for p in projected)
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            # the weights are an output the caller may differentiate, so here attention is
            # written out with differentiable ops (the fused kernel keeps P to itself)
            scores = (q @ k.transpose(-2, -1)) * self._scale
            if bias is not None:
                scores = scores + Tensor._make(bias)
            probs = F.dropout(F.softmax(scores, dim=-1), self.dropout, self.training)
            attended = probs @ v
            weights = probs.mean(dim=1) if average else probs
        else:
            rng = get_rng() if dropout_p > 0.0 else None
            attended = ScaledDotProductAttention.apply(q, k, v, None, bias, self._scale,
                                                       dropout_p, rng)
        out = attended.transpose(1, 2).reshape(query.shape[0], query.shape[1], E)
        return self.out_proj(out), weights

    def _combined_bias(self, attn_mask, key_padding_mask, is_causal, N, L, S, dtype):
        """torch's masks (bool True = blocked, float = added) as one additive array."""
        bias = None
        if attn_mask is not None:
            mask = np.asarray(getattr(attn_mask, "data", attn_mask))
            if mask.shape == (L, S):
                pass
            elif mask.shape == (N * self.num_heads, L, S):
                mask = mask.reshape(N, self.num_heads, L, S)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask must have shape {(L, S)} or "
                                 f"{(N * self.num_heads, L, S)}, got {mask.shape}")
            bias = mask_to_bias(~mask, dtype) if mask.dtype == np.bool_ else \
                mask.astype(dtype, copy=False)
        elif is_causal:
            bias = mask_to_bias(causal_mask(L, S), dtype)
        if key_padding_mask is not None:
            pad = np.asarray(getattr(key_padding_mask, "data", key_padding_mask))
            if pad.shape != (N, S):
                raise ValueError(f"MultiheadAttention: key_padding_mask must have shape "
                                 f"{(N, S)} (batch, source length), got {pad.shape}")
            pad_bias = mask_to_bias(~pad, dtype) if pad.dtype == np.bool_ else \
                pad.astype(dtype, copy=False)
            pad_bias = pad_bias[:, None, None, :]
            bias = pad_bias if bias is None else bias + pad_bias
        return bias

    def _check_input(self, op: str, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[-1] != self.embed_dim:
            shape = getattr(x, "shape", type(x).__name__)
            raise ValueError(f"MultiheadAttention.{op}: expected a (batch, seq, {self.embed_dim})"
                             f" tensor, got {shape}")

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


MultiHeadAttention = MultiheadAttention  # the issue's / seeds' spelling
