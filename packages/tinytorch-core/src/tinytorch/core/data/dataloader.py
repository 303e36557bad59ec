"""DataLoader: batches, shuffling and background prefetch.

What it teaches: a training loop wants batches, a dataset offers samples. The loader
draws an order of indices (a fresh random permutation per epoch when `shuffle=True`),
cuts it into batches of `batch_size`, and turns each group of indices into one batch.
Seeding the generator replays the exact same order, which is what makes a run
reproducible.

Systems lessons:
- Vectorized batching: when the dataset can gather a batch at once (`__getitems__`,
  e.g. TensorDataset), one fancy index replaces `batch_size` Python calls plus a stack.
- Overlap: with `prefetch=k` a background thread prepares up to k batches while the
  model trains on the current one, hiding loading time behind compute (numpy releases
  the GIL during copies and BLAS calls, so a thread is enough for in-memory data).
  The queue bound k caps the extra memory at k batches.

- Parallel loading: `num_workers=N` loads batches in N worker processes (see workers.py),
  for datasets whose `__getitem__` is Python-heavy (decoding, augmentation).

PyTorch's arguments are all accepted: `sampler`, `batch_sampler`, `num_workers`,
`worker_init_fn`, `prefetch_factor`, `persistent_workers`, `timeout`, and `pin_memory`
(a no-op: page-locked memory only speeds up copies to a GPU). Difference from PyTorch:
in PyTorch, `__getitems__` returns a list of samples that `collate_fn` then stacks; here,
when no `collate_fn` is given, it returns the already-collated batch, which is what makes
it fast. `prefetch=k` (TinyTorch's own) overlaps loading with one background thread.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np

from ..random import Generator, get_rng
from .collate import default_collate
from .workers import Fetcher, WorkerPool

_POLL_SECONDS = 0.05  # how often a blocked producer checks whether the consumer left


class DataLoader:
    """Iterate over `dataset` in batches (mirrors `torch.utils.data.DataLoader`)."""

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None,
                 multiprocessing_context=None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", prefetch: bool | int = False):
        shuffle = False if shuffle is None else shuffle
        _check_sampling(batch_size, shuffle, sampler, batch_sampler, drop_last)
        _check_args(dataset, batch_size, shuffle, drop_last, generator, collate_fn, prefetch)
        _check_workers(num_workers, prefetch_factor, persistent_workers, timeout,
                       worker_init_fn)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.prefetch = 2 if prefetch is True else int(prefetch)
        self.num_workers, self.timeout = num_workers, timeout
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, multiprocessing_context
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory = pin_memory  # accepted; nothing to pin without a GPU
        self._pool: WorkerPool | None = None
        # the batched fast path returns collated batches, so only with the default collate
        self._batched_fetch = collate_fn is None and hasattr(dataset, "__getitems__")

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        if self.sampler is not None:
            return _batches_of(len(self.sampler), self.batch_size, self.drop_last)
        # BEGIN SOLUTION
        samples = len(self.dataset)
        if self.drop_last:
            return samples // self.batch_size
        return math.ceil(samples / self.batch_size)
        # END SOLUTION

    def __iter__(self) -> Iterator:
        # The order is drawn here, in the caller's thread, so neither prefetching nor the
        # number of workers ever changes it.
        order = self._epoch_batches()
        if self.num_workers:
            return self._from_workers(order)
        batches = map(self._fetch, order)
        if self.prefetch:
            return _prefetched(batches, self.prefetch)
        return iter(batches)

    def _epoch_batches(self) -> list[np.ndarray]:
        if self.batch_sampler is not None:
            return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]
        if self.sampler is not None:
            order = np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
            stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
            return [order[start:start + self.batch_size]
                    for start in range(0, stop, self.batch_size)]
        return self._batch_indices()

    def _from_workers(self, order: list) -> Iterator:
        pool = self._pool
        if pool is None:
            base_seed = int(get_rng(self.generator).integers(0, 2**31))
            pool = WorkerPool(Fetcher(self.dataset, self.collate_fn, self._batched_fetch),
                              self.num_workers, base_seed, self.worker_init_fn,
                              self.multiprocessing_context, self.timeout, self.prefetch_factor)
            if self.persistent_workers:
                self._pool = pool
        try:
            yield from pool.run(order)
        finally:
            if not self.persistent_workers:
                pool.close()

    def __del__(self):
        if getattr(self, "_pool", None) is not None:
            self._pool.close()

    def _batch_indices(self) -> list[np.ndarray]:
        # BEGIN SOLUTION
        samples = len(self.dataset)
        order = get_rng(self.generator).permutation(samples) if self.shuffle \
            else np.arange(samples)
        stop = samples - samples % self.batch_size if self.drop_last else samples
        return [order[start:start + self.batch_size]
                for start in range(0, stop, self.batch_size)]
        # END SOLUTION

    def _fetch(self, indices: np.ndarray):
        if self._batched_fetch:
            return self.dataset.__getitems__(indices)
        return self.collate_fn([self.dataset[i] for i in indices.tolist()])

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, num_workers={self.num_workers}, "
                f"prefetch={self.prefetch})")


# ---------------------------------------------------------------- background prefetch

_BATCH, _END, _ERROR = "batch", "end", "error"


def _prefetched(batches: Iterator, depth: int) -> Iterator:
    """Yield from `batches`, computed up to `depth` ahead by a background thread.

    An exception raised while loading is re-raised here, in the consumer, with its
    original traceback. Leaving the loop early (break, an exception in the training
    step, or dropping the iterator) stops the thread and joins it.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(batches, slots, stop),
                              name="DataLoader-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, payload = slots.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise payload
            yield payload
    finally:
        stop.set()
        worker.join()


