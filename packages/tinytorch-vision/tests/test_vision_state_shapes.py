"""The state shapes each CNN layer registers (tinytorch.vision.nn.shapes) are exactly what
the layer allocates: a loader sizes a spec with them before building anything."""

from __future__ import annotations

import pytest

from tinytorch.core.serialization.state_shapes import state_shapes_of
from tinytorch.vision import nn as vnn


@pytest.mark.parametrize("cls, args, kwargs", [
    (vnn.Conv2d, (3, 8, 3), {}), (vnn.Conv2d, (4, 6, (1, 3)), {"groups": 2, "bias": False}),
    (vnn.BatchNorm2d, (5,), {}), (vnn.BatchNorm1d, (5,), {"affine": False}),
    (vnn.BatchNorm2d, (3,), {"track_running_stats": False}),
    (vnn.MaxPool2d, (2,), {}), (vnn.AvgPool2d, (2,), {}), (vnn.AdaptiveAvgPool2d, (1,), {}),
    (vnn.Dropout2d, (), {}),
])
def test_the_registered_shapes_are_the_built_state(cls, args, kwargs):
    described = {name: shape for name, shape, _ in state_shapes_of(cls, *args, **kwargs)}
    built = cls(*args, **kwargs).state_dict()
    assert described == {name: tuple(t.shape) for name, t in built.items()}


def test_every_vision_layer_has_a_shape_function():
    assert set(vnn.BUILDABLE) == {vnn.AdaptiveAvgPool2d, vnn.AvgPool2d, vnn.BatchNorm1d,
                                  vnn.BatchNorm2d, vnn.Conv2d, vnn.Dropout2d, vnn.FusedSequential,
                                  vnn.MaxPool2d}
    assert all(callable(function) for function in vnn.BUILDABLE.values())
