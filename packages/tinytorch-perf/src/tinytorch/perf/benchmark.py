"""A benchmark harness: warm-up, repeats, median, spread, confidence interval, A-vs-B ratio.

    m = benchmark(lambda: a @ b, warmup=3, repeats=15)
    m.median, m.quartiles, m.ci()            # seconds per call
    c = compare(slow, fast, names=("loops", "BLAS"))
    c.speedup, c.ci()                        # how many times faster, with its interval

What it teaches: how to time code so that the numbers mean something.
- Warm up first: the first calls pay for imports, allocator growth, thread start-up and
  cold caches that steady-state code never sees again.
- Time blocks long enough to measure: a block repeats the call `number` times and lasts at
  least `min_block_seconds`, so timer resolution and loop overhead vanish.
- Report the median and the quartiles: timing noise is one-sided (the OS only ever makes
  you slower), so the median is robust where the mean is dragged up by a few hiccups.
- Give an interval, not just a number. The confidence interval of the median comes from
  order statistics: with n samples, the chance that the true median lies between the j-th
  smallest and the j-th largest sample is a binomial sum, no assumption about the shape of
  the noise needed.
- Compare A and B in one interleaved run (A, B, B, A, A, B, ...) so both see the same
  machine conditions; the ratio of each adjacent pair is one sample of the speedup.

Systems lesson: a ratio measured in one interleaved run is far more trustworthy than two
absolute numbers measured minutes apart on a shared machine.
"""

from __future__ import annotations

import math
import numbers
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_CALLS_PER_BLOCK = 1_000_000


@dataclass(frozen=True)
class Interval:
    """[low, high] holding the true value with probability `level` (the achieved coverage)."""

    low: float
    high: float
    level: float


