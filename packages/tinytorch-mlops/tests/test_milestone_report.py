"""Milestone 05's report: bars of the run's sizes, latencies and accuracies; the KV sweep."""

import numpy as np
import pytest

from tinytorch.core.plot import read_png, save_report
from tinytorch.mlops.milestones import optimized_inference_report as report


def _variants(scale: float = 1.0):
    return [{"name": "float32", "bytes": 140_000, "latency_ms": 50.0 * scale, "accuracy": 0.84},
            {"name": "int8", "bytes": 37_000, "latency_ms": 47.0 * scale, "accuracy": 0.83},
            {"name": "pruned 50%", "bytes": 80_000, "latency_ms": 30.0, "accuracy": 0.80},
            {"name": "distilled", "bytes": 48_000, "latency_ms": 20.0, "accuracy": 0.70}]


def _sweep(cached: float = 900.0):
    return [{"new_tokens": n, "cached_tps": cached, "uncached_tps": 4000.0 / n}
            for n in (16, 64, 128, 248)]


def test_report_shows_the_numbers_given(tmp_path):
    figure = report.draw_inference_report(_variants(), _sweep(), batch=64)
    size_axes, latency_axes, accuracy_axes, kv_axes = figure.axes
    assert [bar.get_height() for bar in size_axes.patches] == pytest.approx(
        [v["bytes"] / 1024 for v in _variants()])
    assert [bar.get_height() for bar in accuracy_axes.patches] == pytest.approx(
        [100 * v["accuracy"] for v in _variants()])
    uncached, cached = kv_axes.get_lines()
    np.testing.assert_allclose(uncached.get_ydata(), [n * n / 4000.0 for n in (16, 64, 128, 248)])
    np.testing.assert_allclose(cached.get_ydata(), [n / 900.0 for n in (16, 64, 128, 248)])
    assert latency_axes.get_title() == "latency, batch of 64 (ms)"


def test_report_is_a_picture_that_follows_the_data(tmp_path):
    save_report(report.draw_inference_report(_variants(), _sweep(), 64), tmp_path / "a.png")
    save_report(report.draw_inference_report(_variants(3.0), _sweep(300.0), 64),
                tmp_path / "b.png")
    a, b = read_png(tmp_path / "a.png"), read_png(tmp_path / "b.png")
    assert a.shape[:2] == (460, 1700) and a[..., :3].std() > 0.05
    assert np.any(np.abs(a - b) > 1e-3, axis=-1).mean() > 0.01
    assert "<svg" in (tmp_path / "a.svg").read_text()
    with pytest.raises(ValueError, match="draw_inference_report: needs at least one"):
        report.draw_inference_report([], _sweep(), 64)


def test_latency_is_the_best_of_repeats():
    calls = []
    ms = report.latency_ms(lambda x: calls.append(len(x)), np.zeros((8, 3)), repeats=4)
    assert calls == [8] * 5 and 0 <= ms < 50  # one warm-up, then four timed calls
