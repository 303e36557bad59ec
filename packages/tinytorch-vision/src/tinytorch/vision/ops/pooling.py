"""Pooling: max, average and adaptive average over spatial windows.

What it teaches: pooling is a convolution whose "dot product" is a max or a mean and
that has no weights. It shrinks the feature map (2x2 windows, stride 2: 4x fewer pixels
for every later layer) and makes features tolerant to small shifts.

How it is vectorized: the windows are the same strided view as in im2col, but instead of
copying them we loop over the kh*kw kernel offsets and combine whole (N, Ho, Wo, C) slabs
with one numpy call each: `np.maximum` for max pooling (remembering which offset won),
`+` for average pooling. Backward uses the same offsets: the gradient of a max goes only
to the winning offset of each window, the gradient of a mean is spread evenly. When the
windows tile the input (2x2, stride 2: a CNN's usual pool), max pooling's backward is
written in the input's own memory order instead (`route_to_tiles`), whole rows at a time.

Systems lessons:
- Max pooling saves one byte per output element (the winning offset, uint8) instead of
  the whole input or a full-size mask: memory for backward is 1/(4*kh*kw) of the input.
- Pooling is memory-bound: it does ~1 comparison per input element loaded, so its speed
  is set by memory bandwidth, not FLOPs. Channels-last slabs keep every access contiguous.
- Adaptive average pooling to an (Ho, Wo) grid is two small matrix products,
  P_h @ x @ P_w^T, where row i of P_h averages the input rows of bin i; the backward is
  the same two matrices transposed.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core import parallel
from tinytorch.core.autograd import Function
from tinytorch.core.cost import Cost, returned

from .. import im2col as spatial


class MaxPool2d(Function):
    """Max over each window; the images of a batch are pooled in blocks on all cores."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, pads, dilation):
        x_padded = spatial.pad_nhwc(x, pads, fill=-np.inf)
        out_hw = spatial.output_hw(x_padded.shape[1:3], kernel, stride, dilation)
        offsets = list(spatial.kernel_offsets(kernel, stride, dilation, out_hw))
        best, winner = window_max(x_padded, offsets, out_hw)
        ctx.save_for_backward(winner)
        ctx.offsets, ctx.kernel = offsets, kernel  # slices: metadata
        ctx.geometry = (x.shape, x_padded.shape, pads, _overlapping(kernel, stride, dilation),
                        windows_tile(x_padded.shape[1:3], kernel, stride, dilation, out_hw))
        return spatial.as_nchw(best)

    @staticmethod
    def backward(ctx, grad):
        x_shape, padded_shape, pads, overlapping, tiles = ctx.geometry
        g = spatial.to_nhwc(grad)
        (winner,) = ctx.saved_tensors
        grad_padded = np.empty(padded_shape, dtype=g.dtype)

        def block(images):
            if tiles:  # every pixel in exactly one window: write it in its own memory order
                return route_to_tiles(g[images], winner[images], ctx.kernel,
                                       out=grad_padded[images])
            grad_padded[images] = 0  # windows overlap or leave pixels out: start from 0
            for k, (_, _, rows, cols) in enumerate(ctx.offsets):
                routed = g[images] * (winner[images] == k)
                if overlapping:
                    grad_padded[images, rows, cols] += routed
                else:  # disjoint windows: each input pixel is written at most once
                    grad_padded[images, rows, cols] = routed

        parallel.for_each_block(block, len(g), grad_padded[0].nbytes)
        return spatial.as_nchw(spatial.crop(grad_padded, pads, x_shape[2:]))

    @staticmethod
    def cost(call, grads=None):
        kh, kw = call.attrs["kernel"]
        if grads is None:
            return Cost(call.out.size * (kh * kw - 1))  # comparisons per window
        return Cost(call.out.size * kh * kw, reads_inputs=False)  # a masked multiply per offset


def window_max(x_padded: np.ndarray, offsets: list, out_hw) -> tuple[np.ndarray, np.ndarray]:
    """(max, index of the offset that won) of every window of a padded NHWC array, each
    (N, Ho, Wo, C); the images are pooled in blocks on all cores."""
    n, c = x_padded.shape[0], x_padded.shape[3]
    best = np.empty((n, *out_hw, c), dtype=x_padded.dtype)
    winner = np.empty(best.shape, dtype=np.uint8 if len(offsets) <= 256 else np.int32)

    def block(images):
        slabs = [x_padded[images, rows, cols] for _, _, rows, cols in offsets]
        np.copyto(best[images], slabs[0])
        for slab in slabs[1:]:
            np.maximum(best[images], slab, out=best[images])
        _first_winner(slabs, best[images], out=winner[images])

    parallel.for_each_block(block, n, x_padded[0].nbytes)
    return best, winner


def _first_winner(slabs: list, best: np.ndarray, out: np.ndarray) -> None:
    """Index of the first offset holding each window's maximum (PyTorch's tie rule).

    Walk the offsets from last to first, overwriting with k wherever slab k equals the max;
    the update `winner -= hit * (winner - k)` is branch-free arithmetic, several times
    faster than a masked copy whose mask is random (the CPU cannot predict it).
    """
    winner = out
    winner[...] = len(slabs) - 1
    for k in range(len(slabs) - 2, -1, -1):
        hit = slabs[k] == best
        winner -= hit * (winner - winner.dtype.type(k))  # uint8 wrap-around is harmless


