"""The state shapes each compressed layer registers (tinytorch.mlops.compression.shapes)
are exactly what the layer allocates: a loader sizes a spec with them before building."""

from __future__ import annotations

import pytest

from tinytorch.core.serialization.state_shapes import state_shapes_of
from tinytorch.mlops.compression import (
    BUILDABLE,
    QuantizedConv2d,
    QuantizedLinear,
    SparseLinear,
)


@pytest.mark.parametrize("cls, args, kwargs", [
    (QuantizedLinear, (4, 3), {}), (QuantizedLinear, (4, 3), {"bias": False}),
    (QuantizedConv2d, (4, 6, 3), {"groups": 2}), (QuantizedConv2d, (1, 2, (3, 1)), {}),
    (SparseLinear, (5, 4, 7), {}), (SparseLinear, (5, 4, 0), {"bias": False}),
])
def test_the_registered_shapes_are_the_built_state(cls, args, kwargs):
    described = {name: shape for name, shape, _ in state_shapes_of(cls, *args, **kwargs)}
    built = cls(*args, **kwargs).state_dict()
    assert described == {name: tuple(t.shape) for name, t in built.items()}


def test_every_compressed_layer_has_a_shape_function():
    assert set(BUILDABLE) == {QuantizedConv2d, QuantizedLinear, SparseLinear}
