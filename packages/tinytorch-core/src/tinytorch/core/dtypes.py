"""Data types and the promotion rules TinyTorch applies between them.

What it teaches: every number in a tensor has a type, and the type decides memory and
speed. float32 takes 4 bytes and runs twice as fast through BLAS as float64 (8 bytes);
that is why deep learning defaults to float32.

Systems lesson, the classic trap: numpy promotes `float32_array * np.float64(2.0)` to
float64, silently doubling memory and halving matmul speed for the rest of the run.
TinyTorch treats Python and numpy scalars as "weak" (they take the tensor's dtype) and
refuses to mix float32 and float64 tensors without an explicit `.double()`/`.float()`.
"""

from __future__ import annotations

import builtins

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

default_float = float32
SUPPORTED = (float16, float32, float64, int8, uint8, int16, int32, int64, bool_)


def as_dtype(dtype) -> np.dtype:
    """Turn what a user passes as dtype (np type, string, np.dtype) into an np.dtype."""
    if dtype is bool:
        return bool_
    if dtype is int:
        return int64
    if dtype is builtins.float:
        return float32
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype: cannot interpret {dtype!r} as a data type") from err
    if resolved not in SUPPORTED:
        raise TypeError(
            f"dtype: {resolved} is not supported; use one of "
            + ", ".join(str(d) for d in SUPPORTED)
        )
    return resolved


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def result_dtype(op: str, a: np.dtype, b: np.dtype) -> np.dtype:
    """dtype of a binary op between two tensors.

    Same dtype: kept. int with float: the float. Two different floats: refused, because
    silently going float32 -> float64 is the bug this library wants you to notice.
    """
    # BEGIN SOLUTION
    if a == b:
        return a
    if a.kind == "f" and b.kind == "f":
        raise TypeError(
            f"{op}: dtype mismatch {a} and {b}; TinyTorch never promotes float32 to float64 "
            "silently. Convert one side explicitly with .float() or .double()."
        )
    if a.kind == "f":
        return a
    if b.kind == "f":
        return b
    return np.promote_types(a, b)
    # END SOLUTION
