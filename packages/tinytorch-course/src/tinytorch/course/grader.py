"""Autograding: run the student's code, then the module's tests against *its* definitions.

What it teaches: how to grade code without trusting it.
1. Read the student's cells: a notebook's code cells (or a .py file, split at `# %%`).
   The autograded test cells are left out: the grader runs its own copy of the tests,
   so a student who edits or deletes a test cell changes nothing.
2. Execute the cells, in order, in a fresh namespace whose `__name__` is "__student__",
   in a separate Python process with a time limit (an infinite loop or a crash in
   student code cannot take the grader down). A cell that raises is recorded and the
   next cell still runs, as in a notebook where the student skipped a broken cell.
3. Run each registered test with a `Student` view of that namespace; a test passes if it
   returns and fails with the assertion message (or exception) as feedback.

Systems lesson: process isolation costs ~0.5 s per notebook (a fresh interpreter imports
numpy and tinytorch again); that buys a clean namespace, a hard timeout and a grader that
survives anything the student's code does.
"""

from __future__ import annotations

import builtins
import codeop
import contextlib
import io
import json
import linecache
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from .grading import Student, tests_for
from .syllabus import get

STUDENT_MODULE = "__student__"
TEST_CELL_MARK = "from tinytorch.course.grading import run_test"
DEFAULT_TIMEOUT = 300.0
TEST_TIMEOUT = 60.0
_OUTPUT_LIMIT = 4000


class GradingError(Exception):
    """The submission cannot be read (missing file, not a notebook, unknown module)."""


@dataclass
class Cell:
    index: int
    source: str


@dataclass
class TestResult:
    name: str
    description: str
    points: int
    score: int
    passed: bool
    feedback: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    module: str
    stem: str
    submission: str
    score: int
    max_score: int
    tests: list[TestResult] = field(default_factory=list)
    cell_errors: list[dict] = field(default_factory=list)
    error: str = ""  # the whole run failed (timeout, crash)

    @property
    def passed(self) -> bool:
        return self.max_score > 0 and self.score == self.max_score

    def to_json(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        return data

    @classmethod
    def from_json(cls, data: dict) -> Report:
        data = dict(data)
        data.pop("passed", None)
        data["tests"] = [TestResult(**t) for t in data["tests"]]
        return cls(**data)


# ---------------------------------------------------------------- reading a submission


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution"):
        return True
    return TEST_CELL_MARK in cell.get("source", "")


def read_cells(path: str | os.PathLike) -> list[Cell]:
    """The student's code cells from a notebook, or a .py file (split at `# %%` lines)."""
    path = Path(path)
    if not path.is_file():
        raise GradingError(f"tito grade: {path} does not exist or is not a file")
    if path.suffix == ".ipynb":
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception as exc:  # nbformat raises several kinds on bad input
            raise GradingError(f"tito grade: {path} is not a readable Jupyter notebook: "
                               f"{type(exc).__name__}: {exc}") from None
        return [Cell(i, c.source) for i, c in enumerate(notebook.cells)
                if c.cell_type == "code" and not is_test_cell(c)]
    if path.suffix == ".py":
        text = path.read_text(encoding="utf-8")
        chunks, current = [], []
        for line in text.splitlines(keepends=True):
            if line.startswith("# %%") and current:
                chunks.append("".join(current))
                current = []
            current.append(line)
        chunks.append("".join(current))
        return [Cell(i, chunk) for i, chunk in enumerate(chunks)
                if TEST_CELL_MARK not in chunk]
    raise GradingError(f"tito grade: expected a .ipynb notebook or a .py file, got {path}")


# ---------------------------------------------------------------- running (in the worker)


def _strip_magics(source: str) -> str:
    """IPython-only lines (`%matplotlib`, `!pip`) mean nothing to plain Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def execute_cells(cells: list[Cell]) -> tuple[dict, list[dict], str]:
    """Run the cells in a fresh namespace; return (namespace, cell errors, their output)."""
    # a real module object in sys.modules, as Jupyter's __main__ is: dataclasses, pickle
    # and typing look a class's module up there
    module = types.ModuleType(STUDENT_MODULE)
    module.__dict__["__builtins__"] = builtins
    sys.modules[STUDENT_MODULE] = module
    namespace = module.__dict__
    compiler = codeop.Compile()  # remembers __future__ imports across cells, like Jupyter
    errors, output = [], io.StringIO()
    for cell in cells:
        filename = f"<cell {cell.index}>"
        code_text = _strip_magics(cell.source)
        linecache.cache[filename] = (len(code_text), None, code_text.splitlines(True),
                                     filename)
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                exec(compiler(code_text, filename, "exec"), namespace)
        except BaseException as exc:  # the student's code may raise anything
            if isinstance(exc, KeyboardInterrupt):
                raise
            errors.append({"cell": cell.index, "error": _describe(exc)})
    return namespace, errors, output.getvalue()[-_OUTPUT_LIMIT:]


class _TestTimeoutError(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    if not hasattr(signal, "SIGALRM"):  # Windows: the process-wide timeout still applies
        yield
        return

    def expire(signum, frame):
        raise _TestTimeoutError(f"took longer than {seconds:.0f} s (an infinite loop?)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_tests(module_id: str, namespace: dict, test_timeout: float = TEST_TIMEOUT
              ) -> list[TestResult]:
    student = Student(namespace)
    results = []
    for test in tests_for(module_id):
        start = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()), _time_limit(test_timeout):
                test.fn(student)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            feedback = _describe(exc)
            results.append(TestResult(test.name, test.description, test.points, 0, False,
                                      feedback, time.perf_counter() - start))
            continue
        results.append(TestResult(test.name, test.description, test.points, test.points,
                                  True, "", time.perf_counter() - start))
    return results


def _describe(exc: BaseException) -> str:
    """`Type: message`, plus where in the student's code it happened."""
    if isinstance(exc, AssertionError) and str(exc):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith("<cell ")]
    if frames:
        frame = frames[-1]
        where = f"{frame.filename[1:-1]}, line {frame.lineno}, in {frame.name}"
        line = (frame.line or "").strip()
        if isinstance(exc, NotImplementedError) and line.startswith("raise NotImplementedError"):
            line = ""  # the stub itself: its message is already the feedback
        text += f"\n  at {where}" + (f": {line}" if line else "")
    return text


