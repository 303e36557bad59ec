"""Embeddings, attention, multi-head attention and the transformer block against PyTorch."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinytorch.core as tt
from tinytorch.core.testing import (
    assert_close,
    check_op,
    compare_param_grads,
    copy_params,
    to_torch,
)
from tinytorch.language import (
    Embedding,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    MultiheadAttention,
    PositionalEncoding,
    TransformerBlock,
    embedding,
    scaled_dot_product_attention,
    sinusoidal_table,
)

RNG = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------ Embedding
def test_embedding_matches_torch_and_accumulates_repeated_ids():
    weight = randn(10, 4)
    ids = np.array([[1, 3, 1], [1, 9, 0]])  # id 1 three times
    check_op(None, lambda w: embedding(ids, w),
             lambda w: TF.embedding(torch.from_numpy(ids), w), arrays=[weight])
    w = tt.Tensor(weight, requires_grad=True)
    embedding(ids, w).sum().backward()
    assert w.grad.array[1].tolist() == [3.0] * 4 and w.grad.array[2].tolist() == [0.0] * 4


def test_embedding_module_padding_idx_and_init():
    tt.manual_seed(0)
    emb = Embedding(1000, 16, padding_idx=-1)
    assert emb.padding_idx == 999 and not emb.weight.array[999].any()
    assert abs(emb.weight.array.std() - 1.0) < 0.05  # N(0, 1), as torch
    torch_emb = torch.nn.Embedding(1000, 16, padding_idx=999)
    copy_params(emb, torch_emb)
    ids = np.array([[5, 999, 5, 7]])
    out = emb(ids)
    upstream = randn(*out.shape)
    (out * tt.Tensor(upstream)).sum().backward()
    (torch_emb(torch.from_numpy(ids)) * torch.from_numpy(upstream)).sum().backward()
    assert_close(emb.weight.grad.array, torch_emb.weight.grad.numpy(), "embedding grad")
    assert not emb.weight.grad.array[999].any()


def test_embedding_from_pretrained_and_errors():
    table = tt.tensor(randn(5, 3))
    emb = Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb([4]).array, table.array[[4]])
    with pytest.raises(TypeError, match="ids must be an integer tensor"):
        emb(tt.tensor([1.0]))
    with pytest.raises(IndexError, match=r"ids must be in \[0, 5\), got range \[0, 5\]"):
        emb([0, 5])
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        Embedding(5, 3, padding_idx=5)
    with pytest.raises(ValueError, match="embedding_dim must be a positive int"):
        Embedding(5, 0)


# ------------------------------------------------------------------ positions
def test_sinusoidal_table_matches_the_paper():
    for d_model in (8, 7):  # odd widths have one fewer cosine column
        table = sinusoidal_table(50, d_model, np.float64)
        pos, i = 37, 2
        angle = pos / 10000 ** (2 * i / d_model)
        assert table[pos, 2 * i] == pytest.approx(math.sin(angle))
        assert table[pos, 2 * i + 1] == pytest.approx(math.cos(angle))
        assert table.shape == (50, d_model)


def test_positional_encoding_adds_positions_with_offset():
    pe = PositionalEncoding(8, max_len=20)
    x = tt.Tensor(randn(2, 5, 8), requires_grad=True)
    out = pe(x, offset=3)
    np.testing.assert_allclose(out.array - x.array, np.broadcast_to(pe.pe.array[3:8], (2, 5, 8)),
                               atol=1e-6)
    out.sum().backward()
    assert np.all(x.grad.array == 1)
    assert "pe" not in pe.state_dict()  # a fixed table: recomputed, not saved
    with pytest.raises(ValueError, match=r"positions 18..22 are outside the table's max_len 20"):
        pe(x, offset=18)


def test_learned_positional_embedding_gradient():
    pos = LearnedPositionalEmbedding(10, 4)
    x = tt.Tensor(randn(3, 6, 4), requires_grad=True)
    pos(x, offset=2).sum().backward()
    expected = np.zeros((10, 4), np.float32)
    expected[2:8] = 3.0  # summed over the batch of 3
    np.testing.assert_array_equal(pos.weight.grad.array, expected)


# ------------------------------------------------------------------ scaled_dot_product_attention
SDPA_CASES = {
    "plain": {},
    "causal": {"is_causal": True},
    "bool mask": {"mask": lambda L, S: RNG.random((L, S)) > 0.3},
    "float mask": {"mask": lambda L, S: randn(1, L, S)},
    "scale": {"scale": 0.3},
}


@pytest.mark.parametrize("case", list(SDPA_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sdpa_matches_torch(case, dtype):
    spec = SDPA_CASES[case]
    B, H, L, S, E = 2, 3, 5, 7, 4
    arrays = [randn(B, H, L, E, dtype=dtype), randn(B, H, S, E, dtype=dtype),
              randn(B, H, S, 6, dtype=dtype)]
    kwargs = {k: v for k, v in spec.items() if k in ("is_causal", "scale")}
    if "mask" in spec:
        mask = spec["mask"](L, S)
        arrays.append(mask.astype(dtype) if mask.dtype != np.bool_ else mask)
        if mask.dtype == np.bool_:
            mask_arg = arrays.pop()
            check_op(None,
                     lambda q, k, v: scaled_dot_product_attention(q, k, v, tt.tensor(mask_arg)),
                     lambda q, k, v: TF.scaled_dot_product_attention(
                         q, k, v, torch.from_numpy(mask_arg)), arrays=arrays)
            return
        # a float mask is an input too: it gets a gradient, as in torch
        check_op(None, lambda q, k, v, m: scaled_dot_product_attention(q, k, v, m),
                 lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, m), arrays=arrays)
        return
    check_op(None, lambda q, k, v: scaled_dot_product_attention(q, k, v, **kwargs),
             lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, **kwargs), arrays=arrays)


def test_sdpa_fully_masked_rows_give_zeros_like_torch():
    q, k, v = randn(1, 3, 4), randn(1, 5, 4), randn(1, 5, 4)
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False  # query 1 may attend nowhere
    check_op(None, lambda a, b, c: scaled_dot_product_attention(a, b, c, tt.tensor(mask)),
             lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, torch.from_numpy(mask)),
             arrays=[q, k, v])
    out = scaled_dot_product_attention(tt.tensor(q), tt.tensor(k), tt.tensor(v), tt.tensor(mask))
    assert not out.array[0, 1].any() and np.isfinite(out.array).all()


def test_sdpa_broadcast_batch_dims_and_3d():
    q, k, v = randn(2, 4, 5, 8), randn(1, 4, 6, 8), randn(1, 4, 6, 8)
    check_op(None, scaled_dot_product_attention, TF.scaled_dot_product_attention, arrays=[q, k, v])
    check_op(None,
             lambda a, b, c: scaled_dot_product_attention(a, b, c, is_causal=True),
             lambda a, b, c: TF.scaled_dot_product_attention(a, b, c, is_causal=True),
             arrays=[randn(3, 5, 8), randn(3, 5, 8), randn(3, 5, 8)])


def test_sdpa_dropout_is_inverted_and_differentiable():
    q, k, v = (tt.tensor(randn(2, 5, 4).astype(np.float64)) for _ in range(3))

    def attention(a, b, c):  # the same mask on every call: a fresh generator, same seed
        return scaled_dot_product_attention(a, b, c, dropout_p=0.5, generator=tt.Generator(3))

    for t in (q, k, v):
        t.requires_grad_()
    assert tt.gradcheck(attention, [q, k, v])
    dropped = attention(q, k, v).array
    full = scaled_dot_product_attention(q, k, v).array
    assert not np.allclose(dropped, full)
    # averaged over many masks, inverted dropout leaves the expectation unchanged
    ones = tt.ones(1, 4, 200, 3, dtype=tt.float64)
    mean = np.mean([scaled_dot_product_attention(ones, ones, ones, dropout_p=0.5,
                                                 generator=tt.Generator(s)).array.mean()
                    for s in range(20)])
    assert mean == pytest.approx(1.0, abs=0.02)


def test_sdpa_errors():
    q = tt.tensor(randn(2, 5, 4))
    with pytest.raises(ValueError, match="must have the same last dim"):
        scaled_dot_product_attention(q, tt.tensor(randn(2, 5, 3)), tt.tensor(randn(2, 5, 3)))
    with pytest.raises(ValueError, match="same sequence length"):
        scaled_dot_product_attention(q, q, tt.tensor(randn(2, 6, 4)))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        scaled_dot_product_attention(q, q, q, tt.ones(5, 5, dtype=tt.bool), is_causal=True)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 4\) does not broadcast"):
        scaled_dot_product_attention(q, q, q, tt.ones(4, 4, dtype=tt.bool))
    with pytest.raises(TypeError, match="must share a dtype"):
        scaled_dot_product_attention(q, q, q.double())
    with pytest.raises(ValueError, match="dropout_p must be in"):
        scaled_dot_product_attention(q, q, q, dropout_p=1.0)


# ------------------------------------------------------------------ MultiheadAttention
def _mha_pair(embed_dim=8, num_heads=2, batch_first=True, dtype=torch.float32):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(embed_dim, num_heads, batch_first=batch_first)
    theirs = theirs.to(dtype)
    mine = MultiheadAttention(embed_dim, num_heads, batch_first=batch_first,
                              dtype=np.float32 if dtype == torch.float32 else np.float64)
    copy_params(mine, theirs)
    return mine, theirs


def _run_both(mine, theirs, inputs, upstream_seed=0, **kwargs):
    tt_in = [tt.Tensor(a, requires_grad=True) for a in inputs]
    torch_in = [to_torch(a, True) for a in inputs]
    if len(inputs) == 1:
        tt_in, torch_in = tt_in * 3, torch_in * 3
    tt_kwargs = {k: (tt.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    torch_kwargs = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v)
                    for k, v in kwargs.items()}
    out, weights = mine(*tt_in, **tt_kwargs)
    ref, ref_weights = theirs(*torch_in, **torch_kwargs)
    assert_close(out.array, ref.detach().numpy(), "attention output")
    if ref_weights is None:
        assert weights is None
    else:
        assert_close(weights.array, ref_weights.detach().numpy(), "attention weights")
    upstream = np.random.default_rng(upstream_seed).standard_normal(out.shape).astype(out.dtype)
    (out * tt.Tensor(upstream)).sum().backward()
    (ref * torch.from_numpy(upstream)).sum().backward()
    assert compare_param_grads(mine, theirs) == 4
    for a, b in zip(tt_in[:len(inputs)], torch_in[:len(inputs)]):
        assert_close(a.grad.array, b.grad.numpy(), "input gradient")


def test_mha_self_attention_fast_path_with_causal_mask():
    mine, theirs = _mha_pair()
    x = randn(3, 6, 8)
    blocked = np.triu(np.ones((6, 6), dtype=bool), k=1)  # torch MHA: True = NOT allowed
    _run_both(mine, theirs, [x], attn_mask=blocked, need_weights=False)


def test_mha_is_causal_without_mask_equals_explicit_causal_mask():
    mine, _ = _mha_pair()
    x = tt.tensor(randn(2, 5, 8))
    blocked = tt.tensor(np.triu(np.ones((5, 5), dtype=bool), k=1))
    a, _ = mine(x, x, x, need_weights=False, is_causal=True)
    b, _ = mine(x, x, x, need_weights=False, attn_mask=blocked)
    np.testing.assert_array_equal(a.array, b.array)


def test_mha_weights_padding_and_cross_attention():
    mine, theirs = _mha_pair()
    q, kv = randn(2, 4, 8), randn(2, 6, 8)
    padding = np.zeros((2, 6), dtype=bool)
    padding[1, 4:] = True
    _run_both(mine, theirs, [q, kv, kv], key_padding_mask=padding)
    mine.zero_grad()
    theirs.zero_grad()
    _run_both(mine, theirs, [q, kv, kv], average_attn_weights=False,
              attn_mask=randn(4, 6))  # float mask, added


def test_mha_cross_attention_without_weights_runs_the_fused_kernel():
    """Query and key/value differ and no weights are asked for: the one attention kernel
    runs (one ScaledDotProductAttention node), with values and gradients as torch's."""
    from tinytorch.core.autograd import register_op_hook

    mine, theirs = _mha_pair(dtype=torch.float64)
    q, kv = randn(2, 4, 8, dtype=np.float64), randn(2, 6, 8, dtype=np.float64)
    padding = np.zeros((2, 6), dtype=bool)
    padding[0, 5] = True
    ran = []
    with register_op_hook(lambda event: ran.append(event.op)):
        _run_both(mine, theirs, [q, kv, kv], key_padding_mask=padding, need_weights=False)
    assert ran.count("ScaledDotProductAttention") == 2  # forward and backward
    assert "Softmax" not in ran


