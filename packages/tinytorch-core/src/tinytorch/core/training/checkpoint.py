"""Checkpoints: save and restore a model (and its optimizer) as one .npz file.

What it teaches: a checkpoint is the model's `state_dict()` (name -> array) plus what
the optimizer needs to continue exactly where it stopped (Adam's moments and step
counts). Resuming without the optimizer state restarts Adam's statistics from zero,
which shows up as a bump in the loss curve.

Systems lessons:
- Atomic writes (`tinytorch.core.atomic`): a crash (or a NaN raised mid-epoch) leaves
  either the old checkpoint or the new one, never half of each.
- Size: with Adam the checkpoint is about 3x the weights (weights + two moments).
- No pickle: arrays go in the .npz, everything else (epoch, hyper-parameters, step
  counters) in one JSON string, so loading a checkpoint never executes code.

Layout of the archive: `model/<name>` arrays, `optimizer/state/<index>/<key>` arrays,
and `meta` (JSON: epoch, monitored value, optimizer param_groups and scalar state).
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..atomic import savez_atomic
from ..tensor import Tensor

FORMAT = "tinytorch-checkpoint-v1"


def save_checkpoint(path, model, optimizer=None, **meta) -> None:
    """Write model (and optimizer) state to `path` atomically; `meta` must be JSON-able."""
    arrays = {f"model/{name}": tensor.array for name, tensor in model.state_dict().items()}
    info = {"format": FORMAT, **meta}
    if optimizer is not None:
        optimizer_arrays, info["optimizer"] = _pack_optimizer(optimizer.state_dict())
        arrays.update(optimizer_arrays)
    try:
        arrays["meta"] = np.array(json.dumps(info))
    except TypeError as err:
        raise TypeError(f"save_checkpoint: metadata must be JSON-serialisable: {err}") from None
    savez_atomic(path, arrays)


def load_checkpoint(path, model, optimizer=None) -> dict:
    """Load `path` into `model` (and `optimizer` if given); return the saved metadata."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_checkpoint: no checkpoint file at {path!r}")
    with np.load(path, allow_pickle=False) as archive:
        if "meta" not in archive.files:
            raise ValueError(f"load_checkpoint: {path!r} is not a TinyTorch checkpoint (no "
                             f"'meta' entry; it holds {sorted(archive.files)[:5]}...)")
        info = json.loads(str(archive["meta"]))
        model.load_state_dict({key[len("model/"):]: archive[key]
                               for key in archive.files if key.startswith("model/")})
        if optimizer is not None:
            if "optimizer" not in info:
                raise ValueError(f"load_checkpoint: {path!r} holds no optimizer state; pass "
                                 "optimizer=None to load only the model")
            optimizer.load_state_dict(_unpack_optimizer(archive, info.pop("optimizer")))
    info.pop("optimizer", None)
    return info


# ---------------------------------------------------------------- optimizer state


def _pack_optimizer(state_dict: dict) -> tuple[dict, dict]:
    """Split an optimizer state_dict into arrays (for the npz) and JSON-able rest."""
    arrays, scalars = {}, {}
    for index, per_param in state_dict["state"].items():
        for key, value in per_param.items():
            if isinstance(value, (np.ndarray, Tensor)):
                arrays[f"optimizer/state/{index}/{key}"] = np.asarray(value.array if isinstance(
                    value, Tensor) else value)
            else:
                scalars.setdefault(str(index), {})[key] = _plain(value)
    groups = [{key: _plain(value) for key, value in group.items()}
              for group in state_dict["param_groups"]]
    return arrays, {"param_groups": groups, "scalars": scalars}


def _unpack_optimizer(archive, info: dict) -> dict:
    state: dict[int, dict] = {}
    for index, values in info["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    for key in archive.files:
        if key.startswith("optimizer/state/"):
            _, _, index, name = key.split("/", 3)
            state.setdefault(int(index), {})[name] = archive[key]
    return {"state": state, "param_groups": info["param_groups"]}


def _plain(value):
    """numpy scalars -> Python numbers, tuples -> lists (what JSON can hold)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

