"""Unfold (im2col) and Fold (col2im) as differentiable ops: each is the other's backward.

What it teaches: `unfold` copies every sliding patch into a column, giving PyTorch's
(N, C*kh*kw, L) layout (L = number of patch positions); `fold` sums columns back onto
an image. They are adjoint linear maps: <unfold(x), y> = <x, fold(y)> for all x, y,
so the backward of one is the forward of the other. Conv2d uses the same two kernels
(im2col.py) without the PyTorch layout shuffle.

Systems lesson: unfold's output is kh*kw times larger than its input; fold reads that
much and writes one image, adding overlapping patches (kh*kw vectorized adds).
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import Function
from tinytorch.core.cost import FREE, Cost, sum_back

from .. import im2col as spatial


class Unfold(Function):
    @staticmethod
    def forward(ctx, x, *, kernel, stride, pads, dilation):
        ctx.geometry = (x.shape, kernel, stride, pads, dilation)
        return _unfold(x, kernel, stride, pads, dilation)

    @staticmethod
    def backward(ctx, grad):
        x_shape, kernel, stride, pads, dilation = ctx.geometry
        return _fold(grad, x_shape, kernel, stride, pads, dilation)

    @staticmethod
    def cost(call, grads=None):
        return Cost(0) if grads is None else sum_back(call, grads)


class Fold(Function):
    @staticmethod
    def forward(ctx, cols, *, image_shape, kernel, stride, pads, dilation):
        ctx.geometry = (kernel, stride, pads, dilation)
        return _fold(cols, image_shape, kernel, stride, pads, dilation)

    @staticmethod
    def backward(ctx, grad):
        kernel, stride, pads, dilation = ctx.geometry
        return _unfold(grad, kernel, stride, pads, dilation)

    @staticmethod
    def cost(call, grads=None):
        if grads is None:  # col2im adds the overlapping patches
            return Cost(call.arrays[0].size - call.out.size)
        return FREE


def _unfold(x, kernel, stride, pads, dilation) -> np.ndarray:
    """(N, C, H, W) -> (N, C*kh*kw, L), columns ordered (c, i, j) as in PyTorch."""
    n, c = x.shape[:2]
    x_padded = spatial.pad_nhwc(x, pads)
    out_hw = spatial.output_hw(x_padded.shape[1:3], kernel, stride, dilation)
    cols = spatial.im2col(x_padded, kernel, stride, dilation, out_hw)
    positions = out_hw[0] * out_hw[1]
    cols = cols.reshape(n, positions, kernel[0], kernel[1], c).transpose(0, 4, 2, 3, 1)
    return np.ascontiguousarray(cols).reshape(n, c * kernel[0] * kernel[1], positions)


def _fold(cols, image_shape, kernel, stride, pads, dilation) -> np.ndarray:
    """(N, C*kh*kw, L) -> (N, C, H, W): every column summed back onto its patch."""
    n, c, h, w = image_shape
    (top, bottom), (left, right) = pads
    padded_shape = (n, h + top + bottom, w + left + right, c)
    out_hw = spatial.output_hw(padded_shape[1:3], kernel, stride, dilation)
    patches = cols.reshape(n, c, kernel[0], kernel[1], -1).transpose(0, 4, 2, 3, 1)
    patches = patches.reshape(n * out_hw[0] * out_hw[1], 1, -1)
    grad_padded = spatial.col2im(patches, padded_shape, kernel, stride, dilation, out_hw)
    return spatial.as_nchw(spatial.crop(grad_padded, pads, (h, w)))