def test_mha_sequence_first_and_unbatched_float64():
    mine, theirs = _mha_pair(batch_first=False, dtype=torch.float64)
    x = randn(5, 2, 8, dtype=np.float64)  # (seq, batch, embed), torch's default layout
    _run_both(mine, theirs, [x], need_weights=False)
    out, weights = mine(*(tt.tensor(randn(5, 8, dtype=np.float64)) for _ in range(3)))
    assert out.shape == (5, 8) and weights.shape == (5, 5)


def test_mha_heads_are_batched_and_alias():
    assert MultiHeadAttention is MultiheadAttention
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads"):
        MultiheadAttention(10, 4)
    mha = MultiheadAttention(8, 2, batch_first=True)
    with pytest.raises(ValueError, match=r"expected a \(batch, seq, 8\) tensor"):
        mha.self_attention(tt.tensor(randn(2, 3, 6)))
    with pytest.raises(ValueError, match="key_padding_mask must have shape"):
        x = tt.tensor(randn(2, 3, 8))
        mha(x, x, x, key_padding_mask=np.zeros((3, 2), dtype=bool))


def test_packed_attention_gradcheck():
    tt.manual_seed(0)
    mha = MultiheadAttention(6, 3, batch_first=True, dtype=np.float64)
    x = tt.Tensor(RNG.standard_normal((2, 4, 6)), requires_grad=True)
    assert tt.gradcheck(lambda t: mha.self_attention(t, is_causal=True), [x])


