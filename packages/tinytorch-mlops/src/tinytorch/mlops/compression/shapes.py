"""The state shapes of the compressed layers, from their constructor arguments alone.

What it teaches: an int8 layer keeps its weight as int8 plus one float32 scale per output
channel, and a CSR sparse layer keeps `nnz` values, `nnz` column indices and
`out_features + 1` row offsets: the saved sizes of compression follow from a few integers.
A loader checks them against a file's header before building anything (see
tinytorch.core.serialization.state_shapes).

Systems lesson: CSR costs 8 bytes per kept weight (value + index), so pruning saves memory
only once fewer than half of the weights remain.
"""

from __future__ import annotations

from collections.abc import Iterator

from .pruning import SparseLinear
from .quantization import QuantizedConv2d, QuantizedLinear


def _quantized(weight_shape: tuple, out_channels: int, bias: bool) -> Iterator[tuple]:
    yield "weight_int8", weight_shape
    yield "weight_scale", (out_channels,)
    if bias:
        yield "bias", (out_channels,)
    yield "input_qparams", (2,)


def quantized_linear_shapes(a: dict) -> Iterator[tuple]:
    return _quantized((a["out_features"], a["in_features"]), a["out_features"], a["bias"])


def quantized_conv2d_shapes(a: dict) -> Iterator[tuple]:
    kernel = a["kernel_size"]
    kernel = tuple(kernel) if isinstance(kernel, (tuple, list)) else (kernel, kernel)
    weight_shape = (a["out_channels"], a["in_channels"] // a["groups"], *kernel)
    return _quantized(weight_shape, a["out_channels"], a["bias"])


def sparse_linear_shapes(a: dict) -> Iterator[tuple]:
    yield "values", (a["nnz"],)
    yield "col_indices", (a["nnz"],)
    yield "row_offsets", (a["out_features"] + 1,)
    if a["bias"]:
        yield "bias", (a["out_features"],)


STATE_SHAPES = {
    QuantizedConv2d: quantized_conv2d_shapes,
    QuantizedLinear: quantized_linear_shapes,
    SparseLinear: sparse_linear_shapes,
}
