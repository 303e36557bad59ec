"""TinyGPT: a decoder-only transformer language model (GPT-2's architecture, small).

What it teaches: the whole model is

    h = token_embedding(ids) + position_embedding(positions)
    h = block_L(... block_1(h))          causal self-attention: position t sees 0..t only
    logits = lm_head(ln_f(h))            one score per vocabulary entry, at every position

and training is next-token prediction: the logits at position t are scored (cross-entropy)
against token t+1. Because of the causal mask, one forward pass over T tokens yields T
training examples at once. `tie_weights=True` uses the token embedding matrix as the
output layer too (GPT-2 does), so "which vector means token i" is learned once.

Initialization follows GPT-2: weights N(0, 0.02), biases zero, and the two projections
that write into the residual stream (attention `out_proj`, MLP `linear2`) scaled by
1/sqrt(2 * num_layers), so the residual stream's variance does not grow with depth.

Systems lesson: parameters ~ 12 * num_layers * d_model^2 + vocab * d_model. The milestone
configuration (4 layers, d_model 128, vocab 65) has ~0.8M; GPT-2 small (12, 768, 50,257)
has 124M. Training FLOPs ~ 6 x parameters x tokens, the rule of thumb behind every
compute budget.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core.bad_input import as_array
from tinytorch.core.memory import allocating
from tinytorch.core.nn import Dropout, LayerNorm, Linear, Module, ModuleList, init
from tinytorch.core.tensor import Tensor

from .embedding import Embedding, LearnedPositionalEmbedding, PositionalEncoding
from .kv_cache import KVCache
from .transformer import TransformerBlock


class TinyGPT(Module):
    """`TinyGPT(vocab_size, d_model, num_heads, num_layers, max_seq_len, dropout, tie_weights)`.

    `forward(ids)` maps (batch, seq) int64 ids to (batch, seq, vocab_size) logits.
    `positional="sinusoidal"` swaps the learned position table for fixed sinusoids.
    """

    @allocating("TinyGPT", "its layers")
    def __init__(self, vocab_size: int, d_model: int = 128, num_heads: int = 4,
                 num_layers: int = 4, max_seq_len: int = 256, dropout: float = 0.0,
                 tie_weights: bool = True, dim_feedforward: int | None = None,
                 bias: bool = True, positional: str = "learned", dtype=None):
        super().__init__()
        _check_config(vocab_size, d_model, num_heads, num_layers, max_seq_len, positional)
        self.config = {
            "vocab_size": vocab_size, "d_model": d_model, "num_heads": num_heads,
            "num_layers": num_layers, "max_seq_len": max_seq_len, "dropout": dropout,
            "tie_weights": tie_weights, "dim_feedforward": dim_feedforward, "bias": bias,
            "positional": positional,
        }
        self.vocab_size, self.d_model, self.max_seq_len = vocab_size, d_model, max_seq_len
        self.num_heads, self.num_layers = num_heads, num_layers
        self.token_embedding = Embedding(vocab_size, d_model, dtype=dtype)
        if positional == "learned":
            self.position_embedding = LearnedPositionalEmbedding(max_seq_len, d_model, dtype)
        else:
            self.position_embedding = PositionalEncoding(d_model, 0.0, max_seq_len, dtype)
        self.drop = Dropout(dropout)
        self.blocks = ModuleList([
            TransformerBlock(d_model, num_heads, dim_feedforward, dropout, "gelu", bias=bias,
                             dtype=dtype)
            for _ in range(num_layers)
        ])
        self.ln_f = LayerNorm(d_model, bias=bias, dtype=dtype)
        self.lm_head = Linear(d_model, vocab_size, bias=False, dtype=dtype)
        if tie_weights:
            self.lm_head.weight = self.token_embedding.weight
        self._init_weights()

    def _init_weights(self) -> None:
        std = 0.02
        for module in self.modules():
            if isinstance(module, Linear):
                init.normal_(module.weight, 0.0, std)
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, (Embedding, LearnedPositionalEmbedding)):
                init.normal_(module.weight, 0.0, std)
        residual_std = std / math.sqrt(2 * self.num_layers)
        for block in self.blocks:
            init.normal_(block.self_attn.in_proj_weight, 0.0, std)
            init.normal_(block.self_attn.out_proj.weight, 0.0, residual_std)
            init.normal_(block.linear2.weight, 0.0, residual_std)

    # ------------------------------------------------------------ forward
    def forward(self, ids, kv_cache: KVCache | None = None) -> Tensor:
        """Logits (batch, seq, vocab). With `kv_cache`, `ids` are only the new tokens and
        their positions continue after the `kv_cache.length` cached ones (inference only)."""
        ids = self._check_ids(ids)
        offset = 0 if kv_cache is None else kv_cache.length
        if offset + ids.shape[1] > self.max_seq_len:
            raise ValueError(f"TinyGPT: {offset} cached + {ids.shape[1]} new tokens exceed "
                             f"max_seq_len {self.max_seq_len}; crop the context to the last "
                             f"{self.max_seq_len} tokens")
        h = self.position_embedding(self.token_embedding(ids), offset)
        h = self.drop(h)
        for i, block in enumerate(self.blocks):
            layer_cache = None if kv_cache is None else kv_cache.layers[i]
            h = block(h, is_causal=True, kv_cache=layer_cache)
        return self.lm_head(self.ln_f(h))

    def _check_ids(self, ids) -> np.ndarray:
        data = as_array("TinyGPT", "ids", ids)
        if data.dtype.kind not in "iu":
            raise TypeError(f"TinyGPT: ids must be integers (long), got dtype {data.dtype}")
        if data.ndim == 1:
            data = data[None, :]
        if data.ndim != 2 or data.shape[1] == 0:
            raise ValueError(f"TinyGPT: ids must have shape (batch, seq) with seq >= 1, got "
                             f"{data.shape}")
        if data.min() < 0 or data.max() >= self.vocab_size:
            raise ValueError(f"TinyGPT: ids must be in [0, {self.vocab_size}), got range "
                             f"[{data.min()}, {data.max()}]")
        return data

    def make_kv_cache(self, batch: int = 1) -> KVCache:
        """An empty cache sized for this model's layers, heads and max_seq_len."""
        return KVCache(self.num_layers, batch, self.num_heads, self.max_seq_len,
                       self.d_model // self.num_heads, self.token_embedding.weight.dtype)

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, d_model={self.d_model}, "
                f"num_heads={self.num_heads}, num_layers={self.num_layers}, "
                f"max_seq_len={self.max_seq_len}, parameters={self.num_parameters():,}")


def _check_config(vocab_size, d_model, num_heads, num_layers, max_seq_len, positional) -> None:
    for name, value in (("vocab_size", vocab_size), ("d_model", d_model),
                        ("num_heads", num_heads), ("num_layers", num_layers),
                        ("max_seq_len", max_seq_len)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"TinyGPT: {name} must be a positive int, got {value!r}")
    if d_model % num_heads:
        raise ValueError(f"TinyGPT: d_model ({d_model}) must be divisible by num_heads "
                         f"({num_heads})")
    if positional not in ("learned", "sinusoidal"):
        raise ValueError(f"TinyGPT: positional must be 'learned' or 'sinusoidal', got "
                         f"{positional!r}")
