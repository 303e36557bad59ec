"""The safetensors file format, written and read with nothing but numpy and json.

What it teaches: a weight file does not need to be a program. Python's pickle (what
`torch.save` used by default for years) stores *instructions* that rebuild objects, and
loading one runs them: a downloaded model file can run any code it likes. safetensors
stores *data*:

    8 bytes   little-endian unsigned integer N, the size of the header
    N bytes   a JSON object: for each tensor {"dtype": "F32", "shape": [...],
              "data_offsets": [begin, end]}, plus an optional "__metadata__" of strings
    rest      the raw little-endian bytes of every tensor, back to back

Loading parses JSON and copies bytes; nothing is executed. Every offset is checked before
any byte is used, so a truncated or tampered file is refused with a message instead of
being read past its end. Files written here are byte-compatible with the `safetensors`
library (the tests check both directions).

Systems lesson: the on-disk size of a model is sum(numel * itemsize) plus a small header,
so storing weights as int8 instead of float32 makes the file four times smaller, and the
file size is a measurement, not an estimate.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

from tinytorch.core import Tensor
from tinytorch.core.atomic import atomic_open

# safetensors dtype codes <-> numpy dtypes (always little-endian on disk)
DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype("<u1"),
    "I8": np.dtype("<i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
CODES = {dtype: code for code, dtype in DTYPES.items()}
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the same limit as the reference implementation
ALIGNMENT = 8  # the header is padded with spaces so that tensor data starts 8-byte aligned


class SafetensorsError(ValueError):
    """A file that is not a valid safetensors file (truncated, corrupted, or not one at all)."""


def save_file(tensors: dict[str, np.ndarray], path: str | os.PathLike,
              metadata: dict[str, str] | None = None) -> int:
    """Write `tensors` (name -> numpy array) to `path` atomically; return the file size."""
    header, arrays = _header(tensors, metadata)
    path = Path(path)
    with atomic_open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for array in arrays:
            f.write(array.tobytes())
    return path.stat().st_size


def _header(tensors, metadata) -> tuple[bytes, list[np.ndarray]]:
    if not isinstance(tensors, dict):
        raise TypeError(f"safetensors.save_file: expected a dict of name -> numpy array, got "
                        f"{type(tensors).__name__}")
    entries: dict[str, object] = {}
    if metadata:
        bad = {k: type(v).__name__ for k, v in metadata.items()
               if not isinstance(k, str) or not isinstance(v, str)}
        if bad:
            raise TypeError(f"safetensors.save_file: metadata must map str to str; offending "
                            f"entries: {bad}")
        entries["__metadata__"] = dict(metadata)
    arrays, offset = [], 0
    for name in sorted(tensors):
        array = _little_endian(name, tensors[name])
        entries[name] = {"dtype": CODES[array.dtype], "shape": list(array.shape),
                         "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        arrays.append(array)
    header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    header += b" " * (-(8 + len(header)) % ALIGNMENT)
    return header, arrays


def _little_endian(name: str, value) -> np.ndarray:
    if not isinstance(name, str) or name == "__metadata__":
        raise ValueError(f"safetensors.save_file: invalid tensor name {name!r}")
    array = value.array if isinstance(value, Tensor) else np.asarray(value)
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    if dtype not in CODES:
        raise TypeError(f"safetensors.save_file: tensor '{name}' has dtype {array.dtype}; "
                        f"supported: {sorted(str(d) for d in CODES)}")
    return np.asarray(array, dtype=dtype, order="C")  # (ascontiguousarray makes 0-d 1-d)


def load_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file: (name -> numpy array, metadata). Raises SafetensorsError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"safetensors.load_file: no such file: {path}") from None
    return load_bytes(data, source=str(path))


def load_bytes(data: bytes, source: str = "<bytes>") -> tuple[dict[str, np.ndarray],
                                                               dict[str, str]]:
    """Parse safetensors bytes; every offset is validated before it is used."""
    header = _parse_header(data, source)
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError(f"{source}: __metadata__ must be an object of strings")
    buffer = memoryview(data)[8 + _header_length(data, source):]
    tensors, spans = {}, []
    for name, entry in header.items():
        dtype, shape, (begin, end) = _checked_entry(name, entry, source)
        spans.append((begin, end, name))
        if end > len(buffer):
            raise SafetensorsError(
                f"{source}: tensor '{name}' needs bytes [{begin}, {end}) of the data section "
                f"but the file has only {len(buffer)}; the file is truncated")
        array = np.frombuffer(buffer[begin:end], dtype=dtype).reshape(shape)
        tensors[name] = array.astype(dtype.newbyteorder("="), copy=True)
    _check_layout(spans, len(buffer), source)
    return tensors, metadata


def _header_length(data: bytes, source: str) -> int:
    if len(data) < 8:
        raise SafetensorsError(f"{source}: file is {len(data)} bytes, shorter than the 8-byte "
                               "header length; it is truncated or not a safetensors file")
    (length,) = struct.unpack("<Q", data[:8])
    if length > MAX_HEADER_BYTES or 8 + length > len(data):
        raise SafetensorsError(f"{source}: header claims {length} bytes but the file has "
                               f"{len(data) - 8} after the length field; truncated or not a "
                               "safetensors file")
    return length


def _parse_header(data: bytes, source: str) -> dict:
    length = _header_length(data, source)
    raw = bytes(data[8:8 + length])
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetensorsError(f"{source}: the header is not valid UTF-8 JSON ({exc}); the file "
                               "is corrupted or not a safetensors file") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{source}: the header must be a JSON object, got "
                               f"{type(header).__name__}")
    return header


def _checked_entry(name: str, entry, source: str):
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise SafetensorsError(f"{source}: entry '{name}' must have exactly dtype, shape and "
                               f"data_offsets, got {entry!r}")
    if entry["dtype"] not in DTYPES:
        raise SafetensorsError(f"{source}: tensor '{name}' has unknown dtype "
                               f"{entry['dtype']!r}; known: {sorted(DTYPES)}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not (isinstance(shape, list) and all(_natural(d) for d in shape)):
        raise SafetensorsError(f"{source}: tensor '{name}' has invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_natural, offsets))
            and offsets[0] <= offsets[1]):
        raise SafetensorsError(f"{source}: tensor '{name}' has invalid data_offsets {offsets!r}")
    dtype = DTYPES[entry["dtype"]]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offsets[1] - offsets[0] != expected:
        raise SafetensorsError(f"{source}: tensor '{name}' of shape {shape} and dtype "
                               f"{entry['dtype']} needs {expected} bytes but its offsets span "
                               f"{offsets[1] - offsets[0]}")
    return dtype, tuple(shape), tuple(offsets)


def _natural(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_layout(spans, buffer_size: int, source: str) -> None:
    """Tensors must tile the data section exactly: no gaps, no overlaps, no trailing bytes."""
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise SafetensorsError(f"{source}: tensor '{name}' starts at byte {begin} of the data "
                                   f"section, expected {position} (gap or overlap)")
        position = end
    if position != buffer_size:
        raise SafetensorsError(f"{source}: the tensors cover {position} bytes but the data "
                               f"section has {buffer_size}; the file was extended or corrupted")
