"""Checkpoints: save and restore a model (and its optimizer) as one file.

What it teaches: a checkpoint is the model's `state_dict()` (name -> array) plus what
the optimizer needs to continue exactly where it stopped (Adam's moments and step
counts). Resuming without the optimizer state restarts Adam's statistics from zero,
which shows up as a bump in the loss curve.

The file is `tinytorch.core.save({"model": ..., "optimizer": ..., "meta": ...})`: the one
pickle-free, checksummed format of `tinytorch.core.serialization`, written atomically. A
truncated or bit-flipped checkpoint is refused with an error naming the file.

Systems lesson: with Adam the checkpoint is about 3x the weights (weights + two moments).
"""

from __future__ import annotations

import os

from ..serialization import SerializationError, load, save

FORMAT = "tinytorch-checkpoint-v2"


def save_checkpoint(path, model, optimizer=None, **meta) -> None:
    """Write model (and optimizer) state to `path` atomically; `meta` must be JSON-able."""
    checkpoint = {"format": FORMAT, "model": model.state_dict(), "meta": meta}
    if optimizer is not None:
        checkpoint["optimizer"] = optimizer.state_dict()
    try:
        save(checkpoint, path)
    except TypeError as err:
        raise TypeError(f"save_checkpoint: {err}") from None


def load_checkpoint(path, model, optimizer=None) -> dict:
    """Load `path` into `model` (and `optimizer` if given); return the saved metadata."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_checkpoint: no checkpoint file at {path!r}")
    checkpoint = load(path)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise SerializationError(f"load_checkpoint: {path!r} is not a TinyTorch checkpoint "
                                 f"(expected format {FORMAT!r})")
    model.load_state_dict(checkpoint["model"])
    if optimizer is not None:
        if "optimizer" not in checkpoint:
            raise ValueError(f"load_checkpoint: {path!r} holds no optimizer state; pass "
                             "optimizer=None to load only the model")
        optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["meta"]
