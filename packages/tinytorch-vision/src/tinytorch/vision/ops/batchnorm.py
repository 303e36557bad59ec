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
  fused, it saves x_hat and one number per channel, and backward is three passes over
  the data.
- In eval mode batch norm is an affine map per channel (scale, shift), which is why
  deployment tools fold it into the preceding convolution's weights.
"""

from __future__ import annotations

import numpy as np

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
        x = to_rows(x)
        rows = x.shape[0]
        eps = x.dtype.type(eps)
        if training:
            mean = x.sum(axis=0) / x.dtype.type(rows)
            x_hat = x - mean
            var = np.einsum("ij,ij->j", x_hat, x_hat) / x.dtype.type(rows)
            rstd = 1 / np.sqrt(var + eps)
            x_hat *= rstd
            if running_mean is not None:
                _update_running(running_mean, running_var, mean, var, rows, momentum)
            out = x_hat * weight if weight is not None else x_hat.copy()
        else:
            mean, rstd = running_mean, 1 / np.sqrt(running_var + eps)
            scale = rstd if weight is None else weight * rstd
            out = x * scale
            out -= mean * scale
            x_hat = x  # backward computes (x - mean) * rstd, only if weight's gradient is wanted
        if bias is not None:
            out += bias
        ctx.save_for_backward(x_hat, mean, rstd, weight)
        ctx.training = training
        return from_rows(out, shape)

    @staticmethod
    def backward(ctx, grad):
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        shape = grad.shape
        grad = to_rows(grad)
        x_hat, mean, rstd, weight = ctx.saved_tensors
        if not ctx.training:  # eval saved x itself: normalise it only if needed
            x_hat = (x_hat - mean) * rstd if need_w else None
        grad_w = np.einsum("ij,ij->j", grad, x_hat) if need_w else None
        grad_b = grad.sum(axis=0) if need_b else None
        grad_x = None
        if need_x:
            scale = rstd if weight is None else weight * rstd
            if not ctx.training:
                grad_x = grad * scale
            else:
                rows = grad.dtype.type(grad.shape[0])
                sum_g = grad_b if grad_b is not None else grad.sum(axis=0)
                sum_gx = grad_w if grad_w is not None else np.einsum("ij,ij->j", grad, x_hat)
                grad_x = grad * scale
                grad_x -= x_hat * (scale * sum_gx / rows)
                grad_x -= scale * sum_g / rows
        if grad_x is not None:
            grad_x = from_rows(grad_x, shape)
        return grad_x, grad_w, grad_b, None, None

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


def to_rows(x: np.ndarray) -> np.ndarray:
    """(N, C, *spatial) -> (N*prod(spatial), C); free when the memory is channels-last."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)).reshape(-1, x.shape[1])


def from_rows(rows: np.ndarray, shape: tuple) -> np.ndarray:
    """Inverse of to_rows, as a view: the result keeps channels-last memory."""
    return np.moveaxis(rows.reshape(shape[0], *shape[2:], shape[1]), -1, 1)


def _update_running(running_mean, running_var, mean, var, rows, momentum) -> None:
    """running = (1 - momentum) * running + momentum * batch; the variance is unbiased."""
    unbiased = var * var.dtype.type(rows / max(rows - 1, 1))
    running_mean *= 1 - momentum
    running_mean += momentum * mean.astype(running_mean.dtype)
    running_var *= 1 - momentum
    running_var += momentum * unbiased.astype(running_var.dtype)
