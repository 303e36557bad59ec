"""The per-layer forward/backward time chart: a real picture of the profile's own numbers."""

import dataclasses

import numpy as np
import pytest

from tinytorch.core import nn, randn
from tinytorch.core.plot import read_png
from tinytorch.perf import ModelProfiler
from tinytorch.perf.breakdown import plot_time_breakdown


@pytest.fixture(scope="module")
def profile():
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
    return ModelProfiler(model, warmup=1, repeats=2).profile(randn(16, 32))


def _pixels(path):
    pixels = read_png(path)
    assert pixels[..., :3].std() > 0.02, "blank picture"
    return pixels


def test_chart_is_a_picture_with_a_bar_per_layer(profile, tmp_path):
    figure = profile.plot(tmp_path / "b.png")
    axes = figure.axes[0]
    labels = [t.get_text() for t in axes.get_yticklabels()]
    assert labels == [f"{layer.name} ({layer.kind})" if layer.kind else layer.name
                      for layer in profile.layers]
    bars = axes.patches
    assert len(bars) == 2 * len(profile.layers)  # forward and backward per layer
    widths = np.array([bar.get_width() for bar in bars]).reshape(2, -1)
    np.testing.assert_allclose(widths[0], [1e3 * layer.forward_s for layer in profile.layers])
    np.testing.assert_allclose(widths[1], [1e3 * layer.backward_s for layer in profile.layers])
    pixels = _pixels(tmp_path / "b.png")
    assert pixels.shape[1] == 800 and pixels.shape[0] >= 120 + 38 * len(profile.layers) - 2


def test_chart_changes_with_the_data(profile, tmp_path):
    slower = dataclasses.replace(profile, layers=[
        dataclasses.replace(layer, backward_s=layer.backward_s * 5) for layer in profile.layers])
    profile.plot(tmp_path / "a.png", title="same")
    plot_time_breakdown(slower, tmp_path / "b.png", title="same")
    a, b = _pixels(tmp_path / "a.png"), _pixels(tmp_path / "b.png")
    assert a.shape == b.shape
    assert np.any(np.abs(a - b) > 1e-3, axis=-1).mean() > 0.001


def test_svg_and_bad_input(profile, tmp_path):
    profile.plot(tmp_path / "b.svg")
    assert "<svg" in (tmp_path / "b.svg").read_text()
    with pytest.raises(ValueError, match="save_figure: .* expected one of .png, .svg"):
        profile.plot(tmp_path / "b.gif")
    with pytest.raises(ValueError, match="plot_time_breakdown: profile 'x' has no layers"):
        plot_time_breakdown(dataclasses.replace(profile, name="x", layers=[]))
