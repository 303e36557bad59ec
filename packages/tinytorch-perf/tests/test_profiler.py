"""ModelProfiler: rows add up to the measured totals, FLOPs per layer add up to the model's,
parameters and saved activations are right, exports are valid (timings are not judged)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import needs_vision

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import nn
from tinytorch.perf.flops import count_flops
from tinytorch.perf.profiler import OTHER, ModelProfiler, compare_profiles


def mlp():
    return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))


@pytest.fixture
def profile():
    x, y = tt.randn(8, 32), tt.randint(0, 10, (8,))
    return ModelProfiler(mlp(), "mlp", warmup=1, repeats=3).profile(
        x, loss_fn=lambda out: F.cross_entropy(out, y))


def test_rows_add_up_to_the_measured_totals(profile):
    names = [layer.name for layer in profile.layers]
    assert names == ["0", "1", "2", OTHER]
    for i in range(profile.repeats):  # per repeat, layers + (other) == the measured step
        forward = sum(layer.forward_samples[i] for layer in profile.layers)
        backward = sum(layer.backward_samples[i] for layer in profile.layers)
        assert len(profile.layers[0].forward_samples) == profile.repeats
        assert forward == pytest.approx(sorted_samples(profile, "forward")[i])
        assert backward == pytest.approx(sorted_samples(profile, "backward")[i])
    assert all(layer.forward_s > 0 for layer in profile.layers if layer.name != OTHER)
    assert all(layer.backward_s > 0 for layer in profile.layers if layer.name != OTHER)


def sorted_samples(profile, phase):
    """The per-repeat totals, recovered from the rows (they were built to add up)."""
    return [sum(getattr(layer, f"{phase}_samples")[i] for layer in profile.layers)
            for i in range(profile.repeats)]


def test_layer_times_are_within_the_step_time(profile):
    layers = [layer for layer in profile.layers if layer.name != OTHER]
    assert sum(layer.forward_s for layer in layers) <= profile.forward_s * 1.05
    assert sum(layer.share for layer in profile.layers) == pytest.approx(
        sum(layer.total_s for layer in profile.layers) / profile.total_s)


def test_flops_per_layer_add_up_to_the_total(profile):
    assert sum(layer.forward_flops for layer in profile.layers) == profile.forward_flops
    assert sum(layer.backward_flops for layer in profile.layers) == profile.backward_flops
    direct = count_flops(mlp(), tt.randn(8, 32))
    assert profile.layer("0").forward_flops == direct.by_module("forward")["0"].flops
    assert profile.layer("0").matmul_flops == 2 * 8 * 32 * 64 * 2  # forward + weight grad
    assert profile.layer(OTHER).forward_flops > 0  # the loss ran outside the model


def test_parameters_and_memory_per_layer(profile):
    assert profile.layer("0").parameters == 32 * 64 + 64
    assert profile.layer("1").parameters == 0
    assert profile.parameters == 32 * 64 + 64 + 64 * 10 + 10
    assert profile.layer("0").output_bytes == 8 * 64 * 4
    assert profile.layer("1").saved_bytes == 8 * 64  # ReLU keeps a bool mask: 1 B each
    assert profile.layer("2").saved_bytes == 8 * 64 * 4  # Linear keeps its input (float32)
    assert profile.layer("0").saved_bytes == 8 * 32 * 4


def test_json_and_csv_exports(profile, tmp_path):
    profile.to_json(tmp_path / "p.json")
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["name"] == "mlp" and len(data["layers"]) == 4
    assert data["flops"] == profile.flops
    profile.to_csv(tmp_path / "p.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text())))
    assert [r["name"] for r in rows] == ["0", "1", "2", OTHER]
    assert int(rows[0]["parameters"]) == 32 * 64 + 64
    assert float(rows[2]["forward_s"]) == pytest.approx(profile.layer("2").forward_s)


def test_forward_only_profile():
    p = ModelProfiler(mlp(), warmup=0, repeats=2).profile(tt.randn(4, 32), backward=False)
    assert p.backward_flops == 0 and p.backward_s == pytest.approx(0, abs=1e-3)
    assert all(layer.backward_flops == 0 for layer in p.layers)


def test_compare_profiles_table(profile):
    from rich.console import Console

    other = ModelProfiler(nn.Sequential(nn.Linear(32, 10)), "tiny", warmup=0,
                          repeats=2).profile(tt.randn(8, 32))
    console = Console(record=True, width=150)
    console.print(compare_profiles([profile, other]))
    console.print(profile)
    text = console.export_text()
    assert "mlp" in text and "tiny" in text and "Linear" in text
    with pytest.raises(ValueError, match="no profiles"):
        compare_profiles([])


@needs_vision
def test_cnn_profile_attributes_conv_flops_to_conv_layers():
    import tinytorch.vision as V

    model = nn.Sequential(V.Conv2d(3, 4, 3, padding=1), nn.ReLU(), V.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 5))
    p = ModelProfiler(model, warmup=0, repeats=1).profile(tt.randn(2, 3, 8, 8))
    conv = p.layer("0")
    assert conv.kind == "Conv2d"
    assert conv.matmul_flops == 2 * 2 * 4 * 8 * 8 * 3 * 9 * 2  # forward + weight gradient
    assert p.layer("2").saved_bytes > 0  # max pooling keeps its winners


@pytest.mark.parametrize("kwargs, error, message", [
    ({"repeats": 0}, ValueError, "repeats"), ({"warmup": -1}, ValueError, "warmup"),
    ({"layers": ["nope"]}, ValueError, "no submodule named"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        ModelProfiler(mlp(), **kwargs)


def test_not_a_module():
    with pytest.raises(TypeError, match="tinytorch Module"):
        ModelProfiler(lambda x: x)
    with pytest.raises(ValueError, match="at least one input"):
        ModelProfiler(mlp()).profile()


def test_a_layer_with_an_op_without_a_cost_is_profiled_as_uncounted():
    from rich.console import Console

    from tinytorch.core.autograd import Function

    class Unpriced(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    class Doubling(nn.Module):
        def forward(self, x):
            return Unpriced.apply(x)

    model = nn.Sequential(nn.Linear(4, 3), Doubling())
    result = ModelProfiler(model, "unpriced", warmup=0, repeats=1).profile(tt.randn(2, 4))
    assert result.uncounted_ops == ["Unpriced"] and result.to_dict()["uncounted_ops"]
    console = Console(record=True, width=160)
    console.print(result)
    assert "uncounted (no cost formula): Unpriced" in console.export_text()
    counted = ModelProfiler(mlp(), "mlp", warmup=0, repeats=1).profile(tt.randn(2, 32))
    assert counted.uncounted_ops == []
