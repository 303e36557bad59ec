"""Every kernel implementation gives the same result as the reference (tiny sizes: speed
is measured by `tito performance kernels` and benchmarks/bench_perf_kernels.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinytorch.perf.kernels import (
    CONV_KERNELS,
    FUSION_KERNELS,
    MATMUL_KERNELS,
    gelu_chunked,
    im2col_bytes,
    kernel_report,
    matmul_blocked,
    row_sums,
    strided_sum,
    transpose_blocked,
    transpose_naive,
)

rng = np.random.default_rng(0)


@pytest.mark.parametrize("name", list(MATMUL_KERNELS))
@pytest.mark.parametrize("m, k, n", [(5, 7, 3), (33, 17, 40), (1, 1, 1)])
def test_matmul_kernels_agree_with_numpy(name, m, k, n):
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    np.testing.assert_allclose(MATMUL_KERNELS[name](a, b), a @ b, rtol=1e-12, atol=1e-12)


def test_blocked_matmul_with_uneven_tiles():
    a, b = rng.standard_normal((19, 23)), rng.standard_normal((23, 11))
    for block in (1, 4, 7, 64):
        np.testing.assert_allclose(matmul_blocked(a, b, block), a @ b, rtol=1e-12, atol=1e-12)


def test_matmul_shape_errors_name_the_kernel():
    with pytest.raises(ValueError, match=r"matmul_loops: shapes \(2, 3\) and \(4, 5\) are not "
                                         r"aligned: 3 != 4"):
        MATMUL_KERNELS["python loops"](np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="block must be"):
        matmul_blocked(np.ones((2, 2)), np.ones((2, 2)), block=0)


@pytest.mark.parametrize("name", list(CONV_KERNELS))
@pytest.mark.parametrize("stride, padding, bias", [(1, 0, False), (2, 1, True), (1, 2, True)])
def test_conv_kernels_agree_with_torch(name, stride, padding, bias):
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4) if bias else None
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b),
        stride=stride, padding=padding).numpy()
    got = CONV_KERNELS[name](x, w, b, stride=stride, padding=padding)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_conv_errors_and_im2col_size():
    with pytest.raises(ValueError, match="3 channels but w expects 2"):
        CONV_KERNELS["direct"](np.ones((1, 3, 5, 5)), np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        CONV_KERNELS["im2col + GEMM"](np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)))
    # 3x3 patches of a 64-channel 32x32 batch of 128, padding 1: 9x the input
    assert im2col_bytes((128, 64, 32, 32), (64, 64, 3, 3), 1, 1) == 9 * 128 * 64 * 32 * 32 * 4


def test_memory_access_kernels_agree():
    a = rng.standard_normal((37, 53))
    np.testing.assert_allclose(row_sums(a), a.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(row_sums(np.asfortranarray(a)), a.sum(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(transpose_naive(a), a.T)
    for block in (1, 8, 64):
        np.testing.assert_array_equal(transpose_blocked(a, block), a.T)
    x = np.arange(100, dtype=np.float64)
    assert strided_sum(x, 16, 6) == sum(range(0, 96, 16))
    assert strided_sum(x, 1, 6) == 15
    with pytest.raises(ValueError, match="need 97 elements, x has 50"):
        strided_sum(x[:50], 16, 7)


@pytest.mark.parametrize("name", list(FUSION_KERNELS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_gelu_agrees_with_torch(name, dtype):
    x = rng.standard_normal((3, 1000)).astype(dtype)
    expected = torch.nn.functional.gelu(torch.from_numpy(x), approximate="tanh").numpy()
    got = FUSION_KERNELS[name](x)
    assert got.dtype == dtype and got.shape == x.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-12)


def test_fused_variants_are_bitwise_equal():
    """Same operations in the same order: fusion changes memory traffic, not arithmetic."""
    x = rng.standard_normal(10_001).astype(np.float32)
    reference = FUSION_KERNELS["unfused"](x)
    for name, fn in FUSION_KERNELS.items():
        np.testing.assert_array_equal(fn(x), reference, err_msg=name)
    np.testing.assert_array_equal(gelu_chunked(x, chunk=7), reference)
    with pytest.raises(TypeError, match="floating"):
        gelu_chunked(np.arange(4))
    for bad in (0, True, 2.5):
        with pytest.raises(ValueError, match="chunk must be a positive int"):
            gelu_chunked(x, chunk=bad)


def test_default_chunk_is_the_library_block_size():
    from tinytorch.core import parallel

    x = rng.standard_normal(3 * 1000 + 1).astype(np.float32)
    with parallel.configured(block_bytes=4000):  # 1,000 float32 a chunk: 4 chunks
        np.testing.assert_array_equal(gelu_chunked(x), gelu_chunked(x, chunk=1000))
        np.testing.assert_array_equal(gelu_chunked(x), FUSION_KERNELS["unfused"](x))


def test_kernel_report_on_one_group():
    results = kernel_report(quick=True, repeats=1, groups=["GELU"])
    assert [r.name for r in results] == ["unfused", "in place", "chunked (fused)"]
    assert results[0].speedup == 1.0
    assert all(r.median_s > 0 and r.speedup > 0 for r in results)
