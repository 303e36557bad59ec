"""With tinytorch-vision installed, its layers resolve under tinytorch.core.nn and F."""

from __future__ import annotations

import tinytorch.core as torch
from tinytorch import vision
from tinytorch.core import nn
from tinytorch.core.nn import functional as F


def test_vision_layers_resolve_from_core_nn():
    assert nn.Conv2d is vision.nn.Conv2d and nn.MaxPool2d is vision.nn.MaxPool2d
    assert nn.BatchNorm2d is vision.nn.BatchNorm2d and nn.AvgPool2d is vision.nn.AvgPool2d
    assert F.max_pool2d is vision.functional.max_pool2d
    assert F.avg_pool2d is vision.functional.avg_pool2d
    assert torch.nn.functional.conv2d is vision.functional.conv2d
    from tinytorch.core.nn import Conv2d
    assert Conv2d is vision.nn.Conv2d


def test_a_cnn_written_against_core_nn_runs():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    out = model(torch.randn(2, 3, 8, 8))
    assert out.shape == (2, 2)
    F.avg_pool2d(out.reshape(2, 1, 1, 2), 1)
