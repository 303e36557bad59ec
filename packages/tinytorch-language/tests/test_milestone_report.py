"""Milestone 04's report: loss curves from the run's history, attention maps of its model."""

import numpy as np
import pytest

import tinytorch.core as tt
from tinytorch.core.plot import read_png, save_report
from tinytorch.core.training import History
from tinytorch.language import CharTokenizer, TinyGPT
from tinytorch.language.milestones import tinygpt_report as report

TEXT = "to be, or not to be:\nthat is the question"


def _model(seed: int):
    tt.manual_seed(seed)
    return TinyGPT(40, d_model=32, num_heads=4, num_layers=2, max_seq_len=64, bias=False)


def _ids():
    return CharTokenizer().fit(TEXT).encode_array(TEXT) % 40


def test_attention_maps_are_causal_distributions():
    model = _model(0).train()
    maps = report.attention_maps(model, _ids(), head=1)
    assert len(maps) == 2 and all(m.shape == (len(TEXT), len(TEXT)) for m in maps)
    for weights in maps:
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
        assert np.all(np.triu(weights, k=1) == 0)  # no position looks ahead
    assert model.training  # restored
    assert all(not block._forward_pre_hooks for block in model.blocks)  # hooks removed
    other = report.attention_maps(_model(1), _ids(), head=1)
    assert not np.allclose(maps[0], other[0])  # the model's own weights decide the maps
    with pytest.raises(ValueError, match=r"attention_maps: head must be in \[0, 4\), got 4"):
        report.attention_maps(model, _ids(), head=4)


def test_first_layer_map_matches_a_direct_computation():
    model = _model(2).eval()
    ids = _ids()
    block = model.blocks[0]
    with tt.no_grad():
        x = model.position_embedding(model.token_embedding(tt.tensor(ids[None])), 0)
        h = block.norm1(x).numpy()[0]
    attn = block.self_attn
    qkv = h @ attn.in_proj_weight.detach().numpy().T
    q, k = qkv[:, :32], qkv[:, 32:64]
    head = slice(8, 16)  # head 1 of 4, head_dim 8
    scores = q[:, head] @ k[:, head].T / np.sqrt(8)
    scores[np.triu_indices(len(ids), 1)] = -np.inf
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(report.attention_maps(model, ids, head=1)[0], expected,
                               rtol=1e-4, atol=1e-6)


def test_report_is_a_picture_of_the_run(tmp_path):
    history = History({"train_loss": [3.0, 2.5, 2.2], "val_loss": [3.1, 2.7, 2.5]})
    maps = report.attention_maps(_model(0), _ids())
    save_report(report.draw_tinygpt_report(history, maps, TEXT, 100), tmp_path / "a.png")
    lower = History({"train_loss": [2.0, 1.5, 1.2], "val_loss": [2.1, 1.7, 1.5]})
    save_report(report.draw_tinygpt_report(lower, report.attention_maps(_model(1), _ids()),
                                           TEXT, 100), tmp_path / "b.png")
    a, b = read_png(tmp_path / "a.png"), read_png(tmp_path / "b.png")
    assert a.shape[:2] == (480, 1260) and a[..., :3].std() > 0.05
    assert np.any(np.abs(a - b) > 1e-3, axis=-1).mean() > 0.01
    with pytest.raises(ValueError, match="draw_tinygpt_report: expected one"):
        report.draw_tinygpt_report(history, maps, TEXT[:5], 100)
