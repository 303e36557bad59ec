"""tinytorch.vision.functional: the stateless spatial ops (mirrors torch.nn.functional).

    import tinytorch.vision.functional as VF
    y = VF.conv2d(x, weight, bias, stride=1, padding=1)
    y = VF.max_pool2d(y, 2)

What it teaches: a layer's computation without its parameters, plus the checks that turn
a shape mistake into a sentence instead of a numpy traceback ten frames deep. Every
function here validates its arguments, works out the output geometry, and hands the
arrays to one fused op in `ops/`.

Systems lesson: all of these take and return NCHW tensors, but the ops produce
channels-last memory (an NHWC array viewed as NCHW), so a conv -> batch norm -> ReLU ->
pool chain never pays for a layout change; `x.array.strides` shows it.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core.bad_input import number_in
from tinytorch.core.memory import allocating
from tinytorch.core.nn.sizes import pair
from tinytorch.core.random import dropout_mask, get_rng
from tinytorch.core.tensor import Tensor

from . import im2col as spatial
from . import ops

# ---------------------------------------------------------------- argument checks


def _check_tensor(op: str, x, name: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _batched(op: str, x: Tensor, what: str = "(N, C, H, W)") -> tuple[Tensor, bool]:
    """Accept (N, C, H, W) or an unbatched (C, H, W); return a 4-D tensor and whether to squeeze."""
    _check_tensor(op, x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input {what} or 3-D (C, H, W), got shape "
                         f"{x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype}")
    if x.ndim == 3:
        return x.reshape(1, *x.shape), True
    return x, False


def _unbatch(out: Tensor, squeeze: bool) -> Tensor:
    return out.reshape(*out.shape[1:]) if squeeze else out


def check_probability(op: str, p) -> None:
    """A drop probability: a real number in [0, 1] (not a bool, not NaN)."""
    number_in(op, "probability", p, 0.0, 1.0)


def _check_fits(op: str, x_shape: tuple, pads: spatial.Pads, kernel, dilation) -> None:
    padded = (x_shape[2] + sum(pads[0]), x_shape[3] + sum(pads[1]))
    covered = spatial.span(kernel, dilation)
    if covered[0] > padded[0] or covered[1] > padded[1]:
        raise ValueError(
            f"{op}: kernel size {tuple(kernel)} with dilation {tuple(dilation)} covers "
            f"{covered} pixels, larger than the padded input {padded} (input shape "
            f"{x_shape}, padding {pads}); use a smaller kernel or more padding")


def _conv_padding(op: str, padding, kernel, stride, dilation) -> spatial.Pads:
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got "
                             f"{padding!r}")
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' is not supported for strided "
                             f"convolutions (stride={stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)  # extra pixel at the end
    return spatial.symmetric(pair(op, "padding", padding))


# ---------------------------------------------------------------- convolution


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1, *, op: str = "conv2d") -> Tensor:
    """2-D convolution (cross-correlation, as in every framework) of NCHW `input`.

    weight: (out_channels, in_channels / groups, kh, kw); bias: (out_channels,) or None.
    `op` names the caller in error messages (nn.Conv2d passes its own repr).
    """
    x, squeeze = _batched(op, input)
    _check_tensor(op, weight, "weight")
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (out_channels, in_channels/groups, kh, kw),"
                         f" got shape {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    out_channels, per_group, kh, kw = weight.shape
    if out_channels % groups:
        raise ValueError(f"{op}: out_channels ({out_channels}) must be divisible by groups "
                         f"({groups})")
    if x.shape[1] != per_group * groups:
        raise ValueError(
            f"{op}: expected input with {per_group * groups} channels (weight {weight.shape}, "
            f"groups={groups}), got input of shape {input.shape} with {x.shape[1]} channels")
    if x.dtype != weight.dtype:
        raise TypeError(f"{op}: input dtype {x.dtype} does not match weight dtype "
                        f"{weight.dtype}; convert the input with .to({weight.dtype})")
    if bias is not None:
        _check_tensor(op, bias, "bias")
        if bias.shape != (out_channels,) or bias.dtype != weight.dtype:
            raise ValueError(f"{op}: bias must have shape ({out_channels},) and dtype "
                             f"{weight.dtype}, got {bias.shape} {bias.dtype}")
    stride = pair(op, "stride", stride, minimum=1)
    dilation = pair(op, "dilation", dilation, minimum=1)
    pads = _conv_padding(op, padding, (kh, kw), stride, dilation)
    _check_fits(op, x.shape, pads, (kh, kw), dilation)
    args = (x, weight) if bias is None else (x, weight, bias)
    out = ops.Conv2d.apply(*args, stride=stride, pads=pads, dilation=dilation, groups=groups)
    return _unbatch(out, squeeze)


def conv2d_flops(weight_shape: tuple, output_shape: tuple) -> int:
    """Forward FLOPs of a conv: 2 * output elements * (C/groups * kh * kw) (multiply + add)."""
    _, per_group, kh, kw = weight_shape
    return 2 * math.prod(output_shape) * per_group * kh * kw


# ---------------------------------------------------------------- im2col / col2im


def im2col(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Patches as columns: (N, C, H, W) -> (N, C*kh*kw, L) (= torch.nn.functional.unfold)."""
    op = "im2col"
    x, _ = _batched(op, input)
    if input.ndim == 3:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {input.shape}")
    kernel = pair(op, "kernel_size", kernel_size, minimum=1)
    dilation = pair(op, "dilation", dilation, minimum=1)
    stride = pair(op, "stride", stride, minimum=1)
    pads = spatial.symmetric(pair(op, "padding", padding))
    _check_fits(op, x.shape, pads, kernel, dilation)
    return ops.Unfold.apply(x, kernel=kernel, stride=stride, pads=pads, dilation=dilation)


