"""The safetensors file format, written and read with nothing but numpy and json.

What it teaches: a weight file does not need to be a program. Python's pickle (what
`torch.save` used by default for years) stores *instructions* that rebuild objects, and
loading one runs them: a downloaded model file can run any code it likes. safetensors
stores *data*:

    8 bytes   little-endian unsigned integer N, the size of the header
    N bytes   a JSON object: for each tensor {"dtype": "F32", "shape": [...],
              "data_offsets": [begin, end]}, plus an optional "__metadata__" of strings
    rest      the raw little-endian bytes of every tensor, back to back

Loading parses JSON and copies bytes; nothing is executed. Everything in the header is
checked before any byte is used: its length, its nesting depth (a 100 MB header of `[[[[`
would otherwise overflow the parser's stack), every dtype, every shape (element counts are
computed with Python integers, so `[2**40, 2**40]` cannot overflow int64) and every offset,
so a truncated or tampered file is refused with a message instead of being read past its end.

Integrity: TinyTorch adds one metadata entry, `tinytorch.sha256`, the SHA-256 of the whole
file computed with those 64 hex digits set to "0". Any flipped bit anywhere in the file
(header, padding, data, or the digest itself) changes the digest, so a corrupted file is
refused instead of loading with different weights. Files written here are byte-compatible
with the `safetensors` library (the tests check both directions); the library ignores the
extra metadata, and files it wrote (no digest) are still read.

Systems lesson: the on-disk size of a model is sum(numel * itemsize) plus a small header,
so storing weights as int8 instead of float32 makes the file four times smaller, and the
file size is a measurement, not an estimate.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import struct
from pathlib import Path

import numpy as np

from ..atomic import atomic_open
from ..tensor import Tensor

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
MAX_DEPTH = 3  # header object -> tensor entry -> shape list; nothing deeper is valid
MAX_DIM = 2**53  # no real tensor has a dimension near this; beyond it JSON numbers lose meaning
ALIGNMENT = 8  # the header is padded with spaces so that tensor data starts 8-byte aligned
CHECKSUM_KEY = "tinytorch.sha256"
_PLACEHOLDER = b"0" * 64
_CHECKSUM_FIELD = f'"{CHECKSUM_KEY}":"'.encode()
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class SerializationError(ValueError):
    """A file TinyTorch cannot load safely: truncated, corrupted, tampered or not one of ours."""


class SafetensorsError(SerializationError):
    """A file that is not a valid safetensors file (truncated, corrupted, or not one at all)."""


# ---------------------------------------------------------------- writing
def save_file(tensors: dict[str, np.ndarray], path: str | os.PathLike,
              metadata: dict[str, str] | None = None, checksum: bool = True) -> int:
    """Write `tensors` (name -> numpy array) to `path` atomically; return the file size.

    With `checksum` (the default) the file carries its SHA-256 in the metadata."""
    data = encode(tensors, metadata, checksum)
    path = Path(path)
    with atomic_open(path, "wb") as f:
        f.write(data)
    return len(data)


def encode(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None,
           checksum: bool = True) -> bytes:
    """The bytes of a safetensors file holding `tensors` and `metadata`."""
    header, arrays = _header(tensors, metadata, checksum)
    parts = [struct.pack("<Q", len(header)), header, *(a.tobytes() for a in arrays)]
    data = b"".join(parts)
    if not checksum:
        return data
    start = data.index(_CHECKSUM_FIELD) + len(_CHECKSUM_FIELD)
    digest = hashlib.sha256(data).hexdigest().encode()
    return data[:start] + digest + data[start + 64:]


def _header(tensors, metadata, checksum: bool) -> tuple[bytes, list[np.ndarray]]:
    if not isinstance(tensors, dict):
        raise TypeError(f"safetensors.save_file: expected a dict of name -> numpy array, got "
                        f"{type(tensors).__name__}")
    entries: dict[str, object] = {}
    metadata = dict(metadata or {})
    bad = {k: type(v).__name__ for k, v in metadata.items()
           if not isinstance(k, str) or not isinstance(v, str) or k == CHECKSUM_KEY}
    if bad:
        raise TypeError(f"safetensors.save_file: metadata must map str to str (and not use "
                        f"the reserved key {CHECKSUM_KEY!r}); offending entries: {bad}")
    if checksum:
        metadata[CHECKSUM_KEY] = _PLACEHOLDER.decode()  # last, replaced by the digest
    if metadata:
        entries["__metadata__"] = metadata
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
    array = as_array(value)
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    if dtype not in CODES:
        raise TypeError(f"safetensors.save_file: tensor '{name}' has dtype {array.dtype}; "
                        f"supported: {sorted(str(d) for d in CODES)}")
    return np.asarray(array, dtype=dtype, order="C")  # (ascontiguousarray makes 0-d 1-d)


def as_array(value) -> np.ndarray:
    """The numpy array behind a Tensor (or anything array-like)."""
    if isinstance(value, Tensor):
        value = value.array
    return np.asarray(value)


# ---------------------------------------------------------------- reading
def load_file(path: str | os.PathLike, require_checksum: bool = False,
              max_bytes: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file: (name -> numpy array, metadata). Raises SafetensorsError.

    A digest, when present, is always verified; `require_checksum` also refuses files
    without one. `max_bytes` refuses larger files before reading them."""
    data = read_bytes(path, max_bytes, "safetensors.load_file")
    return load_bytes(data, source=str(path), require_checksum=require_checksum)


