"""Module 16 (Kernels): one matmul four ways, and convolution as im2col + GEMM.

The property-based tests draw matrix shapes (1-wide too), float32 and float64, magnitudes
from 1e-3 to 1e3, block sizes that do and do not divide the shapes, and convolutions with
any batch, channels, image size, rectangular kernels, strides and padding."""

from __future__ import annotations

import numpy as np

from . import check_close, check_dtype, grading_test


def _matmul_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "m": st.integers(1, 7), "k": st.integers(1, 7), "n": st.integers(1, 7),
        "block": st.integers(1, 8), "dtype": h.cases.float_dtypes(h),
        "scale": st.sampled_from([1e-3, 1.0, 1e3]), "seed": h.cases.seeds(h)})


@grading_test(points=2, cases=_matmul_cases)
def matmul_kernels_any_shape(student, case):
    """matmul_loops, matmul_rows and matmul_blocked (any block size) equal a @ b for any
    (m, k) x (k, n) shapes, float32 and float64 (kept), small and large values."""
    rng = np.random.default_rng(case["seed"])
    dtype, scale = np.dtype(case["dtype"]), case["scale"]
    a = (rng.standard_normal((case["m"], case["k"])) * scale).astype(dtype)
    b = (rng.standard_normal((case["k"], case["n"])) * scale).astype(dtype)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    atol = tol * scale * scale * case["k"]
    shapes = f"{a.shape} @ {b.shape} in {dtype}"
    for name, out in (("matmul_loops", student.matmul_loops(a, b)),
                      ("matmul_rows", student.matmul_rows(a, b)),
                      (f"matmul_blocked(block={case['block']})",
                       student.matmul_blocked(a, b, block=case["block"]))):
        check_close(out, expected, f"{name} of {shapes}", rtol=tol, atol=atol)
        check_dtype(out, dtype, f"{name} of {shapes}")


def _conv_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "n": st.integers(1, 2), "c": st.integers(1, 3), "o": st.integers(1, 3),
        "hw": st.tuples(st.integers(1, 7), st.integers(1, 7)),
        "kernel": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        "stride": st.integers(1, 3), "padding": st.integers(0, 2), "bias": st.booleans(),
        "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h)})


@grading_test(points=2, cases=_conv_cases)
def conv_im2col_any_geometry(student, case):
    """im2col rows are the (C, kh, kw) patches in output-pixel order, and conv2d_im2col
    equals the convolution sum for any batch, channels, image, rectangular kernel, stride
    and padding, float32 and float64."""
    rng = np.random.default_rng(case["seed"])
    (kh, kw), stride, pad, dtype = case["kernel"], case["stride"], case["padding"], \
        np.dtype(case["dtype"])
    h, w = (max(side, k - 2 * pad) for side, k in zip(case["hw"], case["kernel"]))
    x = rng.standard_normal((case["n"], case["c"], h, w)).astype(dtype)
    weight = rng.standard_normal((case["o"], case["c"], kh, kw)).astype(dtype)
    bias = rng.standard_normal(case["o"]).astype(dtype) if case["bias"] else None
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).astype(np.float64)
    ho, wo = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    patches = np.stack([xp[:, :, y * stride:y * stride + kh, z * stride:z * stride + kw]
                        for y in range(ho) for z in range(wo)], axis=1)  # (N, Ho*Wo, C, kh, kw)
    label = (f"x {x.shape}, w {weight.shape}, stride {stride}, padding {pad}, {dtype}")
    tol = 1e-5 if dtype == np.float32 else 1e-12
    check_close(student.im2col(xp.astype(dtype), kh, kw, stride),
                patches.reshape(case["n"] * ho * wo, -1), f"im2col of the padded {label}",
                rtol=tol, atol=tol)
    expected = np.einsum("npchw,ochw->nop", patches, weight.astype(np.float64))
    expected = expected.reshape(case["n"], case["o"], ho, wo)
    if bias is not None:
        expected += bias[None, :, None, None]
    check_close(student.conv2d_im2col(x, weight, bias, stride=stride, padding=pad), expected,
                f"conv2d_im2col of {label}", rtol=1e-4 if dtype == np.float32 else 1e-10,
                atol=1e-4 if dtype == np.float32 else 1e-10)


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
