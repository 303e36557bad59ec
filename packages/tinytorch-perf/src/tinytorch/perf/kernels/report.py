"""Measure every kernel family on this machine and report the speedups.

    results = kernel_report(quick=True)      # list of KernelResult
    Console().print(render(results))

Each group times its implementations in one interleaved run (benchmark.compare_many)
after checking that they return the same numbers, and reports each one's speedup over
the group's baseline: the median of paired per-round ratios, with its confidence
interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from rich.table import Table

from ..benchmark import compare_many
from .conv import CONV_KERNELS, im2col_bytes
from .fusion import FUSION_KERNELS
from .matmul import MATMUL_KERNELS
from .memory_access import row_sums, strided_sum, transpose_blocked, transpose_naive


@dataclass
class KernelResult:
    group: str
    name: str
    baseline: str
    median_s: float
    speedup: float  # baseline time / this time (1.0 for the baseline itself)
    ci_low: float
    ci_high: float
    detail: str = ""


@dataclass
class _Group:
    name: str
    cases: dict[str, Callable[[], np.ndarray]]
    baseline: str
    detail: str = ""


def _groups(quick: bool) -> list[_Group]:
    rng = np.random.default_rng(0)
    groups = []

    n = 24 if quick else 64
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    groups.append(_Group(f"matmul {n}x{n} float64", {
        name: (lambda f=f: f(a, b)) for name, f in MATMUL_KERNELS.items()}, "python loops",
        f"{2 * n**3:,} FLOPs per call"))

    n = 96 if quick else 384
    a32, b32 = rng.standard_normal((n, n), dtype=np.float32), \
        rng.standard_normal((n, n), dtype=np.float32)
    groups.append(_Group(f"matmul {n}x{n} float32", {
        name: (lambda f=f: f(a32, b32)) for name, f in MATMUL_KERNELS.items()
        if name != "python loops"}, "vectorized rows", f"{2 * n**3:,} FLOPs per call"))

    shape_x, shape_w = ((2, 4, 12, 12), (8, 4, 3, 3)) if quick else \
        ((8, 16, 32, 32), (32, 16, 3, 3))
    x = rng.standard_normal(shape_x, dtype=np.float32)
    w = rng.standard_normal(shape_w, dtype=np.float32)
    groups.append(_Group(f"conv2d x{shape_x} w{shape_w} pad 1", {
        name: (lambda f=f: f(x, w, padding=1)) for name, f in CONV_KERNELS.items()},
        "output loops", f"im2col matrix {im2col_bytes(shape_x, shape_w, 1, 1):,} B vs input "
        f"{x.nbytes:,} B"))

    side = 256 if quick else 2048
    c_order = rng.standard_normal((side, side))
    f_order = np.asfortranarray(c_order)
    groups.append(_Group(f"row sums {side}x{side} float64", {
        "strided rows (F order)": lambda: row_sums(f_order),
        "contiguous rows (C order)": lambda: row_sums(c_order)}, "strided rows (F order)"))
    groups.append(_Group(f"transpose copy {side}x{side} float64", {
        "naive": lambda: transpose_naive(c_order),
        "blocked 64x64": lambda: transpose_blocked(c_order)}, "naive"))

    count = 2**16 if quick else 2**20
    long = rng.standard_normal(count * 16, dtype=np.float32)
    groups.append(_Group(f"sum of {count:,} float32", {
        "stride 16 (1 per cache line)": lambda: strided_sum(long, 16, count),
        "stride 1 (contiguous)": lambda: strided_sum(long, 1, count)},
        "stride 16 (1 per cache line)", "same additions, 16x fewer bytes at stride 1"))

    size = 2**16 if quick else 2**22
    values = rng.standard_normal(size, dtype=np.float32)
    groups.append(_Group(f"GELU chain on {size:,} float32", {
        name: (lambda f=f: f(values)) for name, f in FUSION_KERNELS.items()}, "unfused",
        "8 elementwise ops"))
    return groups


def _check_equal(group: _Group) -> None:
    """Only results that agree are worth timing (strided sums use different elements)."""
    if group.name.startswith("sum of"):
        return
    results = {name: fn() for name, fn in group.cases.items()}
    reference = results[group.baseline]
    for name, value in results.items():
        if not np.allclose(value, reference, rtol=1e-4, atol=1e-4):
            raise AssertionError(f"kernel_report: {group.name}: {name!r} disagrees with "
                                 f"{group.baseline!r} (max abs diff "
                                 f"{np.max(np.abs(value - reference)):.3g})")


def kernel_report(quick: bool = False, repeats: int | None = None,
                  groups: list[str] | None = None) -> list[KernelResult]:
    """Time every kernel group; `groups` picks groups whose name starts with one of them."""
    repeats = repeats or (3 if quick else 9)
    results = []
    for group in _groups(quick):
        if groups is not None and not any(group.name.startswith(g) for g in groups):
            continue
        _check_equal(group)
        comparisons = compare_many(group.cases, group.baseline, warmup=1, repeats=repeats,
                                   min_block_seconds=0.005 if quick else 0.05)
        base = next(iter(comparisons.values())).baseline
        results.append(KernelResult(group.name, group.baseline, group.baseline, base.median,
                                    1.0, 1.0, 1.0, group.detail))
        for name, comparison in comparisons.items():
            interval = comparison.ci()
            results.append(KernelResult(group.name, name, group.baseline,
                                        comparison.candidate.median, comparison.speedup,
                                        interval.low, interval.high))
    return results


def render(results: list[KernelResult]) -> Table:
    table = Table(title="Kernels: the same operation written several ways (measured here)",
                  title_justify="left")
    for column in ("operation", "implementation", "median", "speedup", "95% CI", "note"):
        table.add_column(column, justify="right" if column in ("median", "speedup", "95% CI")
                         else "left")
    for r in results:
        table.add_row(r.group, r.name, _seconds(r.median_s), f"{r.speedup:,.1f}x",
                      "" if r.name == r.baseline else f"{r.ci_low:,.1f}-{r.ci_high:,.1f}",
                      r.detail)
    return table


def _seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.1f} µs"


def to_dicts(results: list[KernelResult]) -> list[dict]:
    return [asdict(r) for r in results]
