"""Export to ONNX and check the result in onnxruntime: how a TinyTorch model graduates to a
production runtime.

    export_onnx(model, "model.onnx", example_input)      # MLP/CNN (Sequential) or TinyGPT
    report = check_onnx("model.onnx", model, example_input)
    report["max_abs_diff"]                                # vs TinyTorch, float32 tolerance

What it teaches: an exported model is only as good as its agreement with the original.
`check_onnx` runs the same input through both and compares every output element with a
float32 tolerance; a wrong padding, transposed weight or forgotten BatchNorm shows up here.

Needs the `onnx` package (graph building) and `onnxruntime` (checking): install
`tinytorch-mlops[onnx]`. Both are imported only when these functions are called.
"""

from __future__ import annotations

import os

import numpy as np

from tinytorch.core import Tensor, nn, no_grad
from tinytorch.core.bad_input import as_array

from .._optional import onnxruntime, tinygpt_class
from .gpt import export_gpt
from .graph import GraphBuilder
from .layers import ExportError, convert

__all__ = ["ExportError", "check_onnx", "export_onnx", "run_onnx"]


def export_onnx(model: nn.Module, path: str | os.PathLike, example_input,
                input_name: str = "input", output_name: str = "output") -> int:
    """Write `model` (eval mode) as an ONNX graph with a dynamic batch dimension (and dynamic
    sequence length for TinyGPT); returns the file size in bytes."""
    model.eval()
    x = example_input if isinstance(example_input, Tensor) else \
        Tensor(as_array("export_onnx", "example_input", example_input))
    g = GraphBuilder(type(model).__name__)
    gpt = tinygpt_class(required=False)
    with no_grad():
        expected = model(x)
    if gpt is not None and isinstance(model, gpt):
        g.add_input(input_name, np.int64, ["batch", "sequence"])
        out = export_gpt(g, model, input_name)
        g.add_output(out, output_name, np.float32, ["batch", "sequence", model.vocab_size])
    else:
        layers = _leaf_layers(model)
        shapes = _input_shapes(model, layers, x)
        g.add_input(input_name, x.dtype, ["batch", *x.shape[1:]])
        value = input_name
        for layer in layers:
            value = convert(g, layer, value, shapes[id(layer)])
        g.add_output(value, output_name, expected.dtype, ["batch", *expected.shape[1:]])
    return g.save(path)


def _leaf_layers(model: nn.Module) -> list[nn.Module]:
    """The layers a (possibly nested) Sequential runs, in order."""
    if not isinstance(model, nn.Sequential):
        known = "nn.Sequential" + (", TinyGPT" if tinygpt_class(False) is not None else "")
        raise ExportError(f"export_onnx: expected a model of type {known}, got "
                          f"{type(model).__name__}; wrap the layers in nn.Sequential")
    layers = []
    for child in model:
        layers.extend(_leaf_layers(child) if isinstance(child, nn.Sequential) else [child])
    return layers


def _input_shapes(model, layers, x) -> dict[int, tuple]:
    """Run the example once with forward pre-hooks to learn each layer's input shape."""
    shapes: dict[int, tuple] = {}
    def record(module, args):
        shapes.setdefault(id(module), tuple(args[0].shape))  # returns None: args unchanged

    handles = [layer.register_forward_pre_hook(record) for layer in layers]
    try:
        with no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def run_onnx(path: str | os.PathLike, inputs: np.ndarray) -> np.ndarray:
    """Run an exported model in onnxruntime (CPU) on one input array."""
    ort = onnxruntime()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.asarray(inputs)})[0]


def check_onnx(path: str | os.PathLike, model: nn.Module, example_input, rtol: float = 1e-4,
               atol: float = 1e-5) -> dict:
    """Compare onnxruntime's output with TinyTorch's on `example_input`; raise if they differ
    by more than rtol/atol; return {max_abs_diff, max_rel_diff, argmax_agreement, shape}."""
    x = example_input.array if isinstance(example_input, Tensor) else np.asarray(example_input)
    model.eval()
    with no_grad():
        expected = model(Tensor(x)).array
    actual = run_onnx(path, x)
    if actual.shape != expected.shape:
        raise AssertionError(f"check_onnx: onnxruntime output shape {actual.shape} differs from "
                             f"TinyTorch's {expected.shape}")
    diff = np.abs(actual.astype(np.float64) - expected)
    report = {
        "max_abs_diff": float(diff.max()),
        "max_rel_diff": float((diff / np.maximum(np.abs(expected), 1e-6)).max()),
        "argmax_agreement": float(np.mean(actual.argmax(-1) == expected.argmax(-1))),
        "shape": list(expected.shape),
    }
    if not np.allclose(actual, expected, rtol=rtol, atol=atol):
        raise AssertionError(f"check_onnx: onnxruntime and TinyTorch disagree beyond rtol={rtol}, "
                             f"atol={atol}: max abs diff {report['max_abs_diff']:.3g}")
    return report
