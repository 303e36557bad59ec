"""Entry points: how later phases add layers to `nn` and functions to `nn.functional`.

What it teaches: a plugin registry without imports. tinytorch-vision declares, in its
pyproject.toml,

    [project.entry-points."tinytorch.nn"]
    Conv2d = "tinytorch.vision.nn:Conv2d"

and once it is installed `tinytorch.core.nn.Conv2d` resolves to it, the first time the
name is asked for. Core never imports a later package by name (the dependency rule):
it only asks the installed distributions' metadata which objects they offer.

Systems lesson: reading entry points scans installed metadata (milliseconds), so the
lookup runs once per name and is cached.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

GROUPS = {"nn": "tinytorch.nn", "nn.functional": "tinytorch.nn.functional"}

# Which distribution provides a well-known name, for the error when it is not installed.
PROVIDERS = {
    "nn": {
        **dict.fromkeys(("Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                         "BatchNorm1d", "BatchNorm2d", "Dropout2d"), "tinytorch-vision"),
        **dict.fromkeys(("Embedding", "MultiheadAttention"), "tinytorch-language"),
    },
    "nn.functional": {
        **dict.fromkeys(("conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
                         "batch_norm", "dropout2d"), "tinytorch-vision"),
        "scaled_dot_product_attention": "tinytorch-language",
    },
}


class MissingPhaseError(ImportError):
    """A name another TinyTorch package provides was asked for, and it is not installed."""


@functools.cache
def _offered(namespace: str) -> dict:
    return {ep.name: ep for ep in entry_points(group=GROUPS[namespace])}


@functools.cache
def resolve(namespace: str, name: str):
    """The object an installed package offers as `<namespace>.<name>`."""
    offered = _offered(namespace)
    if name in offered:
        return offered[name].load()
    provider = PROVIDERS[namespace].get(name)
    if provider is not None:
        raise MissingPhaseError(
            f"{namespace}.{name} is provided by {provider}, which is not installed; "
            f"install it with `pip install {provider}`"
        )
    raise AttributeError(f"module 'tinytorch.core.{namespace}' has no attribute '{name}'")


def names(namespace: str) -> list[str]:
    """The names installed packages offer in `namespace` (for dir())."""
    return sorted(_offered(namespace))
