"""TinyGPT against the same model assembled from PyTorch modules; causality; saving."""


import numpy as np
import pytest
import torch

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core.testing import assert_close, compare_param_grads, copy_params
from tinytorch.language import CharTokenizer, TinyGPT, load_pretrained, save_pretrained

VOCAB, D, HEADS, LAYERS, CONTEXT = 11, 16, 4, 2, 12


class TorchGPT(torch.nn.Module):
    """TinyGPT's architecture from torch's own modules, with the same parameter names."""

    def __init__(self, tie_weights: bool, bias: bool):
        super().__init__()
        self.token_embedding = torch.nn.Embedding(VOCAB, D)
        self.position_embedding = torch.nn.Embedding(CONTEXT, D)
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(D, HEADS, 4 * D, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True, bias=bias)
            for _ in range(LAYERS)])
        self.ln_f = torch.nn.LayerNorm(D, bias=bias)
        self.lm_head = torch.nn.Linear(D, VOCAB, bias=False)
        if tie_weights:
            self.lm_head.weight = self.token_embedding.weight

    def forward(self, ids):
        T = ids.shape[1]
        h = self.token_embedding(ids) + self.position_embedding(torch.arange(T))
        mask = torch.nn.Transformer.generate_square_subsequent_mask(T)
        for block in self.blocks:
            h = block(h, src_mask=mask, is_causal=True)
        return self.lm_head(self.ln_f(h))


def make_pair(tie_weights=True, bias=True):
    tt.manual_seed(0)
    torch.manual_seed(0)
    mine = TinyGPT(VOCAB, D, HEADS, LAYERS, CONTEXT, tie_weights=tie_weights, bias=bias)
    theirs = TorchGPT(tie_weights, bias)
    copy_params(mine, theirs)
    return mine, theirs


@pytest.mark.parametrize("tie_weights,bias", [(True, True), (False, False)])
def test_tinygpt_matches_torch_values_and_gradients(tie_weights, bias):
    mine, theirs = make_pair(tie_weights, bias)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, VOCAB, (3, CONTEXT))
    targets = rng.integers(0, VOCAB, (3, CONTEXT))
    logits = mine(ids)
    ref = theirs(torch.from_numpy(ids))
    assert_close(logits.array, ref.detach().numpy(), "logits", atol=1e-5, rtol=1e-4)
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
    ref_loss = torch.nn.functional.cross_entropy(ref.reshape(-1, VOCAB),
                                                 torch.from_numpy(targets).reshape(-1))
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-5)
    loss.backward()
    ref_loss.backward()
    compared = compare_param_grads(mine, theirs, atol=1e-6, rtol=1e-4)
    assert compared == len(list(mine.parameters()))


def test_weight_tying_shares_one_parameter():
    tied = TinyGPT(VOCAB, D, HEADS, LAYERS, CONTEXT, tie_weights=True)
    untied = TinyGPT(VOCAB, D, HEADS, LAYERS, CONTEXT, tie_weights=False)
    assert tied.lm_head.weight is tied.token_embedding.weight
    assert untied.num_parameters() - tied.num_parameters() == VOCAB * D


def test_gpt2_initialisation():
    tt.manual_seed(0)
    model = TinyGPT(500, 64, 4, 8, 64)
    assert model.token_embedding.weight.array.std() == pytest.approx(0.02, rel=0.05)
    assert model.blocks[0].linear1.weight.array.std() == pytest.approx(0.02, rel=0.05)
    residual = 0.02 / np.sqrt(2 * 8)
    assert model.blocks[3].linear2.weight.array.std() == pytest.approx(residual, rel=0.05)
    assert model.blocks[3].self_attn.out_proj.weight.array.std() == \
        pytest.approx(residual, rel=0.1)
    assert not model.blocks[0].linear1.bias.array.any()


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_causality_no_leakage_from_future_tokens(positional):
    """Changing tokens t+1.. never changes the logits at positions <= t."""
    tt.manual_seed(1)
    model = TinyGPT(VOCAB, D, HEADS, LAYERS, CONTEXT, positional=positional)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, VOCAB, (2, CONTEXT))
    base = model(ids).array
    for t in range(CONTEXT - 1):
        changed = ids.copy()
        changed[:, t + 1:] = (ids[:, t + 1:] + rng.integers(1, VOCAB, changed[:, t + 1:].shape)
                              ) % VOCAB
        logits = model(changed).array
        np.testing.assert_array_equal(logits[:, :t + 1], base[:, :t + 1])
        assert not np.allclose(logits[:, t + 1:], base[:, t + 1:])


