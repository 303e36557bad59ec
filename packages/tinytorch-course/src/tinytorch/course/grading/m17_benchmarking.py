"""Module 17 (Benchmarking): confidence intervals of the median and the roofline model.

The property-based tests draw sample counts from 1 to 40 (with repeated timings), levels
from 50% to 99%, every (n, j) coverage, and machines with ceilings from 1 GFLOP/s to
10 TFLOP/s, probing intensities on both sides of the ridge point and exactly on it."""

from __future__ import annotations

import math

from . import check_close, check_equal, grading_test


def _exact_coverage(n: int, j: int) -> float:
    return sum(math.comb(n, i) for i in range(j, n - j + 1)) / 2**n


def _interval_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "samples": st.lists(st.integers(1, 30).map(lambda t: t / 10), min_size=1, max_size=40),
        "level": st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]), "j": st.integers(1, 20)})


@grading_test(points=2, cases=_interval_cases)
def median_interval_any_samples(student, case):
    """For any samples (in any order, repeats too) and level: _coverage(n, j) is the
    binomial sum, and median_ci is the narrowest [x_j, x_(n+1-j)] reaching the level
    ([min, max] with its own, lower coverage when none does)."""
    samples, level = case["samples"], case["level"]
    n = len(samples)
    j = min(case["j"], (n + 1) // 2)
    check_close(student._coverage(n, j), _exact_coverage(n, j), f"_coverage({n}, {j})",
                rtol=1e-12, atol=0)
    ordered = sorted(samples)
    best = 1
    while best + 1 <= n // 2 and _exact_coverage(n, best + 1) >= level:
        best += 1
    ci = student.median_ci(list(samples), level)
    check_equal([float(ci.low), float(ci.high)], [ordered[best - 1], ordered[n - best]],
                f"median_ci of {n} samples at level {level}")
    check_close(ci.level, _exact_coverage(n, best), f"the coverage median_ci reports for "
                f"{n} samples at level {level}", rtol=1e-12, atol=0)


def _roofline_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "peak": st.sampled_from([1.0, 37.5, 250.0, 1e4]),
        "bandwidth": st.sampled_from([1.0, 12.8, 100.0, 900.0]),
        "factors": st.lists(st.sampled_from([1e-3, 0.1, 0.5, 1.0, 2.0, 10.0, 1e3]),
                            min_size=1, max_size=6)})


@grading_test(points=2, cases=_roofline_cases)
def roofline_any_machine(student, case):
    """For any ceilings: ridge = peak / bandwidth, attainable = min(peak, bandwidth *
    intensity) and an intensity at or right of the ridge is compute-bound, at intensities
    from 1000x below the ridge to 1000x above it (and exactly on it)."""
    peak, bandwidth = case["peak"], case["bandwidth"]
    model = student.RooflineModel(peak_gflops=peak, bandwidth_gbs=bandwidth)
    machine = f"RooflineModel({peak:g} GFLOP/s, {bandwidth:g} GB/s)"
    ridge = peak / bandwidth
    check_close(model.ridge_point, ridge, f"ridge point of {machine}", rtol=1e-12, atol=0)
    for factor in case["factors"]:
        intensity = ridge * factor
        check_close(model.attainable_gflops(intensity), min(peak, bandwidth * intensity),
                    f"{machine}: attainable GFLOP/s at {intensity:g} FLOP/byte", rtol=1e-12,
                    atol=0)
        check_equal(model.classify(intensity),
                    "compute-bound" if intensity >= ridge else "memory-bound",
                    f"{machine}: classify({intensity:g}) ({factor:g} x the ridge)")


@grading_test(points=1)
def coverage_is_binomial(student):
    """_coverage(n, j) = P(j <= Binomial(n, 1/2) <= n - j)."""
    for n, j in ((10, 1), (10, 2), (10, 3), (21, 6)):
        expected = sum(math.comb(n, i) for i in range(j, n - j + 1)) / 2**n
        got = student._coverage(n, j)
        assert abs(got - expected) < 1e-12, f"_coverage({n}, {j}) should be {expected}, got {got}"


@grading_test(points=2)
def median_interval_from_order_statistics(student):
    """median_ci picks the narrowest [x_j, x_(n+1-j)] whose coverage reaches the level."""
    samples = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0, 10.0]
    ci = student.median_ci(samples, 0.95)
    assert (ci.low, ci.high) == (2.0, 9.0), f"95% interval of 1..10 should be [2, 9], got " \
                                            f"[{ci.low}, {ci.high}]"
    check_close(ci.level, 1 - 2 * 11 / 1024, "its coverage")
    ci = student.median_ci(samples, 0.8)
    assert (ci.low, ci.high) == (3.0, 8.0), f"80% interval should be [3, 8], got " \
                                            f"[{ci.low}, {ci.high}]"
    few = student.median_ci([3.0, 1.0, 2.0], 0.95)
    assert (few.low, few.high) == (1.0, 3.0) and few.level < 0.95, \
        "with 3 samples only [min, max] is possible, and its level says it falls short"


@grading_test(points=2)
def roofline_roofs(student):
    """ridge = peak / bandwidth; attainable = min(peak, bandwidth * intensity); classify."""
    model = student.RooflineModel(peak_gflops=100.0, bandwidth_gbs=20.0)
    check_close(model.ridge_point, 5.0, "ridge point of 100 GFLOP/s and 20 GB/s")
    for intensity, expected in ((0.25, 5.0), (5.0, 100.0), (50.0, 100.0)):
        check_close(model.attainable_gflops(intensity), expected,
                    f"attainable GFLOP/s at {intensity} FLOP/byte")
    assert model.classify(1 / 12) == "memory-bound", "an elementwise add is memory-bound"
    assert model.classify(50.0) == "compute-bound", "a large matmul is compute-bound"


@grading_test(points=1)
def roofline_points(student):
    """add_point computes intensity, achieved GFLOP/s, the roof above it and the bound."""
    model = student.RooflineModel(peak_gflops=100.0, bandwidth_gbs=20.0)
    point = model.add_point("axpy", flops=2_000_000, bytes=12_000_000, seconds=0.001)
    check_close(point.intensity, 1 / 6, "intensity")
    check_close(point.achieved_gflops, 2.0, "achieved GFLOP/s")
    check_close(point.attainable_gflops, 20 / 6, "attainable GFLOP/s")
    assert point.bound == "memory-bound", f"bound should be memory-bound, got {point.bound}"
