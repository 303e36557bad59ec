"""Checkpoints: a model's weights and structure, an optimizer's state, in safetensors files.

    save_model(model, "mlp.safetensors")          # weights + architecture spec (core)
    model = load_model("mlp.safetensors")         # rebuilt and filled, nothing executed
    save_optimizer(optimizer, "adam.safetensors") # moments as tensors, the rest as JSON
    load_optimizer(optimizer, "adam.safetensors")

What it teaches: resuming training needs more than the weights. Adam's two moving averages
and its step count are part of the training state; drop them and the first steps after a
restart use a cold, badly scaled update.

The format is core's (`tinytorch.core.serialization`): `save_model`/`load_model` are
core's, re-exported; the optimizer helpers are a thin layer over `tinytorch.core.save`
that also records the optimizer's class, so Adam moments are never poured into an SGD.

Systems lesson: an Adam checkpoint is three times the size of the weights alone (weights,
exp_avg, exp_avg_sq); the file sizes these functions return show it.
"""

from __future__ import annotations

import os

from tinytorch.core.optim import Optimizer
from tinytorch.core.serialization import (
    SerializationError,
    class_path,
    load,
    load_model,
    save,
    save_model,
)

__all__ = ["load_model", "load_optimizer", "save_model", "save_optimizer"]


def save_optimizer(optimizer: Optimizer, path: str | os.PathLike) -> int:
    """Write `optimizer.state_dict()` and its class; return the file size."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"save_optimizer: expected a tinytorch Optimizer, got "
                        f"{type(optimizer).__name__}")
    return save({"class": class_path(optimizer), "state_dict": optimizer.state_dict()}, path)


def load_optimizer(optimizer: Optimizer, path: str | os.PathLike) -> Optimizer:
    """Restore the state saved by `save_optimizer` into a freshly built optimizer."""
    packed = load(path)
    if not (isinstance(packed, dict) and {"class", "state_dict"} <= packed.keys()):
        raise SerializationError(f"load_optimizer: {path} is not an optimizer checkpoint "
                                 "(written by save_optimizer)")
    if packed["class"] != class_path(optimizer):
        raise ValueError(f"load_optimizer: {path} holds the state of a {packed['class']}, "
                         f"but the optimizer is a {class_path(optimizer)}")
    optimizer.load_state_dict(packed["state_dict"])
    return optimizer
