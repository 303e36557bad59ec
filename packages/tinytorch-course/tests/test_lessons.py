"""Notebooks that teach: every exercise has a lesson (what and why, a worked example, the
derivation of a backward), every module a "measure it yourself" cell, and every notebook
runs top to bottom with the reference."""

from __future__ import annotations

import ast
import codeop
import re

import pytest
from conftest import READY

from tinytorch.course import build_notebook, get
from tinytorch.course import source as src
from tinytorch.course.deps import INSTRUMENTS, check_code
from tinytorch.course.grader import is_test_cell
from tinytorch.course.lessons import DERIVATION, parse
from tinytorch.course.notebooks import BuildError

# exercises that differentiate something: each lesson must carry a derivation
BACKWARD_HELPERS = {"unbroadcast", "_spread", "col2im", "backward"}


def _is_backward(qualname: str) -> bool:
    return qualname.endswith(".backward") or qualname.endswith("_backward") \
        or qualname in BACKWARD_HELPERS


def _ids(notebook) -> list[str]:
    return [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells]


@pytest.mark.parametrize("module_id", READY)
def test_every_exercise_has_a_lesson(curriculum, module_id):
    module = get(module_id)
    page = (curriculum / "modules" / f"{module.stem}.md").read_text()
    teaching = parse(page)
    lessons = {name: lesson for lesson in teaching.lessons for name in lesson.names}
    for key in module.solutions:
        qualname = key.split(":", 1)[1]
        lesson = lessons.get(qualname)
        assert lesson is not None, f"{module.stem}: no lesson for {qualname}"
        assert len(lesson.text.split()) >= 20, f"{module.stem}: {qualname}'s lesson is too short"
        assert lesson.examples, f"{module.stem}: {qualname} has no worked example"
        if _is_backward(qualname):
            assert lesson.has_derivation, f"{module.stem}: {qualname} has no derivation"
    assert teaching.measure, f"{module.stem}: no 'Measure it yourself' section"
    text = " ".join(b.source for b in teaching.measure if b.kind == "markdown")
    # the magnitude to expect on a laptop, and the development machine's measurement
    assert "laptop" in text and "measured" in text, f"{module.stem}: no expected magnitude"
    assert re.search(r"\d", text), f"{module.stem}: the measurement text quotes no number"


@pytest.mark.parametrize("module_id", READY)
def test_lessons_sit_before_their_exercises(curriculum, module_id):
    """Each lesson's cells come after the exercise heading and before its solution cell;
    the measurement cells come before the tests and use the course's instruments."""
    module = get(module_id)
    notebook = build_notebook(module_id, "student", curriculum)
    ids = _ids(notebook)
    solution_ids = {c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
                    if c.metadata["nbgrader"]["solution"]}
    for position, grade_id in enumerate(ids):
        match = re.match(r"(.+)-lesson-\d+-\d+$", grade_id)
        if match:
            unit = match.group(1)
            assert unit in solution_ids
            assert ids.index(f"{unit}-text") < position < ids.index(unit)
    examples = [c for c in notebook.cells if "-lesson-" in c.metadata["nbgrader"]["grade_id"]
                and c.cell_type == "code"]
    assert len(examples) >= len(module.solutions) / 2  # a lesson may serve two exercises
    for cell in examples:
        meta = cell.metadata["nbgrader"]
        assert meta["locked"] and not meta["solution"] and not meta["grade"]
        assert "raise NotImplementedError" not in cell.source
    measure = [c for c in notebook.cells if c.metadata["nbgrader"]["grade_id"].startswith(
        "measure-") and c.cell_type == "code"]
    assert measure and ids.index("measure-title") < ids.index("tests-text")
    assert any("from tinytorch.perf import" in c.source for c in measure)


@pytest.mark.parametrize("module_id", READY)
def test_provided_cells_define_no_exercise(curriculum, module_id):
    """Worked examples and measurements run in the student's kernel: they must not define
    a name the module's units define (nbgrader's history-based grading would take it for
    the student's code)."""
    module = get(module_id)
    notebook = build_notebook(module_id, "student", curriculum)
    units = {u.name for u in module.units}
    for cell in notebook.cells:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if cell.cell_type == "code" and ("-lesson-" in grade_id or grade_id.startswith("measure")):
            tree = ast.parse(cell.source)
            defined = {n for node in tree.body for n in src._defined_names(node)}
            assert not defined & units, f"{module.stem} {grade_id} defines {defined & units}"


