"""The models the `tito performance` commands profile, by name.

    built = build_model("cnn-small", batch_size=8)    # model, inputs, loss_fn
    built.model(*built.inputs)

What it teaches: nothing about performance can be said without a workload. These are
small, representative ones: MLPs (core only), three CIFAR-10 CNN designs that trade
depth for width (tinytorch-vision), and a TinyGPT (tinytorch-language).

The dependency rule: tinytorch.perf depends on tinytorch-core only. Vision and language
are optional (`pip install tinytorch-perf[models]`) and imported here lazily, inside the
functions that need them; when one is missing, `MissingPackageError` says what to
install instead of a bare ImportError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tinytorch.core.nn.functional as F
from tinytorch.core import manual_seed, nn, randint, randn
from tinytorch.core.optional import distribution_of, optional_import

INSTALL_HINT = "pip install 'tinytorch-perf[models]'"


def require(module: str, purpose: str):
    """Import an optional package or raise MissingPackageError naming what to install."""
    return optional_import(module, purpose,
                           f"pip install {distribution_of(module)}  (or {INSTALL_HINT})")


@dataclass
class BuiltModel:
    name: str
    description: str
    model: object
    inputs: tuple
    loss_fn: Callable


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    requires: str | None  # optional module needed ("tinytorch.vision"), None for core only
    default_batch: int
    build: Callable[[int], tuple]  # batch_size -> (model, inputs, loss_fn)


# ---------------------------------------------------------------- core MLPs


def _classification(batch: int, shape: tuple, classes: int = 10):
    x = randn(batch, *shape)
    y = randint(0, classes, (batch,))
    return (x,), (lambda output: F.cross_entropy(output, y))


def _mlp(sizes: tuple):
    def build(batch: int):
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return (nn.Sequential(*layers), *_classification(batch, (sizes[0],), sizes[-1]))
    return build


# ---------------------------------------------------------------- CIFAR-10 CNN designs


def _cnn(design: str):
    def build(batch: int):
        vision = require("tinytorch.vision", f"the CIFAR-10 CNN design '{design}'")
        conv, pool, bn = vision.Conv2d, vision.MaxPool2d, vision.BatchNorm2d
        if design == "cnn-small":  # two thin conv layers, a big classifier
            model = nn.Sequential(
                conv(3, 16, 3, padding=1), nn.ReLU(), pool(2),
                conv(16, 32, 3, padding=1), nn.ReLU(), pool(2),
                nn.Flatten(), nn.Linear(32 * 8 * 8, 10))
        elif design == "cnn-deep":  # VGG-style: six conv layers with batch norm
            blocks = []
            for c_in, c_out in ((3, 32), (32, 64), (64, 128)):
                blocks += [conv(c_in, c_out, 3, padding=1), bn(c_out), nn.ReLU(),
                           conv(c_out, c_out, 3, padding=1), bn(c_out), nn.ReLU(), pool(2)]
            model = nn.Sequential(*blocks, vision.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(128, 10))
        else:  # cnn-wide: two wide conv layers
            model = nn.Sequential(
                conv(3, 96, 3, padding=1), nn.ReLU(), pool(2),
                conv(96, 192, 3, padding=1), nn.ReLU(), pool(2),
                vision.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(192, 10))
        return (model, *_classification(batch, (3, 32, 32)))
    return build


# ---------------------------------------------------------------- TinyGPT


def gpt_builder(vocab_size: int = 65, d_model: int = 64, num_heads: int = 4,
                num_layers: int = 2, seq_len: int = 64):
    def build(batch: int):
        language = require("tinytorch.language", "TinyGPT profiling")
        model = language.TinyGPT(vocab_size, d_model, num_heads, num_layers,
                                 max_seq_len=seq_len)
        ids = randint(0, vocab_size, (batch, seq_len))
        targets = randint(0, vocab_size, (batch, seq_len))

        def loss_fn(logits):
            return F.cross_entropy(logits.reshape(-1, vocab_size), targets.reshape(-1))

        return model, (ids,), loss_fn
    return build


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("mlp", "MLP 784-256-128-10 (ReLU)", None, 64, _mlp((784, 256, 128, 10))),
    ModelSpec("mlp-wide", "MLP 784-1024-10 (ReLU)", None, 64, _mlp((784, 1024, 10))),
    ModelSpec("mlp-deep", "MLP 784-128x6-10 (ReLU)", None, 64,
              _mlp((784, 128, 128, 128, 128, 128, 128, 10))),
    ModelSpec("cnn-small", "CIFAR-10 CNN: 2 thin conv layers (16, 32) + linear classifier",
              "tinytorch.vision", 32, _cnn("cnn-small")),
    ModelSpec("cnn-deep", "CIFAR-10 CNN: 6 conv layers with batch norm (32-64-128)",
              "tinytorch.vision", 32, _cnn("cnn-deep")),
    ModelSpec("cnn-wide", "CIFAR-10 CNN: 2 wide conv layers (96, 192)",
              "tinytorch.vision", 32, _cnn("cnn-wide")),
    ModelSpec("gpt-tiny", "TinyGPT: vocab 65, d_model 64, 4 heads, 2 layers, seq 64",
              "tinytorch.language", 4, gpt_builder()),
)}

CIFAR10_DESIGNS = ("cnn-small", "cnn-deep", "cnn-wide")


def build_model(name: str, batch_size: int | None = None, seed: int = 0) -> BuiltModel:
    """Build a registered model with a batch of random inputs and its loss function."""
    if name not in MODELS:
        raise ValueError(f"build_model: unknown model {name!r}; known: {sorted(MODELS)}")
    spec = MODELS[name]
    batch = spec.default_batch if batch_size is None else batch_size
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"build_model: batch_size must be a positive int, got {batch!r}")
    manual_seed(seed)
    model, inputs, loss_fn = spec.build(batch)
    return BuiltModel(name, spec.description, model, inputs, loss_fn)
