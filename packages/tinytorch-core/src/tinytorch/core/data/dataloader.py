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

Difference from PyTorch: there are no worker processes (`num_workers`); `prefetch`
gives the same overlap with one thread. In PyTorch, `__getitems__` returns a list of
samples that `collate_fn` then stacks; here, when no `collate_fn` is given, it returns
the already-collated batch, which is what makes it fast.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np

from ..random import Generator, get_rng
from .collate import default_collate

_POLL_SECONDS = 0.05  # how often a blocked producer checks whether the consumer left


class DataLoader:
    """Iterate over `dataset` in batches (mirrors `torch.utils.data.DataLoader`)."""

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, generator: Generator | None = None,
                 collate_fn: Callable | None = None, prefetch: bool | int = False):
        _check_args(dataset, batch_size, shuffle, drop_last, generator, collate_fn, prefetch)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.prefetch = 2 if prefetch is True else int(prefetch)
        # the batched fast path returns collated batches, so only with the default collate
        self._batched_fetch = collate_fn is None and hasattr(dataset, "__getitems__")

    def __len__(self) -> int:
        # BEGIN SOLUTION
        samples = len(self.dataset)
        if self.drop_last:
            return samples // self.batch_size
        return math.ceil(samples / self.batch_size)
        # END SOLUTION

    def __iter__(self) -> Iterator:
        # The order is drawn here, in the caller's thread, so prefetching never changes it.
        batches = map(self._fetch, self._batch_indices())
        if self.prefetch:
            return _prefetched(batches, self.prefetch)
        return iter(batches)

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
                f"drop_last={self.drop_last}, prefetch={self.prefetch})")


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
