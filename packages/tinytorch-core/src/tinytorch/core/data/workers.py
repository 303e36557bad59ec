"""Worker processes: load batches in parallel, as `DataLoader(num_workers=N)` does in PyTorch.

What it teaches: PyTorch's design in miniature. The main process decides the order of the
epoch (the batches of indices), hands batch k to worker k % N through that worker's index
queue, and reads finished batches from one shared result queue. Workers finish out of
order, so the main process keeps a small reorder buffer and yields batch 0, 1, 2, ... in
sequence: the data order is the same for any number of workers. At most
`prefetch_factor * N` batches are in flight, which caps the extra memory.

Systems lessons:
- Processes, not threads: Python code in `__getitem__` (decoding, augmentation) holds the
  GIL, so only separate processes load in parallel. The price is that every batch is
  pickled through a pipe, which is why PyTorch uses shared memory for large tensors.
- Each worker seeds its own generator (`base_seed + worker_id`): with fork, every worker
  would otherwise inherit the same random state and apply the same "random" augmentation.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import queue
import random as py_random
import time
import traceback
from collections.abc import Callable, Iterator

from ..random import manual_seed

_POLL_SECONDS = 0.1


class Fetcher:
    """Turn a batch of indices into a batch: the part of a DataLoader a worker needs."""

    def __init__(self, dataset, collate_fn: Callable, batched: bool):
        self.dataset, self.collate_fn, self.batched = dataset, collate_fn, batched

    def __call__(self, indices):
        if self.batched:
            return self.dataset.__getitems__(indices)
        return self.collate_fn([self.dataset[i] for i in indices.tolist()])


class WorkerFailure:
    """An exception raised in a worker, carried back to the main process."""

    def __init__(self, worker_id: int, error: BaseException):
        self.worker_id = worker_id
        self.text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        try:
            pickle.dumps(error)
            self.error = error
        except Exception:  # an exception that cannot be pickled travels as text
            self.error = None
        self.kind = type(error).__name__

    def reraise(self):
        message = (f"Caught {self.kind} in DataLoader worker process {self.worker_id}. "
                   f"Original traceback:\n{self.text}")
        if self.error is not None:
            raise self.error from RuntimeError(message)
        raise RuntimeError(message)


def _worker_loop(fetch: Fetcher, index_queue, result_queue, worker_id: int, seed: int,
                 worker_init_fn) -> None:
    manual_seed(seed)  # TinyTorch's global generator: transforms draw from it
    py_random.seed(seed)
    if worker_init_fn is not None:
        worker_init_fn(worker_id)
    while True:
        job = index_queue.get()
        if job is None:
            return
        epoch, number, indices = job
        try:
            result_queue.put((epoch, number, fetch(indices)))
        except BaseException as error:
            result_queue.put((epoch, number, WorkerFailure(worker_id, error)))


class WorkerPool:
    """`num_workers` processes that turn batches of indices into batches."""

    def __init__(self, fetch: Fetcher, num_workers: int, base_seed: int, worker_init_fn=None,
                 context=None, timeout: float = 0, prefetch_factor: int = 2):
        if context is None:
            context = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(context) if isinstance(context, str) else context
        self.timeout, self.in_flight = timeout, prefetch_factor * num_workers
        self.results = ctx.Queue()
        self.index_queues = [ctx.Queue() for _ in range(num_workers)]
        self.workers = [
            ctx.Process(target=_worker_loop, daemon=True, name=f"DataLoader-worker-{i}",
                        args=(fetch, q, self.results, i, base_seed + i, worker_init_fn))
            for i, q in enumerate(self.index_queues)
        ]
        for worker in self.workers:
            worker.start()
        self.epoch = 0

    def run(self, batches: list) -> Iterator:
        """Yield the loaded batches in order; workers load up to `in_flight` ahead."""
        self.epoch += 1  # results of an abandoned earlier epoch are recognised and dropped
        jobs = iter(enumerate(batches))
        for _ in range(self.in_flight):
            if not self._send(jobs):
                break
        ready: dict[int, object] = {}
        for wanted in range(len(batches)):
            while wanted not in ready:
                epoch, number, payload = self._receive()
                if epoch == self.epoch:
                    ready[number] = payload
            payload = ready.pop(wanted)
            self._send(jobs)
            if isinstance(payload, WorkerFailure):
                payload.reraise()
            yield payload

    def _send(self, jobs) -> bool:
        job = next(jobs, None)
        if job is None:
            return False
        number, indices = job
        self.index_queues[number % len(self.workers)].put((self.epoch, number, indices))
        return True

    def _receive(self):
        started = time.monotonic()
        while True:
            try:
                return self.results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                pass
            dead = [w for w in self.workers if not w.is_alive()]
            if dead:
                self.close()
                raise RuntimeError(f"DataLoader worker (pid {dead[0].pid}) exited unexpectedly "
                                   f"with exit code {dead[0].exitcode}")
            if self.timeout and time.monotonic() - started > self.timeout:
                self.close()
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                   "waiting for a batch from its workers")

    def close(self) -> None:
        for q in self.index_queues:
            with contextlib.suppress(ValueError, OSError):  # queue already closed
                q.put(None)
        for worker in self.workers:
            worker.join(timeout=1.0)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        self.workers = [w for w in self.workers if w.is_alive()]