def median_ci(samples: list[float], level: float = 0.95) -> Interval:
    """Distribution-free confidence interval of the median from order statistics.

    For sorted samples x_1 <= ... <= x_n, [x_j, x_(n+1-j)] covers the median with
    probability sum_{i=j}^{n-j} C(n, i) / 2^n. We take the narrowest such interval whose
    coverage is at least `level`; with too few samples even [min, max] falls short, and
    the interval says so through its `level`.
    """
    if not (isinstance(samples, (list, tuple)) or hasattr(samples, "__array__")) \
            or not len(samples):
        raise ValueError(f"median_ci: got no samples (expected a non-empty list of times), got "
                         f"{samples!r:.40}")
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
               and math.isfinite(v) for v in samples):
        raise ValueError(f"median_ci: samples must be finite numbers, got {list(samples)[:5]}")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"median_ci: level must be in (0, 1), got {level}")
    ordered = sorted(samples)
    n = len(ordered)
    best = Interval(ordered[0], ordered[-1], _coverage(n, 1))
    # BEGIN SOLUTION
    for j in range(2, n // 2 + 1):
        coverage = _coverage(n, j)
        if coverage < level:
            break
        best = Interval(ordered[j - 1], ordered[n - j], coverage)
    # END SOLUTION
    return best


def _coverage(n: int, j: int) -> float:
    """P(x_j <= median <= x_(n+1-j)) for n samples: P(j <= Binomial(n, 1/2) <= n - j)."""
    # BEGIN SOLUTION
    inside = sum(math.comb(n, i) for i in range(j, n - j + 1))
    return inside / 2**n
    # END SOLUTION


@dataclass
class Measurement:
    """Seconds per call of one case: one sample per timed block of `number` calls."""

    name: str
    number: int
    warmup: int
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def stdev(self) -> float:
        return statistics.stdev(self.samples) if len(self.samples) > 1 else 0.0

    @property
    def quartiles(self) -> tuple[float, float]:
        """(lower, upper) quartile: how noisy the measurement was."""
        if len(self.samples) < 2:
            return self.samples[0], self.samples[0]
        q = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q[0], q[2]

    def ci(self, level: float = 0.95) -> Interval:
        return median_ci(self.samples, level)

    def to_dict(self) -> dict:
        low, high = self.quartiles
        interval = self.ci()
        return {
            "name": self.name, "median_s": self.median, "mean_s": self.mean,
            "best_s": self.best, "stdev_s": self.stdev, "q1_s": low, "q3_s": high,
            "ci_low_s": interval.low, "ci_high_s": interval.high, "ci_level": interval.level,
            "repeats": len(self.samples), "calls_per_repeat": self.number,
            "warmup": self.warmup, "samples_s": list(self.samples),
        }


@dataclass
class Comparison:
    """Baseline vs candidate timed in one interleaved run.

    `ratios[r]` = baseline time / candidate time in round r (adjacent blocks, same machine
    conditions), so `speedup` > 1 means the candidate is faster.
    """

    baseline: Measurement
    candidate: Measurement
    ratios: list[float]

    @property
    def speedup(self) -> float:
        return statistics.median(self.ratios)

    def ci(self, level: float = 0.95) -> Interval:
        return median_ci(self.ratios, level)

    def to_dict(self) -> dict:
        interval = self.ci()
        return {
            "baseline": self.baseline.to_dict(), "candidate": self.candidate.to_dict(),
            "speedup": self.speedup, "speedup_ci_low": interval.low,
            "speedup_ci_high": interval.high, "ci_level": interval.level,
        }


# ---------------------------------------------------------------- timing


def _check_counts(op: str, warmup: int, repeats: int, min_block_seconds: float) -> None:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"{op}: repeats must be an int >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"{op}: warmup must be an int >= 0, got {warmup!r}")
    if not isinstance(min_block_seconds, (int, float)) or not min_block_seconds >= 0:
        raise ValueError(f"{op}: min_block_seconds must be >= 0, got {min_block_seconds}")


def time_block(fn: Callable[[], object], number: int,
               timer: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per call of `fn`, averaged over one block of `number` back-to-back calls."""
    start = timer()
    for _ in range(number):
        fn()
    return (timer() - start) / number


def calls_per_block(fn: Callable[[], object], min_block_seconds: float,
                    timer: Callable[[], float] = time.perf_counter) -> int:
    """Smallest number of calls in the sequence 1, 2, 5, 10, 20, 50, ... whose block lasts at
    least `min_block_seconds` (capped at MAX_CALLS_PER_BLOCK)."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            candidate = number * factor
            if candidate >= MAX_CALLS_PER_BLOCK or \
                    time_block(fn, candidate, timer) * candidate >= min_block_seconds:
                return min(candidate, MAX_CALLS_PER_BLOCK)
        number *= 10


def benchmark(fn: Callable[[], object], name: str = "", warmup: int = 3, repeats: int = 10,
              min_block_seconds: float = 0.01, number: int | None = None,
              timer: Callable[[], float] = time.perf_counter) -> Measurement:
    """Time `fn()`: `warmup` untimed calls, then `repeats` timed blocks of `number` calls.

    `number` defaults to the smallest block lasting `min_block_seconds`. `timer` is
    injectable so the bookkeeping can be tested with a fake clock.
    """
    _check_counts("benchmark", warmup, repeats, min_block_seconds)
    return interleaved({name or getattr(fn, "__name__", "case"): fn}, warmup, repeats,
                       min_block_seconds, number, timer).popitem()[1]


def interleaved(cases: dict[str, Callable[[], object]], warmup: int = 3, repeats: int = 10,
                min_block_seconds: float = 0.01, number: int | None = None,
                timer: Callable[[], float] = time.perf_counter) -> dict[str, Measurement]:
    """Time every case in rotating order (each takes its turn going first, alternate rounds
    reversed) so that drifting machine conditions hit all cases alike."""
    if not cases:
        raise ValueError("interleaved: got no cases; expected a dict of name -> callable")
    _check_counts("interleaved", warmup, repeats, min_block_seconds)
    for name, fn in cases.items():
        if not callable(fn):
            raise TypeError(f"interleaved: case {name!r} is a {type(fn).__name__}, "
                            "expected a callable taking no arguments")
        for _ in range(warmup):
            fn()
    results = {
        name: Measurement(name, number or calls_per_block(fn, min_block_seconds, timer), warmup)
        for name, fn in cases.items()
    }
    names = list(cases)
    for r in range(repeats):
        shift = r % len(names)
        order = names[shift:] + names[:shift]
        if r % 2:
            order.reverse()
        for name in order:
            results[name].samples.append(time_block(cases[name], results[name].number, timer))
    return results


def compare(baseline: Callable[[], object], candidate: Callable[[], object],
            names: tuple[str, str] = ("baseline", "candidate"), warmup: int = 3,
            repeats: int = 10, min_block_seconds: float = 0.01,
            timer: Callable[[], float] = time.perf_counter) -> Comparison:
    """Time baseline and candidate interleaved; the speedup is the median paired ratio."""
    if names[0] == names[1]:
        raise ValueError(f"compare: the two cases need different names, got {names}")
    timed = interleaved({names[0]: baseline, names[1]: candidate}, warmup, repeats,
                        min_block_seconds, None, timer)
    base, cand = timed[names[0]], timed[names[1]]
    ratios = [b / c if c > 0 else math.inf for b, c in zip(base.samples, cand.samples)]
    return Comparison(base, cand, ratios)


def compare_many(cases: dict[str, Callable[[], object]], baseline: str, warmup: int = 3,
                 repeats: int = 10, min_block_seconds: float = 0.01,
                 timer: Callable[[], float] = time.perf_counter) -> dict[str, Comparison]:
    """Time several implementations in one interleaved run; each compared with `baseline`."""
    if baseline not in cases:
        raise KeyError(f"compare_many: baseline {baseline!r} is not one of {sorted(cases)}")
    timed = interleaved(cases, warmup, repeats, min_block_seconds, None, timer)
    base = timed[baseline]
    return {
        name: Comparison(base, m, [b / c if c > 0 else math.inf
                                   for b, c in zip(base.samples, m.samples)])
        for name, m in timed.items() if name != baseline
    }
