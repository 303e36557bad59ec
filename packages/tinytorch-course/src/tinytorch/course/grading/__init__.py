"""Grading tests: probes that run twice, once on the student's framework, once on the reference.

What it teaches: how to grade code you do not trust. A grading test is a plain function
that drives the framework and *records* what it observes:

    @grading_test(points=2, cases=lambda h: h.broadcastable_pair())
    def add_broadcasts(student, case):
        "add broadcasts like numpy, float32 and float64."
        a, b = arrays(case)
        check_close(student.add(Tensor(a), Tensor(b)), a + b, f"add({a.shape}, {b.shape})")

The grader (grader.py) runs it in two processes on the same inputs (`case`, drawn by
hypothesis in the grader):

- in the grader's own process, on the installed reference library: the records it gets
  are the truth (and `check_close`'s `expected` argument is checked too, so a grading
  test that disagrees with numpy is caught as a bug of the test);
- in a sandboxed child process built from the student's workspace, where
  `import tinytorch.core` is the student's code and no reference exists: the records it
  sends back are only data (arrays, numbers, strings; never code, see wire.py).

The grader compares the two lists of records. The child's verdicts count only when they
say "failed": a submission that patches `check_close`, exits early or forges a message
can lose points, never win them.

`student.ReLU` is the `ReLU` of the module the syllabus says it lives in
(`tinytorch.core.ops.pointwise`), imported in whichever process the test runs.

Systems lesson: a test that cannot fail proves nothing. The course's own test suite
grades the stub workspace (0 points), the reference (full marks), one-bug variants (they
lose exactly the points of what they break) and cheats (nothing).

This package is copied into the sandbox (without hypothesis: `cases` are functions of a
namespace of strategies, called only in the grader).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class NotDefinedError(AssertionError):
    """A name the test needs is missing from the student's framework."""


class GradingTestBugError(Exception):
    """A grading test disagrees with the reference library: a bug of the course."""


@dataclass(frozen=True)
class GradingTest:
    module: str  # "03"
    name: str
    points: int
    description: str
    fn: Callable
    file: str  # the test's python module, e.g. "tinytorch.course.grading.m03_activations"
    cases: Callable | None = None  # h -> hypothesis strategy of inputs (grader only)
    examples: int = 12  # hypothesis examples per grading run


_REGISTRY: dict[str, dict[str, GradingTest]] = {}


def grading_test(points: int = 1, cases: Callable | None = None, examples: int = 12):
    """Register the decorated function as a test of the module its file is named after.

    `cases(h)` returns a hypothesis strategy of inputs (h.st is hypothesis.strategies,
    h.hnp hypothesis.extra.numpy); the test is then called as fn(student, case)."""
    if not isinstance(points, int) or points < 1:
        raise ValueError(f"grading_test: points must be a positive int, got {points!r}")

    def register(fn: Callable) -> Callable:
        module_id = fn.__module__.rpartition(".")[2][1:3]  # "m03_activations" -> "03"
        description = inspect.getdoc(fn) or fn.__name__
        tests = _REGISTRY.setdefault(module_id, {})
        if fn.__name__ in tests:
            raise ValueError(f"grading test {fn.__name__} is registered twice for {module_id}")
        tests[fn.__name__] = GradingTest(module_id, fn.__name__, points, description,
                                         recording_asserts(fn), fn.__module__, cases,
                                         examples)
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


def test_named(file: str, name: str) -> GradingTest:
    """Import one test file (only it: the sandbox has only the packages it grades)."""
    module = importlib.import_module(file)
    module_id = module.__name__.rpartition(".")[2][1:3]
    return _REGISTRY[module_id][name]


def max_score(module_id: str) -> int:
    return sum(t.points for t in tests_for(module_id))


# ---------------------------------------------------------------- the student's framework


