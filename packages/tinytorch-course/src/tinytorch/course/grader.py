"""Autograding: the submission runs in a sandbox; this process compares it with the reference.

What it teaches: how to grade code without trusting it.
1. Read the submission: a notebook's solution cells (or a .py file's `# %%` chunks), or a
   whole student workspace. Test cells are never read: the tests are the grader's own.
2. Build a sandbox folder from it (sandbox.py): the student's framework with no reference
   code in it, and start one process there. This process never executes submission code:
   it never imports the student's files, never unpickles what the sandbox sends.
3. For every grading test, draw inputs with hypothesis (seeded: the same seed grades the
   same way), run the test on the reference here and in the sandbox on the student's
   framework, and compare what the two runs recorded (grading/__init__.py). A mismatch is
   shrunk by hypothesis to a small input, which is the feedback.
4. A process that exits, loops past the time limit or breaks a sandbox rule (writing a
   file, starting a process) is killed: the test it was running fails with the reason,
   and the next test gets a fresh process.

Systems lesson: the reference run and the comparison happen where the student's code is
not, so patching the tests, the checks or the report inside the submission changes only
what the sandbox says, and the sandbox is only ever believed when it is wrong.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from . import sandbox as sb
from . import workspace
from .grading import (
    GradingTest,
    GradingTestBugError,
    Student,
    close_problem,
    describe,
    run_recorded,
    tests_for,
)
from .syllabus import CourseModule, get

TEST_CELL_MARK = "from tinytorch.course.grading import run_test"
DEFAULT_TIMEOUT = 30.0  # seconds per call into the sandbox
DEFAULT_SEED = 20240601


class GradingError(Exception):
    """The submission cannot be read (missing file, not a notebook, unknown module)."""


@dataclass
class Cell:
    index: int
    source: str
    grade_id: str | None = None


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
    error: str = ""  # the whole run failed
    seed: int = DEFAULT_SEED

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
        cells = []
        for i, c in enumerate(notebook.cells):
            if c.cell_type != "code" or is_test_cell(c):
                continue
            grade_id = c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            cells.append(Cell(i, c.source, grade_id))
        return cells
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


# ---------------------------------------------------------------- comparing two runs


def _equal(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and \
            a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _similar(got, expected) -> bool:
    """Equal, with float tolerance (a correct solution may round differently)."""
    if isinstance(expected, (float, np.floating)) and not isinstance(expected, bool):
        return isinstance(got, (int, float, np.number)) and not isinstance(got, bool) and \
            bool(np.isclose(got, expected, rtol=1e-5, atol=1e-8))
    if isinstance(expected, np.ndarray) and expected.dtype.kind == "f":
        return isinstance(got, np.ndarray) and got.shape == expected.shape and \
            bool(np.allclose(got, expected, rtol=1e-5, atol=1e-8))
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return type(got) is type(expected) and len(got) == len(expected) and \
            all(map(_similar, got, expected))
    return _equal(got, expected)


def _assert_problem(got, expected, what: str) -> str:
    """A recorded assert: it must hold, and each side the reference could send must match."""
    if not (isinstance(got, list) and len(got) == 3):
        return f"assert {what}: the submission's process sent a malformed record"
    if got[2] is not True:
        return f"assert {what} does not hold"
    for side, mine, theirs in (("left", got[0], expected[0]), ("right", got[1], expected[1])):
        if theirs is not None and not _similar(mine, theirs):
            return f"assert {what}: the {side} side should be {theirs!r}, got {mine!r}"
    return ""


def compare(reference: list[list], response: dict) -> str:
    """'' when the sandbox's records match the reference's, else the first difference."""
    records = response.get("records")
    error = response.get("error")
    if not isinstance(records, list):
        return "the submission's process sent no records"
    for i, (kind, what, expected, options) in enumerate(reference):
        if i >= len(records):
            return error or f"{what}: the test stopped before checking this"
        got = records[i]
        if not (isinstance(got, list) and len(got) == 4):
            return f"{what}: the submission's process sent a malformed record"
        if got[0] != kind or got[1] != what:
            return error or f"{what}: the submission's run checked {got[1]!r} here instead"
        value = got[2]
        if kind == "close":
            if isinstance(value, str):
                return f"{what}: {value}"
            problem = close_problem(value, expected, what, options["rtol"], options["atol"])
            if problem:
                return problem
        elif kind == "equal":
            if not _equal(value, expected):
                return f"{what}: expected {expected!r}, got {value!r}"
        elif kind == "assert":
            problem = _assert_problem(value, expected, what)
            if problem:
                return error or problem
        elif kind == "raises":
            if not (isinstance(value, list) and len(value) == 2
                    and value[0] == expected[0] and isinstance(value[1], str)):
                return f"{what}: expected {expected[0]}, got {value!r}"
            missing = [f for f in options["fragments"] if f not in value[1]]
            if missing:
                return (f"{what}: raised {expected[0]} as expected, but its message "
                        f"{value[1]!r} does not mention {missing}")
    if len(records) > len(reference):
        return "the submission's run recorded checks the test does not make (a forged report?)"
    return error or ""


# ---------------------------------------------------------------- running one test


class _MismatchError(AssertionError):
    pass


def _strategies():
    from hypothesis import strategies
    from hypothesis.extra import numpy as hnp

    from .grading import cases

    return types.SimpleNamespace(st=strategies, hnp=hnp, cases=cases)


def run_grading_test(test: GradingTest, module: CourseModule, box: sb.Sandbox, seed: int,
                     timeout: float, examples: int | None = None) -> TestResult:
    units = {u.name: u.module for u in module.units}
    reference = Student(units)
    state: dict[str, str] = {}
    start = time.perf_counter()
    budget = max(4 * timeout, 60.0)  # seconds for all of one test's examples

    def pair(case) -> str:
        ref_records, ref_error = run_recorded(test, reference, case, seed)
        if ref_error is not None:
            raise GradingTestBugError(f"grading test {test.name} fails on the reference library "
                                 f"for input {case!r}: {describe(ref_error)}")
        if "stop" in state:  # the sandbox died or the function is a stub: do not retry
            return state["stop"]
        if time.perf_counter() - start > budget:
            state["stop"] = (f"stopped: the test's calls into the submission took more than "
                             f"{budget:g} s in total (is the code very slow?)")
            return state["stop"]
        request = {"file": test.file, "test": test.name, "units": units, "case": case,
                   "seed": seed}
        try:
            response = box.call(request, timeout)
        except sb.SandboxDiedError as exc:
            state["stop"] = str(exc)
            return state["stop"]
        problem = compare(ref_records, response)
        if problem and response.get("error_type") in ("NotImplementedError", "NotDefinedError"):
            state["stop"] = problem
        return problem

    try:
        if test.cases is None:
            problem = pair(None)
        else:
            problem = _search(test, pair, seed, examples or test.examples)
    except GradingTestBugError as exc:
        problem = f"grading error (not your fault): {exc}"
    seconds = time.perf_counter() - start
    problem = workspace.explain_stub(problem)
    if problem:
        return TestResult(test.name, test.description, test.points, 0, False, problem, seconds)
    return TestResult(test.name, test.description, test.points, test.points, True, "", seconds)


def _search(test: GradingTest, pair, seed: int, examples: int) -> str:
    """Run `pair` on hypothesis-drawn cases; '' or the feedback for the smallest failure."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed

    failures: list[tuple[str, object]] = []

    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
              phases=(Phase.explicit, Phase.generate, Phase.shrink), print_blob=False,
              report_multiple_bugs=False)
    @given(test.cases(_strategies()))
    def prop(case):
        problem = pair(case)
        if problem:
            failures.append((problem, case))
            raise _MismatchError(problem)

    try:
        prop()
    except _MismatchError:
        problem, case = failures[-1]
        return f"{problem}\n  (smallest failing input found: {case!r})"
    except GradingTestBugError:
        raise
    except Exception as exc:  # noqa: BLE001 - hypothesis' own errors (Flaky, ...)
        if failures:
            return failures[-1][0]
        return f"{type(exc).__name__}: {exc}"
    return ""


