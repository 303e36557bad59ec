"""Keeping freed memory for reuse: why a fresh large array costs page faults.

    import tinytorch.core                     # turns it on (TINYTORCH_KEEP_FREED_MEMORY=0: off)
    tinytorch.core.allocator.keeping_freed_memory()   # True on Linux with glibc

What it teaches: every numpy array's memory comes from the C allocator (glibc's malloc on
Linux). By default glibc serves a large request with a fresh mapping from the kernel
(mmap) and gives it back when the array is freed (munmap), and it also hands back memory
freed at the top of its heap. A training step allocates and frees the same large
temporaries on every iteration (activations, im2col columns, gradients), so every step
asks the kernel for the same memory again, and the kernel must map and zero-fill each
4 KB page on first touch: one page fault per page. Measured by
benchmarks/bench_allocator.py on the development machine (2 cores, 2026-12-01): TinyGPT's
training step took ~4,800 page faults and ~10 ms of kernel time per step, milestone 03's
CNN step ~4,100 faults and 42-52 ms.

`keep_freed_memory()` asks glibc (`mallopt`) to serve blocks up to 32 MB from its heap
(the largest it allows) and to keep what is freed: the second step then reuses the first
step's pages (TinyGPT: 2 faults per step, 0.1 ms of kernel time; the CNN: ~50-100 faults
and ~20 ms, from its few arrays above 32 MB). Steps became 1.04-1.16x (TinyGPT) and
1.07-1.14x (CNN) faster in two runs of that benchmark. This is what PyTorch's CUDA caching
allocator does for GPU memory, and why jemalloc or tcmalloc are recommended for PyTorch
on CPU.

Systems lesson: memory "freed" by a program is not free for the next allocation if it
went back to the operating system; the price of keeping it is that the process holds on
to its peak footprint instead of shrinking between steps.
"""

from __future__ import annotations

import ctypes
import os
import sys

ENV_VAR = "TINYTORCH_KEEP_FREED_MEMORY"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 2**31 - 1  # the largest int: never trim the heap

_state = {"kept": False}


def keep_freed_memory() -> bool:
    """Ask the C library to keep freed memory for reuse; True if it agreed.

    Does nothing (False) where the C library has no glibc `mallopt` (macOS, Windows,
    musl): the program runs the same, with the allocator's own policy."""
    if _state["kept"]:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _state["kept"] = (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                      and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    return _state["kept"]


def keeping_freed_memory() -> bool:
    """Whether `keep_freed_memory()` took effect in this process."""
    return _state["kept"]


def keep_freed_memory_unless_disabled() -> bool:
    """What `import tinytorch.core` calls: keep freed memory, unless
    TINYTORCH_KEEP_FREED_MEMORY=0."""
    setting = os.environ.get(ENV_VAR, "1").strip()
    if setting not in ("0", "1"):
        raise ValueError(f"{ENV_VAR} must be 0 or 1, got {setting!r}")
    return keep_freed_memory() if setting == "1" else False
