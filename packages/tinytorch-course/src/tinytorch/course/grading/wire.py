"""The grader <-> submission wire format: JSON lines carrying plain data and numpy arrays.

What it teaches: the grader must read what the submission's process sends without ever
running its code. Pickle would run code on load (a pickle names a callable to call), so
the wire is JSON: None, bools, numbers, strings, lists, string-keyed dicts, tuples (tagged,
so a shape stays a tuple) and numeric numpy arrays (tagged: dtype, shape, base64 bytes).
Anything else is refused on both sides.

This file is copied into the submission's sandbox: it imports only the standard library
and numpy.
"""

from __future__ import annotations

import base64
import json

import numpy as np

MAX_MESSAGE = 256 * 2**20  # bytes: a larger message is a broken or hostile submission
_KINDS = "biuf"  # bool, signed and unsigned ints, floats: no objects, no strings


class WireError(ValueError):
    """A message that is not in the wire format."""


def to_plain(value, depth: int = 0):
    if depth > 64:
        raise WireError("value nested more than 64 levels deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in _KINDS:
            raise WireError(f"arrays of dtype {array.dtype} cannot be sent")
        return {"__nd__": [array.dtype.str, list(array.shape),
                           base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()]}
    if isinstance(value, tuple):
        return {"__tuple__": [to_plain(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [to_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise WireError("dict keys must be strings")
        if "__nd__" in value or "__tuple__" in value:
            raise WireError("reserved key in a dict")
        return {k: to_plain(v, depth + 1) for k, v in value.items()}
    raise WireError(f"values of type {type(value).__name__} cannot be sent")


def from_plain(value, depth: int = 0):
    if depth > 64:
        raise WireError("value nested more than 64 levels deep")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [from_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if "__nd__" in value:
            dtype_str, shape, data = value["__nd__"]
            dtype = np.dtype(str(dtype_str))
            if dtype.kind not in _KINDS:
                raise WireError(f"arrays of dtype {dtype} cannot be received")
            shape = tuple(int(s) for s in shape)
            raw = base64.b64decode(data, validate=True)
            if len(raw) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
                raise WireError(f"array of shape {shape} and dtype {dtype} has "
                                f"{len(raw)} bytes")
            return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        if "__tuple__" in value:
            return tuple(from_plain(v, depth + 1) for v in value["__tuple__"])
        return {str(k): from_plain(v, depth + 1) for k, v in value.items()}
    raise WireError(f"unexpected JSON value of type {type(value).__name__}")


def dumps(message: dict) -> bytes:
    return (json.dumps(to_plain(message), allow_nan=True) + "\n").encode()


def loads(line: bytes) -> dict:
    if len(line) > MAX_MESSAGE:
        raise WireError(f"message of {len(line)} bytes is larger than {MAX_MESSAGE}")
    try:
        message = from_plain(json.loads(line))
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError) as exc:
        raise WireError(f"not a wire message: {type(exc).__name__}: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("a wire message is a JSON object")
    return message
