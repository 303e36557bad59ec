"""The nbgrader path: `nbgrader generate_assignment` on the instructor notebook releases
exactly tito's student notebook (sources, metadata, checksums): no instructor answer,
every hint, no checksum warning when the student's notebook is graded."""

from __future__ import annotations

import nbformat
import pytest
from conftest import READY

from tinytorch.course import get
from tinytorch.course.notebooks import nbgrader_checksum

nbgrader_apps = pytest.importorskip("nbgrader.apps")
MODULES = [m for m in ("03", "06") if m in READY]


@pytest.fixture(scope="module")
def released(tmp_path_factory, built):
    """{module id: the notebook nbgrader releases from tito's instructor notebook}."""
    from traitlets.config import Config

    course = tmp_path_factory.mktemp("nbgrader-course")
    config = Config()
    config.CourseDirectory.root = str(course)
    api = nbgrader_apps.NbGraderAPI(config=config)
    notebooks = {}
    for module_id in MODULES:
        stem = get(module_id).stem
        folder = course / "source" / stem
        folder.mkdir(parents=True)
        source = nbformat.read(built[module_id, "instructor"], as_version=4)
        nbformat.write(source, folder / f"{stem}.ipynb")
        result = api.generate_assignment(stem, force=True)
        assert result["success"], result["error"]
        notebooks[module_id] = nbformat.read(course / "release" / stem / f"{stem}.ipynb",
                                             as_version=4)
    return notebooks


@pytest.mark.parametrize("module_id", MODULES)
def test_nbgrader_release_is_the_tito_student_notebook(built, released, module_id):
    ours = nbformat.read(built[module_id, "student"], as_version=4)
    theirs = released[module_id]
    assert [c.id for c in theirs.cells] == [c.id for c in ours.cells]
    for mine, nbgrader_cell in zip(ours.cells, theirs.cells):
        assert nbgrader_cell.source == mine.source, mine.id
        assert nbgrader_cell.metadata == mine.metadata, mine.id
    assert theirs.metadata == ours.metadata


@pytest.mark.parametrize("module_id", MODULES)
def test_release_has_hints_and_no_answers(built, released, module_id):
    module = get(module_id)
    text = "\n".join(c.source for c in released[module_id].cells)
    assert "nstructor answer" not in text and "BEGIN SOLUTION" not in text
    for hint in module.hints.values():
        assert " ".join(hint.split()[:4]) in " ".join(text.replace("#  ", "").split()), hint
    for cell in released[module_id].cells:
        assert cell.metadata.nbgrader["checksum"] == nbgrader_checksum(cell)


def test_checksum_is_nbgraders(released):
    from nbgrader.utils import compute_checksum

    for notebook in released.values():
        for cell in notebook.cells:
            assert nbgrader_checksum(cell) == compute_checksum(cell)
