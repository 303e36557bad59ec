"""Bad input, drawn at random: what a careless caller passes, and what a good error looks like.

    @given(args=st.tuples(hostile_values(), hostile_values()))
    def test_conv2d_explains_bad_input(args):
        expect_clear_error("conv2d", lambda: F.conv2d(*args))

What it teaches: DESIGN.md's rule for every public entry point is "a clear error that names
the operation, what it got and what it expected". A hand-written list of bad calls finds
the cases its author thought of; a property-based sweep (hypothesis) also finds the
others: a string where a size goes, a 0-d tensor, an int8 tensor, a negative stride, an
empty batch. `expect_clear_error` turns the rule into a check: the call either succeeds
or raises one of the exceptions a caller can act on, with the operation's name in the
message. A bare numpy `IndexError`, an `AttributeError` from deep inside or a
`ZeroDivisionError` fails the check and points at the line to fix.

The tests of core, vision, language, perf and mlops share these two pieces (hypothesis is
their test dependency; this module imports it only when `hostile_values` is called). The
library shares `as_array`: the one conversion of caller data (lists, arrays, tensors) to a
numpy array whose failure (ragged lists, objects) names the operation.

Systems lesson: an error message is an API. Checking it costs one `isinstance` and one
comparison at the entry point, which is nothing next to a debugging session that starts
from `operands could not be broadcast together with shapes (3,) (4,)`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .tensor import Tensor

# what a caller can catch and act on; IndexError and KeyError only with the op's name
CLEAR_ERRORS = (ValueError, TypeError, RuntimeError, NotImplementedError, IndexError, KeyError)


def as_array(op: str, name: str, value, dtype=None) -> np.ndarray:
    """`value` (a Tensor, array or nested list) as a numpy array; a ragged list or a value
    numpy cannot hold as numbers gets a ValueError/TypeError naming `op` and `name`."""
    if isinstance(value, Tensor):
        value = value.array
    try:
        array = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{op}: {name} must be a rectangular array of numbers, got "
                         f"{type(value).__name__} ({str(exc).split('.')[0][:80]})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} must hold numbers, got {type(value).__name__} of "
                        f"dtype {array.dtype}")
    return array


def number_in(op: str, name: str, value, low: float = -math.inf, high: float = math.inf,
              include_high: bool = True, include_low: bool = True) -> float:
    """`value` as a float, if it is a real number (not a bool, not NaN) within [low, high]
    (open ends where `include_*` is False); else a ValueError naming `op` and `name`."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) \
        and not math.isnan(value) and (low <= value if include_low else low < value) \
        and (value <= high if include_high else value < high)
    if not ok:
        if high == math.inf:
            wanted = f"{'>=' if include_low else '>'} {low:g}"
        else:
            wanted = (f"in {'[' if include_low else '('}{low:g}, {high:g}"
                      f"{']' if include_high else ')'}")
        raise ValueError(f"{op}: {name} must be {wanted} (a number), got {value!r:.40}")
    return float(value)


def expect_clear_error(op: str | tuple[str, ...], call: Callable[[], Any]) -> Any:
    """Run `call()`. Return its result, or check the exception it raised is a clear one:
    a CLEAR_ERRORS type whose message names `op` (one of several names, given a tuple).
    Raises AssertionError, chained to the original exception, when it is not."""
    names = (op,) if isinstance(op, str) else op
    try:
        return call()
    except CLEAR_ERRORS as exc:
        message = str(exc)
        if not any(name in message for name in names):
            raise AssertionError(f"{names[0]}: {type(exc).__name__} does not name the "
                                 f"operation: {message[:300]!r}") from exc
    except Exception as exc:
        raise AssertionError(f"{names[0]}: raised {type(exc).__name__} ({str(exc)[:300]!r}); "
                             f"expected ValueError/TypeError/RuntimeError naming the "
                             "operation") from exc
    return None


def hostile_values(tensors: bool = True):
    """A hypothesis strategy of the values careless callers pass: wrong types, negative,
    zero and huge sizes, NaN and infinity, empty and ragged lists, and (with `tensors`)
    tensors of the wrong rank, dtype or size, including empty and 0-d ones."""
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-3, 6), st.sampled_from([-(2**40), 2**40]),
        st.floats(allow_nan=True, allow_infinity=True, width=32), st.text(max_size=3),
        st.lists(st.integers(-2, 4), max_size=3),
        st.sampled_from([(), (1, 2, 3), [[1, 2], [3]], {"a": 1}, object()]))
    if not tensors:
        return scalars
    arrays = st.builds(
        _array,
        shape=st.lists(st.integers(0, 4), min_size=0, max_size=5).map(tuple),
        dtype=st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.bool_]),
        fill=st.sampled_from([0.5, -1.0, np.nan, np.inf, 3.0]))
    return st.one_of(scalars, arrays, arrays.map(lambda t: t.numpy()))


def _array(shape: tuple, dtype, fill: float) -> Tensor:
    data = np.full(shape, fill if np.dtype(dtype).kind == "f" else 1).astype(dtype)
    if data.size:
        data.flat[0] = 0  # not all equal: some ops behave differently on constants
    return Tensor(data)


__all__ = ["CLEAR_ERRORS", "as_array", "expect_clear_error", "hostile_values", "number_in"]
