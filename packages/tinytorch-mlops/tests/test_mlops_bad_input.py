"""Hypothesis-driven bad input to mlops' compression, quantization and export entry points:
every call either works or raises a clear error naming the operation
(tinytorch.core.bad_input; serving and the registry have their own sweeps)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinytorch.core as tt
from tinytorch.core import nn
from tinytorch.core.bad_input import expect_clear_error, hostile_values
from tinytorch.mlops.compression import (
    QuantizedLinear,
    SparseLinear,
    activation_qparams,
    calibrate,
    dequantize_per_channel,
    distillation_loss,
    magnitude_mask,
    magnitude_prune,
    prune_channels,
    quantize_model,
    quantize_per_channel,
)
from tinytorch.mlops.export import export_onnx

EXAMPLES = 50
weight = tt.tensor(np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32))
logits = tt.tensor(np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32))
x = tt.tensor(np.ones((2, 4), np.float32))
tensors = st.one_of(st.just(weight), hostile_values())
numbers = st.one_of(st.floats(0.0, 0.9), hostile_values(tensors=False))


def mlp():
    tt.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def onnx(tmp, example):
    return export_onnx(mlp(), tmp / "m.onnx", example)


ENTRY_POINTS = {
    "quantize_per_channel": ("quantize_per_channel", quantize_per_channel,
                             (tensors, hostile_values(tensors=False))),
    "dequantize_per_channel": ("dequantize_per_channel", dequantize_per_channel,
                               (hostile_values(), hostile_values(), hostile_values(False))),
    "activation_qparams": ("activation_qparams", activation_qparams, (numbers, numbers)),
    "calibrate": (("calibrate", "Linear("), lambda b: calibrate(mlp(), b),
                  (st.one_of(st.just([x]), hostile_values(), st.lists(hostile_values(),
                                                                      max_size=2)),)),
    "quantize_model": (("quantize_model", "calibrate", "Linear("),
                       lambda c, m: quantize_model(mlp(), c, m),
                       (st.one_of(st.just([x]), hostile_values()),
                        st.one_of(st.sampled_from(["dequantize", "integer"]),
                                  hostile_values(tensors=False)))),
    "QuantizedLinear.forward": ("QuantizedLinear",
                                lambda t: QuantizedLinear.from_float(nn.Linear(4, 3))(t),
                                (st.one_of(st.just(x), hostile_values()),)),
    "magnitude_mask": ("magnitude_mask", magnitude_mask, (tensors, numbers)),
    "magnitude_prune": (("magnitude_prune", "magnitude_mask"),
                        lambda s: magnitude_prune(mlp(), s), (numbers,)),
    "prune_channels": ("prune_channels", lambda a: prune_channels(mlp(), a), (numbers,)),
    "SparseLinear.from_dense": ("SparseLinear",
                                lambda m: SparseLinear.from_dense(nn.Linear(4, 3), m),
                                (st.one_of(st.none(), hostile_values()),)),
    "distillation_loss": (("distillation_loss", "cross_entropy"), distillation_loss,
                          (st.one_of(st.just(logits), hostile_values()),
                           st.one_of(st.just(logits), hostile_values()),
                           st.one_of(st.none(), hostile_values()), numbers, numbers)),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_bad_input_gets_a_clear_error(entry, data):
    op, function, strategies = ENTRY_POINTS[entry]
    args = [data.draw(strategy) for strategy in strategies]
    expect_clear_error(op, lambda: function(*args))


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(example=st.one_of(st.just(x), hostile_values()))
def test_export_onnx_bad_example_input_gets_a_clear_error(tmp_path, example):
    expect_clear_error(("export_onnx", "Linear(", "linear:"), lambda: onnx(tmp_path, example))
