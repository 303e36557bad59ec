"""Module 07 (Spatial): output sizes, patch views, im2col and its adjoint col2im.

The property-based tests draw any geometry: batch and channels, image heights and widths,
rectangular kernels, different strides and dilations along the two axes, padding, in
float32 and float64, and compare with the definitions written as loops here."""

from __future__ import annotations

import numpy as np

from . import check_close, check_equal, grading_test


def _geometry_cases(h):
    st = h.st
    two = st.tuples
    return st.fixed_dictionaries({
        "n": st.integers(1, 2), "c": st.integers(1, 3),
        "hw": two(st.integers(1, 7), st.integers(1, 7)),
        "kernel": two(st.integers(1, 3), st.integers(1, 3)),
        "stride": two(st.integers(1, 3), st.integers(1, 3)),
        "dilation": two(st.integers(1, 2), st.integers(1, 2)),
        "padding": two(st.integers(0, 2), st.integers(0, 2)),
        "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h)})


def _geometry(case):
    """A padded NHWC input the kernel fits in (the image grows to fit the dilated kernel)."""
    kernel, stride, dilation = case["kernel"], case["stride"], case["dilation"]
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    hw = [max(side, r - 2 * p) for side, r, p in zip(case["hw"], reach, case["padding"])]
    x = np.random.default_rng(case["seed"]).standard_normal(
        (case["n"], case["c"], *hw)).astype(case["dtype"])
    pads = tuple((p, p) for p in case["padding"])
    padded = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), *pads, (0, 0)))
    out_hw = tuple((p - r) // s + 1 for p, r, s in zip(padded.shape[1:3], reach, stride))
    return padded, kernel, stride, dilation, out_hw


def _label(padded, kernel, stride, dilation):
    return (f"padded input {padded.shape[1:3]}, kernel {kernel}, stride {stride}, "
            f"dilation {dilation}")


@grading_test(points=1, cases=_geometry_cases)
def output_size_of_any_geometry(student, case):
    """output_hw is (padded - dilation*(k-1) - 1) // stride + 1 along each axis, for
    rectangular kernels and different strides and dilations per axis."""
    padded, kernel, stride, dilation, out_hw = _geometry(case)
    got = student.output_hw(padded.shape[1:3], kernel, stride, dilation)
    check_equal([int(v) for v in got], list(out_hw), "output_hw of " +
                _label(padded, kernel, stride, dilation))


@grading_test(points=2, cases=_geometry_cases)
def windows_of_any_geometry(student, case):
    """windows(...)[:, y, x, i, j] is the input pixel at (y*stride + i*dilation,
    x*stride + j*dilation) of every image and channel, per axis, for any geometry."""
    padded, kernel, stride, dilation, out_hw = _geometry(case)
    patches = student.windows(padded, kernel, stride, dilation, out_hw)
    expected = np.empty((padded.shape[0], *out_hw, *kernel, padded.shape[3]), padded.dtype)
    for y, x, i, j in np.ndindex(*out_hw, *kernel):
        expected[:, y, x, i, j] = padded[:, y * stride[0] + i * dilation[0],
                                         x * stride[1] + j * dilation[1]]
    check_close(patches, expected, "windows of " + _label(padded, kernel, stride, dilation))


@grading_test(points=2, cases=_geometry_cases)
def col2im_of_any_geometry(student, case):
    """col2im adds every patch gradient back onto the pixel it was read from (overlaps
    add up, skipped pixels stay 0), for any geometry and both float dtypes."""
    padded, kernel, stride, dilation, out_hw = _geometry(case)
    n, c = padded.shape[0], padded.shape[3]
    grads = np.random.default_rng(case["seed"] + 1).standard_normal(
        (n, *out_hw, *kernel, c)).astype(padded.dtype)
    expected = np.zeros(padded.shape)
    for y, x, i, j in np.ndindex(*out_hw, *kernel):
        expected[:, y * stride[0] + i * dilation[0], x * stride[1] + j * dilation[1]] += \
            grads[:, y, x, i, j]
    cols = grads.reshape(n * out_hw[0] * out_hw[1], 1, -1)  # im2col's layout, one group
    back = student.col2im(cols, padded.shape, kernel, stride, dilation, out_hw)
    check_close(back, expected, "col2im of " + _label(padded, kernel, stride, dilation),
                rtol=1e-5, atol=1e-5)


def _image(n=2, c=3, h=6, w=5, seed=0):
    return np.random.default_rng(seed).standard_normal((n, c, h, w))


@grading_test(points=1)
def output_size_formula(student):
    """output_hw: (padded - dilation*(k-1) - 1) // stride + 1 along each axis."""
    for padded, kernel, stride, dilation, expected in (((32, 32), (3, 3), (1, 1), (1, 1),
                                                        (30, 30)),
                                                       ((7, 9), (3, 2), (2, 3), (1, 1), (3, 3)),
                                                       ((10, 10), (3, 3), (1, 1), (2, 2),
                                                        (6, 6))):
        got = tuple(student.output_hw(padded, kernel, stride, dilation))
        assert got == expected, (f"output_hw({padded}, kernel={kernel}, stride={stride}, "
                                 f"dilation={dilation}) should be {expected}, got {got}")


@grading_test(points=2)
def windows_are_the_patches(student):
    """windows(x, ...)[n, y, x] is the (kh, kw, C) patch at output pixel (y, x), as a view."""
    x = student.to_nhwc(_image())
    kernel, stride, dilation = (3, 2), (2, 1), (1, 2)
    out_hw = student.output_hw(x.shape[1:3], kernel, stride, dilation)
    patches = student.windows(x, kernel, stride, dilation, out_hw)
    assert patches.shape == (2, *out_hw, 3, 2, 3), f"patch view shape {patches.shape}"
    assert np.shares_memory(patches, x), "windows must be a view of the input (no copy)"
    for y in range(out_hw[0]):
        for z in range(out_hw[1]):
            expected = x[:, y * 2:y * 2 + 3, z:z + 3:2, :]
            check_close(patches[:, y, z], expected, f"patch at output pixel ({y}, {z})")


@grading_test(points=2)
def convolution_through_im2col(student):
    """im2col + one matmul computes the same convolution as the definition, and the
    column matrix is kh*kw times the (padded) input."""
    x, w = _image(), np.random.default_rng(1).standard_normal((4, 3, 3, 3))
    pads = student.symmetric((1, 1))
    padded = student.pad_nhwc(x, pads)
    out_hw = student.output_hw(padded.shape[1:3], (3, 3), (1, 1), (1, 1))
    cols = student.im2col(padded, (3, 3), (1, 1), (1, 1), out_hw)
    assert cols.nbytes == 9 * x.nbytes, "3x3, stride 1, same padding: 9 copies of each pixel"
    w_mat = w.transpose(2, 3, 1, 0).reshape(27, 4)  # rows ordered (kh, kw, C) like the patches
    out = (cols.reshape(-1, 27) @ w_mat).reshape(2, *out_hw, 4).transpose(0, 3, 1, 2)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.zeros((2, 4, 6, 5))
    for i in range(3):
        for j in range(3):
            expected += np.einsum("nchw,oc->nohw", xp[:, :, i:i + 6, j:j + 5], w[:, :, i, j])
    check_close(out, expected, "convolution via im2col", rtol=1e-6, atol=1e-9)


@grading_test(points=2)
def col2im_is_the_adjoint(student):
    """<im2col(x), y> == <x, col2im(y)>: col2im adds overlapping patches back (the
    backward of im2col), for strides and dilations that make patches overlap or skip."""
    rng = np.random.default_rng(2)
    for kernel, stride, dilation in (((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (1, 2))):
        x = rng.standard_normal((2, 7, 8, 3))
        out_hw = student.output_hw(x.shape[1:3], kernel, stride, dilation)
        cols = student.im2col(x, kernel, stride, dilation, out_hw)
        y = rng.standard_normal(cols.shape)
        back = student.col2im(y, x.shape, kernel, stride, dilation, out_hw)
        assert back.shape == x.shape, f"col2im should return {x.shape}, got {back.shape}"
        left, right = float((cols * y).sum()), float((x * back).sum())
        assert abs(left - right) < 1e-8 * max(1.0, abs(left)), \
            f"<im2col(x), y> = {left:.6f} but <x, col2im(y)> = {right:.6f} " \
            f"(kernel {kernel}, stride {stride}, dilation {dilation})"
