"""A bounded load test: N concurrent clients send a fixed number of requests, then stop.

    report = load_test("http://127.0.0.1:8000", {"inputs": x}, clients=8, requests=400)
    report.throughput, report.p50, report.p99, report.failures

The batch travels as a safetensors body (its own bytes, `wire.encode_request`), as a
client built for tensors sends it; `format="json"` sends the same batch as JSON text.

What it teaches: latency under load is not latency alone. With one request in flight
p50 is the model's time; with 8 clients sharing one inference lock each request also
waits for up to 7 others, so p50 grows while throughput stays near 1 / model time: the
server is saturated, and adding clients only adds queueing (Little's law:
in-flight = throughput x latency).

The clients run in a process of their own (`separate_process=True`, the default), as any
load generator does: Python threads share one interpreter lock, so client threads inside
the server's process would spend the server's time sending requests and reading answers.
And the clients are light: the standard library's `http.client` on one kept-alive
connection per thread, ~0.4 ms of CPU per request where httpx took ~4 ms, because on a
small machine every millisecond a client spends is one the server cannot
(benchmarks/bench_serving.py, 2-core development machine, 2026-12-01: milestone 05's int8
CNN served 140 requests/s of batch 8 to clients in their own process and 117 to the same
clients in the server's process). The child is started with `spawn`, so a script that
calls this needs an `if __name__ == "__main__":` guard, as every multiprocessing program
does.

The test is bounded twice, by request count and by `max_seconds`, and only ever targets
the URL it is given (the tests and the milestone use 127.0.0.1).
"""

from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

import numpy as np

from .wire import encode_request


@dataclass
class LoadTestReport:
    clients: int
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False, default_factory=list)
    status_counts: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def failures(self) -> int:
        return sum(n for status, n in self.status_counts.items() if status != 200) + \
            len(self.errors)

    @property
    def throughput(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    def as_dict(self) -> dict:
        return {"clients": self.clients, "requests": self.requests, "completed": self.completed,
                "failures": self.failures, "seconds": round(self.seconds, 4),
                "throughput_rps": round(self.throughput, 2),
                "p50_ms": round(self.p50 * 1e3, 3), "p99_ms": round(self.p99 * 1e3, 3),
                "status_counts": self.status_counts, "errors": self.errors[:5]}


def load_test(base_url: str, payload: dict, clients: int = 8, requests: int = 200,
              max_seconds: float = 120.0, timeout: float = 30.0,
              token: str | None = None, separate_process: bool = True,
              format: str = "safetensors") -> LoadTestReport:
    """POST `payload` ({"inputs": batch, "return_outputs": bool}) to base_url/predict
    `requests` times from `clients` threads (with `Authorization: Bearer <token>` when a
    token is given), in a process of their own unless `separate_process=False`. `format`
    is the body's: "safetensors" (the batch's dtype and bytes) or "json"."""
    if clients < 1 or requests < 1:
        raise ValueError(f"load_test: clients and requests must be >= 1, got {clients}, "
                         f"{requests}")
    where = urlsplit(base_url) if isinstance(base_url, str) else None
    if where is None or where.scheme not in ("http", "https") or not where.hostname:
        raise ValueError(f"load_test: base_url must be http(s)://host[:port], got "
                         f"{base_url!r:.100}")
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise ValueError(f"load_test: payload must be a dict with 'inputs', got "
                         f"{type(payload).__name__}")
    # encoded once: a load generator must not spend its time re-encoding the same batch
    # for every request
    body, content_type = encode_request(payload["inputs"], payload.get("return_outputs", False),
                                        format)
    arguments = (base_url, body, content_type, clients, requests, max_seconds, timeout, token)
    if not separate_process:
        return run_clients(*arguments)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(run_clients, arguments)


def run_clients(base_url: str, body: bytes, content_type: str, clients: int, requests: int,
                max_seconds: float, timeout: float, token: str | None) -> LoadTestReport:
    """The load test itself, in this process: `clients` threads POST `body` until
    `requests` were sent or `max_seconds` passed."""
    report = LoadTestReport(clients, requests, 0.0)
    lock = threading.Lock()
    issued = [0]
    deadline = time.monotonic() + max_seconds

    def claim() -> bool:
        with lock:
            if issued[0] >= requests or time.monotonic() > deadline:
                return False
            issued[0] += 1
            return True

    where = urlsplit(base_url)
    path = where.path.rstrip("/") + "/predict"
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def record_answer(code: int, elapsed: float) -> None:
        with lock:
            report.status_counts[code] = report.status_counts.get(code, 0) + 1
            if code == 200:
                report.latencies.append(elapsed)

    def record_error(exc: Exception) -> None:
        with lock:
            report.errors.append(f"{type(exc).__name__}: {exc}")

    def client() -> None:
        connection = None  # kept alive between requests, reopened after a failure
        while claim():
            start = time.perf_counter()
            try:
                connection = connection or _connect(where, timeout)
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()  # the whole answer, before the connection is reused
            except (OSError, http.client.HTTPException) as exc:
                record_error(exc)
                if connection is not None:
                    connection.close()
                connection = None
                continue
            record_answer(response.status, time.perf_counter() - start)
            if response.will_close:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max_seconds + timeout)
    report.seconds = time.perf_counter() - start
    return report


def _connect(where: SplitResult, timeout: float) -> http.client.HTTPConnection:
    kind = http.client.HTTPSConnection if where.scheme == "https" else http.client.HTTPConnection
    return kind(where.hostname, where.port, timeout=timeout)
