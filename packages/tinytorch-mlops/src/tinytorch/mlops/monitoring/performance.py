"""Latency, throughput and error-rate monitors over a sliding window of recent requests.

    latency = LatencyMonitor(window=1000)
    latency.record(0.012)                # seconds
    latency.percentile(99)               # p99 of the last 1000 requests
    errors = ErrorRateMonitor(window=500, threshold=0.05, min_requests=50)
    errors.record(ok=False); errors.alerting

What it teaches: averages hide the requests users complain about. A service whose mean
latency is 20 ms can have a p99 of 2 s; that is why serving dashboards show p50/p95/p99.
Windows keep the numbers about *now*: an error burst five minutes ago should not keep an
alert on forever, and an all-time average hides a burst that is happening right now.

Systems lesson: a fixed-size ring buffer (numpy array + write index) makes `record` O(1)
with no allocation; a percentile costs one O(n) partition of the window when asked.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np


class LatencyMonitor:
    """Percentiles of the last `window` latencies (seconds)."""

    def __init__(self, window: int = 1000):
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"LatencyMonitor: window must be a positive int, got {window!r}")
        self._values = np.zeros(window, dtype=np.float64)
        self._next, self._count, self.total = 0, 0, 0

    def record(self, seconds: float) -> None:
        if not np.isfinite(seconds) or seconds < 0:
            raise ValueError(f"LatencyMonitor.record: latency must be a finite number of "
                             f"seconds >= 0, got {seconds!r}")
        self._values[self._next] = seconds
        self._next = (self._next + 1) % self._values.size
        self._count = min(self._count + 1, self._values.size)
        self.total += 1

    @property
    def window(self) -> np.ndarray:
        return self._values[:self._count]

    def percentile(self, q: float) -> float:
        if self._count == 0:
            return float("nan")
        return float(np.percentile(self.window, q))

    def summary(self) -> dict[str, float]:
        return {"count": self.total, "mean": float(self.window.mean()) if self._count else 0.0,
                "p50": self.percentile(50), "p95": self.percentile(95),
                "p99": self.percentile(99)}


class ThroughputMonitor:
    """Events per second over the last `horizon` seconds (clock injectable for tests)."""

    def __init__(self, horizon: float = 60.0, clock: Callable[[], float] = time.monotonic):
        if horizon <= 0:
            raise ValueError(f"ThroughputMonitor: horizon must be > 0 seconds, got {horizon!r}")
        self.horizon, self.clock = horizon, clock
        self._times: deque[tuple[float, int]] = deque()
        self.total = 0

    def record(self, count: int = 1) -> None:
        self._times.append((self.clock(), count))
        self.total += count
        self._forget_old()

    def rate(self) -> float:
        self._forget_old()
        return sum(count for _, count in self._times) / self.horizon

    def _forget_old(self) -> None:
        cutoff = self.clock() - self.horizon
        while self._times and self._times[0][0] < cutoff:
            self._times.popleft()


class ErrorRateMonitor:
    """Fraction of failed requests among the last `window`; alerts above `threshold` once at
    least `min_requests` have been seen (three failures out of four is not yet a trend)."""

    def __init__(self, window: int = 500, threshold: float = 0.05, min_requests: int = 50):
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"ErrorRateMonitor: threshold must be in (0, 1), got {threshold!r}")
        if min_requests > window:
            raise ValueError(f"ErrorRateMonitor: min_requests ({min_requests}) cannot exceed "
                             f"window ({window})")
        self._outcomes: deque[bool] = deque(maxlen=window)
        self.threshold, self.min_requests = threshold, min_requests
        self.total = self.failures = 0

    def record(self, ok: bool) -> None:
        self._outcomes.append(bool(ok))
        self.total += 1
        self.failures += not ok

    @property
    def error_rate(self) -> float:
        if not self._outcomes:
            return 0.0
        return 1.0 - sum(self._outcomes) / len(self._outcomes)

    @property
    def alerting(self) -> bool:
        return len(self._outcomes) >= self.min_requests and self.error_rate > self.threshold
