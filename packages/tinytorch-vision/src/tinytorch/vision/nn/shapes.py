"""The state shapes of the CNN layers, from their constructor arguments alone.

What it teaches: a convolution's weight is (out_channels, in_channels / groups, kH, kW),
whatever the image size; BatchNorm keeps a scale and shift it trains plus a running mean,
variance and batch count it saves but does not train. A loader computes these from a
file's spec and compares them with the file's header before building anything (see
tinytorch.core.serialization.state_shapes). Pooling and dropout hold no state.

Systems lesson: a CNN's parameter count does not depend on the image size; its activation
memory does.
"""

from __future__ import annotations

from collections.abc import Iterator

from tinytorch.core.nn.sizes import pair
from tinytorch.core.serialization.state_shapes import no_state

from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .dropout import Dropout2d
from .fusion import FusedSequential
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d


def conv2d_shapes(a: dict) -> Iterator[tuple]:
    kernel = pair("Conv2d", "kernel_size", a["kernel_size"], minimum=1)
    yield "weight", (a["out_channels"], a["in_channels"] // a["groups"], *kernel)
    if a["bias"]:
        yield "bias", (a["out_channels"],)


def batchnorm_shapes(a: dict) -> Iterator[tuple]:
    features = (a["num_features"],)
    if a["affine"]:
        yield "weight", features
        yield "bias", features
    if a["track_running_stats"]:
        yield "running_mean", features
        yield "running_var", features
        yield "num_batches_tracked", ()


STATE_SHAPES = {
    Conv2d: conv2d_shapes,
    BatchNorm1d: batchnorm_shapes,
    BatchNorm2d: batchnorm_shapes,
    **dict.fromkeys((AdaptiveAvgPool2d, AvgPool2d, Dropout2d, FusedSequential, MaxPool2d),
                   no_state),
}
