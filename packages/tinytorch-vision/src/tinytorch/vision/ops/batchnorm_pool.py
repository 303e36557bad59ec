"""Batch norm, a tiling max pool and (optionally) ReLU as one op: pool first, normalise 4x
fewer numbers.

What it teaches: a CNN stage ends conv -> BatchNorm -> ReLU -> 2x2 max pool. In the
forward pass batch norm is an affine map per channel, y = (x - mean) * scale + bias, and
for scale >= 0 that map never reorders values (rounding included), so it commutes with
max: the window's largest y is y of the window's largest x. ReLU commutes with max as
well. So the op pools the convolution's raw output and normalises (and rectifies) only
the window winners, a quarter of the numbers for a 2x2 pool. For a channel whose scale is
negative the map reverses the order and the window's *smallest* x wins, so those channels
are pooled as -x.

The statistics are still those of every pixel, and so is the input gradient, which is
nonzero everywhere because every pixel moved its channel's mean and variance:

    dL/dx = scale * g - (x - mean) * slope - offset        (see batchnorm.py)

But g, the gradient reaching the normalised values, is zero except at the winners, so the
two per-channel sums that give slope, offset and the weight and bias gradients need only
the pooled numbers: sum(g) = sum(g_pooled), sum(g * x_hat) = sum(g_pooled * x_hat_pooled).
One blocked pass then writes dL/dx, routing scale * g_pooled to the winners.

Systems lessons:
- Fusion across layers is a rewrite of the graph that keeps its function: the layers
  keep their parameters, buffers and state_dict names; only the order of work changes
  (tinytorch.vision.nn.FusedSequential finds the pattern). It is what inference compilers
  do, applied to training.
- Memory traffic is what it saves. Per full-size element, the unfused layers make about
  eleven numpy passes over the activation in forward and backward (batch norm's moments,
  its normalised output, the pool reading that output, two channel-sum passes and the
  input gradient, the pool's gradient routing); fused, about half as many, and the
  normalised full-size output is never written.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core import parallel
from tinytorch.core.autograd import Function
from tinytorch.core.cost import Cost

from .. import im2col as spatial
from . import batchnorm as bn
from .pooling import route_to_tiles, window_max


class BatchNormMaxPool(Function):
    """max_pool(batch_norm(x)) over windows that tile the input (kernel == stride, no
    padding, H and W multiples of the kernel), with ReLU after it when `relu`."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, *, training, momentum, eps,
                kernel, relu):
        x = spatial.to_nhwc(x)  # free for a conv's channels-last output
        channels = x.shape[3]
        rows, k = bn.widened(x.reshape(-1, channels))
        if training:
            mean, var = bn.batch_moments(rows, k)
            if running_mean is not None:
                bn.update_running(running_mean, running_var, mean, var,
                                   x.size // channels, momentum)
        else:
            mean, var = running_mean, running_var
        rstd = 1 / np.sqrt(var + x.dtype.type(eps))
        scale = rstd if weight is None else weight * rstd
        pooled, winner = _pool_in_order_of(x, scale, kernel)
        out = _normalized(pooled, mean, scale, bias, relu)
        ctx.save_for_backward(x, pooled, winner, mean, rstd, weight, bias)
        ctx.training, ctx.kernel, ctx.relu = training, kernel, relu
        return spatial.as_nchw(out)

    @staticmethod
    def backward(ctx, grad):
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        x, pooled, winner, mean, rstd, weight, bias = ctx.saved_tensors
        scale = rstd if weight is None else weight * rstd
        g = spatial.to_nhwc(grad)
        if ctx.relu:  # the mask of the forward's ReLU, recomputed from the pooled x
            g = g * (_normalized(pooled, mean, scale, bias, relu=False) > 0)
        g_rows, k = bn.widened(g.reshape(-1, g.shape[3]))
        sum_g = sum_gx = None
        if need_w or (need_x and ctx.training):
            sum_g, sum_gx = bn.column_sums(g_rows, pooled.reshape(g_rows.shape),
                                           np.tile(mean, k), k)
            sum_gx *= rstd
        elif need_b:
            sum_g = bn.folded(bn.column_sum(g_rows), k)
        grad_x = None
        if need_x:
            scaled = (g_rows * np.tile(scale, k)).reshape(g.shape)
            if ctx.training:
                count = scale.dtype.type(x.size // x.shape[3])
                slope, offset = scale * sum_gx / count * rstd, scale * sum_g / count
                grad_x = _input_gradient(scaled, winner, x, ctx.kernel, mean, slope, offset)
            else:  # eval: a fixed affine map, only the winners get a gradient
                grad_x = _input_gradient(scaled, winner, x, ctx.kernel)
            grad_x = spatial.as_nchw(grad_x)
        return grad_x, sum_gx if need_w else None, sum_g if need_b else None, None, None

    @staticmethod
    def cost(call, grads=None):
        n_in, n_out = call.arrays[0].size, call.out.size
        if grads is None:
            moments = 4 * n_in if call.attrs.get("training", True) else 0
            return Cost(moments + n_in + 4 * n_out)  # moments, window max, normalise+ReLU
        # channel sums over the pooled numbers, then one pass: route + deviation term
        return Cost(4 * n_out + 5 * n_in)


def _pool_in_order_of(x: np.ndarray, scale: np.ndarray, kernel) -> tuple:
    """(window max of x, winning offset) per window, ranking by x * sign(scale): for a
    channel with negative scale the normalised order is reversed and the minimum wins."""
    out_hw = (x.shape[1] // kernel[0], x.shape[2] // kernel[1])
    offsets = list(spatial.kernel_offsets(kernel, kernel, (1, 1), out_hw))
    flipped = scale < 0
    if not flipped.any():
        return window_max(x, offsets, out_hw)
    sign = np.where(flipped, -1, 1).astype(x.dtype)
    pooled, winner = window_max(x * sign, offsets, out_hw)
    pooled *= sign
    return pooled, winner


def _normalized(pooled: np.ndarray, mean, scale, bias, relu: bool) -> np.ndarray:
    """(pooled - mean) * scale + bias (batch norm's own steps, so the values are the
    unfused layers' to the bit), then ReLU, on (N, Ho, Wo, C)."""
    rows, k = bn.widened(pooled.reshape(-1, pooled.shape[3]))
    out = bn.normalize(rows, *bn.tiled(k, mean, scale, bias))
    if relu:
        np.maximum(out, 0, out=out)
    return out.reshape(pooled.shape)


def _input_gradient(scaled, winner, x, kernel, mean=None, slope=None, offset=None):
    """dL/dx (N, H, W, C): `scaled` (scale * g at the pooled positions) routed to the
    winners, minus (x - mean) * slope + offset (training only), one image block at a time."""
    grad_x = np.empty_like(x)
    channels = x.shape[3]
    _, k = bn.widened(x[0].reshape(-1, channels))  # k divides every block's pixel count
    vectors = None if mean is None else bn.tiled(k, mean, slope, offset)

    def block(images):
        route_to_tiles(scaled[images], winner[images], kernel, out=grad_x[images])
        if vectors is None:
            return
        block_mean, block_slope, block_offset = vectors
        rows = grad_x[images].reshape(-1, k * channels)
        deviation = x[images].reshape(rows.shape) - block_mean
        deviation *= block_slope
        rows -= deviation
        rows -= block_offset

    parallel.for_each_block(block, len(x), x[0].nbytes)
    return grad_x