def test_causality_gradient_never_reaches_future_positions():
    model = TinyGPT(VOCAB, D, HEADS, LAYERS, CONTEXT)
    ids = np.arange(CONTEXT)[None] % VOCAB
    t = 4
    model(ids)[0, t].sum().backward()  # an output at position t
    grad = model.position_embedding.weight.grad.array
    assert np.abs(grad[:t + 1]).sum(axis=1).min() > 0
    assert not grad[t + 1:].any()


def test_dropout_only_in_training():
    tt.manual_seed(0)
    model = TinyGPT(VOCAB, D, HEADS, 1, CONTEXT, dropout=0.5)
    ids = np.arange(6)[None]
    model.eval()
    np.testing.assert_array_equal(model(ids).array, model(ids).array)
    model.train()
    assert not np.allclose(model(ids).array, model(ids).array)


def test_errors():
    model = TinyGPT(VOCAB, D, HEADS, LAYERS, CONTEXT)
    with pytest.raises(ValueError, match=r"ids must be in \[0, 11\), got range \[0, 11\]"):
        model([[0, 11]])
    with pytest.raises(ValueError, match="0 cached \\+ 13 new tokens exceed max_seq_len 12"):
        model(np.zeros((1, 13), dtype=np.int64))
    with pytest.raises(TypeError, match="ids must be integers"):
        model(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="must be divisible by num_heads"):
        TinyGPT(VOCAB, 10, 4, 1, 8)
    with pytest.raises(ValueError, match="positional must be"):
        TinyGPT(VOCAB, D, HEADS, 1, 8, positional="rotary")
    with pytest.raises(ValueError, match="vocab_size must be a positive int"):
        TinyGPT(0)


def test_save_and_load_pretrained(tmp_path):
    tokenizer = CharTokenizer().fit("abcdefghijk")
    model = TinyGPT(tokenizer.get_vocab_size(), D, HEADS, LAYERS, CONTEXT, bias=False)
    directory = save_pretrained(tmp_path / "tiny", model, tokenizer, val_loss=1.5)
    loaded, loaded_tokenizer, metadata = load_pretrained(directory)
    assert loaded.config["num_layers"] == LAYERS
    ids = np.array([[1, 2, 3, 4]])
    np.testing.assert_array_equal(loaded(ids).array, model(ids).array)
    assert loaded.lm_head.weight is loaded.token_embedding.weight  # tying survives
    assert loaded_tokenizer.encode("kab") == tokenizer.encode("kab")
    assert metadata == {"val_loss": 1.5}
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == ["model.safetensors"]
    path = tmp_path / "tiny" / "model.safetensors"
    good = path.read_bytes()
    rng = np.random.default_rng(4)
    for position, bit in zip(rng.integers(0, len(good), 100), rng.integers(0, 8, 100)):
        damaged = bytearray(good)
        damaged[position] ^= 1 << int(bit)  # one bit anywhere: weights, config or tokenizer
        path.write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match="model.safetensors"):
            load_pretrained(directory)
    path.write_bytes(good[:len(good) // 2])
    with pytest.raises(ValueError, match="model.safetensors"):
        load_pretrained(directory)
    with pytest.raises(FileNotFoundError, match="model.safetensors' is missing"):
        load_pretrained(tmp_path / "nothing")
