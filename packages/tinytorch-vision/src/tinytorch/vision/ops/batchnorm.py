"""Batch normalization as one fused op, forward and backward side by side.

What it teaches: batch norm standardises every channel with the statistics of the
current batch, y = (x - mean) / sqrt(var + eps) * weight + bias, where mean and var are
taken over every axis except the channel axis (batch and pixels). That keeps each
layer's input distribution steady while the layers below it change, which is what
lets a CNN train with large learning rates. At inference there is no batch to average
over, so the layer uses running averages of the statistics collected during training.

The backward is the closed form (x_hat = normalised input, g = dL/dy * weight):

    dL/dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat))      (means per channel)

The two subtracted terms are there because every x moved the batch mean and variance,
and therefore every other output of its channel.

Systems lessons:
- Layout: the op works on a (pixels, channels) matrix, so per-channel statistics are
  column reductions over contiguous rows; channels-last input needs no copy at all.
- Fusion: written with generic ops this would be ~10 graph nodes, each saving an array;
  fused, it saves its input and one number per channel (x_hat = (x - mean) * rstd is
  recomputed inside backward's blocks, where it costs one subtraction on data already in
  cache, instead of a whole array written by forward), and backward is two passes.
- In eval mode batch norm is an affine map per channel (scale, shift), which is why
  deployment tools fold it into the preceding convolution's weights.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core import parallel
from tinytorch.core.autograd import Function
from tinytorch.core.cost import Cost


class BatchNorm(Function):
    """Normalise channel 1 of an (N, C, *spatial) array over all its other axes.

    In training mode (`training=True`) the batch statistics are used, and the running
    buffers (if given) are updated in place with `momentum`. In eval mode the running
    statistics are used.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, *, training, momentum, eps):
        shape = x.shape
        x, k = widened(to_rows(x))
        eps = x.dtype.type(eps)
        if training:
            mean, var = batch_moments(x, k)
            if running_mean is not None:
                update_running(running_mean, running_var, mean, var, x.size // len(mean),
                                momentum)
        else:
            mean, var = running_mean, running_var
        rstd = 1 / np.sqrt(var + eps)
        scale = rstd if weight is None else weight * rstd
        out = normalize(x, *tiled(k, mean, scale, bias))
        # x itself, not x_hat: backward recomputes x - mean block by block, in cache, so
        # forward writes one array instead of two
        ctx.save_for_backward(x, mean, rstd, weight)
        ctx.training, ctx.k = training, k
        return from_rows(out, shape)

    @staticmethod
    def backward(ctx, grad):
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        shape = grad.shape
        x, mean, rstd, weight = ctx.saved_tensors
        k = ctx.k
        grad = to_rows(grad).reshape(x.shape)
        sum_g = sum_gx = None
        if need_w or (need_x and ctx.training):
            sum_g, sum_gx = column_sums(grad, x, np.tile(mean, k), k)
            sum_gx *= rstd
        elif need_b:
            sum_g = folded(column_sum(grad), k)
        grad_x = None
        if need_x:
            scale = rstd if weight is None else weight * rstd
            if ctx.training:
                rows = grad.dtype.type(grad.size // len(mean))
                slope, offset = scale * sum_gx / rows * rstd, scale * sum_g / rows
                grad_x = input_gradient(grad, x, *tiled(k, mean, scale, slope, offset))
            else:
                grad_x = grad * np.tile(scale, k)
        if grad_x is not None:
            grad_x = from_rows(grad_x, shape)
        return grad_x, sum_gx if need_w else None, sum_g if need_b else None, None, None

    @staticmethod
    def cost(call, grads=None):
        n = call.out.size
        training = call.attrs.get("training", True)
        if grads is None:
            # training: sum, subtract, square-and-sum (2), scale by rstd; eval: scale, shift
            per_element = (5 if training else 2) + call.has(1) + call.has(2)
            return Cost(per_element * n)
        grad_x, grad_w, grad_b = (tuple(grads) + (None, None, None))[:3]
        flops = 2 * n * (grad_w is not None) + n * (grad_b is not None)  # einsum, sum
        if grad_x is not None and training:
            # three passes, plus the two channel sums when they were not computed above
            flops += 4 * n + 2 * n * (grad_w is None) + n * (grad_b is None)
        elif grad_x is not None:
            flops += n  # eval: the gradient is scaled per channel
        return Cost(flops)


# ---------------------------------------------------------------- the blocked passes
# Each pass walks the widened (rows, k*C) matrix in row blocks of parallel.BLOCK_BYTES
# (tinytorch.core.parallel): the blocks run on all cores, and the steps of one block reuse
# it while it is in cache. Every per-channel vector comes tiled k times to match.


def batch_moments(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (biased) variance of a widened (R/k, k*C) matrix.

    Each block gives, for each of its k*C columns, (count, mean, sum of squared
    deviations); these combine exactly (Chan et al.'s parallel variance):
    M2 = sum(M2_b + n_b * (mean_b - mean)^2), over blocks and over the k column groups.
    """
    def moments(block):
        part = x[block]
        part_mean = column_sum(part) / part.dtype.type(len(part))
        deviation = part - part_mean
        return len(part), part_mean, column_dot(deviation, deviation)

    parts = parallel.for_each_block(moments, len(x), x[0].nbytes)
    channels = x.shape[1] // k
    counts = np.repeat(np.array([n for n, _, _ in parts], dtype=x.dtype), k)[:, None]
    means = np.concatenate([m.reshape(k, channels) for _, m, _ in parts])
    total = x.dtype.type(len(x) * k)
    mean = (counts * means).sum(axis=0) / total
    m2 = sum(folded(m2, k) for _, _, m2 in parts) + (counts * (means - mean) ** 2).sum(axis=0)
    return mean, m2 / total


def normalize(x, mean, scale, bias) -> np.ndarray:
    """out = (x - mean) * scale + bias, in one blocked pass (x_hat is never stored)."""
    out = np.empty_like(x)

    def block_pass(block):
        np.subtract(x[block], mean, out=out[block])
        out[block] *= scale
        if bias is not None:
            out[block] += bias

    parallel.for_each_block(block_pass, len(x), x[0].nbytes)
    return out


def column_sums(grad, x, mean, k) -> tuple[np.ndarray, np.ndarray]:
    """sum(grad) and sum(grad * (x - mean)) per channel (the bias gradient, and the weight
    gradient before its factor rstd), with x - mean recomputed one block at a time."""
    def sums(block):
        deviation = x[block] - mean
        return column_sum(grad[block]), column_dot(deviation, grad[block])

    parts = parallel.for_each_block(sums, len(grad), grad[0].nbytes)
    return folded(sum(g for g, _ in parts), k), folded(sum(gd for _, gd in parts), k)


def input_gradient(grad, x, mean, scale, slope, offset) -> np.ndarray:
    """dL/dx = scale * grad - (x - mean) * slope - offset, blocked: the closed form above
    with slope = scale * rstd * mean(grad * x_hat) and offset = scale * mean(grad)."""
    grad_x = np.empty_like(grad)

    def block_pass(block):
        deviation = x[block] - mean
        deviation *= slope
        np.multiply(grad[block], scale, out=grad_x[block])
        grad_x[block] -= deviation
        grad_x[block] -= offset

    parallel.for_each_block(block_pass, len(grad), grad[0].nbytes)
    return grad_x


def column_sum(rows: np.ndarray) -> np.ndarray:
    """The sum of each column of a contiguous (R, C) matrix.

    numpy reduces axis 0 with an inner loop along one row: C numbers per loop, only 32 for
    a 32-channel layer. Its widened view gives loops k times longer (SIMD-friendly), and
    the k partial sums of each column are added at the end: ~3x faster for C = 32.
    """
    wide, k = widened(rows)
    return folded(wide.sum(axis=0), k)


def column_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(a * b) of each column, as one einsum: it multiplies and adds in one pass
    without writing the product to memory first, as `(a * b).sum(axis=0)` would."""
    return np.einsum("ij,ij->j", a, b)


# ---------------------------------------------------------------- layout

WIDE_ROW = 1024  # numbers per row of the widened matrix (at least, when the shape allows)


def widened(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """View a contiguous (R, C) matrix as (R/k, k*C) with k*C >= WIDE_ROW when R allows.

    Every numpy step that broadcasts a per-channel vector over the rows runs one inner
    loop per row: C numbers, 32 for a 32-channel layer, too short for SIMD to pay off.
    The same memory seen as rows k times longer, with the vector tiled k times, gives
    the same numbers with k times fewer, longer loops: 2-4x faster for C = 32.
    """
    count, channels = rows.shape
    k = 1
    while k * channels < WIDE_ROW and count % (2 * k) == 0:
        k *= 2
    return rows.reshape(count // k, k * channels), k


def tiled(k: int, *vectors):
    """Each per-channel vector repeated k times, to match a widened matrix (None stays None)."""
    return [None if v is None else np.tile(v, k) for v in vectors]


def folded(wide: np.ndarray, k: int) -> np.ndarray:
    """Per-column sums of a widened matrix -> per-channel sums (adds the k copies)."""
    return wide.reshape(k, -1).sum(axis=0)


def to_rows(x: np.ndarray) -> np.ndarray:
    """(N, C, *spatial) -> (N*prod(spatial), C); free when the memory is channels-last."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)).reshape(-1, x.shape[1])


def from_rows(rows: np.ndarray, shape: tuple) -> np.ndarray:
    """Inverse of to_rows, as a view: the result keeps channels-last memory."""
    return np.moveaxis(rows.reshape(shape[0], *shape[2:], shape[1]), -1, 1)


def update_running(running_mean, running_var, mean, var, rows, momentum) -> None:
    """running = (1 - momentum) * running + momentum * batch; the variance is unbiased."""
    unbiased = var * var.dtype.type(rows / max(rows - 1, 1))
    running_mean *= 1 - momentum
    running_mean += momentum * mean.astype(running_mean.dtype)
    running_var *= 1 - momentum
    running_var += momentum * unbiased.astype(running_var.dtype)