def grade_cells(module_id: str, cells: list[Cell], submission: str = "",
                test_timeout: float = TEST_TIMEOUT) -> Report:
    """Execute `cells` and run the module's tests in this process (what the worker does)."""
    module = get(module_id)
    namespace, errors, _ = execute_cells(cells)
    results = run_tests(module.id, namespace, test_timeout)
    return Report(module.id, module.stem, submission, sum(r.score for r in results),
                  sum(r.points for r in results), results, errors)


# ---------------------------------------------------------------- the public entry point


def grade(module_id, path: str | os.PathLike, timeout: float = DEFAULT_TIMEOUT,
          isolate: bool = True) -> Report:
    """Grade the notebook or .py file at `path` for course module `module_id`.

    With `isolate` (the default) the student's code runs in a child process that is
    killed after `timeout` seconds; without it, in this process (faster, for tests).
    """
    module = get(module_id)
    tests = tests_for(module.id)
    if not tests:
        raise GradingError(f"tito grade: module {module.stem} has no grading tests yet")
    cells = read_cells(path)
    submission = str(path)
    if not isolate:
        return grade_cells(module.id, cells, submission)
    with tempfile.TemporaryDirectory(prefix="tito-grade-") as folder:
        cells_file, out_file = Path(folder) / "cells.json", Path(folder) / "report.json"
        cells_file.write_text(json.dumps([asdict(c) for c in cells]), encoding="utf-8")
        command = [sys.executable, "-m", "tinytorch.course.worker", module.id,
                   str(cells_file), str(out_file), submission]
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                 check=False, cwd=folder, env=_child_environment())
        except subprocess.TimeoutExpired:
            return _failed_report(module.id, submission,
                                  f"grading timed out after {timeout:.0f} s: does a cell or "
                                  "a function loop forever?")
        if run.returncode != 0 or not out_file.is_file():
            tail = (run.stderr or run.stdout).strip()[-2000:]
            return _failed_report(module.id, submission,
                                  f"the grading process failed (exit code {run.returncode}):"
                                  f"\n{tail}")
        return Report.from_json(json.loads(out_file.read_text(encoding="utf-8")))


def _child_environment() -> dict:
    """This process's environment, with its import path made absolute for the child (which
    runs in a temporary folder), so it grades against exactly the packages we import."""
    env = dict(os.environ)
    paths = [str(Path(p).resolve()) for p in sys.path if p and Path(p).is_dir()]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def _failed_report(module_id: str, submission: str, error: str) -> Report:
    module = get(module_id)
    tests = [TestResult(t.name, t.description, t.points, 0, False, error)
             for t in tests_for(module.id)]
    return Report(module.id, module.stem, submission, 0, sum(t.points for t in tests), tests,
                  [], error)


def report_table(report: Report):
    """A rich Table of the report: one row per test with its feedback."""
    from rich.table import Table

    title = (f"{report.stem}: {report.score}/{report.max_score} points"
             f"{'  (all tests pass)' if report.passed else ''}")
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("test", style="bold")
    table.add_column("points", justify="right")
    table.add_column("result")
    table.add_column("feedback")
    for r in report.tests:
        status = "[green]passed" if r.passed else "[red]failed"
        table.add_row(r.name, f"{r.score}/{r.points}", status,
                      r.feedback if r.feedback else r.description)
    return table
