"""Post-training int8 quantization: per-channel weights, calibrated activations.

    qmodel = quantize_model(model, calibration_batches, mode="dequantize")  # or "integer"
    save_model(qmodel, "model-int8.safetensors")    # weights stored as int8 on disk

What it teaches, step by step:
1. **Per-channel symmetric weights.** Each output channel c gets its own scale
   s_c = max|W_c| / 127 and is stored as q = round(W / s_c) in int8. One scale per channel
   (not per tensor) matters: a channel with small weights would otherwise round to zero.
2. **Batch-norm folding.** In eval mode BatchNorm is an affine map per channel, so it folds
   into the preceding conv: W' = W * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(...) +
   beta. One layer fewer to run and to quantize.
3. **Calibration.** Activations change with every input, so their range is measured by
   running a few hundred real samples through the float model (forward pre-hooks record
   each quantized layer's input min and max). That range gives the input scale s_x and
   zero point z (asymmetric uint8: x ~ s_x * (x_q - z)).
4. **Two ways to compute.** `mode="dequantize"`: expand int8 weights to float32 on the fly
   and use the float kernel (what weight-only quantization on CPUs does: the saving is in
   memory and bandwidth). `mode="integer"`: quantize the input too and accumulate
   sum (x_q - z) * q_w exactly in integers, then rescale once by s_x * s_w per output
   channel, which is what int8 inference engines do. The integer products are accumulated
   in float64 by BLAS: every partial sum is an integer far below 2^53, so the result is
   bit-identical to an int32/int64 accumulation (the tests check this) at BLAS speed.

Systems lesson: int8 weights are 4x smaller than float32, so the file is ~4x smaller (the
float32 biases and scales are a rounding error of the total), and a memory-bound layer
reads 4x fewer bytes. The price is rounding error, which is why accuracy is measured on
the test set before and after, not assumed.
"""

from __future__ import annotations

import copy

import numpy as np

from tinytorch.core import Tensor, nn, no_grad
from tinytorch.core.bad_input import as_array, number_in
from tinytorch.core.nn.sizes import pair

from .._optional import vision_functional, vision_nn

QMAX = 127  # symmetric int8 weights use [-127, 127] so that 0 maps to 0 exactly
MODES = ("dequantize", "integer")