# ---------------------------------------------------------------- the public entry point


def grade(module_id, path: str | os.PathLike | None = None, *, workspace_dir=None,
          timeout: float = DEFAULT_TIMEOUT, seed: int | None = DEFAULT_SEED,
          tests: list[str] | None = None, cells: list[Cell] | None = None) -> Report:
    """Grade a notebook or .py file at `path` (or a student workspace) for `module_id`.

    `seed` fixes the inputs (None: a fresh random seed, recorded in the report);
    `timeout` is the time limit of one call into the sandbox."""
    module = get(module_id)
    chosen = tests_for(module.id)
    if not chosen:
        raise GradingError(f"tito grade: module {module.stem} has no grading tests yet")
    if tests is not None:
        chosen = [t for t in chosen if t.name in tests]
    seed = random.randrange(2**31) if seed is None else int(seed)
    if path is None and workspace_dir is None and cells is None:
        raise GradingError("tito grade: nothing to grade (give a notebook, a .py file or a "
                           "workspace)")
    active = workspace.in_use()
    if active is not None:  # this process imports a student's code: the reference is elsewhere
        return _grade_with_the_reference(module, path, workspace_dir, cells, timeout, seed,
                                         tests, active)
    if cells is None and path is not None:
        cells = read_cells(path)
    submission = str(path if path is not None else workspace_dir)
    with tempfile.TemporaryDirectory(prefix="tito-grade-") as folder:
        env = Path(folder)
        if workspace_dir is not None:
            notes = sb.build(env, module, student_src=workspace.source_dir(workspace_dir))
        else:
            codes = workspace.solution_cells_of(cells or [], module)
            notes = sb.build(env, module, codes)
        box = sb.Sandbox(env)
        try:
            results = [run_grading_test(t, module, box, seed, timeout) for t in chosen]
        finally:
            box.close()
    errors = [{"cell": n.unit, "error": n.message} for n in notes]
    return Report(module.id, module.stem, submission, sum(r.score for r in results),
                  sum(r.points for r in results), results, errors, "", seed)