def col2im(input: Tensor, output_size, kernel_size, dilation=1, padding=0,
           stride=1) -> Tensor:
    """Sum columns back onto an image: (N, C*kh*kw, L) -> (N, C, H, W) (= F.fold)."""
    op = "col2im"
    _check_tensor(op, input)
    height, width = pair(op, "output_size", output_size, minimum=1)
    kernel = pair(op, "kernel_size", kernel_size, minimum=1)
    dilation = pair(op, "dilation", dilation, minimum=1)
    stride = pair(op, "stride", stride, minimum=1)
    pads = spatial.symmetric(pair(op, "padding", padding))
    if input.ndim != 3 or input.shape[1] % (kernel[0] * kernel[1]):
        raise ValueError(f"{op}: expected input (N, C*kh*kw, L) with dim 1 divisible by "
                         f"kh*kw = {kernel[0] * kernel[1]}, got shape {input.shape}")
    channels = input.shape[1] // (kernel[0] * kernel[1])
    image_shape = (input.shape[0], channels, height, width)
    _check_fits(op, image_shape, pads, kernel, dilation)
    out_hw = spatial.output_hw((height + 2 * pads[0][0], width + 2 * pads[1][0]), kernel,
                               stride, dilation)
    if input.shape[2] != out_hw[0] * out_hw[1]:
        raise ValueError(f"{op}: expected {out_hw[0]} * {out_hw[1]} = {out_hw[0] * out_hw[1]} "
                         f"columns for output_size {(height, width)}, got {input.shape[2]}")
    return ops.Fold.apply(input, image_shape=image_shape, kernel=kernel, stride=stride,
                          pads=pads, dilation=dilation)


unfold = im2col  # PyTorch's names
fold = col2im


# ---------------------------------------------------------------- pooling