class Student:
    """The definitions a module grades, looked up in the framework of this process."""

    def __init__(self, units: dict[str, str]):
        self._units = dict(units)  # name -> python module

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._units:
            raise NotDefinedError(f"`{name}` is not one of this module's definitions")
        module = importlib.import_module(self._units[name])
        if not hasattr(module, name):
            raise NotDefinedError(f"`{name}` is not defined in {self._units[name]}: run the "
                                  "cell that defines it, or write it in the file")
        return getattr(module, name)


# ---------------------------------------------------------------- recording


class Recorder:
    """Where the check_* helpers put what they observe (one per test run)."""

    current: Recorder | None = None

    def __init__(self):
        self.records: list[list] = []

    def add(self, kind: str, what: str, value, **options) -> None:
        self.records.append([kind, what, value, options])


def _recorder() -> Recorder:
    if Recorder.current is None:  # called from a notebook cell: check, do not record
        return Recorder()
    return Recorder.current


def as_numpy(value) -> np.ndarray:
    """A Tensor (of any framework: the student's or the reference) or array as numpy."""
    if isinstance(value, np.ndarray):
        return value
    detach = getattr(value, "detach", None)
    if callable(detach) and callable(getattr(value, "numpy", None)):
        return np.asarray(detach().numpy())
    data = getattr(value, "data", value)
    if data is not value and not isinstance(data, np.ndarray):
        return as_numpy(data)
    return np.asarray(data)


def close_problem(got, expected, what: str, rtol: float, atol: float) -> str:
    """'' when `got` equals `expected` within tolerance, else a readable difference."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        return f"{what}: expected shape {expected.shape}, got {got.shape}"
    if got.dtype.kind not in "biuf":
        return f"{what}: expected numbers, got an array of {got.dtype}"
    if np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=False):
        return ""
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    if not diff.size:
        return ""
    worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(diff), np.inf, diff))),
                             diff.shape)
    return (f"{what}: values differ; at index {tuple(int(i) for i in worst)} expected "
            f"{expected[worst]!r}, got {got[worst]!r} (max abs diff "
            f"{float(np.nanmax(np.where(np.isnan(diff), np.inf, diff))):.3g})")


class _RecordAsserts(ast.NodeTransformer):
    """`assert left == right, msg` -> `assert _assert_equal(left, right, label), msg`;
    any other `assert test, msg` -> `assert _assert_true(test, label), msg`."""

    def __init__(self, source: str):
        self.source = source

    def visit_Assert(self, node: ast.Assert):
        label = ast.get_source_segment(self.source, node.test) or ast.unparse(node.test)
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and \
                isinstance(test.ops[0], ast.Eq):
            call = ast.Call(ast.Name("_assert_equal", ast.Load()),
                            [test.left, test.comparators[0], ast.Constant(label)], [])
        else:
            call = ast.Call(ast.Name("_assert_true", ast.Load()),
                            [test, ast.Constant(label)], [])
        return ast.copy_location(ast.Assert(call, node.msg), node)


def recording_asserts(fn: Callable) -> Callable:
    """`fn` with its asserts recorded (see Recorder): a bare assert in a test then counts
    like a check_* call, so what it checks is compared with the reference's run instead of
    being trusted from the sandbox."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return fn
    tree = ast.parse(source)
    tree.body[0].decorator_list = []
    tree = ast.fix_missing_locations(_RecordAsserts(source).visit(tree))
    ast.increment_lineno(tree, fn.__code__.co_firstlineno - 1)
    fn.__globals__.setdefault("_assert_equal", _assert_equal)
    fn.__globals__.setdefault("_assert_true", _assert_true)
    namespace: dict = {}
    exec(compile(tree, fn.__code__.co_filename, "exec"), fn.__globals__, namespace)  # noqa: S102
    return namespace[fn.__name__]


def _plain(value):
    """Plain data for the record, or None when the value cannot be sent (objects)."""
    from .wire import WireError, to_plain

    if isinstance(value, np.dtype):
        return str(value)
    try:
        to_plain(value)
    except WireError:
        return None
    return value


