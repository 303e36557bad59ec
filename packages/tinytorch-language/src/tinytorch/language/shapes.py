"""The state shapes of the language layers, from their constructor arguments alone.

What it teaches: TinyGPT's parameter count is arithmetic on its config, composed exactly
as its constructor composes the layers: token and position tables, `num_layers`
transformer blocks (attention's packed qkv projection and output projection, a two-layer
MLP, two LayerNorms), a final LayerNorm and the output head (tied or not, the state_dict
names it). A loader runs these functions on a file's spec before building anything (see
tinytorch.core.serialization.state_shapes), so a small file whose spec claims a 48-layer,
50,000-token model is refused with the sizes, not after allocating gigabytes.

Systems lesson: 12 * num_layers * d_model^2 + vocab * d_model falls out of these lines.
"""

from __future__ import annotations

from collections.abc import Iterator

from tinytorch.core.nn import LayerNorm, Linear
from tinytorch.core.serialization.state_shapes import (
    StateShape,
    prefixed,
    state_shapes_of,
)

from .embedding import Embedding, LearnedPositionalEmbedding, PositionalEncoding
from .gpt import TinyGPT
from .multihead import MultiheadAttention
from .transformer import TransformerBlock


def embedding_shapes(a: dict) -> Iterator[tuple]:
    yield "weight", (a["num_embeddings"], a["embedding_dim"])


def learned_positions_shapes(a: dict) -> Iterator[tuple]:
    yield "weight", (a["max_len"], a["d_model"])


def sinusoid_shapes(a: dict) -> Iterator[tuple]:
    yield StateShape("pe", (a["max_len"], a["d_model"]), persistent=False)


def multihead_shapes(a: dict) -> Iterator[tuple]:
    dim = a["embed_dim"]
    yield "in_proj_weight", (3 * dim, dim)
    if a["bias"]:
        yield "in_proj_bias", (3 * dim,)
    yield from prefixed("out_proj.", state_shapes_of(Linear, dim, dim, bias=a["bias"]))


def transformer_block_shapes(a: dict) -> Iterator[tuple]:
    d_model, bias = a["d_model"], a["bias"]
    hidden = 4 * d_model if a["dim_feedforward"] is None else a["dim_feedforward"]
    yield from prefixed("self_attn.", state_shapes_of(MultiheadAttention, d_model,
                                                      a["num_heads"], bias=bias))
    yield from prefixed("linear1.", state_shapes_of(Linear, d_model, hidden, bias=bias))
    yield from prefixed("linear2.", state_shapes_of(Linear, hidden, d_model, bias=bias))
    for norm in ("norm1.", "norm2."):
        yield from prefixed(norm, state_shapes_of(LayerNorm, d_model, bias=bias))


def tiny_gpt_shapes(a: dict) -> Iterator[tuple]:
    d_model, bias = a["d_model"], a["bias"]
    yield from prefixed("token_embedding.", state_shapes_of(Embedding, a["vocab_size"], d_model))
    if a["positional"] == "learned":
        positions = state_shapes_of(LearnedPositionalEmbedding, a["max_seq_len"], d_model)
    else:
        positions = state_shapes_of(PositionalEncoding, d_model, max_len=a["max_seq_len"])
    yield from prefixed("position_embedding.", positions)
    for layer in range(a["num_layers"]):
        yield from prefixed(f"blocks.{layer}.", state_shapes_of(
            TransformerBlock, d_model, a["num_heads"], a["dim_feedforward"], bias=bias))
    yield from prefixed("ln_f.", state_shapes_of(LayerNorm, d_model, bias=bias))
    yield from prefixed("lm_head.", state_shapes_of(Linear, d_model, a["vocab_size"],
                                                    bias=False))


STATE_SHAPES = {
    Embedding: embedding_shapes,
    LearnedPositionalEmbedding: learned_positions_shapes,
    PositionalEncoding: sinusoid_shapes,
    MultiheadAttention: multihead_shapes,
    TransformerBlock: transformer_block_shapes,
    TinyGPT: tiny_gpt_shapes,
}