def _pool_geometry(op, x_shape, kernel_size, stride, padding, dilation, ceil_mode):
    """Kernel, stride, pads (right/bottom extended for ceil_mode) and output size."""
    kernel = pair(op, "kernel_size", kernel_size, minimum=1)
    stride = kernel if stride is None or stride == () else \
        pair(op, "stride", stride, minimum=1)
    padding = pair(op, "padding", padding)
    dilation = pair(op, "dilation", dilation, minimum=1)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} should be at most half of kernel size "
                         f"{kernel}")
    _check_fits(op, x_shape, spatial.symmetric(padding), kernel, dilation)
    out_hw, extra = [], []
    for size, k, s, p, d in zip(x_shape[2:], kernel, stride, padding, dilation):
        reach = size + 2 * p - d * (k - 1) - 1
        out = (-(-reach // s) if ceil_mode else reach // s) + 1
        if ceil_mode and (out - 1) * s >= size + p:  # last window must start inside
            out -= 1
        out_hw.append(out)
        extra.append(max(0, (out - 1) * s + d * (k - 1) + 1 - (size + 2 * p)))
    pads = ((padding[0], padding[0] + extra[0]), (padding[1], padding[1] + extra[1]))
    return kernel, stride, padding, dilation, pads, tuple(out_hw)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, *, op: str = "max_pool2d") -> Tensor:
    """Max over each kernel window (padding counts as -inf)."""
    x, squeeze = _batched(op, input)
    kernel, stride, _, dilation, pads, _ = _pool_geometry(
        op, x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    out = ops.MaxPool2d.apply(x, kernel=kernel, stride=stride, pads=pads, dilation=dilation)
    return _unbatch(out, squeeze)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None, *,
               op: str = "avg_pool2d") -> Tensor:
    """Mean over each kernel window (divisor as in PyTorch: see `_avg_divisor`)."""
    x, squeeze = _batched(op, input)
    kernel, stride, padding, _, pads, out_hw = _pool_geometry(
        op, x.shape, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) \
                or divisor_override <= 0:
            raise ValueError(f"{op}: divisor_override must be a positive int, got "
                             f"{divisor_override!r}")
        divisor = np.full(out_hw, divisor_override, dtype=np.float64)
    else:
        divisor = _avg_divisor(x.shape[2:], kernel, stride, padding, out_hw, count_include_pad)
    out = ops.AvgPool2d.apply(x, kernel=kernel, stride=stride, pads=pads, divisor=divisor)
    return _unbatch(out, squeeze)


def _avg_divisor(hw, kernel, stride, padding, out_hw, count_include_pad) -> np.ndarray:
    """Elements averaged per window: windows are clipped to the padded input (PyTorch's
    rule); with count_include_pad=False the zero padding is not counted either."""
    sizes = []
    for size, k, s, p, out in zip(hw, kernel, stride, padding, out_hw):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        sizes.append(end - start)
    return (sizes[0][:, None] * sizes[1][None, :]).astype(np.float64)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (Ho, Wo) whatever the input size (None keeps that size)."""
    op = "adaptive_avg_pool2d"
    x, squeeze = _batched(op, input)
    sizes = (output_size, output_size) if isinstance(output_size, (int, type(None))) \
        else output_size
    if not isinstance(sizes, (tuple, list)) or len(sizes) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(x.shape[2 + i] if s is None else s for i, s in enumerate(sizes))
    pair(op, "output_size", sizes, minimum=1)
    if 0 in x.shape[2:]:
        raise ValueError(f"{op}: the input has no pixels to average (shape {x.shape})")
    with allocating(op, f"an output of {sizes[0]:,} x {sizes[1]:,} per channel"):
        pool_h = ops.adaptive_pool_matrix(x.shape[2], sizes[0], x.dtype)
        pool_w = ops.adaptive_pool_matrix(x.shape[3], sizes[1], x.dtype)
    out = ops.AdaptiveAvgPool2d.apply(x, pool_h=pool_h, pool_w=pool_w)
    return _unbatch(out, squeeze)


# ---------------------------------------------------------------- normalization, dropout


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5, *,
               op: str = "batch_norm") -> Tensor:
    """Normalise dim 1 of (N, C, *) over every other dim (= torch.nn.functional.batch_norm).

    training=True uses batch statistics and updates the running buffers in place;
    training=False uses the running statistics (which must then be given).
    """
    _check_batch_norm(op, input, running_mean, running_var, weight, bias, training)
    return ops.BatchNorm.apply(input, weight, bias, running_mean, running_var,
                               training=training, momentum=momentum, eps=eps)


def _check_batch_norm(op, input, running_mean, running_var, weight, bias, training) -> None:
    """batch_norm's argument rules: shapes, dtype, and statistics to normalise with."""
    _check_tensor(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (N, C, ...), got {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {input.dtype}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(t).__name__}")
        if t is not None and t.shape != (channels,):
            raise ValueError(f"{op}: expected {name} of shape ({channels},) for input of shape "
                             f"{input.shape} ({channels} channels), got {t.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: running_mean and running_var must both be given or both None")
    if not training and running_mean is None:
        raise ValueError(f"{op}: training=False needs running_mean and running_var")
    if training:
        values = math.prod(input.shape) // channels
        if values < 2:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, "
                             f"got input of shape {input.shape}")


def batch_norm_max_pool2d(input: Tensor, running_mean: Tensor | None,
                          running_var: Tensor | None, weight: Tensor | None = None,
                          bias: Tensor | None = None, training: bool = False,
                          momentum: float = 0.1, eps: float = 1e-5, kernel_size=2,
                          relu: bool = False, *, op: str = "batch_norm_max_pool2d") -> Tensor:
    """max_pool2d(batch_norm(input), kernel_size), then ReLU if `relu`, as one fused op
    (ops/batchnorm_pool.py); the same values as the three calls. The windows must tile the
    input: stride = kernel_size, no padding, H and W multiples of the kernel."""
    _check_batch_norm(op, input, running_mean, running_var, weight, bias, training)
    kernel = pair(op, "kernel_size", kernel_size, minimum=1)
    if input.ndim != 4 or input.shape[2] % kernel[0] or input.shape[3] % kernel[1]:
        raise ValueError(f"{op}: expected (N, C, H, W) input with H and W multiples of the "
                         f"kernel {kernel}, got {input.shape}")
    return ops.BatchNormMaxPool.apply(input, weight, bias, running_mean, running_var,
                                      training=training, momentum=momentum, eps=eps,
                                      kernel=kernel, relu=bool(relu))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Zero whole channels with probability p (scale the survivors by 1/(1-p)).

    Neighbouring pixels of a feature map are strongly correlated, so dropping single
    pixels barely regularises a CNN; dropping whole channels does.
    """
    op = "dropout2d"
    _check_tensor(op, input)
    check_probability(op, p)
    if input.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got "
                         f"shape {input.shape}")
    if not training or p == 0.0:
        return input
    channels_shape = input.shape[:-2] + (1, 1)
    if p == 1.0:
        return input * Tensor._make(np.zeros(channels_shape, dtype=input.dtype))
    return input * Tensor._make(dropout_mask(get_rng(generator), channels_shape, p, input.dtype))


__all__ = [
    "conv2d", "im2col", "col2im", "unfold", "fold", "max_pool2d", "avg_pool2d",
    "adaptive_avg_pool2d", "batch_norm", "batch_norm_max_pool2d", "dropout2d", "conv2d_flops",
]
