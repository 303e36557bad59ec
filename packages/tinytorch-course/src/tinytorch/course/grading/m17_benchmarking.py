"""Module 17 (Benchmarking): confidence intervals of the median and the roofline model."""

from __future__ import annotations

import math

from . import check_close, grading_test


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
