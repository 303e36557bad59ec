"""Module 16 (Kernels): one matmul four ways, and convolution as im2col + GEMM."""

from __future__ import annotations

import numpy as np

from . import check_close, grading_test


def _pair(m=7, k=5, n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, k)), rng.standard_normal((k, n))


@grading_test(points=2)
def matmul_loops_is_the_definition(student):
    """matmul_loops (pure Python loops) equals a @ b."""
    a, b = _pair()
    check_close(student.matmul_loops(a, b), a @ b, "matmul_loops(a, b)", rtol=1e-10)


@grading_test(points=1)
def matmul_rows_vectorises_each_row(student):
    """matmul_rows (one broadcast product and sum per row) equals a @ b."""
    a, b = _pair(seed=1)
    check_close(student.matmul_rows(a, b), a @ b, "matmul_rows(a, b)", rtol=1e-10)


@grading_test(points=2)
def matmul_blocked_handles_ragged_tiles(student):
    """matmul_blocked equals a @ b, also when the block size does not divide the shapes."""
    a, b = _pair(m=10, k=9, n=11, seed=2)
    for block in (4, 3, 64):
        check_close(student.matmul_blocked(a, b, block=block), a @ b,
                    f"matmul_blocked(a, b, block={block})", rtol=1e-10)


@grading_test(points=2)
def conv_im2col_matches_definition(student):
    """im2col gives (N*Ho*Wo, C*kh*kw) patches; conv2d_im2col equals the convolution sum."""
    rng = np.random.default_rng(3)
    x, w, bias = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), \
        rng.standard_normal(4)
    cols = student.im2col(x, 3, 2, 2)
    assert cols.shape == (2 * 3 * 3, 3 * 3 * 2), f"im2col shape {cols.shape}"
    check_close(cols[0], x[0, :, 0:3, 0:2].reshape(-1), "the first patch row")
    out = student.conv2d_im2col(x, w, bias, stride=2, padding=1)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ho, wo = (9 - 3) // 2 + 1, (8 - 2) // 2 + 1
    expected = np.zeros((2, 4, ho, wo))
    for y in range(ho):
        for z in range(wo):
            patch = xp[:, :, 2 * y:2 * y + 3, 2 * z:2 * z + 2]
            expected[:, :, y, z] = np.einsum("nchw,ochw->no", patch, w) + bias
    check_close(out, expected, "conv2d_im2col(stride=2, padding=1)", rtol=1e-9)