# ------------------------------------------------------------------ TransformerBlock
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_transformer_block_equals_torch_encoder_layer_pre_norm(activation):
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, activation=activation,
                                              batch_first=True, norm_first=True)
    mine = TransformerBlock(16, 4, dim_feedforward=32, activation=activation)
    copy_params(mine, theirs)
    x = randn(2, 7, 16)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(7)
    check_op(None, lambda t: mine(t, is_causal=True),
             lambda t: theirs(t, src_mask=causal, is_causal=True), arrays=[x])
    assert compare_param_grads(mine, theirs) == 12


def test_transformer_block_dropout_backward_gradcheck():
    """Every dropout (attention weights, MLP hidden, both residual branches) in float64:
    reseeding before each call replays the same masks, so finite differences apply."""
    block = TransformerBlock(6, 2, dim_feedforward=8, dropout=0.3, dtype=np.float64)
    x = tt.Tensor(RNG.standard_normal((2, 4, 6)), requires_grad=True)

    def run(t):
        tt.manual_seed(5)
        return block(t, is_causal=True)

    assert tt.gradcheck(run, [x])
    block.eval()
    np.testing.assert_array_equal(block(x).array, block(x).array)  # no dropout in eval


def test_transformer_block_is_causal_leakage():
    """Changing positions > t never changes the block's outputs at positions <= t."""
    block = TransformerBlock(8, 2)
    x = randn(1, 6, 8)
    base = block(tt.tensor(x), is_causal=True).array
    for t in range(5):
        changed = x.copy()
        changed[:, t + 1:] = randn(1, 5 - t, 8)
        out = block(tt.tensor(changed), is_causal=True).array
        np.testing.assert_array_equal(out[:, :t + 1], base[:, :t + 1])
        assert not np.allclose(out[:, t + 1:], base[:, t + 1:])


def test_transformer_block_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        TransformerBlock(8, 2, activation="swish")
    with pytest.raises(ValueError, match=r"expected input \(batch, seq, 8\)"):
        TransformerBlock(8, 2)(tt.tensor(randn(3, 8)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transformer_block_gives_the_same_bits_with_and_without_a_graph(dtype):
    """Training keeps gelu' from forward, inference computes gelu alone: same outputs."""
    tt.manual_seed(0)
    block = TransformerBlock(16, 4, dim_feedforward=64, dtype=dtype)
    x = tt.Tensor(RNG.standard_normal((2, 5, 16)).astype(dtype), requires_grad=True)
    with_graph = block(x, is_causal=True)
    with tt.no_grad():
        without = block(x, is_causal=True)
    assert with_graph.grad_fn is not None and without.grad_fn is None
    np.testing.assert_array_equal(with_graph.array, without.array)
    for approximate in ("none", "tanh"):
        with tt.no_grad():
            plain = tt.nn.functional.gelu(x, approximate=approximate).array
        np.testing.assert_array_equal(tt.nn.functional.gelu(x, approximate=approximate).array,
                                      plain)