def _assert_equal(left, right, label: str) -> bool:
    holds = bool(left == right)
    _recorder().add("assert", label, [_plain(left), _plain(right), holds])
    return holds


def _assert_true(value, label: str) -> bool:
    holds = bool(value)
    _recorder().add("assert", label, [None, None, holds])
    return holds


def check_close(actual, expected, what: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Record `actual` (Tensor or array); the grader compares it with the reference's."""
    got = as_numpy(actual)
    recorder = _recorder()
    recorder.add("close", what, got, rtol=rtol, atol=atol)
    problem = close_problem(got, np.asarray(expected), what, rtol, atol)
    if problem:
        raise AssertionError(problem)


def check_dtype(actual, expected, what: str) -> None:
    got = getattr(actual, "dtype", None)
    _recorder().add("equal", what, str(got))
    if got != np.dtype(expected):
        raise AssertionError(f"{what}: expected dtype {np.dtype(expected)}, got {got}")


def check_equal(actual, expected, what: str) -> None:
    """Record plain data (numbers, strings, lists, shapes) that must match exactly."""
    _recorder().add("equal", what, actual)
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def check_raises(exception, fn: Callable, what: str, *fragments: str) -> None:
    """`fn()` must raise `exception` whose message contains every fragment."""
    recorder = _recorder()
    try:
        fn()
    except exception as exc:
        message = str(exc)
        recorder.add("raises", what, [exception.__name__, message], fragments=list(fragments))
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


def seed_everything(seed: int) -> None:
    """Seed numpy's legacy global and the framework's generator (the student's may be a
    stub in module 01: then only numpy's)."""
    np.random.seed(seed % 2**32)
    try:
        from tinytorch.core.random import manual_seed
        manual_seed(seed)
    except Exception:  # noqa: BLE001 - a stub or a broken student manual_seed
        pass


def run_recorded(test: GradingTest, student: Student, case, seed: int
                 ) -> tuple[list[list], BaseException | None]:
    """Run one test once; return (records, the exception that stopped it or None)."""
    recorder = Recorder()
    Recorder.current = recorder
    try:
        seed_everything(seed)
        if test.cases is None:
            test.fn(student)
        else:
            test.fn(student, case)
    except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
        if isinstance(exc, KeyboardInterrupt):
            raise
        return recorder.records, exc
    finally:
        Recorder.current = None
    return recorder.records, None


def describe(exc: BaseException, roots: tuple[str, ...] = ()) -> str:
    """`Type: message`, plus where in the student's files it happened."""
    text = str(exc) if isinstance(exc, AssertionError) and str(exc) else \
        f"{type(exc).__name__}: {exc}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if roots and any(f.filename.startswith(r) for r in roots)]
    if frames:
        frame = frames[-1]
        where = frame.filename
        for root in roots:
            where = where.removeprefix(root).lstrip("/\\")
        line = (frame.line or "").strip()
        if isinstance(exc, NotImplementedError) and line.startswith("raise NotImplementedError"):
            line = ""  # the stub itself: its message is already the feedback
        text += f"\n  at {where}, line {frame.lineno}, in {frame.name}" + \
            (f": {line}" if line else "")
    return text


def run_test(module_id: str, name: str, namespace: dict | None = None) -> None:
    """Run one test in a notebook (the autograded cells call this); raise on failure.

    The notebook's code is graded like a submission: its cells (IPython's `In`) are
    exported into a fresh sandbox workspace and the test runs there, in a separate process,
    against the reference. Without IPython's history the notebook's file is not known,
    and the test is refused rather than run on the installed reference."""
    from tinytorch.course.grader import grade_namespace  # the grader, not in the sandbox

    result = grade_namespace(module_id, name, namespace or {})
    if not result.passed:
        raise AssertionError(result.feedback)
    print(f"passed: {name} ({result.points} point{'s' if result.points != 1 else ''})")