def _produce(batches: Iterator, slots: queue.Queue, stop: threading.Event) -> None:
    try:
        for batch in batches:
            if not _put(slots, (_BATCH, batch), stop):
                return
        _put(slots, (_END, None), stop)
    except BaseException as error:  # handed to the consumer, not swallowed
        _put(slots, (_ERROR, error), stop)


def _put(slots: queue.Queue, item, stop: threading.Event) -> bool:
    """Put `item`, waiting for space; give up (False) once the consumer has stopped."""
    while not stop.is_set():
        try:
            slots.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


# ---------------------------------------------------------------- argument checks


def _batches_of(samples: int, batch_size: int, drop_last: bool) -> int:
    return samples // batch_size if drop_last else math.ceil(samples / batch_size)


def _check_sampling(batch_size, shuffle, sampler, batch_sampler, drop_last) -> None:
    """PyTorch's rules: batch_sampler excludes the other batching options, sampler shuffle."""
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                      or drop_last):
        raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                         "batch_size, shuffle, sampler, and drop_last")
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    for name, given in (("sampler", sampler), ("batch_sampler", batch_sampler)):
        if given is not None and not hasattr(given, "__iter__"):
            raise TypeError(f"DataLoader: {name} must be iterable, got {type(given).__name__}")


def _check_workers(num_workers, prefetch_factor, persistent_workers, timeout,
                   worker_init_fn) -> None:
    if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
            or num_workers < 0:
        raise ValueError(f"DataLoader: num_workers option should be non-negative; use "
                         f"num_workers=0 to disable multiprocessing, got {num_workers!r}")
    if num_workers == 0 and (prefetch_factor is not None or persistent_workers):
        raise ValueError("DataLoader: prefetch_factor and persistent_workers need "
                         "num_workers > 0")
    if prefetch_factor is not None and (not isinstance(prefetch_factor, int)
                                        or prefetch_factor < 1):
        raise ValueError(f"DataLoader: prefetch_factor must be a positive int, got "
                         f"{prefetch_factor!r}")
    if not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if worker_init_fn is not None and not callable(worker_init_fn):
        raise TypeError("DataLoader: worker_init_fn must be callable")


def _check_args(dataset, batch_size, shuffle, drop_last, generator, collate_fn,
                prefetch) -> None:
    if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
        raise TypeError(f"DataLoader: dataset must define __getitem__ and __len__, got "
                        f"{type(dataset).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size <= 0:
        raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
    for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
        if not isinstance(flag, bool):
            raise TypeError(f"DataLoader: {name} must be a bool, got {flag!r}")
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"DataLoader: generator must be a tinytorch.core.Generator or None, "
                        f"got {type(generator).__name__}")
    if collate_fn is not None and not callable(collate_fn):
        raise TypeError(f"DataLoader: collate_fn must be callable or None, got "
                        f"{type(collate_fn).__name__}")
    if not isinstance(prefetch, (bool, int, np.integer)) or prefetch < 0:
        raise ValueError(f"DataLoader: prefetch must be False or a number of batches >= 1 to "
                         f"prepare ahead, got {prefetch!r}")
