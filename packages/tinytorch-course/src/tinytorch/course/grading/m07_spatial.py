"""Module 07 (Spatial): output sizes, patch views, im2col and its adjoint col2im."""

from __future__ import annotations

import numpy as np

from . import check_close, grading_test


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
