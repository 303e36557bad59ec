"""Grading tests: how a module's tests reach the student's definitions.

What it teaches: the classic failure of notebook graders is a test that imports the
installed reference (`from tinytorch.core.ops import ReLU`) and so passes whatever the
student wrote. Here a test never imports what it grades. It receives a `Student` view of
the namespace the student's code ran in, and `student.ReLU` returns the student's ReLU,
after checking that it was *defined* by the student's code (its `__module__` is the
namespace's `__name__`), not imported from the library.

A test is a plain function registered with its points:

    @grading_test(points=2)
    def relu_forward(student):
        "ReLU.forward is max(x, 0) elementwise and keeps float32."
        out = student.ReLU.apply(Tensor(x))
        check_close(out, np.maximum(x, 0), "ReLU.forward")

Tests may use the installed library freely as *scaffolding and oracle* (build inputs,
compute expected values); what they call to get the answer is always the student's.

Systems lesson: a test that cannot fail proves nothing. Every test here fails on the
generated stub notebook, and the course's own test suite checks that.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class NotDefinedError(AssertionError):
    """A name the test needs is missing from, or not defined by, the student's code."""


@dataclass(frozen=True)
class GradingTest:
    module: str  # "03"
    name: str
    points: int
    description: str
    fn: Callable


_REGISTRY: dict[str, dict[str, GradingTest]] = {}


def grading_test(points: int = 1):
    """Register the decorated function as a test of the module its file is named after."""
    if not isinstance(points, int) or points < 1:
        raise ValueError(f"grading_test: points must be a positive int, got {points!r}")

    def register(fn: Callable) -> Callable:
        module_id = fn.__module__.rpartition(".")[2][1:3]  # "m03_activations" -> "03"
        description = inspect.getdoc(fn) or fn.__name__
        tests = _REGISTRY.setdefault(module_id, {})
        if fn.__name__ in tests:
            raise ValueError(f"grading test {fn.__name__} is registered twice for {module_id}")
        tests[fn.__name__] = GradingTest(module_id, fn.__name__, points, description, fn)
        return fn

    return register


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:3].isdigit():
            importlib.import_module(f"{__name__}.{info.name}")


def tests_for(module_id: str) -> list[GradingTest]:
    """The registered tests of a module ("03"), in definition order."""
    _load_all()
    return list(_REGISTRY.get(module_id, {}).values())


def max_score(module_id: str) -> int:
    return sum(t.points for t in tests_for(module_id))


# ---------------------------------------------------------------- the student's namespace


class Student:
    """Read-only view of the namespace the student's code ran in."""

    def __init__(self, namespace: dict):
        self._namespace = namespace
        self._name = namespace.get("__name__", "__main__")

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._namespace:
            raise NotDefinedError(f"`{name}` is not defined: run the cell that defines it "
                                  "(and every cell above it) in your notebook")
        value = self._namespace[name]
        origin = _origin(value)
        if origin is not None and origin != self._name:
            raise NotDefinedError(
                f"`{name}` comes from {origin}, not from your notebook: the grader tests "
                "what you write, so define it in your notebook instead of importing it")
        return value

    def defines(self, name: str) -> bool:
        return name in self._namespace


def _origin(value) -> str | None:
    """The module that defined a class/function (or an instance's class), else None."""
    if isinstance(value, type) or inspect.isfunction(value):
        return getattr(value, "__module__", None)
    cls = type(value)
    if cls.__module__ in ("builtins", "numpy") or cls.__module__.startswith("numpy."):
        return None  # plain data: strings, numbers, arrays
    return cls.__module__


# ---------------------------------------------------------------- helpers for tests


def check_close(actual, expected, what: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Assert `actual` (Tensor or array) equals `expected` within tolerance, readably."""
    got = getattr(actual, "data", actual)
    got = np.asarray(got)
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape}, got {got.shape}")
    if not np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=False):
        diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
        worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(diff), np.inf, diff))),
                                 diff.shape) if diff.size else ()
        raise AssertionError(
            f"{what}: values differ; at index {tuple(int(i) for i in worst)} expected "
            f"{expected[worst]!r}, got {got[worst]!r} (max abs diff "
            f"{float(np.nanmax(diff)) if diff.size else 0:.3g})")


def check_dtype(actual, expected, what: str) -> None:
    got = getattr(actual, "dtype", None)
    if got != np.dtype(expected):
        raise AssertionError(f"{what}: expected dtype {np.dtype(expected)}, got {got}")


def check_raises(exception, fn: Callable, what: str, *fragments: str) -> None:
    """`fn()` must raise `exception` whose message contains every fragment."""
    try:
        fn()
    except exception as exc:
        message = str(exc)
        missing = [f for f in fragments if f not in message]
        if missing:
            raise AssertionError(f"{what}: raised {type(exc).__name__} as expected, but its "
                                 f"message {message!r} does not mention {missing}") from None
        return
    except NotImplementedError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what}: expected {exception.__name__}, got "
                             f"{type(exc).__name__}: {exc}") from None
    raise AssertionError(f"{what}: expected {exception.__name__}, but nothing was raised")


def run_test(module_id: str, name: str, namespace: dict) -> None:
    """Run one test against `namespace` (a notebook's globals()); raise on failure.

    This is what the autograded cells of a generated notebook call, so nbgrader scores a
    cell by whether it raises, and `tito grade` runs the same functions.
    """
    tests = {t.name: t for t in tests_for(module_id)}
    if name not in tests:
        raise KeyError(f"module {module_id} has no grading test {name!r}; known: "
                       f"{sorted(tests)}")
    test = tests[name]
    test.fn(Student(namespace))
    print(f"passed: {name} ({test.points} point{'s' if test.points != 1 else ''})")