@pytest.mark.parametrize("module_id", READY)
def test_notebook_runs_top_to_bottom_with_the_reference(curriculum, module_id, tmp_path,
                                                       monkeypatch):
    """The instructor notebook (the reference solutions) executes cell by cell in one
    namespace, as a kernel would (a __future__ import carries over): provided code, the
    lessons' examples, the solutions, the pictures and the measurements. The test cells
    need a Jupyter kernel's history and are graded by the grading tests."""
    monkeypatch.chdir(tmp_path)
    notebook = build_notebook(module_id, "instructor", curriculum)
    namespace = {"__name__": "__main__"}
    compiler = codeop.Compile()
    ran = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        exec(compiler(cell.source, grade_id, "exec"), namespace)  # noqa: S102 - our notebook
        ran.append(grade_id)
    assert "imports" in ran and any(g.startswith("measure-") for g in ran)


@pytest.mark.parametrize("module_id", READY)
def test_worked_examples_run_before_any_code_is_written(curriculum, module_id, tmp_path,
                                                        monkeypatch):
    """Each worked example runs on its own, in a fresh namespace: it needs nothing the
    student writes (plain numpy), so it works in the student notebook from the start."""
    monkeypatch.chdir(tmp_path)
    notebook = build_notebook(module_id, "student", curriculum)
    examples = [c for c in notebook.cells
                if c.cell_type == "code" and "-lesson-" in c.metadata["nbgrader"]["grade_id"]]
    assert examples
    for cell in examples:
        exec(compile(cell.source, cell.metadata["nbgrader"]["grade_id"], "exec"),  # noqa: S102
             {"__name__": "__main__"})


def test_module_13_has_its_multi_head_attention_cell(curriculum):
    notebook = build_notebook("13", "student", curriculum)
    sources = [c.source for c in notebook.cells
               if c.metadata["nbgrader"]["grade_id"].startswith("measure-")]
    cell = next(s for s in sources if "MultiheadAttention(" in s)
    assert "split_heads(" in cell and "merge_heads(" in cell and "FLOPsCounter" in cell


def test_a_lesson_naming_an_unknown_exercise_is_a_build_error(curriculum, tmp_path):
    page = (curriculum / "modules" / "05_networks.md").read_text()
    pages = tmp_path / "modules"
    pages.mkdir()
    (pages / "05_networks.md").write_text(page.replace("### `Sequential.forward`",
                                                       "### `Sequential.forwrad`"))
    with pytest.raises(BuildError, match="Sequential.forwrad"):
        build_notebook("05", "student", tmp_path)


def test_parse_keeps_the_prose_and_cuts_the_lessons():
    page = ("# Module 99\n\nIntro.\n\n## Exercises, one by one\n\n### `f`, `g`\n\nWhat.\n\n"
            f"{DERIVATION}\n\nd/dx.\n\n```python\nprint(1)\n# ## not a heading\n```\n\n"
            "## Measure it yourself\n\nExpect 1-2 ms.\n\n```python\nprint(2)\n```\n\n"
            "## Validation question\n\n> Why?\n")
    teaching = parse(page)
    assert "Intro." in teaching.prose and "Why?" in teaching.prose
    assert "What." not in teaching.prose and "Expect" not in teaching.prose
    (lesson,) = teaching.lessons
    assert lesson.names == ("f", "g") and lesson.has_derivation
    assert lesson.examples == ["print(1)\n# ## not a heading\n"]
    assert [b.kind for b in teaching.measure] == ["markdown", "code"]


def test_instruments_are_the_only_perf_names_allowed_early():
    """perf's measurement API may be used in any module (the course's ruler); the rest of
    perf (the kernels, the roofline, the median's interval) stays a forward reference."""
    allowed = ("from tinytorch.perf import benchmark, compare, count_flops\n"
               "from tinytorch.perf import FLOPsCounter, ModelProfiler\n"
               "from tinytorch.perf import training_step_memory, attention_memory\n")
    assert check_code(allowed, 2) == []
    for name in ("RooflineModel", "median_ci", "cost_of"):
        assert check_code(f"from tinytorch.perf import {name}\n", 2), name
    assert check_code("from tinytorch.perf import kernels\nkernels.matmul_blas\n", 2)
    assert check_code("from tinytorch.perf.kernels.matmul import matmul_blas\n", 5)
    assert check_code("import tinytorch.perf as perf\nperf.RooflineModel\n", 16)
    assert all(name.startswith("tinytorch.perf.") for name in INSTRUMENTS)
