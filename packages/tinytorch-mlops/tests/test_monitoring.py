"""Drift statistics against known answers and scipy; detectors and the retraining trigger on
synthetic shifts whose answer is known; latency, throughput and error-rate monitors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from tinytorch.mlops.monitoring import (
    DriftDetector,
    ErrorRateMonitor,
    LatencyMonitor,
    RetrainingTrigger,
    ThroughputMonitor,
    categorical_psi,
    kolmogorov_sf,
    ks_2samp,
    psi,
    psi_from_proportions,
)


def test_psi_of_known_proportions():
    expected = [0.25, 0.25, 0.25, 0.25]
    actual = [0.4, 0.3, 0.2, 0.1]
    by_hand = sum((a - e) * math.log(a / e) for a, e in zip(actual, expected))
    assert psi_from_proportions(expected, actual) == pytest.approx(by_hand, rel=1e-12)
    assert psi_from_proportions(expected, expected) == 0.0


def test_psi_bins_are_reference_deciles():
    reference = np.repeat(np.arange(10.0), 100)  # deciles put each value in its own bin
    counts = np.array([200, 100, 100, 100, 100, 100, 100, 100, 50, 50])
    current = np.repeat(np.arange(10.0), counts)
    expected = psi_from_proportions(np.full(10, 0.1), counts / counts.sum())
    assert psi(reference, current) == pytest.approx(expected, rel=1e-12)
    assert psi(reference, reference) == 0.0


def test_categorical_psi_known_answer_and_checks():
    reference = np.repeat([0, 1], 50)  # 50/50
    current = np.repeat([0, 1], [80, 20])
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert categorical_psi(reference, current, 2) == pytest.approx(by_hand)
    with pytest.raises(ValueError, match=r"class ids must be in \[0, 2\)"):
        categorical_psi(reference, np.array([0, 2]), 2)
    with pytest.raises(ValueError, match="integer array"):
        categorical_psi(reference, np.array([0.5]), 2)


@pytest.mark.parametrize("shift, n, m", [(0.0, 300, 200), (0.3, 500, 400), (1.0, 50, 80)])
def test_ks_statistic_and_pvalue_match_scipy(shift, n, m):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(n), rng.standard_normal(m) + shift
    statistic, pvalue = ks_2samp(a, b)
    reference = scipy.stats.ks_2samp(a, b, method="asymp")
    assert statistic == pytest.approx(reference.statistic, abs=1e-12)
    en = n * m / (n + m)
    assert pvalue == pytest.approx(scipy.stats.kstwobign.sf(math.sqrt(en) * statistic),
                                   rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("x", [0.0, 0.1, 0.3, 0.5, 1.0, 1.36, 2.0, 3.5])
def test_kolmogorov_distribution_tail(x):
    assert kolmogorov_sf(x) == pytest.approx(scipy.stats.kstwobign.sf(x), rel=1e-9, abs=1e-15)


def test_statistics_reject_bad_samples():
    with pytest.raises(ValueError, match="at least 2 values"):
        psi([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        ks_2samp([1.0, np.nan], [1.0, 2.0])


def make_reference(rng, n=2000, features=5, classes=3):
    x = rng.standard_normal((n, features))
    predictions = rng.integers(0, classes, n)
    return x, predictions


def test_detector_stays_quiet_without_shift():
    rng = np.random.default_rng(0)
    x, p = make_reference(rng)
    detector = DriftDetector(x, p, num_classes=3)
    quiet = [detector.check(*make_reference(rng, n=500)) for _ in range(10)]
    assert sum(r.drifted for r in quiet) <= 1
    assert all(r.prediction_psi < 0.1 for r in quiet)


def test_detector_finds_exactly_the_shifted_feature():
    rng = np.random.default_rng(0)
    x, p = make_reference(rng)
    detector = DriftDetector(x, p, num_classes=3)
    live, live_p = make_reference(rng, n=500)
    live[:, 2] += 0.5  # half a standard deviation on feature 2 only
    report = detector.check(live, live_p)
    assert report.drifted_features == [2]
    assert report.input_drifted and not report.prediction_drifted
    assert report.features[2].ks_pvalue < 1e-6


def test_detector_finds_a_variance_change_and_prediction_drift():
    rng = np.random.default_rng(0)
    x, p = make_reference(rng)
    detector = DriftDetector(x, p, num_classes=3)
    live, _ = make_reference(rng, n=500)
    live[:, 0] *= 2.5  # same mean, wider spread
    live_p = rng.choice(3, 500, p=[0.7, 0.2, 0.1])
    report = detector.check(live, live_p)
    assert 0 in report.drifted_features
    assert report.prediction_drifted and report.prediction_psi > 0.25
    assert report.as_dict()["drifted"] is True


def test_detector_checks_shapes():
    rng = np.random.default_rng(0)
    detector = DriftDetector(rng.standard_normal((100, 4)))
    with pytest.raises(ValueError, match="4 features per sample"):
        detector.check(rng.standard_normal((50, 3)))
    with pytest.raises(ValueError, match="n >= 20"):
        DriftDetector(rng.standard_normal((5, 4)))
    with pytest.raises(ValueError, match="num_classes is required"):
        DriftDetector(rng.standard_normal((100, 4)), np.zeros(100, int))


def test_trigger_fires_only_on_sustained_drift():
    trigger = RetrainingTrigger(patience=3)
    verdicts = [False, True, True, False, True, True, True, True]
    fired = [trigger.update(v) for v in verdicts]
    assert fired == [False, False, False, False, False, False, True, False]
    assert trigger.fired_at == [6]


def test_trigger_cooldown():
    trigger = RetrainingTrigger(patience=2, cooldown=3)
    fired = [trigger.update(True) for _ in range(10)]
    # fires at 1, quiet for windows 2-4, streak rebuilds and fires again at 5? no: the streak
    # restarts after firing, so the next two drifted windows after the cooldown fire it.
    assert [i for i, f in enumerate(fired) if f] == [1, 5, 9]
    with pytest.raises(ValueError, match="patience"):
        RetrainingTrigger(patience=0)


def test_trigger_on_a_synthetic_stream_with_a_known_change_point():
    rng = np.random.default_rng(7)
    x, p = make_reference(rng)
    detector = DriftDetector(x, p, num_classes=3)
    trigger = RetrainingTrigger(patience=3)
    fired_at = None
    for window in range(12):
        live, live_p = make_reference(rng, n=400)
        if window >= 6:  # the world changes at window 6
            live[:, 1] += 0.8
        if trigger.update(detector.check(live, live_p)) and fired_at is None:
            fired_at = window
    assert fired_at == 8  # windows 6, 7, 8 drifted in a row


def test_latency_percentiles_over_a_sliding_window():
    monitor = LatencyMonitor(window=100)
    for value in np.arange(1, 201) / 1000:  # 1 ms ... 200 ms; window keeps the last 100
        monitor.record(float(value))
    window = np.arange(101, 201) / 1000
    assert monitor.percentile(50) == pytest.approx(np.percentile(window, 50))
    assert monitor.percentile(99) == pytest.approx(np.percentile(window, 99))
    assert monitor.summary()["count"] == 200
    with pytest.raises(ValueError, match="finite number of seconds"):
        monitor.record(-1.0)
    assert math.isnan(LatencyMonitor().percentile(50))


def test_throughput_over_a_time_horizon_with_a_fake_clock():
    now = [0.0]
    monitor = ThroughputMonitor(horizon=10.0, clock=lambda: now[0])
    for _ in range(50):
        monitor.record()
        now[0] += 0.1  # 10 per second for 5 seconds
    assert monitor.rate() == pytest.approx(5.0)  # 50 events in a 10 s horizon
    now[0] += 20.0
    assert monitor.rate() == 0.0 and monitor.total == 50


def test_error_rate_alerts_only_with_enough_requests():
    monitor = ErrorRateMonitor(window=100, threshold=0.1, min_requests=20)
    for _ in range(5):
        monitor.record(ok=False)
    assert monitor.error_rate == 1.0 and not monitor.alerting  # 5 requests: not a trend
    for i in range(100):
        monitor.record(ok=i % 10 != 0)  # exactly 10% failures fill the window
    assert monitor.error_rate == pytest.approx(0.1) and not monitor.alerting  # not above
    for _ in range(20):
        monitor.record(ok=False)
    assert monitor.alerting
    for _ in range(100):
        monitor.record(ok=True)
    assert not monitor.alerting and monitor.error_rate == 0.0  # the window forgets
