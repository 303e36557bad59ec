"""The benchmark harness: order-statistic confidence intervals and the timing bookkeeping,
checked with a fake clock (no real timing in unit tests)."""

from __future__ import annotations

import math
import statistics

import pytest

from tinytorch.perf.benchmark import (
    benchmark,
    calls_per_block,
    compare,
    compare_many,
    interleaved,
    median_ci,
)


class FakeClock:
    """A clock that advances only when a case 'works': each call costs `cost[name]` s."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def work(self, seconds):
        def fn():
            self.now += seconds
        return fn


def test_median_ci_coverage_from_the_binomial():
    samples = list(range(1, 11))  # n = 10
    interval = median_ci(samples, 0.95)
    # P(x_2 <= median <= x_9) = 1 - 2 * (C(10,0) + C(10,1)) / 2^10
    assert interval.level == pytest.approx(1 - 2 * 11 / 1024)
    assert (interval.low, interval.high) == (2, 9)
    narrower = median_ci(samples, 0.85)  # x_3..x_8: 1 - 2 * 56 / 1024 = 0.89
    assert (narrower.low, narrower.high) == (3, 8)
    assert narrower.level == pytest.approx(1 - 2 * 56 / 1024)


def test_median_ci_with_too_few_samples_says_so():
    interval = median_ci([3.0, 1.0, 2.0, 5.0, 4.0])
    assert (interval.low, interval.high) == (1.0, 5.0)
    assert interval.level == pytest.approx(1 - 2 / 32)  # below 0.95, and reported as such
    assert interval.level < 0.95


def test_median_ci_rejects_bad_input():
    with pytest.raises(ValueError, match="no samples"):
        median_ci([])
    with pytest.raises(ValueError, match="level"):
        median_ci([1.0], level=1.5)


def test_benchmark_counts_warmup_repeats_and_block_size():
    clock = FakeClock()
    calls = []

    def fn():
        calls.append(1)
        clock.now += 0.001

    m = benchmark(fn, "work", warmup=3, repeats=4, min_block_seconds=0.0045, timer=clock)
    # calibration tries 1, 2, 5 calls: 5 ms blocks are the first >= 4.5 ms
    assert m.number == 5
    assert len(m.samples) == 4 and all(s == pytest.approx(0.001) for s in m.samples)
    assert len(calls) == 3 + (1 + 2 + 5) + 4 * 5
    assert m.median == pytest.approx(0.001) and m.stdev == pytest.approx(0, abs=1e-12)
    data = m.to_dict()
    assert data["repeats"] == 4 and data["calls_per_repeat"] == 5 and data["warmup"] == 3


def test_calls_per_block_is_capped_for_free_functions():
    clock = FakeClock()
    assert calls_per_block(lambda: None, 1.0, clock) == 1_000_000


def test_interleaved_rotates_the_order():
    clock = FakeClock()
    order = []
    cases = {name: (lambda n=name: order.append(n)) for name in "abc"}
    interleaved(cases, warmup=0, repeats=4, number=1, timer=clock)
    rounds = ["".join(order[i:i + 3]) for i in range(0, 12, 3)]
    # round r starts at case r % 3; odd rounds run in reverse
    assert rounds == ["abc", "acb", "cab", "cba"]


def test_compare_pairs_rounds_into_a_speedup():
    clock = FakeClock()
    result = compare(clock.work(0.010), clock.work(0.002), names=("slow", "fast"),
                     warmup=1, repeats=6, min_block_seconds=0.0, timer=clock)
    assert result.speedup == pytest.approx(5.0)
    assert all(r == pytest.approx(5.0) for r in result.ratios)
    interval = result.ci(0.9)
    assert interval.low == pytest.approx(5.0) and interval.high == pytest.approx(5.0)
    assert result.to_dict()["speedup"] == pytest.approx(5.0)


def test_compare_many_uses_one_baseline():
    clock = FakeClock()
    cases = {"base": clock.work(0.008), "x2": clock.work(0.004), "x4": clock.work(0.002)}
    results = compare_many(cases, "base", warmup=0, repeats=3, min_block_seconds=0.0,
                           timer=clock)
    assert set(results) == {"x2", "x4"}
    assert results["x2"].speedup == pytest.approx(2.0)
    assert results["x4"].speedup == pytest.approx(4.0)
    with pytest.raises(KeyError, match="baseline"):
        compare_many(cases, "nope")


def test_quartiles_and_mean_of_noisy_samples():
    clock = FakeClock()
    costs = iter([0.003, 0.002, 0.100, 0.004, 0.001])
    m = benchmark(lambda: setattr(clock, "now", clock.now + next(costs)), "noisy",
                  warmup=0, repeats=5, number=1, timer=clock)
    assert m.samples == pytest.approx([0.003, 0.002, 0.100, 0.004, 0.001])
    assert m.median == pytest.approx(0.003)  # the outlier does not move the median
    assert m.mean == pytest.approx(statistics.fmean(m.samples)) and m.mean > 0.02
    low, high = m.quartiles
    assert low == pytest.approx(0.002) and high == pytest.approx(0.004)
    assert math.isclose(m.best, 0.001)


@pytest.mark.parametrize("kwargs, message", [
    ({"repeats": 0}, "repeats"), ({"warmup": -1}, "warmup"),
    ({"min_block_seconds": -1.0}, "min_block_seconds"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        interleaved({"a": lambda: None}, **kwargs)


def test_non_callable_case_is_refused():
    with pytest.raises(TypeError, match="case 'a' is a int"):
        interleaved({"a": 3})
    with pytest.raises(ValueError, match="no cases"):
        interleaved({})
