"""The 2-D convolution as one differentiable op: im2col + one matmul, and its backward.

What it teaches: with the patches of the input laid out as a matrix `cols`
(N*Ho*Wo, K) (see im2col.py) and the weight as a matrix `w` (K, out), a convolution is

    out = cols @ w (+ bias)              forward
    grad_w = cols^T @ grad_out           the same formula as a Linear layer's weight grad
    grad_cols = grad_out @ w^T           ... and its input grad
    grad_x = col2im(grad_cols)           each patch's gradient flows back to its pixels

So a conv layer is a Linear layer applied to every patch, with the weights shared across
positions. Groups split the channels into independent convolutions: one matmul per group
(a single batched np.matmul), K = kh*kw*C/groups.

Systems lessons:
- FLOPs: forward 2*N*Ho*Wo*K*out; backward 2x that (grad_w and grad_x). Training a conv
  layer costs 3x its forward FLOPs; the first layer skips grad_x (the images need no
  gradient), which is why `needs_input_grad` is checked.
- Memory: `cols` is saved for the weight gradient, kh*kw times the input's size; that
  is the price of turning the convolution into a BLAS call.
- Layout: the output is produced channels-last (NHWC memory, NCHW shape), so the next
  conv, pool or batch norm reads it without a transpose copy.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import Function
from tinytorch.core.cost import weighted_sum

from .. import im2col as spatial


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, pads, dilation, groups):
        n, c, h, w = x.shape
        out_channels, _, kh, kw = weight.shape
        kernel = (kh, kw)
        x_padded = spatial.pad_nhwc(x, pads)
        out_hw = spatial.output_hw(x_padded.shape[1:3], kernel, stride, dilation)
        cols = spatial.im2col(x_padded, kernel, stride, dilation, out_hw, groups)
        w_mat = weight_matrix(weight, groups)
        out = grouped_matmul(cols, w_mat)  # (N*Ho*Wo, groups, out/groups)
        out = out.reshape(n * out_hw[0] * out_hw[1], out_channels)
        if bias is not None:
            out += bias
        ctx.save_for_backward(cols, w_mat)  # views of x and weight: version-checked
        ctx.geometry = (x.shape, x_padded.shape, pads, kernel, stride, dilation, out_hw,
                        groups)
        ctx.has_bias = bias is not None
        return spatial.as_nchw(out.reshape(n, out_hw[0], out_hw[1], out_channels))

    @staticmethod
    def backward(ctx, grad):
        x_shape, padded_shape, pads, kernel, stride, dilation, out_hw, groups = ctx.geometry
        cols, w_mat = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        need_b = ctx.has_bias and ctx.needs_input_grad[2]
        out_channels = grad.shape[1]
        g = spatial.to_nhwc(grad).reshape(-1, groups, out_channels // groups)
        grad_x = grad_w = grad_b = None
        if need_w:
            grad_w = weight_from_matrix(grouped_matmul_at(cols, g), kernel)
        if need_b:
            grad_b = g.reshape(-1, out_channels).sum(axis=0)
        if need_x:
            grad_cols = grouped_matmul_bt(g, w_mat)
            grad_padded = spatial.col2im(grad_cols, padded_shape, kernel, stride, dilation,
                                         out_hw, groups)
            grad_x = spatial.as_nchw(spatial.crop(grad_padded, pads, x_shape[2:]))
        return grad_x, grad_w, grad_b

    @staticmethod
    def cost(call, grads=None):
        weight = call.inputs[1]
        # 2 * output elements * (Cin/groups * kh * kw): the weight's size per output channel
        return weighted_sum(call, grads, 2 * call.out.size * (weight.size // weight.shape[0]))


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


def grouped_matmul(cols: np.ndarray, w_mat: np.ndarray) -> np.ndarray:
    """(M, G, K) x (G, K, O) -> (M, G, O): out[:, g] = cols[:, g] @ w_mat[g]."""
    if w_mat.shape[0] == 1:
        return (cols[:, 0, :] @ w_mat[0])[:, None, :]
    return np.matmul(cols.transpose(1, 0, 2), w_mat).transpose(1, 0, 2)


def grouped_matmul_at(cols: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """(M, G, K), (M, G, O) -> (G, K, O): the weight gradient cols[:, g]^T @ grad[:, g]."""
    if grad.shape[1] == 1:
        return (cols[:, 0, :].T @ grad[:, 0, :])[None]
    return np.matmul(cols.transpose(1, 2, 0), grad.transpose(1, 0, 2))


def grouped_matmul_bt(grad: np.ndarray, w_mat: np.ndarray) -> np.ndarray:
    """(M, G, O), (G, K, O) -> (M, G, K): the column gradient grad[:, g] @ w_mat[g]^T."""
    if w_mat.shape[0] == 1:
        return (grad[:, 0, :] @ w_mat[0].T)[:, None, :]
    return np.matmul(grad.transpose(1, 0, 2), w_mat.transpose(0, 2, 1)).transpose(1, 0, 2)
