"""Dynamic batching: requests that arrive while the model is busy share its next call.

    batcher = Batcher(run=lambda batch: model(Tensor(batch)).array, max_samples=256)
    outputs = batcher(batch)      # from any number of request threads at once

What it teaches: a model call has a fixed cost (Python glue per layer, one BLAS call per
product, whatever the batch) on top of its cost per sample. Measured on milestone 05's
int8 CNN (2 cores): 4.2 ms for a batch of 8 images, 22.5 ms for 64, so 0.53 ms an image
alone and 0.35 in a batch of 64. A server that runs every request alone pays the fixed
cost once per request; this one pays it once per call. There is no timer: a request that
finds the model idle runs at once, so an idle server adds no latency. Under load, requests
queue while the model is busy, and whichever thread runs the model next takes every
waiting request (first come, first served, up to `max_samples` samples) into one call,
then hands each request its own rows of the output.

Systems lessons:
- Throughput against latency: a request may wait for the call in progress before its own
  runs, so it can finish later than it would alone, while the server finishes more
  requests per second.
- Isolation: only requests with the same sample shape and dtype are batched, and if the
  model fails on a combined batch, each of its requests is run again alone, so one
  request's failure never becomes another's.
- Rounding: BLAS may round a sample's numbers differently in a batch of 64 than in a
  batch of 8 (its kernels split the rows differently), so a batched request's outputs can
  differ from the same request run alone in the last bits (the tests check 1e-5).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)
class _Job:
    batch: np.ndarray
    done: bool = False
    outputs: np.ndarray | None = None
    error: BaseException | None = None


class Batcher:
    """Run `run(batch)` for requests from many threads, batching those that wait."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], max_samples: int):
        if isinstance(max_samples, bool) or not isinstance(max_samples, int) \
                or max_samples < 1:
            raise ValueError(f"Batcher: max_samples must be a positive int, got "
                             f"{max_samples!r}")
        self._run, self.max_samples = run, max_samples
        self._queue: deque[_Job] = deque()
        self._busy = False
        self._changed = threading.Condition()
        self.calls = 0  # model calls made, for the metrics (requests / calls = batching)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        job = _Job(batch)
        with self._changed:
            self._queue.append(job)
            while not job.done:
                if self._busy:  # another thread is running the model: it may take us next
                    self._changed.wait()
                    continue
                jobs, self._busy = self._take(), True
                self._changed.release()  # run the model without holding the queue
                try:
                    self._run_jobs(jobs)
                finally:
                    self._changed.acquire()
                    for finished in jobs:
                        if finished.outputs is None and finished.error is None:
                            finished.error = RuntimeError("Batcher: the model call was "
                                                          "interrupted")
                        finished.done = True
                    self._busy = False
                    self._changed.notify_all()
        if job.error is not None:
            raise job.error
        return job.outputs

    def _take(self) -> list[_Job]:
        """The oldest waiting request, and every later one that can join its batch."""
        first = self._queue.popleft()
        jobs, samples, kept = [first], len(first.batch), deque()
        while self._queue:
            job = self._queue.popleft()
            fits = samples + len(job.batch) <= self.max_samples
            if fits and job.batch.shape[1:] == first.batch.shape[1:] \
                    and job.batch.dtype == first.batch.dtype:
                jobs.append(job)
                samples += len(job.batch)
            else:
                kept.append(job)
        self._queue = kept
        return jobs

    def _run_jobs(self, jobs: list[_Job]) -> None:
        if len(jobs) == 1:
            return self._run_alone(jobs[0])
        sizes = [len(job.batch) for job in jobs]
        try:
            outputs = self._call(np.concatenate([job.batch for job in jobs]))
        except Exception:  # the model refused the combined batch: let each request answer
            outputs = None
        if outputs is None or len(outputs) != sum(sizes):
            for job in jobs:
                self._run_alone(job)
            return
        for job, rows in zip(jobs, np.split(outputs, np.cumsum(sizes)[:-1])):
            job.outputs = rows

    def _run_alone(self, job: _Job) -> None:
        try:
            job.outputs = self._call(job.batch)
        except Exception as exc:
            job.error = exc

    def _call(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self._run(batch)
