"""Generate a module's Jupyter notebook from the package source and its module page.

What it teaches: the notebook is a build artefact. Its prose comes from the module page
(curriculum/modules/NN_name.md, minus the instructor's answers), its code cells from the
package source (see source.py), its test cells call the same grading tests `tito grade`
runs. Two flavours come out of one function:

- student: solution regions replaced by stubs that raise `NotImplementedError` with a hint;
- instructor: solution regions kept between `# BEGIN SOLUTION` / `# END SOLUTION`, which
  is nbgrader's source format, so `nbgrader generate_assignment` produces the student
  version by itself.

Every cell carries nbgrader's metadata (schema version 3): the cells a student edits are
`solution` cells, the provided code is `locked`, and each test is a locked autograded
`grade` cell worth its points.

Systems lesson: generated files are written atomically (`tinytorch.core.atomic`), so an
interrupted build never leaves half a notebook.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import textwrap
from importlib import resources
from pathlib import Path

import nbformat
from nbformat import v4

from tinytorch.core.atomic import atomic_open

from . import lessons, workspace
from . import source as src
from .__about__ import __version__
from .grading import tests_for
from .syllabus import MODULES, CourseModule, get, region_owner

NBGRADER_SCHEMA = 3
TEST_CELL_MARK = "from tinytorch.course.grading import run_test"
STUDENT = "student"
INSTRUCTOR = "instructor"


class BuildError(Exception):
    """A notebook cannot be built (module not ready, package missing, page missing)."""


# ---------------------------------------------------------------- pages


def find_pages(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    """The folder of module pages (NN_name.md): `explicit` (a curriculum folder or its
    modules/), else $TINYTORCH_ROOT/curriculum/modules, else curriculum/modules/ in `cwd`
    or a parent of it (a checkout, where the pages are written), else the pages shipped
    inside this package (an installed tinytorch-course, no checkout needed)."""
    if explicit is not None:
        path = Path(explicit).expanduser().resolve()
        for folder in (path / "modules", path):
            if any(folder.glob("[0-9][0-9]_*.md")):
                return folder
        raise BuildError(f"{path} holds no module pages (NN_name.md), neither in it nor in "
                         f"its modules/ folder")
    root = os.environ.get("TINYTORCH_ROOT")
    candidates = [Path(root) / "curriculum" / "modules"] if root else []
    start = (cwd or Path.cwd()).resolve()
    candidates += [folder / "curriculum" / "modules" for folder in (start, *start.parents)]
    shipped = Path(str(resources.files("tinytorch.course") / SHIPPED_PAGES))
    for candidate in (*candidates, shipped):
        if candidate.is_dir():
            return candidate
    raise BuildError("cannot find the module pages; looked in "
                     + ", ".join(str(c) for c in (*candidates, shipped))
                     + ". Pass --curriculum DIR or set TINYTORCH_ROOT.")


SHIPPED_PAGES = "pages"  # tinytorch/course/pages/ in a built wheel (see hatch_build.py)


def page_path(pages: Path, module: CourseModule) -> Path:
    return pages / f"{module.stem}.md"


def student_prose(page: str) -> str:
    """The page without its instructor-only sections (headings containing 'Instructor')."""
    kept, skipping, level = [], False, 0
    for line in page.splitlines():
        heading = re.match(r"^(#+)\s", line)
        if heading:
            depth = len(heading.group(1))
            if skipping and depth <= level:
                skipping = False
            if not skipping and "instructor" in line.lower():
                skipping, level = True, depth
                continue
        if not skipping:
            kept.append(line)
    return "\n".join(kept).strip() + "\n"


# ---------------------------------------------------------------- cells


def _nbgrader(grade_id: str, *, solution=False, grade=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": NBGRADER_SCHEMA, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


NBGRADER_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]  # nbgrader's default


def hint_lines(region: src.Region, module: CourseModule) -> list[str]:
    """The hint as comments, placed *outside* the solution markers so that nbgrader's
    release (which replaces everything between them) keeps it."""
    hint = module.hints.get(region.key, "")
    if not hint:
        return []
    return textwrap.wrap(f"Hint: {hint}", 84, initial_indent="# ", subsequent_indent="#   ")


def _later_stub(region: src.Region, module: CourseModule) -> list[str]:
    owner = region_owner(region.key)
    if owner is None:
        raise BuildError(f"solution region {region.key} (line {region.begin}) belongs to no "
                         "course module; add it to a module's solutions in syllabus.py")
    message = f"{region.qualname}: you write this in module {owner.id} ({owner.title})"
    return [f"# written in module {owner.id} ({owner.title})",
            f"raise NotImplementedError({message!r})"]


def _region_mode(module: CourseModule, flavour: str):
    """Earlier modules' regions: their code. This module's: the hint, then the solution
    between markers (instructor) or nbgrader's stub (student: exactly what `nbgrader
    generate_assignment` makes of the instructor notebook). Later modules': a stub naming
    the module that teaches it."""
    def mode(region: src.Region):
        owner = region_owner(region.key)
        if owner is not None and owner.number < module.number:
            return "keep"
        if owner is module:
            hints = hint_lines(region, module)
            return ("markers", hints) if flavour == INSTRUCTOR else [*hints, *NBGRADER_STUB]
        return _later_stub(region, module)
    return mode


def _exercise_text(region: src.Region, module: CourseModule) -> str:
    """What one exercise computes (the docstring of its function, else of its class) and
    the hint, for the markdown above the cell."""
    source = src.load(region.module)
    docstring, node = "", source.tree
    for part in region.qualname.split("."):
        node = next((n for n in ast.iter_child_nodes(node)
                     if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part),
                    None)
        if node is None:
            break
        docstring = ast.get_docstring(node) or docstring
    summary = " ".join(docstring.split("\n\n")[0].split())
    text = f"\n- **`{region.qualname}`**" + (f": {summary}" if summary else "")
    hint = module.hints.get(region.key)
    return text + (f" *How:* {hint}." if hint else "") + "\n"


def unit_cells(module: CourseModule, flavour: str) -> tuple[list[src.Import], list[str]]:
    """(imports, one code string per unit) for `module`'s notebook."""
    objects = {}  # id of a class/function the notebook defines -> its name there
    for unit in module.units:
        obj = unit.obj()
        if isinstance(obj, type) or callable(obj):
            objects[id(obj)] = unit.name
    names = [u.name for u in module.units]
    clashes = {n for n in names if names.count(n) > 1}
    if clashes:
        raise BuildError(f"module {module.stem}: two units share the name(s) {sorted(clashes)}")
    reference = [src.render(u, lambda r: "keep", objects) for u in module.units]
    imports = src.required_imports(list(module.units), reference)
    codes = [src.render(u, _region_mode(module, flavour), objects) for u in module.units]
    return imports, codes


def build_notebook(module_id, flavour: str = STUDENT,
                   curriculum: str | os.PathLike | None = None) -> nbformat.NotebookNode:
    """The notebook of one module (`flavour` "student" or "instructor")."""
    module = get(module_id)
    active = workspace.in_use()
    if active is not None:
        raise BuildError(f"notebooks are built from the installed library, but this process "
                         f"imports tinytorch.core from the workspace {active}: run "
                         f"`{workspace.REFERENCE_ENV}=1 tito notebooks build ...`")
    if flavour not in (STUDENT, INSTRUCTOR):
        raise BuildError(f"notebook flavour must be {STUDENT!r} or {INSTRUCTOR!r}, got "
                         f"{flavour!r}")
    if not module.available:
        raise BuildError(f"module {module.stem} needs the package {module.package}, which is "
                         f"not installed (pip install {module.package})")
    if not module.ready:
        raise BuildError(f"module {module.stem} has no notebook yet (its units are not in the "
                         "syllabus)")
    page_file = page_path(find_pages(curriculum), module)
    if not page_file.is_file():
        raise BuildError(f"module page {page_file} is missing")
    # both flavours: nbgrader releases markdown as it is, so the instructor's answers stay
    # on the module page (curriculum/modules) and never enter a notebook
    teaching = lessons.parse(page_file.read_text(encoding="utf-8"))
    prose = student_prose(teaching.prose)
    lesson_of = _lessons_by_exercise(module, teaching, page_file)

    imports, codes = unit_cells(module, flavour)
    cells = [v4.new_markdown_cell(prose, metadata=_nbgrader("page", locked=True))]
    cells.append(v4.new_markdown_cell(
        "## Setup\n\nThe imports below bring in TinyTorch as this environment imports it: "
        "the provided scaffolding (`Tensor`, `Function`, dtypes) and what earlier modules "
        "built. After `tito workspace activate DIR` that is *your* framework, the one you "
        "wrote in earlier modules; `tito workspace export DIR THIS_NOTEBOOK.ipynb` copies "
        "the solution cells below into its files. Run this cell first.",
        metadata=_nbgrader("setup-text", locked=True)))
    setup = "from __future__ import annotations\n\n" + src.import_block(imports) + "\n"
    cells.append(v4.new_code_cell(setup, metadata=_nbgrader("imports", locked=True)))
    owned = set(module.solutions)
    placed: list[lessons.Lesson] = []
    for unit, code in zip(module.units, codes):
        regions = [r for r in src.unit_regions(unit) if r.key in owned]
        where = f"{unit.module.replace('.', '/')}.py"
        if regions:
            todo = ", ".join(f"`{r.qualname}`" for r in regions)
            text = f"### `{unit.name}`  ({where})\n\nYour turn: complete {todo}.\n"
            text += "".join(_exercise_text(region, module) for region in regions)
            cells.append(v4.new_markdown_cell(text, metadata=_nbgrader(
                f"{unit.name}-text", locked=True)))
            cells += lesson_cells(unit.name, regions, lesson_of, placed)
            cells.append(v4.new_code_cell(code, metadata=_nbgrader(unit.name, solution=True)))
        else:
            text = f"### `{unit.name}`  ({where})\n\nProvided: read it, run it."
            cells.append(v4.new_markdown_cell(text, metadata=_nbgrader(
                f"{unit.name}-text", locked=True)))
            cells.append(v4.new_code_cell(code, metadata=_nbgrader(f"{unit.name}-code",
                                                                   locked=True)))
    cells += look_cells(module)
    cells += measure_cells(teaching.measure)
    cells.append(v4.new_markdown_cell(
        "## Tests\n\nEach cell below runs one autograded test against *your* definitions "
        f"above. `tito grade {module.stem} THIS_NOTEBOOK.ipynb` runs them all and prints "
        "your score.", metadata=_nbgrader("tests-text", locked=True)))
    for test in tests_for(module.id):
        summary = " ".join(test.description.split())
        code = (f"# {test.points} point{'s' if test.points != 1 else ''}: {summary}\n"
                f"{TEST_CELL_MARK}\n"
                f"run_test({module.id!r}, {test.name!r}, globals())\n")
        cells.append(v4.new_code_cell(code, metadata=_nbgrader(
            f"test_{test.name}", grade=True, locked=True, points=test.points)))
    for cell in cells:  # stable ids: rebuilding gives a byte-identical notebook
        cell.id = cell.metadata["nbgrader"]["grade_id"]
        _as_released(cell)
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata.update({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "tinytorch": {"module": module.id, "stem": module.stem, "course_version": __version__},
    })
    nbformat.validate(notebook)
    return notebook


# ---------------------------------------------------------------- the page's lessons


def _lessons_by_exercise(module: CourseModule, teaching: lessons.Teaching,
                         page_file: Path) -> dict[str, lessons.Lesson]:
    """{qualified name of an exercise: its lesson}; a lesson naming something the module
    does not grade is a BuildError (a typo would silently drop the lesson)."""
    exercises = {key.split(":", 1)[1] for key in module.solutions}
    found = {}
    for lesson in teaching.lessons:
        unknown = [name for name in lesson.names if name not in exercises]
        if unknown:
            raise BuildError(f"{page_file}: the lesson for {', '.join(lesson.names)} names "
                             f"{', '.join(unknown)}, which module {module.stem} does not "
                             f"grade (its exercises: {', '.join(sorted(exercises))})")
        for name in lesson.names:
            found.setdefault(name, lesson)
    return found


def lesson_cells(unit_name: str, regions, lesson_of: dict[str, lessons.Lesson],
                 placed: list) -> list:
    """The lessons of a unit's exercises: what and why, the derivation of a backward, then
    the worked examples as provided code cells. A lesson shared by several exercises comes
    once, before the first of them (`placed`: the lessons already in the notebook)."""
    cells, number = [], 0
    for region in regions:
        lesson = lesson_of.get(region.qualname)
        if lesson is None or any(lesson is p for p in placed):
            continue
        placed.append(lesson)
        number += 1
        title = "#### Lesson: " + ", ".join(f"`{name}`" for name in lesson.names)
        blocks = list(lesson.blocks)
        if not blocks or blocks[0].kind != "markdown":
            blocks.insert(0, lessons.Block("markdown", ""))
        blocks[0] = lessons.Block("markdown", f"{title}\n\n{blocks[0].source}".strip())
        for i, block in enumerate(blocks):
            grade_id = f"{unit_name}-lesson-{number}-{i}"
            if block.kind == "markdown":
                cells.append(v4.new_markdown_cell(block.source, metadata=_nbgrader(
                    grade_id, locked=True)))
            else:
                cells.append(v4.new_code_cell(block.source, metadata=_nbgrader(
                    grade_id, locked=True)))
    return cells


def measure_cells(blocks: list[lessons.Block]) -> list:
    """The page's "measure it yourself" section: prose and provided code cells that time,
    count or weigh what the module built with the course's instruments (tinytorch.perf)."""
    if not blocks:
        return []
    cells = [v4.new_markdown_cell(
        f"## {lessons.MEASURE}\n\nRun these cells once your exercises pass their tests: "
        "they measure *your* code with `tinytorch.perf`, the course's instruments. They are "
        "not graded. Timings depend on the machine and on what else runs on it: rerun a cell "
        "when a number looks odd.", metadata=_nbgrader("measure-title", locked=True))]
    for i, block in enumerate(blocks):
        new = v4.new_markdown_cell if block.kind == "markdown" else v4.new_code_cell
        cells.append(new(block.source, metadata=_nbgrader(f"measure-{i}", locked=True)))
    return cells


# ---------------------------------------------------------------- pictures to look at
GRAPH_CELL = """\
# The graph your backward() walks: one node per op, the shapes on the edges, and which
# leaves require grad. SVG when Graphviz's `dot` is installed, else a .dot text file.
import numpy as np
from tinytorch.core import nn
from tinytorch.core.graph import draw_graph

rng = np.random.default_rng(0)
model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
x = Tensor(rng.standard_normal((8, 2)).astype(np.float32))
loss = (model(x) ** 2).mean()
path = draw_graph(loss, "autograd_graph.svg", params=dict(model.named_parameters()))
if str(path).endswith(".svg"):
    from IPython.display import SVG, display
    display(SVG(filename=str(path)))
else:
    print(open(path).read())
"""

LOOK = {"06": ("## Look at it: the graph behind a loss\n\nRun the cell below after your "
               "`backward` works. It draws the graph `loss.backward()` walks for a small MLP "
               "(`tinytorch.core.graph.draw_graph`, as micrograd's `draw_dot` does): count "
               "the nodes and compare with the ops you wrote; after `loss.backward()` the "
               "nodes show as freed.", GRAPH_CELL)}


def look_cells(module: CourseModule) -> list:
    """A provided picture a module's page teaches with (not graded, not exported)."""
    if module.id not in LOOK:
        return []
    text, code = LOOK[module.id]
    return [v4.new_markdown_cell(text, metadata=_nbgrader("look-text", locked=True)),
            v4.new_code_cell(code, metadata=_nbgrader("look-code", locked=True))]


def nbgrader_checksum(cell) -> str:
    """nbgrader's cell checksum (nbgrader.utils.compute_checksum): md5 of the source, the
    cell type, the grade/solution/locked flags, the grade id and the points. nbgrader
    compares it on submission; a cell without it, or with a stale one, gets a warning."""
    meta = cell.metadata["nbgrader"]
    grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
    locked = not solution and (grade or bool(meta.get("locked")))  # nbgrader's is_locked
    digest = hashlib.md5()  # noqa: S324 - nbgrader's format, not security
    for part in (cell.source, cell.cell_type, str(grade), str(solution), str(locked),
                 meta["grade_id"]):
        digest.update(part.encode("utf-8"))
    if meta.get("grade"):
        digest.update(str(float(meta["points"])).encode("utf-8"))
    return digest.hexdigest()


def _as_released(cell) -> None:
    """The metadata `nbgrader generate_assignment` gives a cell (LockCells, ComputeChecksums),
    so that a tito-built student notebook is the one nbgrader would release."""
    meta = cell.metadata["nbgrader"]
    meta["cell_type"] = cell.cell_type
    if meta["locked"] or meta["solution"] or meta["grade"]:
        cell.metadata["deletable"] = False
    if meta["locked"]:
        cell.metadata["editable"] = False
    meta["checksum"] = nbgrader_checksum(cell)


def write_notebook(notebook: nbformat.NotebookNode, path: str | os.PathLike) -> Path:
    """Write atomically (`tinytorch.core.atomic`); return the path."""
    path = Path(path)
    with atomic_open(path, "w") as stream:
        nbformat.write(notebook, stream)
    return path


def build_all(out_dir: str | os.PathLike, flavour: str = STUDENT, modules=None,
              curriculum=None) -> tuple[list[Path], dict[str, str]]:
    """Build every ready module (or `modules`); return (written paths, {stem: reason skipped})."""
    chosen = [get(m) for m in modules] if modules else list(MODULES)
    written, skipped = [], {}
    for module in chosen:
        try:
            notebook = build_notebook(module.id, flavour, curriculum)
        except BuildError as exc:
            if modules:  # asked for explicitly: an error, not a skip
                raise
            skipped[module.stem] = str(exc)
            continue
        written.append(write_notebook(notebook, Path(out_dir) / f"{module.stem}.ipynb"))
    return written, skipped
