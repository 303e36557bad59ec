"""JSON files that carry their own checksum: manifests, tags, tokenizers, configs.

    write_json(path, {"production": 3})     # atomic, with "tinytorch.sha256": "<digest>"
    read_json(path)                         # -> {"production": 3}, or SerializationError

What it teaches: a JSON file can be damaged in ways that still parse. Flip one bit of
`"signature"` and it becomes `"signaturg"`: valid JSON, and a server reading it would
silently stop checking input shapes. So the file records the SHA-256 of its own bytes
(computed with the 64 digest characters set to "0"), and reading recomputes it: any
changed bit, even one that leaves the JSON valid, is refused with the file's name.

Systems lesson: a checksum over the *bytes*, not the parsed value, is what makes it
catch every corruption; it also means the file must not be re-formatted by hand (edit
it through the API, which rewrites the digest).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .safetensors import SerializationError, nesting_depth

CHECKSUM_KEY = "tinytorch.sha256"
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 64
_FIELD = f'"{CHECKSUM_KEY}": "'.encode()
_PLACEHOLDER = b"0" * 64


def dumps_json(value: dict[str, Any]) -> bytes:
    """The bytes of a checksummed JSON document (an object) holding `value`."""
    if not isinstance(value, dict) or CHECKSUM_KEY in value:
        raise TypeError(f"write_json: expected a dict without the reserved key "
                        f"{CHECKSUM_KEY!r}, got {type(value).__name__}")
    try:
        text = json.dumps({**value, CHECKSUM_KEY: _PLACEHOLDER.decode()}, indent=2,
                          sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"write_json: the value must be JSON-serialisable (no NaN): {exc}") \
            from None
    data = (text + "\n").encode("utf-8")
    start = data.index(_FIELD) + len(_FIELD)
    digest = hashlib.sha256(data).hexdigest().encode()
    return data[:start] + digest + data[start + 64:]


def write_json(path: str | os.PathLike, value: dict[str, Any]) -> Path:
    """Write `value` to `path` atomically, with its checksum; return the path."""
    from ..atomic import atomic_open

    data = dumps_json(value)
    with atomic_open(path, "wb") as file:
        file.write(data)
    return Path(path)


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """The object `write_json` wrote; SerializationError if the file is damaged."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise SerializationError(f"{path}: {path.stat().st_size:,} bytes is over the "
                                     f"{MAX_JSON_BYTES:,}-byte limit for a JSON file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"read_json: {path} is missing") from None
    return loads_json(data, str(path))


def loads_json(data: bytes, source: str = "<bytes>") -> dict[str, Any]:
    if data.count(_FIELD) != 1:
        raise SerializationError(f"{source}: no (or more than one) {CHECKSUM_KEY} field; the "
                                 "file is corrupted, truncated, or was not written by TinyTorch")
    start = data.index(_FIELD) + len(_FIELD)
    stored = data[start:start + 64]
    digest = hashlib.sha256(data[:start] + _PLACEHOLDER + data[start + 64:]).hexdigest()
    if stored != digest.encode():
        raise SerializationError(f"{source}: SHA-256 mismatch; the file is corrupted, "
                                 "truncated or was edited by hand")
    if nesting_depth(data) > MAX_JSON_DEPTH:
        raise SerializationError(f"{source}: nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SerializationError(f"{source}: not valid UTF-8 JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SerializationError(f"{source}: expected a JSON object")
    value.pop(CHECKSUM_KEY, None)
    return value
