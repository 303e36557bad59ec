"""State shapes from constructor arguments: what a layer would allocate, known before it does.

    list(state_shapes_of(nn.Linear, 784, 128))
    # [StateShape('weight', (128, 784), True), StateShape('bias', (128,), True)]

What it teaches: a layer's parameter shapes are a pure function of its constructor
arguments (`Linear(in, out)` holds an (out, in) weight and an (out,) bias). Writing that
function down, next to the allow-list of buildable classes, lets a loader compute the exact
state_dict a spec describes (names, shapes, element count) from the JSON alone and compare
it with the weight file's header *before* one byte is allocated. A composite model
(TinyGPT, a CNN) composes the shapes of its parts with `prefixed`, exactly as its
constructor composes the parts themselves.

Each package registers a shape function per buildable class (the values of its
`tinytorch.buildable` entry point's mapping). A function receives the constructor's
arguments with defaults filled in, as a dict, and yields `(name, shape)` pairs, or
`StateShape(name, shape, persistent=False)` for a buffer the layer allocates but does not
save (the sinusoid table of `PositionalEncoding`). Functions only do integer arithmetic:
they never allocate arrays, so they are safe to run on a hostile spec; the loader stops
reading them as soon as they describe more than the file holds.

Systems lesson: "how big is this model?" should never need the model. The same arithmetic
is how a training plan sizes a GPT before renting the machine for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from .. import nn

ShapeFunction = Callable[[dict], Iterable[tuple]]


class StateShape(NamedTuple):
    """One state_dict entry (or unsaved buffer) a layer would allocate."""

    name: str
    shape: tuple
    persistent: bool = True


_SHAPES: dict[type, ShapeFunction] = {}


def register_state_shapes(cls: type, function: ShapeFunction) -> None:
    """Declare how `cls`'s state shapes follow from its constructor arguments."""
    if not callable(function):
        raise TypeError(f"register_state_shapes: expected a function for {cls.__name__}, "
                        f"got {function!r}")
    _SHAPES[cls] = function


def knows_state_shapes(cls: type) -> bool:
    return cls in _SHAPES


def state_shapes_of(cls: type, *args, **kwargs) -> Iterator[StateShape]:
    """The state `cls(*args, **kwargs)` would allocate, computed without building it.

    Raises TypeError when the arguments do not fit the constructor's signature and
    LookupError when no shape function is registered for `cls`."""
    if cls not in _SHAPES:
        from .architecture import buildable_classes  # loads the packages' registrations

        buildable_classes()
    function = _SHAPES.get(cls)
    if function is None:
        raise LookupError(f"state_shapes_of: no shape function is registered for "
                          f"{cls.__module__}.{cls.__qualname__}")
    bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop(next(iter(arguments)))  # self
    for entry in function(arguments):
        yield StateShape(*entry)


def prefixed(prefix: str, shapes: Iterable[StateShape]) -> Iterator[StateShape]:
    """The shapes of a child module, named as its parent's state_dict names them."""
    for name, shape, persistent in shapes:
        yield StateShape(prefix + name, shape, persistent)


def no_state(arguments: dict) -> Iterator[StateShape]:
    """Activations, losses, pooling, dropout: nothing to allocate."""
    return iter(())


# ---------------------------------------------------------------- core's layers
def linear_shapes(a: dict) -> Iterator[tuple]:
    yield "weight", (a["out_features"], a["in_features"])
    if a["bias"]:
        yield "bias", (a["out_features"],)


def layer_norm_shapes(a: dict) -> Iterator[tuple]:
    size = a["normalized_shape"]
    shape = (size,) if isinstance(size, int) else tuple(size)
    if a["elementwise_affine"]:
        yield "weight", shape
        if a["bias"]:
            yield "bias", shape


CORE_STATE_SHAPES: dict[type, ShapeFunction] = {
    nn.Linear: linear_shapes,
    nn.LayerNorm: layer_norm_shapes,
    **dict.fromkeys((
        nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.Softmax, nn.LogSoftmax,
        nn.Dropout, nn.Flatten, nn.Identity, nn.Sequential, nn.ModuleList, nn.ModuleDict,
        nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss, nn.CrossEntropyLoss,
        nn.NLLLoss, nn.BCEWithLogitsLoss, nn.BCELoss), no_state),
}
