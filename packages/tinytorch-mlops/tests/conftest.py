"""Shared fixtures. Tests that need tinytorch-vision, tinytorch-language or onnx skip when the
package is missing (the `mlops` nox session proves the package works with tinytorch-core
alone), unless TINYTORCH_REQUIRE_EXTRAS=1, which turns such a skip into a failure (the
`mlops-full` session sets it, so every test runs there)."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

import tinytorch.core as tt
from tinytorch.core import nn


def require(module: str):
    """Import `module` or skip (fail under TINYTORCH_REQUIRE_EXTRAS=1)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if os.environ.get("TINYTORCH_REQUIRE_EXTRAS") == "1":
            pytest.fail(f"{module} is required in this session but missing: {exc}")
        pytest.skip(f"{module} is not installed")


@pytest.fixture(autouse=True)
def _seed():
    tt.manual_seed(0)


def make_mlp(sizes=(8, 32, 16, 3)) -> nn.Sequential:
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def make_cnn(vnn, channels=(3, 8, 16), image=8, classes=10) -> nn.Sequential:
    """Conv-BN-ReLU-MaxPool, Conv-ReLU, Flatten, Linear; BN statistics warmed up."""
    c0, c1, c2 = channels
    model = nn.Sequential(
        vnn.Conv2d(c0, c1, 3, padding=1), vnn.BatchNorm2d(c1), nn.ReLU(), vnn.MaxPool2d(2),
        vnn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(c2 * (image // 2) ** 2, classes),
    )
    model.train()
    for _ in range(3):
        model(tt.randn(16, c0, image, image) * 2 + 0.5)
    return model.eval()


def blobs(n=600, features=8, classes=3, seed=0, spread=1.0):
    """A separable synthetic classification problem: Gaussian blobs around random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, features)) * 3
    labels = rng.integers(0, classes, n)
    x = centres[labels] + rng.standard_normal((n, features)) * spread
    return x.astype(np.float32), labels.astype(np.int64)
