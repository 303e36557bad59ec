"""Memory access patterns: the same work on the same bytes, in a cache-friendly or a
cache-hostile order.

    row_sums(a)                 sum each row, one row at a time
    transpose_naive(a)          out = a.T, copied element order of the output
    transpose_blocked(a)        the same copy, tile by tile
    strided_sum(x, stride, n)   n elements taken every `stride` elements

What it teaches: memory moves in cache lines of 64 bytes. Reading a row of a C-ordered
(row-major) matrix touches consecutive addresses: every byte of every line is used.
Reading a row of a Fortran-ordered copy of the same matrix jumps a whole column's worth
of bytes per element: each element costs a full cache line, 8x (float64) or 16x
(float32) the traffic for the same result. `row_sums` on `np.asfortranarray(a)` returns
the same numbers, slower.

Transposing is the classic case where one side must be strided: reading rows means
writing columns. Copying in tiles that fit in cache keeps both sides' lines hot.

Systems lesson: strides are the whole story. `a.strides` tells you how far apart, in
bytes, consecutive elements along each axis are; contiguous inner loops are fast loops.
"""

from __future__ import annotations

import numpy as np


def row_sums(a: np.ndarray) -> np.ndarray:
    """Sum each row separately (a loop over rows, each row summed by numpy).

    On a C-ordered array each row is contiguous; on a Fortran-ordered one it is strided by
    the column length, so the same loop reads memory in the worst order."""
    if a.ndim != 2:
        raise ValueError(f"row_sums: expected a 2-D array, got shape {a.shape}")
    out = np.empty(a.shape[0], dtype=a.dtype)
    for i in range(a.shape[0]):
        out[i] = a[i].sum()
    return out


def transpose_naive(a: np.ndarray) -> np.ndarray:
    """Copy a.T into a new C-ordered array: contiguous writes, column-strided reads."""
    if a.ndim != 2:
        raise ValueError(f"transpose_naive: expected a 2-D array, got shape {a.shape}")
    out = np.empty((a.shape[1], a.shape[0]), dtype=a.dtype)
    for i in range(a.shape[1]):
        out[i] = a[:, i]
    return out


def transpose_blocked(a: np.ndarray, block: int = 64) -> np.ndarray:
    """The same copy in (block x block) tiles: each tile's source and destination lines
    stay in cache while they are used."""
    if a.ndim != 2:
        raise ValueError(f"transpose_blocked: expected a 2-D array, got shape {a.shape}")
    if not isinstance(block, int) or block < 1:
        raise ValueError(f"transpose_blocked: block must be a positive int, got {block!r}")
    out = np.empty((a.shape[1], a.shape[0]), dtype=a.dtype)
    for i in range(0, a.shape[0], block):
        for j in range(0, a.shape[1], block):
            out[j:j + block, i:i + block] = a[i:i + block, j:j + block].T
    return out


def strided_sum(x: np.ndarray, stride: int, count: int) -> float:
    """Sum `count` elements of the 1-D array `x` taken every `stride` elements.

    With float32 and stride 16 every element sits on its own cache line: the same number
    of additions as stride 1, but 16x the bytes pulled from memory."""
    if x.ndim != 1:
        raise ValueError(f"strided_sum: expected a 1-D array, got shape {x.shape}")
    if not isinstance(stride, int) or stride < 1 or count < 0 or (count - 1) * stride >= x.size:
        raise ValueError(f"strided_sum: {count} elements at stride {stride} need "
                         f"{(count - 1) * stride + 1} elements, x has {x.size}")
    return float(x[: count * stride : stride].sum())
