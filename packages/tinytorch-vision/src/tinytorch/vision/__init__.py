"""tinytorch.vision: convolutions, CNN layers, image datasets and transforms.

    from tinytorch.vision import nn as vnn, functional as VF, datasets, transforms, utils

`import torchvision` -> `import tinytorch.vision as torchvision`: `torchvision.datasets`,
`torchvision.transforms`, `torchvision.utils.make_grid` / `save_image`.

Built on tinytorch.core (Tensor, autograd, Module); core knows nothing of this package.
"""

from . import datasets, functional, models, nn, transforms, utils
from .__about__ import __version__
from .nn import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout2d,
    MaxPool2d,
)

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d",
           "Dropout2d", "MaxPool2d", "__version__", "datasets", "functional", "models", "nn",
           "transforms", "utils"]
