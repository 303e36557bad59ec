"""Embeddings: token ids -> vectors, and where in the sequence each token sits.

What it teaches:
- `Embedding` is a lookup table: row i of a (num_embeddings, embedding_dim) weight is the
  vector of token i. Mathematically it is one_hot(ids) @ weight, but a lookup costs
  O(tokens x dim) where the matmul would cost O(tokens x vocab x dim). Its gradient is
  *sparse*: only the rows that were looked up get one, and a row looked up twice (the
  same token at two positions) must receive the sum of both gradients. `np.add.at` does
  that unbuffered accumulation; `grad[ids] += g` would silently keep only one of them.
- Attention is permutation-invariant: without position information "dog bites man" and
  "man bites dog" look the same. `PositionalEncoding` adds the fixed sinusoids of
  "Attention Is All You Need" (no parameters, defined for any position);
  `LearnedPositionalEmbedding` learns one vector per position, as GPT-2 does (better
  in practice, but the model cannot see past `max_len` positions).

Systems lesson: the embedding table is often the largest single tensor of a small
language model: 50,257 tokens x 768 dims = 38.6M parameters (154 MB float32) in GPT-2
small. Tying the output layer to it (TinyGPT's `tie_weights`) saves that much again.
"""

from __future__ import annotations

import math

import numpy as np

import tinytorch.core.nn.functional as F
from tinytorch.core.autograd import Function
from tinytorch.core.bad_input import as_array
from tinytorch.core.cost import Cost, scatter_add_back
from tinytorch.core.memory import allocating
from tinytorch.core.nn import Module, Parameter, init
from tinytorch.core.tensor import Tensor


class EmbeddingLookup(Function):
    """weight[ids] with the sparse, accumulating backward (padding_idx rows get none)."""

    @staticmethod
    def forward(ctx, weight, ids, padding_idx):
        ctx.save_for_backward(ids)
        ctx.rows, ctx.padding_idx = weight.shape[0], padding_idx
        # BEGIN SOLUTION
        return weight[ids]
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        (ids,) = ctx.saved_tensors
        dim = grad.shape[-1]
        # BEGIN SOLUTION
        grad_weight = np.zeros((ctx.rows, dim), dtype=grad.dtype)
        np.add.at(grad_weight, ids.reshape(-1), grad.reshape(-1, dim))
        # END SOLUTION
        if ctx.padding_idx is not None:
            grad_weight[ctx.padding_idx] = 0
        return grad_weight, None, None

    @staticmethod
    def cost(call, grads=None):
        return Cost(0) if grads is None else scatter_add_back(call, grads)


def embedding(ids, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Mirrors `torch.nn.functional.embedding(input, weight, padding_idx)`."""
    data = as_array("embedding", "ids", ids)
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise TypeError(f"embedding: weight must be a 2-D Tensor (num_embeddings, dim), got "
                        f"{getattr(weight, 'shape', type(weight).__name__)}")
    if data.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be an integer tensor (long), got dtype {data.dtype}")
    rows = weight.shape[0]
    if data.size and (data.min() < 0 or data.max() >= rows):
        raise IndexError(f"embedding: ids must be in [0, {rows}), got range "
                         f"[{data.min()}, {data.max()}]")
    return EmbeddingLookup.apply(weight, ids if isinstance(ids, Tensor) else data, padding_idx)


class Embedding(Module):
    """Mirrors `torch.nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)`.

    Weights start as N(0, 1) like torch's; the `padding_idx` row starts at zero and never
    receives a gradient.
    """

    @allocating("Embedding", "its embedding table")
    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype=None):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {value!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings "
                                 f"({num_embeddings}), got {padding_idx}")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        dtype = np.float32 if dtype is None else dtype
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{embeddings.shape}")
        module = cls(*embeddings.shape, padding_idx=padding_idx, dtype=embeddings.dtype)
        module.weight.array = np.array(embeddings.array, copy=True)
        module.weight.requires_grad_(not freeze)
        return module

    def forward(self, ids) -> Tensor:
        return embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


def sinusoidal_table(max_len: int, d_model: int, dtype=np.float32) -> np.ndarray:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same angle)."""
    # BEGIN SOLUTION
    positions = np.arange(max_len, dtype=np.float64)[:, None]
    frequencies = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0)
                                                                        / d_model))
    angles = positions * frequencies
    table = np.zeros((max_len, d_model), dtype=np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : d_model // 2])  # odd d_model: one fewer cosine
    # END SOLUTION
    return table.astype(dtype)


def _check_positions(op: str, x: Tensor, offset: int, max_len: int, d_model: int) -> int:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor (batch, seq, {d_model}), got "
                        f"{type(x).__name__}")
    if x.ndim < 2 or x.shape[-1] != d_model:
        raise ValueError(f"{op}: expected input of shape (batch, seq, {d_model}), got {x.shape}")
    seq = x.shape[-2]
    if offset < 0 or offset + seq > max_len:
        raise ValueError(f"{op}: positions {offset}..{offset + seq - 1} are outside the "
                         f"table's max_len {max_len}")
    return seq


class PositionalEncoding(Module):
    """x + sinusoidal positions (batch-first: x is (batch, seq, d_model)), then dropout.

    `offset` is the position of x's first token (a KV-cached decoder passes the number of
    tokens already cached). The table is a non-trainable buffer.
    """

    @allocating("PositionalEncoding", "its sinusoid table")
    def __init__(self, d_model: int, dropout: float = 0.0, max_len: int = 5000, dtype=None):
        super().__init__()
        if not isinstance(d_model, int) or isinstance(d_model, bool) or d_model <= 0:
            raise ValueError(f"PositionalEncoding: d_model must be a positive int, got {d_model!r}")
        if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len <= 0:
            raise ValueError(f"PositionalEncoding: max_len must be a positive int, got {max_len!r}")
        self.d_model, self.max_len = d_model, max_len
        self.dropout = dropout
        dtype = np.float32 if dtype is None else dtype
        self.register_buffer("pe", Tensor(sinusoidal_table(max_len, d_model, dtype)),
                             persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        seq = _check_positions("PositionalEncoding", x, offset, self.max_len, self.d_model)
        out = x + Tensor._make(self.pe.array[offset:offset + seq])
        return F.dropout(out, self.dropout, self.training)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, dropout={self.dropout}"


class LearnedPositionalEmbedding(Module):
    """x + a learned vector per position (GPT-2's `wpe`); weights start N(0, 1) like Embedding."""

    @allocating("LearnedPositionalEmbedding", "its position table")
    def __init__(self, max_len: int, d_model: int, dtype=None):
        super().__init__()
        for name, value in (("max_len", max_len), ("d_model", d_model)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"LearnedPositionalEmbedding: {name} must be a positive int, "
                                 f"got {value!r}")
        self.max_len, self.d_model = max_len, d_model
        dtype = np.float32 if dtype is None else dtype
        self.weight = Parameter(np.empty((max_len, d_model), dtype=dtype))
        init.normal_(self.weight)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        seq = _check_positions("LearnedPositionalEmbedding", x, offset, self.max_len,
                               self.d_model)
        if x.dtype != self.weight.dtype:
            raise TypeError(f"LearnedPositionalEmbedding: input dtype {x.dtype} does not match "
                            f"the table's {self.weight.dtype}; convert one of them")
        return x + self.weight[offset:offset + seq]

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, d_model={self.d_model}"
