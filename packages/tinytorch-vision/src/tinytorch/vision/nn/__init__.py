"""tinytorch.vision.nn: the CNN layers (use alongside tinytorch.core.nn).

    from tinytorch.core import nn
    from tinytorch.vision import nn as vnn
    model = nn.Sequential(vnn.Conv2d(3, 32, 3, padding=1), vnn.BatchNorm2d(32), nn.ReLU(),
                          vnn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 16 * 16, 10))
"""

from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .dropout import Dropout2d
from .fusion import FusedSequential
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .shapes import STATE_SHAPES

# the layers a saved architecture spec may name (entry point group `tinytorch.buildable`),
# each with the function that gives its state shapes from its arguments (see shapes.py)
BUILDABLE = dict(STATE_SHAPES)

__all__ = ["BUILDABLE", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d",
           "Dropout2d", "FusedSequential", "MaxPool2d"]
