"""Matrix multiplication four ways, from Python loops to BLAS: the same answer, 1000x apart.

    matmul_loops(a, b)      three nested Python loops: the definition, one FLOP at a time
    matmul_rows(a, b)       one row of C per step, vectorised with numpy broadcasting
    matmul_blocked(a, b)    tiles of C from tiles of A and B that fit in cache
    matmul_blas(a, b)       numpy's `@`: a tuned BLAS (OpenBLAS/MKL/Accelerate)

What it teaches: C[i, j] = sum_p A[i, p] B[p, j] costs 2*m*k*n FLOPs however it is
written; what changes is how much of the machine each version uses.
- Loops: every multiply-add goes through the interpreter (~50-100 ns each).
- Rows: numpy does the inner work in C, but each row builds a (k, n) temporary,
  so every element of B is streamed from memory once per row of A.
- Blocked: the tile temporaries fit in cache, so B's tiles are reused from cache; but
  each tile is one more trip through the interpreter, so in numpy it beats "rows" only
  once a row's (k, n) temporary no longer fits in the L2 cache. Measure both.
- BLAS: blocking for every cache level, SIMD (AVX/NEON) FMAs and all cores.

Systems lesson: arithmetic intensity. A tiled matmul reuses each loaded number
O(tile) times, which is how a matmul, unlike an elementwise op, can run at the
CPU's peak rather than at memory speed.
"""

from __future__ import annotations

import numpy as np


def _check(op: str, a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{op}: expected two 2-D arrays, got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} are not aligned: "
                         f"{a.shape[1]} != {b.shape[0]}")


def matmul_loops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The definition, in pure Python loops (use tiny sizes: it is ~10^4x slower than BLAS)."""
    _check("matmul_loops", a, b)
    m, k = a.shape
    n = b.shape[1]
    rows_a, rows_b = a.tolist(), b.tolist()  # Python floats: no numpy call per element
    out = [[0.0] * n for _ in range(m)]
    # BEGIN SOLUTION
    for i in range(m):
        row_a, row_out = rows_a[i], out[i]
        for p in range(k):
            a_ip, row_b = row_a[p], rows_b[p]
            for j in range(n):
                row_out[j] += a_ip * row_b[j]
    # END SOLUTION
    return np.array(out, dtype=np.result_type(a, b))


def matmul_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C[i] = sum_p A[i, p] * B[p]: one broadcast multiply and one sum per row of A."""
    _check("matmul_rows", a, b)
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    # BEGIN SOLUTION
    for i in range(a.shape[0]):
        np.sum(a[i, :, None] * b, axis=0, out=out[i])
    # END SOLUTION
    return out


def matmul_blocked(a: np.ndarray, b: np.ndarray, block: int = 64) -> np.ndarray:
    """Tiled: C[I, J] += A[I, P] @ B[P, J] per (block x block) tile, each tile product
    vectorised with broadcasting (no BLAS), so the working set stays in cache."""
    _check("matmul_blocked", a, b)
    if not isinstance(block, int) or block < 1:
        raise ValueError(f"matmul_blocked: block must be a positive int, got {block!r}")
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(a, b))
    # BEGIN SOLUTION
    for i in range(0, m, block):
        for p in range(0, k, block):
            tile_a = a[i:i + block, p:p + block, None]  # (bi, bp, 1)
            for j in range(0, n, block):
                tile_b = b[p:p + block, j:j + block]  # (bp, bj)
                out[i:i + block, j:j + block] += (tile_a * tile_b).sum(axis=1)
    # END SOLUTION
    return out


def matmul_blas(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """numpy's matmul: one call into the BLAS library (sgemm/dgemm)."""
    _check("matmul_blas", a, b)
    return a @ b


MATMUL_KERNELS = {
    "python loops": matmul_loops,
    "vectorized rows": matmul_rows,
    "blocked": matmul_blocked,
    "BLAS": matmul_blas,
}
