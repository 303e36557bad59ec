"""ONNX converters for the layers of an MLP or CNN, one small function per layer type.

Each converter receives the GraphBuilder, the layer, the name of its input value and the
input's shape (measured by running the example input through the model), appends the
nodes that compute the same thing, and returns the name of the output value.

    Linear          Gemm(x, W, b, transB=1)         (MatMul + Add for inputs of rank > 2)
    Conv2d          Conv(pads, strides, dilations, group)
    BatchNorm       BatchNormalization (eval statistics)
    MaxPool2d       MaxPool; AvgPool2d AveragePool; AdaptiveAvgPool2d(1) GlobalAveragePool
    Flatten         Flatten(axis=1) or Reshape
    activations     Relu, Sigmoid, Tanh, LeakyRelu, Softmax, LogSoftmax, GELU (via Erf)
    Dropout, Identity  nothing (inference)
    int8 layers     int8 initializer -> DequantizeLinear(axis=0) -> Gemm / Conv; in
                    integer mode the input goes through QuantizeLinear/DequantizeLinear too
    SparseLinear    its dense weight (ONNX has no standard sparse matmul)
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core import nn
from tinytorch.core.nn.sizes import pair

from .._optional import vision_nn
from ..compression.pruning import SparseLinear
from ..compression.quantization import QuantizedConv2d, QuantizedLinear


class ExportError(ValueError):
    """A model or layer the ONNX exporter does not know how to write."""


def convert(g, layer, x: str, shape: tuple) -> str:
    for kinds, function in _converters():
        if isinstance(layer, kinds):
            return function(g, layer, x, shape)
    raise ExportError(f"export_onnx: no ONNX converter for layer {type(layer).__name__}; "
                      f"supported: {', '.join(sorted(_supported_names()))}")


def _converters():
    table = [
        ((nn.Identity, nn.Dropout), _passthrough),
        ((nn.Linear,), _linear),
        ((QuantizedLinear,), _quantized_linear),
        ((SparseLinear,), _sparse_linear),
        ((nn.ReLU,), _simple("Relu")),
        ((nn.Sigmoid,), _simple("Sigmoid")),
        ((nn.Tanh,), _simple("Tanh")),
        ((nn.LeakyReLU,), lambda g, m, x, s: g.node("LeakyRelu", [x], alpha=m.negative_slope)),
        # LogSoftmax subclasses Softmax: the more specific class must come first
        ((nn.LogSoftmax,), lambda g, m, x, s: g.node("LogSoftmax", [x], axis=m.dim)),
        ((nn.Softmax,), lambda g, m, x, s: g.node("Softmax", [x], axis=m.dim)),
        ((nn.GELU,), _gelu),
        ((nn.Flatten,), _flatten),
        ((nn.LayerNorm,), _layer_norm),
    ]
    vnn = vision_nn(required=False)
    if vnn is not None:
        table += [
            ((vnn.Dropout2d,), _passthrough),
            ((vnn.Conv2d,), _conv),
            ((QuantizedConv2d,), _quantized_conv),
            ((vnn.BatchNorm1d, vnn.BatchNorm2d), _batch_norm),
            ((vnn.MaxPool2d,), _max_pool),
            ((vnn.AvgPool2d,), _avg_pool),
            ((vnn.AdaptiveAvgPool2d,), _adaptive_avg_pool),
        ]
    return table


def _supported_names() -> list[str]:
    return [kind.__name__ for kinds, _ in _converters() for kind in kinds]


def _passthrough(g, layer, x, shape):
    return x


def _simple(op):
    return lambda g, layer, x, shape: g.node(op, [x])


def gelu(g, x: str, approximate: str = "none") -> str:
    """GELU from primitive ops (Gelu itself is only in opset 20)."""
    if approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.scalar(math.sqrt(2 / math.pi))])])
    else:
        t = g.node("Erf", [g.node("Mul", [x, g.scalar(1 / math.sqrt(2))])])
    half_x = g.node("Mul", [x, g.scalar(0.5)])
    return g.node("Mul", [half_x, g.node("Add", [t, g.scalar(1.0)])])


def _gelu(g, layer, x, shape):
    return gelu(g, x, getattr(layer, "approximate", "none"))


def linear(g, x: str, weight: np.ndarray | str, bias, rank: int) -> str:
    """x W^T + b; `weight` is an array (out, in) or the name of such a value."""
    w = weight if isinstance(weight, str) else g.initializer(weight, "weight")
    b = None if bias is None else g.initializer(np.asarray(bias), "bias")
    if rank == 2:
        return g.node("Gemm", [x, w] + ([b] if b else []), transB=1)
    out = g.node("MatMul", [x, g.node("Transpose", [w], perm=[1, 0])])
    return g.node("Add", [out, b]) if b else out


def _linear(g, layer, x, shape):
    return linear(g, x, layer.weight.array, None if layer.bias is None else layer.bias.array,
                  len(shape))


def _dequantized_weight(g, layer) -> str:
    zero = np.zeros(layer.weight_scale.shape, dtype=np.int8)
    return g.node("DequantizeLinear", [g.initializer(layer.weight_int8.array, "weight_int8"),
                                       g.initializer(layer.weight_scale.array, "weight_scale"),
                                       g.initializer(zero, "weight_zero_point")], axis=0)


def _fake_quantized_input(g, layer, x: str) -> str:
    """Integer mode: round the input to its calibrated uint8 grid, as the layer does."""
    if layer.mode != "integer":
        return x
    scale, zero_point = layer.input_qparams.array
    s = g.scalar(float(scale))
    z = g.scalar(int(zero_point), np.uint8, "zero_point")
    return g.node("DequantizeLinear", [g.node("QuantizeLinear", [x, s, z]), s, z])


def _quantized_linear(g, layer, x, shape):
    bias = None if layer.bias is None else layer.bias.array
    return linear(g, _fake_quantized_input(g, layer, x), _dequantized_weight(g, layer), bias,
                  len(shape))


def _sparse_linear(g, layer, x, shape):
    bias = None if layer.bias is None else layer.bias.array
    return linear(g, x, layer.to_dense(), bias, len(shape))


def _flatten(g, layer, x, shape):
    start, end = layer.start_dim % len(shape), layer.end_dim % len(shape)
    if start == 1 and end == len(shape) - 1:
        return g.node("Flatten", [x], axis=1)
    target = [0] * start + [-1] + list(shape[end + 1:])
    return g.node("Reshape", [x, g.ints(target)])


def _layer_norm(g, layer, x, shape):
    dims = len(layer.normalized_shape)
    ones = np.ones(layer.normalized_shape, dtype=np.float32)
    scale = layer.weight.array if layer.weight is not None else ones
    inputs = [x, g.initializer(scale, "ln_scale")]
    if layer.bias is not None:
        inputs.append(g.initializer(layer.bias.array, "ln_bias"))
    return g.node("LayerNormalization", inputs, axis=-dims, epsilon=layer.eps)


def _pair(layer, attribute: str) -> tuple[int, int]:
    """A layer's 2-D size attribute (`3` or `(3, 3)`) as two ints."""
    return pair("export_onnx", f"{type(layer).__name__}.{attribute}", getattr(layer, attribute))


