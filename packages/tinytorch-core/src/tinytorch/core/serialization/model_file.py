"""A model in one file: weights, architecture and what you want to remember about it.

    save_model(model, "mlp.safetensors", info={"test_accuracy": 0.97})
    model = load_model("mlp.safetensors")                   # rebuilt, filled, eval mode
    model, info = load_model("mlp.safetensors", return_info=True)

What it teaches: the one save/load path every TinyTorch package uses (Trainer checkpoints,
the mlops registry, the vision CNNs, the language models). The file is a `save` file whose
object is the state_dict, plus two metadata entries: the architecture spec and an `info`
JSON object (a tokenizer, a config, metrics: anything JSON can hold). One file means one
checksum covers everything, and a model can never be paired with the wrong weights.

Loading in an order that never trusts the file before it has been checked:
1. the file's size against `max_bytes`, before reading it;
2. the header (lengths, shapes, offsets) and the SHA-256 of every byte;
3. the spec, against the header, *while* the model is built: no layer may take an
   argument larger than the file's largest dimension or grow the model past the number
   of weights the file holds, so a 272-byte file claiming `Linear(16000, 16000)` is
   refused before 1 GB is allocated;
4. a strict `load_state_dict`: every name and shape must match.

Systems lesson: the checks cost one pass over the file (SHA-256 runs at hundreds of MB/s)
and a walk over a JSON spec, which is nothing next to building the model.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .. import nn
from .architecture import ArchitectureError, build_model, spec_of
from .objects import FORMAT, dumps, loads
from .safetensors import SerializationError, nesting_depth, read_bytes, read_header

ARCHITECTURE_KEY = "tinytorch.architecture"
INFO_KEY = "tinytorch.info"
DEFAULT_MAX_BYTES = 4 * 1024**3  # 4 GiB: far above any course model, far below a bomb
MAX_SPEC_DEPTH = 200


def save_model(model: nn.Module, path: str | os.PathLike, info: dict[str, Any] | None = None
               ) -> int:
    """Write `model`'s weights and architecture spec (and `info`) to `path` atomically;
    return the file size in bytes."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"save_model: expected a tinytorch Module, got {type(model).__name__}")
    data = encode_model(model, info)
    from ..atomic import atomic_open

    with atomic_open(path, "wb") as file:
        file.write(data)
    return len(data)


def encode_model(model: nn.Module, info: dict[str, Any] | None = None) -> bytes:
    """The bytes `save_model` writes."""
    try:
        info_text = json.dumps(info or {}, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_model: info must be JSON-serialisable (no NaN): {exc}") from None
    return dumps(model.state_dict(), metadata={ARCHITECTURE_KEY: json.dumps(spec_of(model)),
                                               INFO_KEY: info_text})


def load_model(path: str | os.PathLike, return_info: bool = False,
               max_bytes: int | None = DEFAULT_MAX_BYTES):
    """Rebuild the model saved in `path`, load its weights (strict), put it in eval mode.

    With `return_info`, returns (model, info)."""
    data = read_bytes(path, max_bytes, "load_model")
    model, info = decode_model(data, str(path))
    return (model, info) if return_info else model


def decode_model(data: bytes, source: str) -> tuple[nn.Module, dict[str, Any]]:
    entries, metadata = read_header(data, source)
    if metadata.get("format") != FORMAT or ARCHITECTURE_KEY not in metadata:
        raise SerializationError(
            f"load_model: {source} holds no architecture ({ARCHITECTURE_KEY!r} metadata); it "
            "holds weights only: build the model yourself and call "
            "model.load_state_dict(tinytorch.core.load(path))")
    spec = _json(metadata[ARCHITECTURE_KEY], source, "architecture", MAX_SPEC_DEPTH)
    info = _json(metadata.get(INFO_KEY, "{}"), source, "info", 64)
    state_dict, _ = loads(data, source)  # verifies the checksum before anything is built
    if not isinstance(state_dict, dict):
        raise SerializationError(f"load_model: {source} does not hold a state_dict")
    header = {name: shape for name, (_, shape, _) in entries.items()}
    try:
        model = build_model(spec, header=header)
    except ArchitectureError as exc:
        raise ArchitectureError(f"load_model: {source}: {exc}") from None
    try:
        model.load_state_dict(state_dict, strict=True)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise SerializationError(f"load_model: {source}: the weights do not fit the "
                                 f"architecture: {exc}") from None
    return model.eval(), info


def _json(text: str, source: str, what: str, max_depth: int):
    if nesting_depth(text.encode()) > max_depth:
        raise SerializationError(f"load_model: {source}: the {what} nests deeper than "
                                 f"{max_depth} levels")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SerializationError(f"load_model: {source}: the {what} is not valid JSON ({exc})"
                                 ) from None
    if not isinstance(value, dict):
        raise SerializationError(f"load_model: {source}: the {what} must be a JSON object")
    return value