# ---------------------------------------------------------------- the arithmetic
def quantize_per_channel(weight, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantization with one scale per slice along `axis`: (q, scale)."""
    w = as_array("quantize_per_channel", "weight", weight).astype(np.float32)
    if w.ndim == 0 or not np.all(np.isfinite(w)):
        raise ValueError(f"quantize_per_channel: expected a finite array with at least one "
                         f"dimension, got shape {w.shape}")
    if isinstance(axis, bool) or not isinstance(axis, int) or not -w.ndim <= axis < w.ndim:
        raise ValueError(f"quantize_per_channel: axis must be an int in [{-w.ndim}, {w.ndim}), "
                         f"got {axis!r:.40}")
    reduce = tuple(i for i in range(w.ndim) if i != axis % w.ndim)
    # BEGIN SOLUTION
    max_abs = np.max(np.abs(w), axis=reduce, keepdims=True) if reduce else np.abs(w)
    scale = np.where(max_abs > 0, max_abs / QMAX, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -QMAX, QMAX).astype(np.int8)
    # END SOLUTION
    return q, scale.reshape(-1)


def dequantize_per_channel(q: np.ndarray, scale: np.ndarray, axis: int = 0) -> np.ndarray:
    op = "dequantize_per_channel"
    q, scale = as_array(op, "q", q), as_array(op, "scale", scale).astype(np.float32)
    if isinstance(axis, bool) or not isinstance(axis, int) or not -q.ndim <= axis < q.ndim:
        raise ValueError(f"{op}: axis must be an int in [{-q.ndim}, {q.ndim}) for q of shape "
                         f"{q.shape}, got {axis!r:.40}")
    if scale.size != q.shape[axis]:
        raise ValueError(f"{op}: expected one scale per slice of q {q.shape} along axis "
                         f"{axis}, got {scale.size} scales")
    # BEGIN SOLUTION
    shape = [1] * q.ndim
    shape[axis] = -1
    return q.astype(np.float32) * scale.reshape(shape)
    # END SOLUTION


def activation_qparams(low: float, high: float) -> tuple[float, int]:
    """Asymmetric uint8 (scale, zero_point) covering [low, high] and exactly 0."""
    low = min(number_in("activation_qparams", "low", low), 0.0)
    high = max(number_in("activation_qparams", "high", high), 0.0)
    if not np.isfinite(low) or not np.isfinite(high):
        raise ValueError(f"activation_qparams: range must be finite, got [{low}, {high}]")
    # BEGIN SOLUTION
    scale = (high - low) / 255.0 if high > low else 1.0
    zero_point = int(np.clip(round(-low / scale), 0, 255))
    # END SOLUTION
    return scale, zero_point


def quantize_activation(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """uint8 codes minus the zero point, as exact small integers in float64. The division is
    done in float32, as int8 runtimes (ONNX QuantizeLinear) do, so values near a rounding
    boundary land on the same code; np.rint rounds halves to even, as they do."""
    codes = np.clip(np.rint(x.astype(np.float32) / np.float32(scale)) + zero_point, 0, 255)
    return codes.astype(np.float64) - zero_point


# ---------------------------------------------------------------- layers
class _Quantized(nn.Module):
    """Shared buffers: int8 weight, float32 per-channel scale, optional bias, input qparams."""

    def _init_buffers(self, weight_shape, out_channels: int, bias: bool, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"{type(self).__name__}: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.register_buffer("weight_int8", Tensor(np.zeros(weight_shape, dtype=np.int8)))
        self.register_buffer("weight_scale", Tensor(np.ones(out_channels, dtype=np.float32)))
        self.register_buffer("bias", Tensor(np.zeros(out_channels, dtype=np.float32))
                             if bias else None)
        # input_qparams = [scale, zero_point]; scale 0 means "not calibrated"
        self.register_buffer("input_qparams", Tensor(np.zeros(2, dtype=np.float32)))

    def _set_from_float(self, weight, bias, input_range) -> None:
        q, scale = quantize_per_channel(weight)
        self.weight_int8.array[...] = q
        self.weight_scale.array[...] = scale
        if bias is not None:
            self.bias.array[...] = bias.array
        if input_range is not None:
            self.input_qparams.array[...] = activation_qparams(*input_range)
        elif self.mode == "integer":
            raise ValueError(f"{type(self).__name__}.from_float: mode='integer' needs the "
                             "calibrated input range (calibrate the model first)")

    def dequantized_weight(self) -> np.ndarray:
        return dequantize_per_channel(self.weight_int8.array, self.weight_scale.array)

    def _integer_input(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        scale, zero_point = self.input_qparams.array
        if scale <= 0:
            raise RuntimeError(f"{type(self).__name__}: mode='integer' but the layer has no "
                               "calibrated input range; use quantize_model(..., calibration=)")
        return quantize_activation(x, float(scale), int(zero_point)), float(scale)

    def _check_input(self, x, channels: int, dim: int) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor, got {type(x).__name__}")
        if x.ndim <= abs(dim) - (dim < 0) or x.shape[dim] != channels:
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}): expected input with "
                             f"{channels} features in dim {dim}, got shape {x.shape}")


class QuantizedLinear(_Quantized):
    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 mode: str = "dequantize"):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._init_buffers((out_features, in_features), out_features, bias, mode)

    @classmethod
    def from_float(cls, linear: nn.Linear, input_range=None, mode: str = "dequantize"):
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None, mode)
        layer._set_from_float(linear.weight, linear.bias, input_range)
        return layer

    def forward(self, x):
        self._check_input(x, self.in_features, -1)
        if self.mode == "dequantize":
            out = x.array.astype(np.float32, copy=False) @ self.dequantized_weight().T
        else:
            xq, x_scale = self._integer_input(x.array)
            accumulator = xq @ self.weight_int8.array.T.astype(np.float64)  # exact integers
            out = (accumulator * (x_scale * self.weight_scale.array)).astype(np.float32)
        if self.bias is not None:
            out += self.bias.array
        return Tensor(out)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, mode={self.mode}")


class QuantizedConv2d(_Quantized):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, mode: str = "dequantize"):
        super().__init__()
        op = "QuantizedConv2d"
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(op, "kernel_size", kernel_size, minimum=1)
        self.stride = pair(op, "stride", stride, minimum=1)
        self.dilation = pair(op, "dilation", dilation, minimum=1)
        self.padding = padding if isinstance(padding, str) else pair(op, "padding", padding)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self._init_buffers(shape, out_channels, bias, mode)

    @classmethod
    def from_float(cls, conv, input_range=None, mode: str = "dequantize"):
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                    conv.padding, conv.dilation, conv.groups, conv.bias is not None, mode)
        layer._set_from_float(conv.weight, conv.bias, input_range)
        return layer

    def forward(self, x):
        self._check_input(x, self.in_channels, -3)
        VF = vision_functional()
        geometry = (self.stride, self.padding, self.dilation, self.groups)
        with no_grad():
            if self.mode == "dequantize":
                bias = None if self.bias is None else self.bias
                return VF.conv2d(x.float() if x.dtype != np.float32 else x,
                                 Tensor(self.dequantized_weight()), bias, *geometry)
            xq, x_scale = self._integer_input(x.array)
            acc = VF.conv2d(Tensor(xq), Tensor(self.weight_int8.array.astype(np.float64)),
                            None, *geometry).array
        out = acc * (x_scale * self.weight_scale.array)[:, None, None]
        if self.bias is not None:
            out = out + self.bias.array[:, None, None]
        return Tensor(out.astype(np.float32))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, mode={self.mode}")


# ---------------------------------------------------------------- whole models
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm that directly follows a Conv2d/Linear inside a
    Sequential into that layer, replacing the BatchNorm by Identity (in place)."""
    vnn = vision_nn(required=False)
    if vnn is None:
        return model
    pairs = ((vnn.Conv2d, vnn.BatchNorm2d), (nn.Linear, vnn.BatchNorm1d))
    for container in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        names = list(container._modules)
        for first, second in zip(names, names[1:]):
            layer, norm = container._modules[first], container._modules[second]
            if any(isinstance(layer, a) and isinstance(norm, b) for a, b in pairs):
                _fold(layer, norm)
                container._modules[second] = nn.Identity()
    return model


def _fold(layer, norm) -> None:
    if norm.running_mean is None:
        raise ValueError("fold_batchnorm: cannot fold a BatchNorm without running statistics "
                         "(track_running_stats=False)")
    gamma = norm.weight.array if norm.weight is not None else 1.0
    beta = norm.bias.array if norm.bias is not None else 0.0
    factor = gamma / np.sqrt(norm.running_var.array + norm.eps)
    weight = layer.weight.array * factor.reshape(-1, *([1] * (layer.weight.ndim - 1)))
    bias = layer.bias.array if layer.bias is not None else 0.0
    layer.weight = nn.Parameter(weight.astype(np.float32))
    layer.bias = nn.Parameter(((bias - norm.running_mean.array) * factor + beta)
                              .astype(np.float32))


def calibrate(model: nn.Module, batches) -> dict[str, tuple[float, float]]:
    """Run `batches` through `model` (eval, no grad) and record the input range of every
    Linear and Conv2d: {module name: (min, max)}."""
    if isinstance(batches, (Tensor, np.ndarray)) or not hasattr(batches, "__iter__"):
        raise TypeError(f"calibrate: expected an iterable of input batches (e.g. a list of "
                        f"tensors or a DataLoader), got {type(batches).__name__}")
    targets = _quantizable(model)
    ranges: dict[str, list[float]] = {}
    handles = []
    for name, module in targets:
        def hook(module, args, name=name):
            data = args[0].array
            if not np.all(np.isfinite(data)):  # min/max would skip NaN: silently wrong scales
                raise ValueError(f"calibrate: the input of layer '{name}' in calibration batch "
                                 f"{seen} contains NaN or infinity; calibrate on finite data")
            low, high = ranges.setdefault(name, [np.inf, -np.inf])
            ranges[name] = [min(low, float(data.min())), max(high, float(data.max()))]
        handles.append(module.register_forward_pre_hook(hook))
    model.eval()
    seen = 0
    try:
        with no_grad():
            for batch in batches:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                model(x if isinstance(x, Tensor) else Tensor(as_array("calibrate", "a batch", x)))
                seen += 1
    finally:
        for handle in handles:
            handle.remove()
    if seen == 0:
        raise ValueError("calibrate: the calibration data yielded no batch")
    return {name: tuple(r) for name, r in ranges.items()}


def quantize_model(model: nn.Module, calibration=None, mode: str = "dequantize",
                   fold_bn: bool = True) -> nn.Module:
    """An int8 copy of `model`: BatchNorms folded, every Linear/Conv2d replaced by its
    quantized version. `calibration` (an iterable of input batches) is required for
    mode='integer' and recorded in the layers in either mode."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"quantize_model: mode must be one of {MODES}, got {mode!r:.40}")
    qmodel = copy.deepcopy(model).eval()
    if fold_bn:
        fold_batchnorm(qmodel)
    ranges = calibrate(qmodel, calibration) if calibration is not None else {}
    if mode == "integer" and not ranges:
        raise ValueError("quantize_model: mode='integer' needs calibration batches")
    vnn = vision_nn(required=False)
    for parent_name, parent in list(qmodel.named_modules()):
        for child_name, child in list(parent._modules.items()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            if isinstance(child, nn.Linear):
                parent._modules[child_name] = QuantizedLinear.from_float(
                    child, ranges.get(full), mode)
            elif vnn is not None and isinstance(child, vnn.Conv2d):
                parent._modules[child_name] = QuantizedConv2d.from_float(
                    child, ranges.get(full), mode)
    return qmodel.eval()


def _quantizable(model: nn.Module) -> list[tuple[str, nn.Module]]:
    vnn = vision_nn(required=False)
    kinds = (nn.Linear,) if vnn is None else (nn.Linear, vnn.Conv2d)
    return [(name, m) for name, m in model.named_modules() if isinstance(m, kinds)]