def route_to_tiles(grad: np.ndarray, winner: np.ndarray, kernel, out: np.ndarray) -> None:
    """Max pool backward for windows that tile the input (kernel == stride, no dilation):
    out (n, Ho*kh, Wo*kw, C) = each window's gradient at the pixel that won, 0 elsewhere.

    The loop over offsets writes each offset's pixels through a strided slice, in runs of
    C numbers (32 for a 32-channel layer), and numpy pays a fixed cost per run. Here the
    gradient and the winners are repeated kw times along the width (cheap block copies),
    compared with every pixel's own offset in its window and multiplied: two passes that
    write `out` in its own memory order, whole rows at a time.
    """
    kh, kw = kernel
    n, ho, wo, c = grad.shape
    width = wo * kw
    offset_of_pixel = np.arange(kh)[:, None] * kw + np.arange(width)[None, :] % kw
    offset_of_pixel = np.ascontiguousarray(np.broadcast_to(
        offset_of_pixel.astype(winner.dtype)[:, :, None], (kh, width, c)))
    won = np.repeat(winner, kw, axis=2)[:, :, None] == offset_of_pixel  # (n, Ho, kh, W, C)
    np.multiply(np.repeat(grad, kw, axis=2)[:, :, None], won,
                out=out.reshape(n, ho, kh, width, c))


def windows_tile(padded_hw, kernel, stride, dilation, out_hw) -> bool:
    """Do the windows cover every padded pixel exactly once (e.g. 2x2, stride 2, even size)?"""
    return dilation == (1, 1) and stride == kernel and \
        all(k * o == p for k, o, p in zip(kernel, out_hw, padded_hw))


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, *, kernel, stride, pads, divisor):
        """`divisor` is an (Ho, Wo) array: how many elements each window averages."""
        x_padded = spatial.pad_nhwc(x, pads)
        out_hw = divisor.shape
        offsets = list(spatial.kernel_offsets(kernel, stride, (1, 1), out_hw))
        total = np.zeros((x.shape[0], *out_hw, x.shape[1]), dtype=x.dtype)
        for _, _, rows, cols in offsets:
            total += x_padded[:, rows, cols]
        scale = (1 / divisor).astype(x.dtype)[:, :, None]
        ctx.save_for_backward(scale)
        ctx.offsets = offsets
        ctx.geometry = (x.shape, x_padded.shape, pads, _overlapping(kernel, stride, (1, 1)))
        return spatial.as_nchw(total * scale)

    @staticmethod
    def backward(ctx, grad):
        x_shape, padded_shape, pads, overlapping = ctx.geometry
        (scale,) = ctx.saved_tensors
        share = spatial.to_nhwc(grad) * scale
        grad_padded = np.zeros(padded_shape, dtype=share.dtype)
        for _, _, rows, cols in ctx.offsets:
            if overlapping:
                grad_padded[:, rows, cols] += share
            else:
                grad_padded[:, rows, cols] = share
        return spatial.as_nchw(spatial.crop(grad_padded, pads, x_shape[2:]))

    @staticmethod
    def cost(call, grads=None):
        kh, kw = call.attrs["kernel"]
        if grads is None:
            return Cost(call.out.size * kh * kw)  # kh*kw - 1 adds and one scale per window
        return Cost(call.out.size * (1 + kh * kw), reads_inputs=False)  # scale, then spread


class AdaptiveAvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, *, pool_h, pool_w):
        """out = pool_h @ x @ pool_w^T over the spatial dims; pool_* are (out, in) matrices."""
        ctx.save_for_backward(pool_h, pool_w)
        if pool_h.shape[0] == 1 and pool_w.shape[0] == 1:  # global average pooling
            return x.mean(axis=(2, 3), keepdims=True)
        rows_pooled = np.einsum("nchw,ih->nciw", x, pool_h, optimize=True)
        return np.einsum("nciw,jw->ncij", rows_pooled, pool_w, optimize=True)

    @staticmethod
    def backward(ctx, grad):
        pool_h, pool_w = ctx.saved_tensors
        if pool_h.shape[0] == 1 and pool_w.shape[0] == 1:
            size = pool_h.shape[1] * pool_w.shape[1]
            shape = grad.shape[:2] + (pool_h.shape[1], pool_w.shape[1])
            return np.broadcast_to(grad / grad.dtype.type(size), shape)
        rows_grad = np.einsum("ncij,jw->nciw", grad, pool_w, optimize=True)
        return np.einsum("nciw,ih->nchw", rows_grad, pool_h, optimize=True)

    @staticmethod
    def cost(call, grads=None):
        x = call.arrays[0]
        n, c, h, w = x.shape
        oh, ow = call.out.shape[2:]
        # a mean, or two small products (rows, then columns, of averaging weights)
        flops = x.size if oh == 1 and ow == 1 else 2 * n * c * oh * h * w + 2 * n * c * oh * ow * w
        if grads is None:
            return Cost(flops)
        return Cost(flops if returned(grads) else 0, reads_inputs=False)


def adaptive_pool_matrix(in_size: int, out_size: int, dtype) -> np.ndarray:
    """(out, in) matrix whose row i averages bin i = [floor(i*in/out), ceil((i+1)*in/out))."""
    i = np.arange(out_size)
    start = (i * in_size) // out_size
    end = -((-(i + 1) * in_size) // out_size)  # ceil division
    position = np.arange(in_size)
    inside = (position >= start[:, None]) & (position < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _overlapping(kernel, stride, dilation) -> bool:
    """Do neighbouring windows share input pixels? (Then backward must add, not assign.)"""
    return any(st < s for st, s in zip(stride, spatial.span(kernel, dilation)))
