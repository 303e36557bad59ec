"""Hypothesis-driven bad input to perf's public entry points: every call either works or
raises a clear error naming the operation (tinytorch.core.bad_input)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinytorch.core as tt
from tinytorch.core import nn
from tinytorch.core.bad_input import expect_clear_error, hostile_values
from tinytorch.perf import (
    ModelProfiler,
    RooflineModel,
    attention_memory,
    benchmark,
    count_flops,
    median_ci,
)

EXAMPLES = 60
tt.manual_seed(0)
MLP = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
x = tt.tensor(np.ones((2, 4), np.float32))
ROOF = RooflineModel(100.0, 10.0)
numbers = st.one_of(st.floats(0.5, 50), hostile_values(tensors=False))
small = st.one_of(st.integers(1, 3), st.none(), st.booleans(), st.text(max_size=2),
                  st.floats(allow_nan=True), st.integers(-3, 0))

ENTRY_POINTS = {
    "RooflineModel": ("RooflineModel", RooflineModel, (numbers, numbers)),
    "RooflineModel.attainable_gflops": ("RooflineModel", ROOF.attainable_gflops, (numbers,)),
    "RooflineModel.classify": ("RooflineModel", ROOF.classify, (numbers,)),
    "RooflineModel.add_point": ("RooflineModel", lambda f, b, s: ROOF.add_point("op", f, b, s),
                                (numbers, numbers, numbers)),
    "median_ci": ("median_ci", median_ci,
                  (st.one_of(st.lists(st.floats(allow_nan=True), max_size=5),
                             hostile_values(tensors=False)), numbers)),
    "benchmark": ("benchmark", lambda w, r: benchmark(lambda: None, warmup=w, repeats=r,
                                                       min_block_seconds=0.0), (small, small)),
    # the model's own errors name the model's layer
    "count_flops": (("count_flops", "Linear(", "linear:"), lambda i: count_flops(MLP, i),
                    (st.one_of(st.just(x), hostile_values()),)),
    "ModelProfiler": ("ModelProfiler", lambda w, r: ModelProfiler(MLP, warmup=w, repeats=r),
                      (small, small)),
    "attention_memory": ("attention_memory", attention_memory,
                         (st.one_of(st.lists(small, max_size=2), small), small, small)),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_bad_input_gets_a_clear_error(entry, data):
    op, function, strategies = ENTRY_POINTS[entry]
    args = [data.draw(strategy) for strategy in strategies]
    expect_clear_error(op, lambda: function(*args))
