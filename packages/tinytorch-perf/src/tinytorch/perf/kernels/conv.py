"""2-D convolution three ways: output loops, direct (shift-and-accumulate), im2col + GEMM.

    conv2d_naive(x, w)      a Python loop over output pixels, each a small contraction
    conv2d_direct(x, w)     a loop over the kh*kw kernel offsets, each one big contraction
    conv2d_im2col(x, w)     copy every patch into a matrix, then ONE matrix product

All compute out[n, o, y, x] = sum_{c, i, j} x[n, c, y*s + i, x*s + j] * w[o, c, i, j] (+ b),
cross-correlation as in every deep-learning framework, on NCHW arrays.

What it teaches: the FLOPs are identical, 2 * N * O * Ho * Wo * C * kh * kw. What differs:
- naive: Ho * Wo interpreter iterations, each too small to keep the CPU busy.
- direct: only kh * kw iterations and temporaries the size of one input copy, but kh * kw
  smaller GEMMs, each first copying a strided (non-contiguous) slice of the input.
- im2col: one large, BLAS-shaped GEMM at full speed, paid for with a patch matrix kh * kw
  times the size of the input (`im2col_bytes`). Frameworks (tinytorch-vision included)
  choose im2col because time is usually scarcer than memory.

Systems lesson: the trade of memory for speed. The 3x3 im2col matrix of a 64-channel
32x32 batch of 128 is 9x the input: 302 MB in float32 where the input was 34 MB.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _prepare(op: str, x: np.ndarray, w: np.ndarray, bias, stride: int, padding: int):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{op}: expected x (N, C, H, W) and w (O, C, kh, kw), got shapes "
                         f"{x.shape} and {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"{op}: x has {x.shape[1]} channels but w expects {w.shape[1]}")
    if not isinstance(stride, int) or stride < 1 or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"{op}: stride must be an int >= 1 and padding an int >= 0, got "
                         f"stride={stride!r}, padding={padding!r}")
    if bias is not None and bias.shape != (w.shape[0],):
        raise ValueError(f"{op}: bias must have shape ({w.shape[0]},), got {bias.shape}")
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[2:]
    ho = (x.shape[2] - kh) // stride + 1
    wo = (x.shape[3] - kw) // stride + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"{op}: kernel {(kh, kw)} does not fit the (padded) input "
                         f"{x.shape[2:]}")
    return x, kh, kw, ho, wo


def _add_bias(out: np.ndarray, bias) -> np.ndarray:
    if bias is not None:
        out += bias[None, :, None, None]
    return out


def conv2d_naive(x, w, bias=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """One contraction per output pixel: patch (N, C, kh, kw) . w (O, C, kh, kw) -> (N, O)."""
    x, kh, kw, ho, wo = _prepare("conv2d_naive", x, w, bias, stride, padding)
    out = np.empty((x.shape[0], w.shape[0], ho, wo), dtype=np.result_type(x, w))
    for y in range(ho):
        for z in range(wo):
            patch = x[:, :, y * stride:y * stride + kh, z * stride:z * stride + kw]
            out[:, :, y, z] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return _add_bias(out, bias)


def conv2d_direct(x, w, bias=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Shift and accumulate: for each kernel offset (i, j), out += w[:, :, i, j] applied to
    the input shifted by (i, j): a (C) -> (O) contraction over every output pixel at once.
    Accumulated channels-last (N, Ho, Wo, O), so each contraction is one BLAS call."""
    x, kh, kw, ho, wo = _prepare("conv2d_direct", x, w, bias, stride, padding)
    out = np.zeros((x.shape[0], ho, wo, w.shape[0]), dtype=np.result_type(x, w))
    for i in range(kh):
        for j in range(kw):
            shifted = x[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]
            out += np.tensordot(shifted, w[:, :, i, j], axes=([1], [1]))  # (N, Ho, Wo, O)
    return _add_bias(np.ascontiguousarray(out.transpose(0, 3, 1, 2)), bias)


def im2col(x: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """(N, C, H, W) -> (N*Ho*Wo, C*kh*kw): every patch copied into a row."""
    # BEGIN SOLUTION
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, ho, wo = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
    # END SOLUTION


def conv2d_im2col(x, w, bias=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Patches as a matrix, then a single GEMM with the (C*kh*kw, O) weight matrix."""
    x, kh, kw, ho, wo = _prepare("conv2d_im2col", x, w, bias, stride, padding)
    # BEGIN SOLUTION
    cols = im2col(x, kh, kw, stride)
    out = cols @ w.reshape(w.shape[0], -1).T  # (N*Ho*Wo, O)
    # END SOLUTION
    out = out.reshape(x.shape[0], ho, wo, w.shape[0]).transpose(0, 3, 1, 2)
    return _add_bias(np.ascontiguousarray(out), bias)


def im2col_bytes(x_shape: tuple, w_shape: tuple, stride: int = 1, padding: int = 0,
                 itemsize: int = 4) -> int:
    """Size of the patch matrix conv2d_im2col builds for these shapes."""
    n, c, h, wd = x_shape
    kh, kw = w_shape[2:]
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (wd + 2 * padding - kw) // stride + 1
    return n * ho * wo * c * kh * kw * itemsize


CONV_KERNELS = {
    "output loops": conv2d_naive,
    "direct": conv2d_direct,
    "im2col + GEMM": conv2d_im2col,
}
