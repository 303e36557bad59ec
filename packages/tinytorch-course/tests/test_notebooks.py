"""Generated notebooks: nbgrader metadata, solution markers, prose, and the
no-forward-references rule."""

from __future__ import annotations

import ast

import nbformat
import pytest
from conftest import READY

from tinytorch.course import MODULES, build_notebook, get, grading
from tinytorch.course import source as src
from tinytorch.course.deps import check_code, check_notebook
from tinytorch.course.notebooks import BuildError, student_prose
from tinytorch.course.syllabus import OWNERSHIP, owner, region_owner


def _nbgrader(cell):
    return cell.metadata["nbgrader"]


@pytest.mark.parametrize("module_id", READY)
def test_nbgrader_metadata(built, module_id):
    notebook = nbformat.read(built[module_id, "student"], as_version=4)
    nbformat.validate(notebook)
    ids = [_nbgrader(c)["grade_id"] for c in notebook.cells]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    graded = [c for c in notebook.cells if _nbgrader(c)["grade"]]
    assert [c.metadata.nbgrader["points"] for c in graded] == \
        [t.points for t in grading.tests_for(module_id)]
    for cell in notebook.cells:
        meta = _nbgrader(cell)
        assert meta["schema_version"] == 3
        assert set(meta) >= {"grade", "solution", "locked", "grade_id"}
        if meta["grade"]:
            assert meta["locked"] and not meta["solution"] and cell.cell_type == "code"
        if meta["solution"]:
            assert not meta["locked"] and "raise NotImplementedError" in cell.source
    assert any(_nbgrader(c)["solution"] for c in notebook.cells)


