"""Run memory-bound numpy work on every core: split an array into row blocks, one per task.

    parallel.for_each_block(work, rows, row_bytes)   # work(slice) on each block, in threads
    tinytorch.core.set_num_threads(1)                # back to one core (PyTorch's name)

What it teaches: BLAS already runs a matrix product on all cores, but everything around it
(batch norm, ReLU, pooling, im2col's copy, col2im's adds) is a plain numpy loop on one
core. Those ops are memory-bound: a few operations per number loaded. Two things make them
faster, and one small helper gives both:

- Threads. numpy releases the GIL inside its C loops, so two Python threads that each run
  numpy on half of an array really run at the same time on two cores. Only the Python
  glue between the numpy calls (a few microseconds each) is serialised by the GIL.
- Blocking. A chain of elementwise steps over a 16 MB activation streams 16 MB from main
  memory at every step. Done block by block (half of the core's L2 cache at a time, but
  at least 1 MB), the block stays in the core's caches between the steps, and only the
  first read and the last write touch main memory. This is what a fused GPU kernel does,
  by hand. Blocks can also be too small: each numpy call costs ~1 us of Python glue, so
  a block of a few thousand numbers spends as long in the glue as in the arithmetic.

The blocks are independent rows (for a batch: images, or pixels of a channels-last
array), so each task writes its own slice of a preallocated output and no locks are
needed. A reduction (a sum over the batch) returns one partial result per block, which the
caller adds up: the order of additions changes, so results agree with the one-block
computation to rounding, not bit for bit.

Systems lessons:
- Speed-up is bounded by the memory bus, not only by the core count: two cores rarely
  give 2x on a memory-bound op; blocking often gives more than threads do.
- Threads compete with BLAS's own threads. OpenBLAS keeps its worker threads spinning
  for a while after every matrix product, so on a 2-core machine the second core is
  rarely free for a second pool thread: measured on the development machine (2 cores),
  milestone 03's training step took 244 ms with one pool thread and 330 ms with two, and
  TinyGPT's 88-98 ms against 98-150 ms. That is why the default is one thread (the blocks
  still run, for the cache); `set_num_threads(2)` or TINYTORCH_NUM_THREADS=2 turns the
  pool on, worth it when BLAS runs single-threaded or the machine has cores to spare.
- A task costs ~10-50 microseconds to hand to a thread, so tiny arrays run inline: work
  below `MIN_PARALLEL_BYTES` is never split.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager


def _block_bytes(default: int = 1 << 20) -> int:
    """Half of one core's L2 cache (Linux reports it in sysfs), within [1 MB, 4 MB]: a
    block and the temporaries of a chain of steps on it then stay in (or near) L2, and a
    block is long enough that the Python glue between numpy calls (~1 us a call) is small
    next to the work."""
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index2/size") as report:
            text = report.read().strip()
        size = int(text[:-1]) * {"K": 1 << 10, "M": 1 << 20}[text[-1]]
    except (OSError, ValueError, KeyError, IndexError):
        return default
    return min(max(size // 2, 1 << 20), 4 << 20)


# measured on the development machines: with 2 MB of L2 per core, 1 MB blocks made
# TinyGPT's training step 4-16 % faster than 256 KB blocks (five interleaved A/B runs);
# with 1 MB of L2 per core, 1 MB blocks beat half-L2 (512 KB) ones for both milestone
# steps (TinyGPT ~1-5 %, the CNN ~4 %, 12-20 interleaved rounds), and GELU's erf chain
# ran 10 % faster, while 128 KB blocks made LayerNorm twice as slow: below ~1 MB the
# per-block overhead wins over the cache. Whole-array steps would stream every temporary
# through main memory instead.
BLOCK_BYTES = _block_bytes()
MIN_PARALLEL_BYTES = 1 << 20  # below this, threads cost more than they save

_lock = threading.Lock()
_state = {"threads": None, "pool": None}


def _default_threads() -> int:
    """TINYTORCH_NUM_THREADS if set, else 1 (see the module docstring for why)."""
    configured = os.environ.get("TINYTORCH_NUM_THREADS")
    if configured:
        try:
            value = int(configured)
        except ValueError:
            raise ValueError(f"TINYTORCH_NUM_THREADS must be a positive integer, "
                             f"got {configured!r}") from None
        if value < 1:
            raise ValueError(f"TINYTORCH_NUM_THREADS must be a positive integer, got {value}")
        return value
    return 1


def get_num_threads() -> int:
    """How many threads memory-bound ops use (default 1, or TINYTORCH_NUM_THREADS)."""
    if _state["threads"] is None:
        _state["threads"] = _default_threads()
    return _state["threads"]


def set_num_threads(threads: int) -> None:
    """Use `threads` threads for memory-bound ops (1 = run everything inline)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: threads must be an int >= 1, got {threads!r}")
    with _lock:
        if _state["pool"] is not None and threads != _state["threads"]:
            _state["pool"].shutdown(wait=True)
            _state["pool"] = None
        _state["threads"] = threads


@contextmanager
def configured(threads: int | None = None, block_bytes: int | None = None,
               min_parallel_bytes: int | None = None):
    """Temporarily use other thread and block settings, e.g. to compare the blocked path
    with the one-block reference: `with configured(threads=1, block_bytes=2**60): ...`."""
    global BLOCK_BYTES, MIN_PARALLEL_BYTES
    saved = get_num_threads(), BLOCK_BYTES, MIN_PARALLEL_BYTES
    if threads is not None:
        set_num_threads(threads)
    BLOCK_BYTES = saved[1] if block_bytes is None else block_bytes
    MIN_PARALLEL_BYTES = saved[2] if min_parallel_bytes is None else min_parallel_bytes
    try:
        yield
    finally:
        set_num_threads(saved[0])
        BLOCK_BYTES, MIN_PARALLEL_BYTES = saved[1], saved[2]


def _pool() -> ThreadPoolExecutor:
    with _lock:
        if _state["pool"] is None:
            _state["pool"] = ThreadPoolExecutor(get_num_threads(),
                                                thread_name_prefix="tinytorch")
        return _state["pool"]


def blocks(rows: int, row_bytes: int, block_bytes: int | None = None) -> list[slice]:
    """Split range(rows) into contiguous slices of about `block_bytes` (BLOCK_BYTES) each."""
    block_bytes = BLOCK_BYTES if block_bytes is None else block_bytes
    per_block = max(1, block_bytes // max(1, row_bytes))
    return [slice(start, min(start + per_block, rows)) for start in range(0, rows, per_block)]


def for_each_block(work: Callable[[slice], object], rows: int, row_bytes: int,
                   block_bytes: int | None = None) -> list:
    """Run `work(block)` for row blocks covering range(rows); return the results in order.

    `row_bytes` is how many bytes one row of the largest array involved holds; it sets the
    block size. Small work, one thread, or a call from inside a pool thread runs inline.
    """
    parts = blocks(rows, row_bytes, block_bytes)
    inline = (len(parts) == 1 or rows * row_bytes < MIN_PARALLEL_BYTES
              or get_num_threads() == 1
              or threading.current_thread().name.startswith("tinytorch"))
    if inline:
        return [work(part) for part in parts]
    return list(_pool().map(work, parts))
