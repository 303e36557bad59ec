"""`save(obj, f)` / `load(f)`: PyTorch's `torch.save`/`torch.load`, without pickle.

    torch.save(model.state_dict(), "model.pt")         # import tinytorch.core as torch
    model.load_state_dict(torch.load("model.pt"))
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, f)

What it teaches: `torch.save` pickles, and unpickling runs whatever instructions the file
holds. TinyTorch stores the same objects as *data*: one safetensors file whose tensors are
every array found in `obj`, and whose metadata holds the structure as JSON, a tree in
which each container is tagged and each array is a reference to a named tensor:

    {"dict": [["epoch", 3], ["model", {"dict": [["0.weight", {"tensor": "model/0.weight"}]]}]]}

Dicts keep their key types (an optimizer's state is keyed by int), tuples stay tuples, and
floats that JSON cannot hold (nan, inf) are tagged. Anything else (a function, a Module, a
custom class) is refused at save time with the path where it was found, because loading it
would mean running code. Loading rebuilds the tree; it never imports or calls anything the
file names, and the file's SHA-256 is checked before a single value is returned.

Systems lesson: a checkpoint's size is its arrays' bytes; the structure is a few hundred
bytes of JSON, so the format costs nothing while making every file inspectable with any
safetensors reader.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from ..tensor import Tensor
from .safetensors import (
    SerializationError,
    as_array,
    encode,
    load_bytes,
    nesting_depth,
    read_bytes,
)

FORMAT = "tinytorch/1"
TREE_KEY = "tinytorch.tree"
MAX_TREE_DEPTH = 64  # containers in containers: far deeper than any checkpoint
_SCALARS = (bool, int, str, type(None))
_SUPPORTED = ("Tensor, numpy array, dict, list, tuple, str, int, float, bool and None")


def save(obj: Any, f, metadata: dict[str, str] | None = None) -> int:
    """Write `obj` (a state_dict, or nested dicts/lists/tuples of tensors, arrays, numbers
    and strings) to `f` (a path, written atomically, or a binary file object); return the
    number of bytes written."""
    data = dumps(obj, metadata)
    if hasattr(f, "write"):
        f.write(data)
        return len(data)
    from ..atomic import atomic_open

    with atomic_open(_checked_path(f, "save"), "wb") as file:
        file.write(data)
    return len(data)


def load(f, map_location=None, weights_only: bool = True, max_bytes: int | None = None):
    """The object `save` wrote to `f` (a path or a binary file object).

    `map_location` may only name the CPU (TinyTorch has no other device). `weights_only`
    is accepted for PyTorch compatibility: loading never runs code whatever its value."""
    _check_cpu(map_location)
    if hasattr(f, "read"):
        data, source = f.read(), getattr(f, "name", "<file object>")
    else:
        source = str(_checked_path(f, "load"))
        data = read_bytes(source, max_bytes, "load")
    return loads(data, source)[0]


def dumps(obj: Any, metadata: dict[str, str] | None = None) -> bytes:
    """The bytes `save` writes: tensors + the JSON tree (+ extra string metadata)."""
    tensors: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", tensors, "obj")
    extra = dict(metadata or {})
    reserved = {"format", TREE_KEY} & set(extra)
    if reserved:
        raise ValueError(f"save: metadata keys {sorted(reserved)} are reserved")
    extra.update({"format": FORMAT, TREE_KEY: json.dumps(tree, separators=(",", ":"),
                                                         allow_nan=False)})
    return encode(tensors, extra)


def loads(data: bytes, source: str = "<bytes>") -> tuple[Any, dict[str, str]]:
    """(object, extra metadata) from the bytes of a file written by `save`."""
    tensors, metadata = load_bytes(data, source, require_checksum=True)
    if metadata.get("format") != FORMAT or TREE_KEY not in metadata:
        raise SerializationError(f"load: {source} is a safetensors file but not one written by "
                                 f"tinytorch.core.save (format {metadata.get('format')!r}, "
                                 f"expected {FORMAT!r})")
    text = metadata.pop(TREE_KEY)
    if nesting_depth(text.encode()) > MAX_TREE_DEPTH:
        raise SerializationError(f"load: {source}: the structure nests deeper than "
                                 f"{MAX_TREE_DEPTH} levels")
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SerializationError(f"load: {source}: the structure is not valid JSON ({exc})") \
            from None
    used: set[str] = set()
    obj = _decode(tree, tensors, used, source)
    if used != tensors.keys():
        raise SerializationError(f"load: {source} holds tensors the structure does not use: "
                                 f"{sorted(tensors.keys() - used)[:5]}")
    metadata.pop("format")
    return obj, metadata


# ---------------------------------------------------------------- encoding
def _encode(value, name: str, tensors: dict, where: str):
    if isinstance(value, (Tensor, np.ndarray)):
        key = _unique(name or "tensor", tensors)
        tensors[key] = as_array(value)
        node = {"tensor" if isinstance(value, Tensor) else "ndarray": key}
        if isinstance(value, Tensor) and value.requires_grad:
            node["requires_grad"] = True
        return node
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: {where} has a key {key!r} of type {type(key).__name__}; "
                                "keys must be str or int")
            items.append([key, _encode(item, _join(name, key), tensors, f"{where}[{key!r}]")])
        return {"dict": items}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [_encode(item, _join(name, i), tensors, f"{where}[{i}]")
                       for i, item in enumerate(value)]}
    raise TypeError(f"save: cannot store {where}, a {type(value).__module__}."
                    f"{type(value).__qualname__}; supported: {_SUPPORTED} (storing other "
                    "objects would need pickle, and loading pickle runs code)")


def _join(prefix: str, key) -> str:
    return f"{prefix}/{key}" if prefix else str(key)


def _unique(name: str, tensors: dict) -> str:
    if name == "__metadata__":
        name = "_metadata_"
    candidate, n = name, 1
    while candidate in tensors:
        candidate, n = f"{name}#{n}", n + 1
    return candidate


# ---------------------------------------------------------------- decoding
def _decode(node, tensors: dict, used: set, source: str):
    if isinstance(node, (*_SCALARS, float)):
        return node
    if isinstance(node, list) or not isinstance(node, dict) or len(node) not in (1, 2):
        raise SerializationError(f"load: {source}: malformed structure node {node!r:.100}")
    if "tensor" in node or "ndarray" in node:
        key = node.get("tensor", node.get("ndarray"))
        if not isinstance(key, str) or key not in tensors:
            raise SerializationError(f"load: {source}: the structure refers to tensor "
                                     f"{key!r:.100}, which the file does not hold")
        used.add(key)
        if "ndarray" in node:
            return tensors[key]
        return Tensor(tensors[key], requires_grad=node.get("requires_grad") is True)
    ((kind, body),) = node.items()
    if kind == "float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if kind in ("list", "tuple") and isinstance(body, list):
        items = [_decode(item, tensors, used, source) for item in body]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and isinstance(body, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int))
            and not isinstance(p[0], bool) for p in body):
        return {key: _decode(item, tensors, used, source) for key, item in body}
    raise SerializationError(f"load: {source}: malformed structure node {node!r:.100}")


def _checked_path(f, op: str):
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"{op}: expected a path or a binary file object, got "
                        f"{type(f).__name__}")
    return f


def _check_cpu(map_location) -> None:
    if map_location is None or str(map_location) == "cpu":
        return
    raise ValueError(f"load: map_location={map_location!r}; TinyTorch only has the CPU "
                     "(pass None or 'cpu')")