@pytest.mark.parametrize("module_id", READY)
def test_every_code_cell_compiles(built, module_id):
    for flavour in ("student", "instructor"):
        notebook = nbformat.read(built[module_id, flavour], as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                ast.parse(cell.source)


@pytest.mark.parametrize("module_id", READY)
def test_instructor_notebook_is_nbgrader_source(built, module_id):
    """Each solution cell keeps its regions between BEGIN/END SOLUTION markers."""
    notebook = nbformat.read(built[module_id, "instructor"], as_version=4)
    solutions = [c for c in notebook.cells if _nbgrader(c)["solution"]]
    assert solutions
    for cell in solutions:
        assert cell.source.count(src.BEGIN) == cell.source.count(src.END) >= 1
        assert "is not written yet" not in cell.source


@pytest.mark.parametrize("module_id", READY)
def test_no_forward_references(built, module_id):
    """Module N's notebook imports only what modules < N (or the scaffolding) introduce."""
    notebook = nbformat.read(built[module_id, "student"], as_version=4)
    assert check_notebook(notebook, module_id) == []


def test_forward_references_are_caught():
    code = ("from tinytorch.core.autograd import Function, backward\n"
            "from tinytorch.core import ops\n"
            "import tinytorch.core.nn.functional as F\n"
            "x = ops.ReLU\ny = F.cross_entropy\nz = ops.Add\n")
    problems = check_code(code, 3)
    assert len(problems) == 3
    assert any("backward: introduced in module 06" in p for p in problems)
    assert any("ops.ReLU: introduced in module 03" in p for p in problems)
    assert any("F.cross_entropy: introduced in module 10" in p for p in problems)
    assert check_code(code.replace(", backward", ""), 11) == []


def test_syllabus_regions_are_consistent():
    """Every marked region in a unit belongs to one module; every listed solution exists;
    a module only teaches units introduced at or before it."""
    for module in MODULES:
        regions = {r.key for u in module.units for r in src.unit_regions(u)}
        missing = set(module.solutions) - regions
        assert not missing, f"{module.stem}: solutions without a marked region: {missing}"
        assert set(module.hints) <= set(module.solutions)
        for key in regions:
            assert region_owner(key) is not None, f"{key} belongs to no module"
        for unit in module.units:
            obj = unit.obj()
            name = f"{obj.__module__}.{obj.__qualname__}" if hasattr(obj, "__qualname__") \
                else unit.key
            introduced = owner(name)
            assert introduced is not None and introduced <= module.number, \
                f"{module.stem} teaches {name}, introduced in module {introduced}"
    owners = [region_owner(k) for m in MODULES for k in m.solutions]
    keys = [k for m in MODULES for k in m.solutions]
    assert len(keys) == len(set(keys)), "a region is owned by two modules"
    assert all(owners)


def test_student_prose_drops_instructor_sections():
    page = ("# 03 Activations\n\nIntro.\n\n## Validation question\n\nWhy?\n\n"
            "### Instructor answer\n\nBecause.\n\n## Next\n\nMore.\n")
    prose = student_prose(page)
    assert "Because." not in prose and "Why?" in prose and "More." in prose


def test_student_notebook_has_the_page_without_answers(built, curriculum):
    for module_id in READY:
        module = get(module_id)
        page = (curriculum / "modules" / f"{module.stem}.md").read_text()
        notebook = nbformat.read(built[module_id, "student"], as_version=4)
        first = notebook.cells[0].source
        assert first.splitlines()[0] == page.splitlines()[0]
        assert "nstructor" not in first.replace("instructor's", "")


def test_pages_name_every_exercise(curriculum):
    """Each ready module's page lists, under "What you write", every region it grades."""
    for module in MODULES:
        if not module.ready:
            continue
        page = (curriculum / "modules" / f"{module.stem}.md").read_text()
        section = page.split("## What you write", 1)[1].split("\n## ", 1)[0]
        for key in module.solutions:
            assert f"`{key.split(':')[1]}`" in section, f"{module.stem}: {key}"


def test_building_is_deterministic(curriculum):
    first = build_notebook("05", "student", curriculum)
    second = build_notebook("05", "student", curriculum)
    assert nbformat.writes(first) == nbformat.writes(second)


def test_modules_of_missing_packages_are_refused(curriculum, monkeypatch):
    """A module whose package is not installed has no notebook, and says which package."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tinytorch.vision" else real(name, *a))
    assert not get("07").available and get("08").available
    with pytest.raises(BuildError, match="tinytorch-vision, which is not installed"):
        build_notebook("07", "student", curriculum)


def test_ownership_table_covers_every_package():
    for prefix in ("tinytorch.vision", "tinytorch.language", "tinytorch.perf",
                   "tinytorch.mlops"):
        assert prefix in OWNERSHIP
    assert [m.number for m in MODULES] == list(range(1, 19))


def test_module_06_notebook_draws_the_autograd_graph(tmp_path, monkeypatch, curriculum):
    """Module 06's page teaches with the graph picture; its notebook has a provided cell
    that draws it, and that cell runs (SVG with Graphviz, a .dot file without)."""
    from tinytorch.course import build_notebook

    notebook = build_notebook("06", "student", curriculum)
    ids = [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells]
    assert ids.index("look-code") < ids.index("tests-text")
    code = notebook.cells[ids.index("look-code")].source
    assert "draw_graph(loss" in code
    monkeypatch.chdir(tmp_path)
    runnable = code.replace("display(SVG(filename=str(path)))", "pass")
    namespace = {}
    exec("from tinytorch.core import Tensor\n" + runnable, namespace)
    drawn = namespace["path"]
    text = drawn.read_text()
    assert ("<svg" in text) if str(drawn).endswith(".svg") else text.startswith("digraph")
    assert "Linear" in text or "MatMul" in text or "Addmm" in text or "Backward" in text


def test_the_syllabus_names_only_public_importable_parts_of_the_library():
    """The course refers to the library by public names: every definition a module lists
    and every OWNERSHIP key has no private (leading underscore) part, and imports."""
    import importlib
    import importlib.util

    from tinytorch.course.source import is_private

    def resolve(dotted: str):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
            return obj
        raise ModuleNotFoundError(dotted)

    listed = [u.key for m in MODULES if m.available for u in m.teaches]
    listed += [key for key in OWNERSHIP  # keys of installed packages ("tinytorch.vision...")
               if importlib.util.find_spec(".".join(key.split(".")[:2])) is not None]
    assert listed
    for dotted in listed:
        assert not any(is_private(part) for part in dotted.split(".")), dotted
        assert resolve(dotted) is not None, dotted


@pytest.mark.parametrize("module_id", READY)
def test_private_helpers_come_along_as_cells(module_id):
    """A cell never imports a private helper of its own file: the helper is a cell of its
    own, before the first cell that uses it (and the cells import no other name for it)."""
    from tinytorch.course.notebooks import unit_cells

    module = get(module_id)
    order = [(unit.module, unit.name) for unit in module.units]
    needed = set()
    for unit in module.units:
        for helper in src._private_helpers(unit):
            needed.add(helper)
            assert (unit.module, helper) in order, f"{module.stem}: {unit.name} needs {helper}"
            if helper != unit.name:
                assert order.index((unit.module, helper)) < order.index(
                    (unit.module, unit.name)), (unit.name, helper)
    imports, _ = unit_cells(module, "student")
    assert not {i.alias for i in imports} & needed