def _grade_with_the_reference(module: CourseModule, path, workspace_dir, cells, timeout,
                              seed, tests, active: Path) -> Report:
    """Grade in a child process that imports the installed library (the reference), for a
    process, such as a student's notebook kernel, whose `tinytorch.core` is a workspace."""
    if os.environ.get(workspace.REFERENCE_ENV):
        raise GradingError(f"tito grade: tinytorch.core is the workspace {active}, not the "
                           "installed library; grading needs the reference (unset PYTHONPATH "
                           "or run `tito workspace deactivate`)")
    with tempfile.TemporaryDirectory(prefix="tito-grade-") as folder:
        if path is None and workspace_dir is None:  # a kernel's cells: write them as a .py
            path = Path(folder) / f"{module.stem}.py"
            path.write_text("".join(f"# %%\n{c.source}\n" for c in cells), encoding="utf-8")
        command = [sys.executable, "-m", "tinytorch.core.cli", "grade", module.id]
        command += ["--workspace", str(workspace_dir)] if path is None else [str(path)]
        command += ["--json", "--seed", str(seed), "--timeout", str(timeout)]
        for name in tests or []:
            command += ["--test", name]
        run = subprocess.run(command, capture_output=True, text=True, check=False,
                             env=workspace.reference_environment())
    if run.returncode not in (0, 1):
        raise GradingError(f"tito grade (with the reference library) failed: "
                           f"{(run.stderr or run.stdout).strip()[-1500:]}")
    return Report.from_json(json.loads(run.stdout))


def grade_namespace(module_id: str, name: str, namespace: dict) -> TestResult:
    """One test for a notebook kernel (nbgrader's autograded cells): the cells come from
    IPython's input history `In`, so the test grades what the notebook ran."""
    history = namespace.get("In")
    if not isinstance(history, list):
        module = get(module_id)
        return TestResult(name, name, 0, 0, False,
                          "run_test needs IPython's input history (run it in a Jupyter "
                          f"notebook), or grade the file: tito grade {module.stem} NOTEBOOK")
    cells = [Cell(i, source) for i, source in enumerate(history)
             if isinstance(source, str) and TEST_CELL_MARK not in source]
    report = grade(module_id, cells=cells, tests=[name])
    if not report.tests:
        raise KeyError(f"module {module_id} has no grading test {name!r}")
    return report.tests[0]


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