def _conv_pads(layer, shape) -> list[int]:
    kernel, dilation = _pair(layer, "kernel_size"), _pair(layer, "dilation")
    if layer.padding == "valid":
        return [0, 0, 0, 0]
    if layer.padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2]
    ph, pw = _pair(layer, "padding")
    return [ph, pw, ph, pw]


def _conv_node(g, layer, x, weight: str, shape) -> str:
    inputs = [x, weight]
    if layer.bias is not None:
        inputs.append(g.initializer(layer.bias.array, "bias"))
    return g.node("Conv", inputs, kernel_shape=list(_pair(layer, "kernel_size")),
                  strides=list(_pair(layer, "stride")), dilations=list(_pair(layer, "dilation")),
                  pads=_conv_pads(layer, shape), group=layer.groups)


def _conv(g, layer, x, shape):
    return _conv_node(g, layer, x, g.initializer(layer.weight.array, "weight"), shape)


def _quantized_conv(g, layer, x, shape):
    return _conv_node(g, layer, _fake_quantized_input(g, layer, x),
                      _dequantized_weight(g, layer), shape)


def _batch_norm(g, layer, x, shape):
    if layer.running_mean is None:
        raise ExportError("export_onnx: BatchNorm without running statistics cannot be exported "
                          "(it normalises with batch statistics even in eval mode)")
    n = layer.num_features
    scale = layer.weight.array if layer.weight is not None else np.ones(n, np.float32)
    shift = layer.bias.array if layer.bias is not None else np.zeros(n, np.float32)
    inputs = [x] + [g.initializer(a, name) for a, name in (
        (scale, "bn_scale"), (shift, "bn_bias"), (layer.running_mean.array, "bn_mean"),
        (layer.running_var.array, "bn_var"))]
    return g.node("BatchNormalization", inputs, epsilon=layer.eps)


def _pool_attributes(layer) -> dict:
    ph, pw = _pair(layer, "padding")
    return {"kernel_shape": list(_pair(layer, "kernel_size")),
            "strides": list(_pair(layer, "stride")),
            "pads": [ph, pw, ph, pw], "ceil_mode": int(layer.ceil_mode)}


def _max_pool(g, layer, x, shape):
    return g.node("MaxPool", [x], dilations=list(_pair(layer, "dilation")),
                  **_pool_attributes(layer))


def _avg_pool(g, layer, x, shape):
    if getattr(layer, "divisor_override", None):
        raise ExportError("export_onnx: AvgPool2d(divisor_override=...) has no ONNX equivalent")
    return g.node("AveragePool", [x], count_include_pad=int(layer.count_include_pad),
                  **_pool_attributes(layer))


def _adaptive_avg_pool(g, layer, x, shape):
    if _pair(layer, "output_size") != (1, 1):
        raise ExportError(f"export_onnx: AdaptiveAvgPool2d({layer.output_size}) is exported only "
                          "for output size 1 (GlobalAveragePool)")
    return g.node("GlobalAveragePool", [x])