def read_bytes(path, max_bytes: int | None, op: str) -> bytes:
    path = Path(path)
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise SafetensorsError(f"{op}: {path} is {size:,} bytes, over the limit of "
                                   f"{max_bytes:,} bytes (max_bytes)")
        return path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{op}: no such file: {path}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{op}: {path} is a directory, expected a file") from None


def load_bytes(data: bytes, source: str = "<bytes>", require_checksum: bool = False
               ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse safetensors bytes; every header field is validated before any byte is used."""
    length = _header_length(data, source)
    header = _parse_header(data, length, source)
    metadata = _metadata(header.pop("__metadata__", None), source)
    buffer = memoryview(data)[8 + length:]
    entries = {name: _checked_entry(name, entry, source) for name, entry in header.items()}
    _check_layout(entries, len(buffer), source)
    _verify_checksum(data, length, metadata, source, require_checksum)
    tensors = {}
    for name, (dtype, shape, (begin, end)) in entries.items():
        array = np.frombuffer(buffer[begin:end], dtype=dtype).reshape(shape)
        tensors[name] = array.astype(dtype.newbyteorder("="), copy=True)
    return tensors, metadata


def read_header(data: bytes, source: str = "<bytes>") -> tuple[dict, dict[str, str]]:
    """(name -> (dtype, shape, offsets), metadata) of safetensors bytes, validated, no data
    copied: what a loader checks a model against before building it."""
    length = _header_length(data, source)
    header = _parse_header(data, length, source)
    metadata = _metadata(header.pop("__metadata__", None), source)
    entries = {name: _checked_entry(name, entry, source) for name, entry in header.items()}
    _check_layout(entries, len(data) - 8 - length, source)
    return entries, metadata


def _header_length(data: bytes, source: str) -> int:
    if len(data) < 8:
        raise SafetensorsError(f"{source}: file is {len(data)} bytes, shorter than the 8-byte "
                               "header length; it is truncated or not a safetensors file")
    (length,) = struct.unpack("<Q", data[:8])
    if length > MAX_HEADER_BYTES or 8 + length > len(data):
        raise SafetensorsError(f"{source}: header claims {length} bytes but the file has "
                               f"{len(data) - 8} after the length field (limit "
                               f"{MAX_HEADER_BYTES}); truncated or not a safetensors file")
    return length


def _parse_header(data: bytes, length: int, source: str) -> dict:
    raw = bytes(data[8:8 + length])
    depth = nesting_depth(raw)
    if depth > MAX_DEPTH:
        raise SafetensorsError(f"{source}: the header nests {depth} levels deep; a safetensors "
                               f"header has at most {MAX_DEPTH} (object, entry, shape)")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetensorsError(f"{source}: the header is not valid UTF-8 JSON ({exc}); the file "
                               "is corrupted or not a safetensors file") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{source}: the header must be a JSON object, got "
                               f"{type(header).__name__}")
    return header


def nesting_depth(raw: bytes) -> int:
    """Deepest bracket nesting outside strings, vectorised (no parser recursion): +1 per
    opening bracket, -1 per closing one, summed over the brackets only (a request body is
    mostly digits). '[' and '{' differ only in bit 5, as do ']' and '}', so after one OR
    two byte comparisons find every bracket (~4x faster than a 256-entry table lookup)."""
    if b'"' in raw:
        raw = _JSON_STRING.sub(b'""', raw)
    folded = np.frombuffer(raw, dtype=np.uint8) | np.uint8(0x20)  # '[' -> '{', ']' -> '}'
    opens, closes = folded == np.uint8(ord("{")), folded == np.uint8(ord("}"))
    where = np.flatnonzero(opens | closes)
    steps = np.where(opens[where], 1, -1)
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def _metadata(metadata, source: str) -> dict[str, str]:
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError(f"{source}: __metadata__ must be an object of strings")
    return metadata


def _checked_entry(name: str, entry, source: str):
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise SafetensorsError(f"{source}: entry '{name}' must have exactly dtype, shape and "
                               f"data_offsets, got {entry!r:.200}")
    if entry["dtype"] not in DTYPES:
        raise SafetensorsError(f"{source}: tensor '{name}' has unknown dtype "
                               f"{entry['dtype']!r:.40}; known: {sorted(DTYPES)}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not (isinstance(shape, list) and all(_natural(d) and d <= MAX_DIM for d in shape)):
        raise SafetensorsError(f"{source}: tensor '{name}' has invalid shape {shape!r:.200}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_natural, offsets))
            and offsets[0] <= offsets[1]):
        raise SafetensorsError(f"{source}: tensor '{name}' has invalid data_offsets "
                               f"{offsets!r:.200}")
    dtype = DTYPES[entry["dtype"]]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if offsets[1] - offsets[0] != expected:
        raise SafetensorsError(f"{source}: tensor '{name}' of shape {shape} and dtype "
                               f"{entry['dtype']} needs {expected} bytes but its offsets span "
                               f"{offsets[1] - offsets[0]}")
    return dtype, tuple(shape), tuple(offsets)


def _natural(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_layout(entries: dict, buffer_size: int, source: str) -> None:
    """Tensors must tile the data section exactly: no gaps, no overlaps, no trailing bytes."""
    position = 0
    for begin, end, name in sorted((*offsets, name) for name, (_, _, offsets)
                                   in entries.items()):
        if begin != position:
            raise SafetensorsError(f"{source}: tensor '{name}' starts at byte {begin} of the data "
                                   f"section, expected {position} (gap or overlap)")
        if end > buffer_size:
            raise SafetensorsError(
                f"{source}: tensor '{name}' needs bytes [{begin}, {end}) of the data section "
                f"but the file has only {buffer_size}; the file is truncated")
        position = end
    if position != buffer_size:
        raise SafetensorsError(f"{source}: the tensors cover {position} bytes but the data "
                               f"section has {buffer_size}; the file was extended or corrupted")


def _verify_checksum(data: bytes, length: int, metadata: dict, source: str,
                     required: bool) -> None:
    stored = metadata.pop(CHECKSUM_KEY, None)
    if stored is None:
        if required or metadata.get("format", "").startswith("tinytorch"):
            raise SafetensorsError(f"{source}: the file carries no {CHECKSUM_KEY} digest, so "
                                   "its integrity cannot be checked; it is corrupted or was not "
                                   "written by this version of TinyTorch")
        return
    header = bytes(data[8:8 + length])
    if header.count(_CHECKSUM_FIELD) != 1:
        raise SafetensorsError(f"{source}: the header's {CHECKSUM_KEY} field is malformed; "
                               "the file is corrupted")
    start = 8 + header.index(_CHECKSUM_FIELD) + len(_CHECKSUM_FIELD)
    digest = hashlib.sha256(memoryview(data)[:start])
    digest.update(_PLACEHOLDER)
    digest.update(memoryview(data)[start + 64:])
    if stored != digest.hexdigest():
        raise SafetensorsError(f"{source}: SHA-256 mismatch (the file says {stored[:16]:.16}..., "
                               f"its bytes give {digest.hexdigest()[:16]}...); the file is "
                               "corrupted or was modified after it was written")
