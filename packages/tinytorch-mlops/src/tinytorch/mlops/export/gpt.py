"""ONNX export of TinyGPT's forward pass: (batch, seq) int64 ids -> (batch, seq, vocab) logits.

What it teaches: a transformer written out as primitive operators, with batch and sequence
length left symbolic so one file serves any prompt length up to max_seq_len:

    h = Gather(token_table, ids) + Slice(position_table, 0, seq)
    per block:  a = LayerNorm(h);  qkv = a W_in^T + b_in  -> Reshape (B, T, 3, H, Dh)
                -> Transpose (3, B, H, T, Dh) -> q, k, v (Gather on axis 0)
                p = Softmax(q k^T / sqrt(Dh) + causal_bias[:T, :T])
                h = h + (p v -> (B, T, D)) W_out^T + b_out
                h = h + GELU(LayerNorm(h) W_1^T + b_1) W_2^T + b_2
    logits = LayerNorm(h) W_tokens^T     (tied weights: a Transpose of the same table)

The causal mask is a (max_seq_len, max_seq_len) constant of 0 and -inf, sliced to the
current length, exactly the bias TinyGPT adds.

Systems lesson: the exported graph has no KV cache: each call recomputes every position,
which is what the `use_cache=False` path of tinytorch.language.generate does.
"""

from __future__ import annotations

import math

import numpy as np

from .layers import ExportError, gelu, linear


def export_gpt(g, model, ids_name: str) -> str:
    config = model.config
    if config.get("positional", "learned") == "learned":
        positions = model.position_embedding.weight.array
    else:
        positions = model.position_embedding.pe.array
    seq = _sequence_length(g, ids_name)
    tokens = g.initializer(model.token_embedding.weight.array, "token_table")
    h = g.node("Gather", [tokens, ids_name], axis=0)
    position_rows = g.node("Slice", [g.initializer(positions, "position_table"), g.ints([0]),
                                     seq, g.ints([0])])
    h = g.node("Add", [h, position_rows])
    causal = np.triu(np.full((model.max_seq_len,) * 2, -np.inf, dtype=np.float32), k=1)
    bias = g.node("Slice", [g.initializer(causal, "causal_bias"), g.ints([0, 0]),
                            g.node("Concat", [seq, seq], axis=0), g.ints([0, 1])])
    for block in model.blocks:
        h = _block(g, block, h, bias, model.num_heads)
    h = _layer_norm(g, model.ln_f, h)
    if model.lm_head.weight is model.token_embedding.weight:
        head = tokens  # tied: reuse the table, transposed inside linear()
    else:
        head = g.initializer(model.lm_head.weight.array, "lm_head")
    return linear(g, h, head, None, rank=3)


def _sequence_length(g, ids: str) -> str:
    """A 1-element int64 tensor holding the (symbolic) sequence length."""
    shape = g.node("Shape", [ids])
    return g.node("Slice", [shape, g.ints([1]), g.ints([2]), g.ints([0])])


def _layer_norm(g, norm, x: str) -> str:
    inputs = [x, g.initializer(norm.weight.array, "ln_scale")]
    if norm.bias is not None:
        inputs.append(g.initializer(norm.bias.array, "ln_bias"))
    return g.node("LayerNormalization", inputs, axis=-1, epsilon=norm.eps)


def _bias(module) -> np.ndarray | None:
    return None if module.bias is None else module.bias.array


def _block(g, block, h: str, causal_bias: str, heads: int) -> str:
    attn = block.self_attn
    d_model = attn.embed_dim
    head_dim = d_model // heads
    qkv = linear(g, _layer_norm(g, block.norm1, h), attn.in_proj_weight.array,
                 None if attn.in_proj_bias is None else attn.in_proj_bias.array, rank=3)
    qkv = g.node("Reshape", [qkv, g.ints([0, 0, 3, heads, head_dim])])
    qkv = g.node("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # (3, B, H, T, Dh)
    q, k, v = (g.node("Gather", [qkv, g.scalar(i, np.int64, "index")], axis=0) for i in range(3))
    scores = g.node("MatMul", [q, g.node("Transpose", [k], perm=[0, 1, 3, 2])])
    scores = g.node("Mul", [scores, g.scalar(1.0 / math.sqrt(head_dim))])
    probs = g.node("Softmax", [g.node("Add", [scores, causal_bias])], axis=-1)
    out = g.node("Transpose", [g.node("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    out = g.node("Reshape", [out, g.ints([0, 0, d_model])])
    h = g.node("Add", [h, linear(g, out, attn.out_proj.weight.array, _bias(attn.out_proj), 3)])
    hidden = linear(g, _layer_norm(g, block.norm2, h), block.linear1.weight.array,
                    _bias(block.linear1), 3)
    if block.activation == "gelu":
        hidden = gelu(g, hidden)
    elif block.activation == "relu":
        hidden = g.node("Relu", [hidden])
    else:
        raise ExportError(f"export_onnx: TransformerBlock activation {block.activation!r} has "
                          "no converter")
    mlp = linear(g, hidden, block.linear2.weight.array, _bias(block.linear2), 3)
    return g.node("Add", [h, mlp])
