"""The 2-D convolution as one differentiable op: im2col + one matmul, and its backward.

What it teaches: with the patches of the input laid out as a matrix `cols`
(N*Ho*Wo, K) (see im2col.py) and the weight as a matrix `w` (K, out), a convolution is

    out = cols @ w (+ bias)              forward
    grad_w = cols^T @ grad_out           the same formula as a Linear layer's weight grad
    grad_cols = grad_out @ w^T           ... and its input grad
    grad_x = col2im(grad_cols)           each patch's gradient flows back to its pixels
                                         (add_patches, one block of images at a time)

So a conv layer is a Linear layer applied to every patch, with the weights shared across
positions. Groups split the channels into independent convolutions: one matmul per group
(a single batched np.matmul), K = kh*kw*C/groups.

Systems lessons:
- FLOPs: forward 2*N*Ho*Wo*K*out; backward 2x that (grad_w and grad_x). Training a conv
  layer costs 3x its forward FLOPs; the first layer skips grad_x (the images need no
  gradient), which is why `needs_input_grad` is checked.
- Memory: `cols` is saved for the weight gradient, kh*kw times the input's size; that
  is the price of turning the convolution into a BLAS call.
- Blocks of images: the batch is processed a few images at a time (`image_blocks`), so
  each block's columns (about 2 MB) are still in cache when the matmul reads them, and
  no temporary is larger than a block. Measured on milestone 03's step: 18-21 % faster
  than whole-batch products, mostly because a whole-batch `grad_cols` (38 MB for the
  second layer) is above the 32 MB that glibc's malloc serves from its heap
  (tinytorch.core.allocator): every step mapped it fresh from the kernel, which cost
  ~35 ms of kernel time a step (page faults on transparent huge pages), more than the
  matmul itself. Blocks change the products' shapes, so results agree with the
  whole-batch ones to rounding (the weight gradient adds one partial sum per block).
- Two column layouts: im2col copies runs of kw*C contiguous numbers, only 9 for the 3x3
  patches of RGB images, and numpy pays a fixed cost per run. For channels-first input
  with few channels, `im2col_channel_major` builds the transposed matrix (C*kh*kw, M)
  instead, copying whole output rows; the products read it transposed. Milestone 03's
  first layer then spends ~1.4 ms of a training step on its columns instead of ~3.2 ms
  (NHWC copy and im2col); curriculum module 16 measures the layer.
- Layout: the output is produced channels-last (NHWC memory, NCHW shape), so the next
  conv, pool or batch norm reads it without a transpose copy.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core import parallel
from tinytorch.core.autograd import Function
from tinytorch.core.cost import weighted_sum

from .. import im2col as spatial


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, pads, dilation, groups):
        n, channels = x.shape[:2]
        out_channels, _, kh, kw = weight.shape
        kernel = (kh, kw)
        channel_major = uses_channel_major(x, kernel, stride, pads, dilation, groups)
        x_padded = np.pad(x, ((0, 0), (0, 0), *pads)) if channel_major else \
            spatial.pad_nhwc(x, pads)
        padded_hw = x_padded.shape[2:] if channel_major else x_padded.shape[1:3]
        out_hw = spatial.output_hw(padded_hw, kernel, stride, dilation)
        w_mat = weight_matrix(weight, groups)
        out = np.empty((n, out_hw[0] * out_hw[1], groups, out_channels // groups),
                       dtype=np.result_type(x, weight))
        blocks = image_blocks(n, w_mat, out_hw, x_padded.itemsize)
        column_blocks = []
        for images in blocks:
            out_block = out[images].reshape(-1, *out.shape[2:])
            if channel_major:  # (K, M) columns, K in (C, kh, kw) order: the weight's own
                cols = spatial.im2col_channel_major(x_padded[images], kernel, stride,
                                                    dilation, out_hw)
                np.matmul(cols.T, weight.reshape(out_channels, -1).T, out=out_block[:, 0])
            else:
                cols = spatial.im2col(x_padded[images], kernel, stride, dilation, out_hw,
                                      groups)
                grouped_matmul(cols, w_mat, out=out_block)
            column_blocks.append(cols)
        out = out.reshape(-1, out_channels)
        if bias is not None:
            out += bias
        ctx.save_for_backward(w_mat, *column_blocks)
        padded_nhwc = (n, *padded_hw, channels)
        ctx.geometry = (x.shape, padded_nhwc, pads, kernel, stride, dilation, out_hw, groups,
                        blocks, channel_major)
        ctx.has_bias = bias is not None
        return spatial.as_nchw(out.reshape(n, out_hw[0], out_hw[1], out_channels))

    @staticmethod
    def backward(ctx, grad):
        (x_shape, padded_shape, pads, kernel, stride, dilation, out_hw, groups,
         blocks, channel_major) = ctx.geometry
        w_mat, *column_blocks = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        need_b = ctx.has_bias and ctx.needs_input_grad[2]
        out_channels = grad.shape[1]
        g = spatial.to_nhwc(grad).reshape(len(grad), -1, groups, out_channels // groups)
        grad_w_mat = None
        grad_padded = np.empty(padded_shape, dtype=g.dtype) if need_x else None
        for images, cols in zip(blocks, column_blocks):
            g_block = g[images].reshape(-1, groups, g.shape[3])
            if need_w:
                part = cols @ g_block[:, 0] if channel_major else grouped_matmul_at(cols, g_block)
                grad_w_mat = part if grad_w_mat is None else grad_w_mat + part
            if need_x:  # the input gradient never reads the columns: one path for both
                patches = column_gradient(g_block, w_mat, kernel, out_hw)
                spatial.add_patches(grad_padded[images], patches, kernel, stride, dilation)
        grad_x = grad_w = grad_b = None
        if need_w:
            weight_shape = (out_channels, x_shape[1] // groups, *kernel)
            grad_w = grad_w_mat.T.reshape(weight_shape) if channel_major else \
                weight_from_matrix(grad_w_mat, kernel)
        if need_b:
            grad_b = g.reshape(-1, out_channels).sum(axis=0)
        if need_x:
            grad_x = spatial.as_nchw(spatial.crop(grad_padded, pads, x_shape[2:]))
        return grad_x, grad_w, grad_b

    @staticmethod
    def cost(call, grads=None):
        weight = call.inputs[1]
        # 2 * output elements * (Cin/groups * kh * kw): the weight's size per output channel
        return weighted_sum(call, grads, 2 * call.out.size * (weight.size // weight.shape[0]))


# measured on milestone 03's step (1 MB of L2 per core, so 2 MB blocks): 1 MB blocks were
# 3 % slower, 8 MB ones 7 %, and the whole batch as one block 18-21 % slower
BLOCKS_OF_COLUMNS = 2  # a block of columns is this many parallel.BLOCK_BYTES


def image_blocks(images: int, w_mat: np.ndarray, out_hw: tuple, itemsize: int) -> list[slice]:
    """Split the batch into blocks of images whose columns take about BLOCKS_OF_COLUMNS
    times parallel.BLOCK_BYTES."""
    groups, k, _ = w_mat.shape
    per_image = out_hw[0] * out_hw[1] * groups * k * itemsize
    return parallel.blocks(images, per_image, BLOCKS_OF_COLUMNS * parallel.BLOCK_BYTES)


CHANNEL_MAJOR = True  # False: im2col's pixel-major columns everywhere (the reference path)


def uses_channel_major(x: np.ndarray, kernel: tuple, stride: tuple, pads: tuple,
                       dilation: tuple, groups: int) -> bool:
    """Build channel-major columns (im2col_channel_major) when x is stored channels-first
    and that layout's copy runs (a row of Wo output pixels) are longer than im2col's
    (kw*C numbers of one patch row): a network's first layer, on NCHW images."""
    if not CHANNEL_MAJOR or groups != 1 or not x.flags.c_contiguous:
        return False
    padded_hw = (x.shape[2] + sum(pads[0]), x.shape[3] + sum(pads[1]))
    output_width = spatial.output_hw(padded_hw, kernel, stride, dilation)[1]
    channel_major_run = output_width if stride[1] == 1 else 1
    pixel_major_run = kernel[1] * x.shape[1] if dilation[1] == 1 else x.shape[1]
    return channel_major_run > pixel_major_run


