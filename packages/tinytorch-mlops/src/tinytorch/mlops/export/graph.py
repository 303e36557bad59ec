"""GraphBuilder: a small layer over the `onnx.helper` API that names things for you.

What it teaches: an ONNX model is a plain data structure (protobuf): a list of *nodes*
(operator type, input names, output names, attributes), a list of *initializers* (the
weights, as named constant tensors) and typed graph inputs and outputs. Values are wired
together by name only, so exporting a network means emitting nodes in execution order
and inventing a unique name for every intermediate value. Nothing is traced or compiled:
the exporter walks the TinyTorch model and writes down what each layer computes.

Systems lesson: the weights are the bulk of the file; an int8 initializer followed by a
DequantizeLinear node keeps an int8 model 4x smaller in ONNX too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinytorch.core.atomic import atomic_open

from .._optional import onnx as import_onnx

OPSET = 17  # has LayerNormalization; supported by every current onnxruntime
IR_VERSION = 8  # the IR version that goes with opset 17


class GraphBuilder:
    def __init__(self, name: str):
        self.onnx = import_onnx()
        self.name = name
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def initializer(self, array, hint: str) -> str:
        """Add a constant tensor (a weight) and return its name."""
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def ints(self, values, hint: str = "shape") -> str:
        return self.initializer(np.asarray(values, dtype=np.int64), hint)

    def scalar(self, value, dtype=np.float32, hint: str = "const") -> str:
        return self.initializer(np.asarray(value, dtype=dtype), hint)

    def node(self, op: str, inputs: list[str], hint: str | None = None, outputs: int = 1,
             **attributes) -> str | list[str]:
        """Append one node; return its output name (or names when outputs > 1)."""
        names = [self.fresh(hint or op.lower()) for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op, inputs, names, **attributes))
        return names[0] if outputs == 1 else names

    def add_input(self, name: str, dtype, shape) -> str:
        self.inputs.append(self._value_info(name, dtype, shape))
        return name

    def add_output(self, value: str, name: str, dtype, shape) -> None:
        self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name]))
        self.outputs.append(self._value_info(name, dtype, shape))

    def _value_info(self, name, dtype, shape):
        elem = self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        return self.onnx.helper.make_tensor_value_info(name, elem, list(shape))

    def model(self):
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs,
                                  self.initializers)
        model = helper.make_model(graph, producer_name="tinytorch-mlops",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        self.onnx.checker.check_model(model, full_check=True)
        return model

    def save(self, path: str | os.PathLike) -> int:
        """Check the model, write it atomically, return the file size in bytes."""
        data = self.model().SerializeToString()
        path = Path(path)
        with atomic_open(path, "wb") as f:
            f.write(data)
        return path.stat().st_size
