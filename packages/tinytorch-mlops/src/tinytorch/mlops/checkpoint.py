"""Checkpoints: a model's weights and structure, an optimizer's state, in safetensors files.

    save_model(model, "mlp.safetensors")          # weights + architecture spec
    model = load_model("mlp.safetensors")         # rebuilt and filled, nothing executed
    save_optimizer(optimizer, "adam.safetensors") # moments as tensors, the rest as JSON
    load_optimizer(optimizer, "adam.safetensors")

What it teaches: resuming training needs more than the weights. Adam's two moving averages
and its step count are part of the training state; drop them and the first steps after a
restart use a cold, badly scaled update. Arrays go in the tensor section, while
hyper-parameters and step counts (small, structured) go in the JSON metadata.

Systems lesson: an Adam checkpoint is three times the size of the weights alone (weights,
exp_avg, exp_avg_sq); the file sizes these functions return show it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from tinytorch.core import nn
from tinytorch.core.optim import Optimizer

from .architecture import build_model, class_path, spec_of
from .safetensors_io import SafetensorsError, load_file, save_file

FORMAT = "tinytorch-mlops/1"
ARCHITECTURE_KEY = "tinytorch.architecture"
OPTIMIZER_KEY = "tinytorch.optimizer"


def save_model(model: nn.Module, path: str | os.PathLike,
               metadata: dict[str, str] | None = None) -> int:
    """Write the model's state_dict and architecture spec; return the file size in bytes."""
    meta = {"format": FORMAT, ARCHITECTURE_KEY: json.dumps(spec_of(model))}
    meta.update(metadata or {})
    return save_file(_arrays(model.state_dict()), path, metadata=meta)


def load_model(path: str | os.PathLike) -> nn.Module:
    """Rebuild the model described in the file and load its weights (strict)."""
    tensors, metadata = load_file(path)
    if ARCHITECTURE_KEY not in metadata:
        raise SafetensorsError(f"load_model: {path} has no '{ARCHITECTURE_KEY}' metadata; it "
                               "holds weights only: build the model yourself and call "
                               "model.load_state_dict(load_state_dict(path))")
    model = build_model(json.loads(metadata[ARCHITECTURE_KEY]))
    model.load_state_dict(tensors, strict=True)
    return model.eval()


def save_state_dict(state_dict: dict, path: str | os.PathLike,
                    metadata: dict[str, str] | None = None) -> int:
    """Write a bare state_dict (name -> Tensor or array); return the file size."""
    return save_file(_arrays(state_dict), path, metadata={"format": FORMAT, **(metadata or {})})


def load_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    return load_file(path)[0]


def _arrays(state_dict) -> dict[str, np.ndarray]:
    return {name: np.asarray(getattr(value, "data", value)) for name, value in state_dict.items()}


# ---------------------------------------------------------------- optimizer state
def save_optimizer(optimizer: Optimizer, path: str | os.PathLike) -> int:
    """Write `optimizer.state_dict()`: arrays as tensors, everything else as JSON metadata."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"save_optimizer: expected a tinytorch Optimizer, got "
                        f"{type(optimizer).__name__}")
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, per_param in state["state"].items():
        for key, value in per_param.items():
            if isinstance(value, np.ndarray):
                tensors[f"state.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = _jsonable(value)
    packed = {"class": class_path(optimizer), "scalars": scalars,
              "param_groups": [{k: _jsonable(v) for k, v in group.items()}
                               for group in state["param_groups"]]}
    return save_file(tensors, path, metadata={"format": FORMAT, OPTIMIZER_KEY: json.dumps(packed)})


def load_optimizer(optimizer: Optimizer, path: str | os.PathLike) -> Optimizer:
    """Restore the state saved by `save_optimizer` into a freshly built optimizer."""
    tensors, metadata = load_file(path)
    if OPTIMIZER_KEY not in metadata:
        raise SafetensorsError(f"load_optimizer: {path} has no '{OPTIMIZER_KEY}' metadata; it "
                               "is not an optimizer checkpoint")
    packed = json.loads(metadata[OPTIMIZER_KEY])
    if packed["class"] != class_path(optimizer):
        raise ValueError(f"load_optimizer: {path} holds the state of a {packed['class']}, "
                         f"but the optimizer is a {class_path(optimizer)}")
    state: dict[int, dict[str, Any]] = {}
    for index, per_param in packed["scalars"].items():
        state.setdefault(int(index), {}).update({k: _restored(v) for k, v in per_param.items()})
    for name, array in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = array
    groups = [{k: _restored(v) for k, v in group.items()} for group in packed["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return optimizer


def _jsonable(value):
    if isinstance(value, tuple):
        return {"tuple": [_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    raise TypeError(f"save_optimizer: cannot store a value of type {type(value).__name__} "
                    f"({value!r:.80}) in a checkpoint")


def _restored(value):
    if isinstance(value, dict) and set(value) == {"tuple"}:
        return tuple(_restored(v) for v in value["tuple"])
    if isinstance(value, list):
        return [_restored(v) for v in value]
    return value