# ---------------------------------------------------------------- weight layout


def weight_matrix(weight: np.ndarray, groups: int) -> np.ndarray:
    """(out, C/groups, kh, kw) -> (groups, kh*kw*C/groups, out/groups), matching im2col."""
    out_channels, per_group, kh, kw = weight.shape
    w = weight.reshape(groups, out_channels // groups, per_group, kh, kw)
    return np.ascontiguousarray(w.transpose(0, 3, 4, 2, 1)).reshape(
        groups, kh * kw * per_group, out_channels // groups)


def weight_from_matrix(w_mat: np.ndarray, kernel: tuple) -> np.ndarray:
    """Inverse of weight_matrix: (groups, kh*kw*Cg, Og) -> (groups*Og, Cg, kh, kw)."""
    groups, k, out_per_group = w_mat.shape
    kh, kw = kernel
    per_group = k // (kh * kw)
    w = w_mat.reshape(groups, kh, kw, per_group, out_per_group).transpose(0, 4, 3, 1, 2)
    return np.ascontiguousarray(w).reshape(groups * out_per_group, per_group, kh, kw)


# ---------------------------------------------------------------- the three products
# With one group these are plain 2-D matmuls (one BLAS call each); with several, one
# batched np.matmul over the group axis.


def grouped_matmul(cols: np.ndarray, w_mat: np.ndarray, out: np.ndarray) -> None:
    """(M, G, K) x (G, K, O) -> out (M, G, O): out[:, g] = cols[:, g] @ w_mat[g], written
    straight into `out` (BLAS writes the output block in place: no copy of the result)."""
    if w_mat.shape[0] == 1:
        np.matmul(cols[:, 0, :], w_mat[0], out=out[:, 0, :])
    else:
        np.matmul(cols.transpose(1, 0, 2), w_mat, out=out.transpose(1, 0, 2))


def grouped_matmul_at(cols: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """(M, G, K), (M, G, O) -> (G, K, O): the weight gradient cols[:, g]^T @ grad[:, g]."""
    if grad.shape[1] == 1:
        return (cols[:, 0, :].T @ grad[:, 0, :])[None]
    return np.matmul(cols.transpose(1, 2, 0), grad.transpose(1, 0, 2))


def column_gradient(grad: np.ndarray, w_mat: np.ndarray, kernel: tuple,
                    out_hw: tuple) -> np.ndarray:
    """grad_cols = grad @ w_mat^T for a block of images, one product per kernel offset.

    Returned as the (n, Ho, Wo, groups, kh, kw, C/groups) patches that col2im's
    add_patches expects, but as a view of offset-major memory (groups, kh, kw, n*Ho*Wo,
    C/groups): the slab add_patches adds for one offset is then contiguous, so its `+=`
    runs along whole rows of pixels instead of C numbers at a time (2x faster for the
    second layer of milestone 03's CNN), for a product split into kh*kw smaller ones.
    """
    groups, k, out_per_group = w_mat.shape
    offsets = kernel[0] * kernel[1]
    per_group = k // offsets
    w_offsets = w_mat.reshape(groups, offsets, per_group, out_per_group).transpose(0, 1, 3, 2)
    per_offset = np.matmul(grad.transpose(1, 0, 2)[:, None], w_offsets)  # (G, kh*kw, M, Cg)
    images = len(grad) // (out_hw[0] * out_hw[1])
    return per_offset.reshape(groups, *kernel, images, *out_hw, per_group).transpose(
        3, 4, 5, 0, 1, 2, 6)
