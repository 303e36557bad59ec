"""Training-step memory by category (exact, from the arrays) and measured peak; attention
memory growing quadratically with the sequence length."""

from __future__ import annotations

import pytest
from conftest import needs_language

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import nn, optim
from tinytorch.perf.memory import (
    attention_memory,
    growth_exponent,
    reference_attention,
    training_step_memory,
)

PARAMS = (100 * 200 + 200) + (200 * 10 + 10)


def model_and_data(batch=32):
    model = nn.Sequential(nn.Linear(100, 200), nn.ReLU(), nn.Linear(200, 10))
    x, y = tt.randn(batch, 100), tt.randint(0, 10, (batch,))
    return model, x, (lambda out: F.cross_entropy(out, y))


def test_adam_step_categories():
    model, x, loss_fn = model_and_data()
    step = training_step_memory(model, optim.Adam(model.parameters()), loss_fn, x)
    assert step.parameters == 4 * PARAMS
    assert step.gradients == 4 * PARAMS
    assert step.optimizer_state == 2 * 4 * PARAMS + 4 * 8  # two moments + 4 step counters
    # saved for backward: x (32x100 f32), the ReLU mask (32x200 bool), the hidden
    # activation (32x200 f32), cross-entropy's probabilities and targets (32x10 f32 each),
    # and the float32 divisor of the mean (sum / N: only N is needed for the gradient)
    assert step.activations == 4 * 32 * 100 + 32 * 200 + 4 * 32 * 200 + 2 * 4 * 32 * 10 + 4
    assert step.held_before_step == step.parameters + step.optimizer_state
    # the measured peak: at least the gradients and everything allocated for the activations
    assert step.peak_during_step >= step.gradients
    assert step.peak_during_step >= step.activations - x.array.nbytes
    assert step.peak >= step.parameters + step.optimizer_state + step.gradients


def test_sgd_without_momentum_holds_no_state():
    model, x, loss_fn = model_and_data()
    step = training_step_memory(model, optim.SGD(model.parameters(), lr=0.1), loss_fn, x)
    assert step.optimizer_state == 0


def test_activations_grow_with_the_batch_and_the_rest_does_not():
    small, large = [training_step_memory(m, optim.SGD(m.parameters(), lr=0.1), f, x)
                    for m, x, f in (model_and_data(8), model_and_data(64))]
    assert large.parameters == small.parameters and large.gradients == small.gradients
    assert large.activations == pytest.approx(8 * small.activations, rel=0.01)


def test_step_memory_output():
    import json

    from rich.console import Console

    model, x, loss_fn = model_and_data(4)
    step = training_step_memory(model, optim.Adam(model.parameters()), loss_fn, x)
    data = json.loads(json.dumps(step.to_dict()))
    assert data["categories_total"] == step.categories_total and data["peak"] == step.peak
    console = Console(record=True, width=100)
    console.print(step)
    assert "measured peak" in console.export_text()


def test_training_step_memory_checks_its_arguments():
    model, x, loss_fn = model_and_data(2)
    with pytest.raises(TypeError, match="expected a Module and an optimizer"):
        training_step_memory(model, object(), loss_fn, x)
    with pytest.raises(ValueError, match="at least one input"):
        training_step_memory(model, optim.SGD(model.parameters(), lr=0.1), loss_fn)


def test_attention_memory_is_quadratic_in_sequence_length():
    rows = attention_memory([16, 32, 64], d_model=16, num_heads=2)
    for row in rows:
        assert row.scores_bytes == 2 * row.seq_len**2 * 4
        # probabilities (float32) + the causal mask (bool) are saved: 1.25x the scores,
        # plus the linear-in-T terms
        assert row.saved_bytes >= row.scores_bytes
        assert row.peak_bytes >= row.saved_bytes
    assert growth_exponent(rows) == pytest.approx(2.0, abs=0.15)
    assert growth_exponent(rows, "peak_bytes") > 1.6


def test_reference_attention_is_causal():
    q, k, v = (tt.randn(1, 1, 5, 4) for _ in range(3))
    out = reference_attention(q, k, v).numpy()
    changed = v.numpy().copy()
    changed[..., -1, :] += 100.0  # only the last position may see the last value
    out2 = reference_attention(q, k, tt.tensor(changed)).numpy()
    assert (abs(out2[..., :-1, :] - out[..., :-1, :]) < 1e-5).all()
    assert (abs(out2[..., -1, :] - out[..., -1, :]) > 1).any()


@needs_language
def test_fused_attention_saves_less_than_separate_ops():
    from tinytorch.language import scaled_dot_product_attention

    fused = attention_memory([32, 64], 16, 2, attention=lambda q, k, v:
                             scaled_dot_product_attention(q, k, v, is_causal=True))
    separate = attention_memory([32, 64], 16, 2)
    for a, b in zip(fused, separate):
        assert a.saved_bytes < b.saved_bytes
    assert growth_exponent(fused) == pytest.approx(2.0, abs=0.2)


def test_attention_memory_checks_its_arguments():
    with pytest.raises(ValueError, match="positive ints"):
        attention_memory([0])
    with pytest.raises(ValueError, match="divisible"):
        attention_memory([8], d_model=10, num_heads=3)
    with pytest.raises(ValueError, match="two sequence lengths"):
        growth_exponent(attention_memory([8], 8, 2))
