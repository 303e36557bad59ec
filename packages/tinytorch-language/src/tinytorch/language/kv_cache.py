"""KV cache: remember every layer's keys and values so generation does not redo them.

What it teaches: a decoder generates one token at a time, and at step t a causal model's
keys and values for positions 0..t-1 are exactly what they were at step t-1 (no position
can see the future, so appending a token changes nothing before it). Without a cache,
each step re-runs the model over the whole context: generating N tokens costs
O(N^2) token-forwards. With a cache, each step runs the model over one new token and
attends to the stored keys/values: O(N) token-forwards (attention itself still reads all
t cached keys, O(t) per step).

Systems lesson, the trade-off in numbers: the cache stores 2 (K and V) x layers x batch x
context x d_model floats. TinyGPT's milestone model (4 layers, d_model 128, context 64):
2*4*64*128*4 B = 262 KB per sequence, negligible. GPT-2 small (12 layers, d 768, context
1,024): 75 MB per sequence; a 7B model (32 layers, d 4,096, context 4,096): 4.3 GB per
sequence in float32. Serving many users at once is limited by this memory, not by FLOPs,
which is why production systems page, quantize or share the cache.

The buffers are preallocated to the model's maximum context, so appending is a copy into
a slice, never a reallocation. The cache holds plain arrays: it is for inference (use it
under `no_grad()`), and gradients never flow through cached keys and values.
"""

from __future__ import annotations

import numpy as np


class LayerKVCache:
    """Keys and values of one attention layer: (batch, heads, max_len, head_dim) each."""

    def __init__(self, batch: int, num_heads: int, max_len: int, head_dim: int, dtype):
        self.keys = np.zeros((batch, num_heads, max_len, head_dim), dtype=dtype)
        self.values = np.zeros_like(self.keys)
        self.length = 0

    @property
    def max_len(self) -> int:
        return self.keys.shape[2]

    def append(self, keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Store the new positions' keys/values; return views of everything cached so far."""
        new = keys.shape[2]
        end = self.length + new
        if end > self.max_len:
            raise ValueError(f"KVCache.append: {self.length} cached + {new} new positions exceed "
                             f"the cache's max_len {self.max_len}; reset() it or re-encode a "
                             "shorter context")
        if keys.shape[:2] != self.keys.shape[:2] or keys.shape[3] != self.keys.shape[3]:
            raise ValueError(f"KVCache.append: keys of shape {keys.shape} do not fit a cache of "
                             f"(batch, heads, max_len, head_dim) = {self.keys.shape}")
        # BEGIN SOLUTION
        self.keys[:, :, self.length:end] = keys
        self.values[:, :, self.length:end] = values
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]
        # END SOLUTION


class KVCache:
    """One `LayerKVCache` per transformer block, advanced together.

    `model(ids, kv_cache=cache)` reads `cache.length` as the position of the first new
    token, lets each block append its keys/values, and the cache's length grows by the
    number of new tokens.
    """

    def __init__(self, num_layers: int, batch: int, num_heads: int, max_len: int,
                 head_dim: int, dtype=np.float32):
        for name, value in (("num_layers", num_layers), ("batch", batch),
                            ("num_heads", num_heads), ("max_len", max_len),
                            ("head_dim", head_dim)):
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"KVCache: {name} must be a positive int, got {value!r}")
        self.layers = [LayerKVCache(batch, num_heads, max_len, head_dim, dtype)
                       for _ in range(num_layers)]

    @property
    def length(self) -> int:
        """Positions cached so far (the same in every layer between forward calls)."""
        return self.layers[0].length

    @property
    def max_len(self) -> int:
        return self.layers[0].max_len

    @property
    def nbytes(self) -> int:
        return sum(layer.keys.nbytes + layer.values.nbytes for layer in self.layers)

    def reset(self) -> None:
        """Forget everything (the buffers are kept and overwritten)."""
        for layer in self.layers:
            layer.length = 0

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        return (f"KVCache(layers={len(self.layers)}, length={self.length}, "
                f"max_len={self.max_len}, {self.nbytes / 1e6:.2f} MB)")
