"""Hypothesis-driven bad input to vision's public entry points: every call either works or
raises a clear error naming the operation (tinytorch.core.bad_input)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinytorch.core as tt
from tinytorch.core.bad_input import expect_clear_error, hostile_values
from tinytorch.vision import functional as VF
from tinytorch.vision import nn as vnn
from tinytorch.vision import transforms, utils

EXAMPLES = 60
image = tt.tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32))
weight = tt.tensor(np.ones((4, 3, 3, 3), np.float32))
sizes = st.one_of(st.integers(1, 3), hostile_values(tensors=False))
tensors = st.one_of(st.just(image), hostile_values())

# (operation name(s) in messages, function, strategies for its arguments)
ENTRY_POINTS = {
    "conv2d": ("conv2d", VF.conv2d, (tensors, st.one_of(st.just(weight), hostile_values()),
                                     st.one_of(st.none(), hostile_values()), sizes, sizes)),
    "max_pool2d": ("max_pool2d", VF.max_pool2d, (tensors, sizes, sizes, sizes)),
    "avg_pool2d": ("avg_pool2d", VF.avg_pool2d, (tensors, sizes, sizes, sizes)),
    "adaptive_avg_pool2d": ("adaptive_avg_pool2d", VF.adaptive_avg_pool2d, (tensors, sizes)),
    "im2col": ("im2col", VF.im2col, (tensors, sizes, sizes, sizes, sizes)),
    "dropout2d": ("dropout2d", VF.dropout2d, (tensors, hostile_values(tensors=False))),
    "batch_norm": ("batch_norm", VF.batch_norm, (tensors, hostile_values(), hostile_values())),
    "Conv2d": ("Conv2d", vnn.Conv2d, (sizes, sizes, sizes, sizes, sizes)),
    "Conv2d.forward": (("Conv2d", "conv2d"), lambda x: vnn.Conv2d(3, 4, 3)(x), (tensors,)),
    "BatchNorm2d": ("BatchNorm2d", vnn.BatchNorm2d, (sizes, hostile_values(tensors=False))),
    "BatchNorm2d.forward": (("BatchNorm2d", "batch_norm"), lambda x: vnn.BatchNorm2d(3)(x),
                            (tensors,)),
    "BatchNorm1d.forward": (("BatchNorm1d", "batch_norm"), lambda x: vnn.BatchNorm1d(3)(x),
                            (tensors,)),
    "MaxPool2d": (("MaxPool2d", "max_pool2d"), lambda k, x: vnn.MaxPool2d(k)(x), (sizes, tensors)),
    "AvgPool2d": (("AvgPool2d", "avg_pool2d"), lambda k, x: vnn.AvgPool2d(k)(x), (sizes, tensors)),
    "AdaptiveAvgPool2d": (("AdaptiveAvgPool2d", "adaptive_avg_pool2d"),
                          lambda k, x: vnn.AdaptiveAvgPool2d(k)(x), (sizes, tensors)),
    "Dropout2d": (("Dropout2d", "dropout2d"), lambda p, x: vnn.Dropout2d(p)(x),
                  (hostile_values(tensors=False), tensors)),
    "Normalize": ("Normalize", lambda m, s, x: transforms.Normalize(m, s)(x),
                  (hostile_values(), hostile_values(), tensors)),
    "RandomCrop": ("RandomCrop", lambda size, pad, x: transforms.RandomCrop(size, pad)(x),
                   (sizes, sizes, tensors)),
    "RandomHorizontalFlip": ("RandomHorizontalFlip",
                             lambda p, x: transforms.RandomHorizontalFlip(p)(x),
                             (hostile_values(tensors=False), tensors)),
    "ToTensor": ("ToTensor", lambda x: transforms.ToTensor()(x), (hostile_values(),)),
    "make_grid": ("make_grid", utils.make_grid, (tensors, sizes, sizes)),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_bad_input_gets_a_clear_error(entry, data):
    op, function, strategies = ENTRY_POINTS[entry]
    args = [data.draw(strategy) for strategy in strategies]
    expect_clear_error(op, lambda: function(*args))
