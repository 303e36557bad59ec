"""The student's workspace: their own TinyTorch, with no reference in it, that the
notebooks export into and the milestones run on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

from tinytorch.course import get, grade
from tinytorch.course import workspace as ws
from tinytorch.course.source import load
from tinytorch.course.syllabus import MODULES

PHASE_1_2 = [m.id for m in MODULES if m.phase.number <= 2]


def run_milestone(name: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    """`tito milestones run NAME` on whatever `env` imports: the milestones ship with their
    packages, so a workspace first on the path runs them on the student's code."""
    command = [sys.executable, "-m", "tinytorch.core.cli", "milestones", "run",
               name.split("_", 1)[1], *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def _fresh(tmp_path_factory, name: str):
    return ws.init(tmp_path_factory.mktemp(name) / "student", phases=(1, 2))


@pytest.fixture(scope="module")
def completed(tmp_path_factory, built):
    """A phase 1-2 workspace into which every reference notebook was exported."""
    folder = _fresh(tmp_path_factory, "completed")
    for module_id in PHASE_1_2:
        assert ws.export_notebook(folder, get(module_id), built[module_id, "instructor"]) == []
    return folder


@pytest.fixture(scope="module")
def without_autograd(tmp_path_factory, built):
    """The same, with module 06's notebook never exported (its exercises unwritten)."""
    folder = _fresh(tmp_path_factory, "no06")
    for module_id in PHASE_1_2:
        if module_id != "06":
            ws.export_notebook(folder, get(module_id), built[module_id, "instructor"])
    return folder


def test_a_new_workspace_has_no_reference_code(tmp_path):
    folder = ws.init(tmp_path / "w", phases=(1, 2))
    files = list((folder / "src").rglob("*"))
    assert not [f for f in files if "__pycache__" in f.parts or f.suffix == ".pyc"]
    texts = {f: f.read_text() for f in files if f.suffix == ".py"}
    assert any(f.parts[-3:] == ("tinytorch", "vision", "__init__.py") for f in texts)
    solutions = 0
    for module in (m for m in MODULES if m.phase.number <= 2):
        for key in module.solutions:
            dotted, _, _ = key.partition(":")
            source = load(dotted)
            inside = {n for r in source.regions for n in range(r.begin, r.end + 1)}
            provided = {line.strip() for n, line in enumerate(source.lines, 1)
                        if n not in inside}
            for region in (r for r in source.regions if r.key == key):
                body = [line.strip() for line in source.lines[region.begin: region.end - 1]
                        if len(line.strip()) > 25 and line.strip() not in provided]
                text = texts[folder / "src" / (dotted.replace(".", "/") + ".py")]
                assert not [line for line in body if line in text], key
                solutions += 1
    assert solutions >= 40
    stubs = ws.unwritten(folder)
    assert {s.course_module for s in stubs} == set(PHASE_1_2)
    assert len(stubs) == sum(len(get(m).solutions) for m in PHASE_1_2)
    with pytest.raises(ws.WorkspaceError, match="already has a workspace"):
        ws.init(folder, phases=(1,))


def test_import_tinytorch_core_is_the_students_code(tmp_path):
    folder = ws.init(tmp_path / "w", phases=(1,))
    probe = ("import tinytorch.core, tinytorch.core.ops.pointwise as p, inspect; "
             "print(tinytorch.core.__file__); print('STUB' if 'NotImplementedError' in "
             "inspect.getsource(p.ReLU.forward) else 'REFERENCE')")
    out = subprocess.run([sys.executable, "-c", probe], env=ws.environment(folder),
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0].startswith(str(folder / "src")) and out[1] == "STUB"
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    pth = ws.activate(folder, site_dir)
    assert ws.active_workspace(site_dir) == folder
    activated = (f"import site; site.addsitedir({str(site_dir)!r}); " + probe)
    out = subprocess.run([sys.executable, "-c", activated], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0].startswith(str(folder / "src")) and out[1] == "STUB", pth.read_text()
    assert ws.deactivate(site_dir) and ws.active_workspace(site_dir) is None


def test_completed_workspace_passes_xor(completed):
    assert ws.unwritten(completed) == []
    run = run_milestone("01_xor", ws.environment(completed))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "holds" in run.stdout


def test_xor_names_the_first_unwritten_function(without_autograd):
    unwritten = ws.unwritten(without_autograd)
    assert {s.course_module for s in unwritten} == {"06"}
    assert "topological_order" in {s.qualname for s in unwritten}
    run = run_milestone("01_xor", ws.environment(without_autograd))
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("NotImplementedError: topological_order "
                           "(tinytorch/core/autograd.py) is not written yet: module 06 "
                           "(Autograd) teaches it."), last


def test_grading_a_workspace_grades_its_files(completed, without_autograd):
    assert grade("03", workspace_dir=completed).passed
    report = grade("06", workspace_dir=without_autograd)
    assert report.score == 0
    assert all("not written yet: module 06 (Autograd)" in t.feedback for t in report.tests)


def test_exporting_a_students_cell_and_a_broken_one(tmp_path, built):
    import nbformat

    folder = ws.init(tmp_path / "w", phases=(1,))
    notebook = nbformat.read(built["03", "student"], as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.nbgrader.get("grade_id") == "Tanh")
    assert "# YOUR CODE HERE\n        raise NotImplementedError()" in cell.source
    cell.source = cell.source.replace("# YOUR CODE HERE\n        raise NotImplementedError()",
                                      "return np.tanh(a)  # mine")
    broken = next(c for c in notebook.cells if c.metadata.nbgrader.get("grade_id") == "ReLU")
    broken.source = "class ReLU(:\n"
    path = tmp_path / "03_activations.ipynb"
    nbformat.write(notebook, path)
    notes = ws.export_notebook(folder, get("03"), path)
    assert [n.unit for n in notes] == ["ReLU"] and "not valid Python" in notes[0].message
    text = (folder / "src/tinytorch/core/ops/pointwise.py").read_text()
    assert "return np.tanh(a)  # mine" in text
    left = {s.qualname for s in ws.unwritten(folder) if s.course_module == "03"}
    assert left == {"ReLU.forward", "Sigmoid.forward", "Softmax.forward"}
    # the bare nbgrader stubs became the workspace's stubs, which say who teaches them
    assert "Sigmoid.forward (tinytorch/core/ops/pointwise.py) is not written yet: module 03" \
        in text


def test_workspace_cli(tmp_path, capsys, built):
    from test_cli import run

    folder = tmp_path / "w"
    code, out, _ = run(capsys, "workspace", "init", str(folder), "--phases", "1")
    assert code == 0 and "exercises to write" in out
    code, _, err = run(capsys, "workspace", "init", str(folder))
    assert code == 2 and "already has a workspace" in err
    code, out, _ = run(capsys, "workspace", "export", str(folder),
                       str(built["03", "instructor"]))
    assert code == 0 and "03_activations" in out
    code, out, _ = run(capsys, "workspace", "status", str(folder), "--json")
    left = {s["course_module"] for s in json.loads(out)["unwritten"]}
    assert "03" not in left and "02" in left
    code, out, _ = run(capsys, "grade", "03", "--workspace", str(folder), "--json")
    # a workspace is graded as it is: module 03's activations run on module 02's tensor ops
    assert code == 1 and "_as_array" in out
    for module_id in ("01", "02"):
        run(capsys, "workspace", "export", str(folder), str(built[module_id, "instructor"]),
            "--module", module_id)
    code, out, _ = run(capsys, "grade", "03", "--workspace", str(folder), "--json")
    assert code == 0 and json.loads(out)["passed"]
    code, _, err = run(capsys, "grade", "03")
    assert code == 2 and "either" in err


def test_workspace_refuses_what_it_cannot_do(tmp_path):
    with pytest.raises(ws.WorkspaceError, match="unknown phase"):
        ws.init(tmp_path / "w", phases=(7,))
    with pytest.raises(ws.WorkspaceError, match="not a TinyTorch workspace"):
        ws.source_dir(tmp_path)


def test_module_status_of_a_workspace(capsys, without_autograd):
    from test_cli import run

    code, out, _ = run(capsys, "module", "status", "--workspace", str(without_autograd),
                       "--json")
    assert code == 0
    states = {m["module"]: m["state"] for m in json.loads(out)["modules"]}
    assert [states[f"{n:02d}"] for n in range(1, 6)] == ["passed"] * 5
    assert states["06"] == "not started"
    assert states["11"] == "not started"  # the workspace has no tinytorch.language


LONG = pytest.mark.skipif(os.environ.get("TINYTORCH_COURSE_MILESTONES") != "1",
                          reason="the CIFAR-10 and TinyGPT quick runs take minutes each: set "
                                 "TINYTORCH_COURSE_MILESTONES=1")


@pytest.fixture(scope="module")
def completed_language(tmp_path_factory, built):
    """A phase 1-3 workspace with every reference notebook of modules 01-15 exported."""
    folder = ws.init(tmp_path_factory.mktemp("phase3") / "student", phases=(1, 2, 3))
    for module in MODULES:
        if module.phase.number <= 3:
            assert ws.export_notebook(folder, module, built[module.id, "instructor"]) == []
    assert ws.unwritten(folder) == []
    return folder


@LONG
@pytest.mark.parametrize("milestone", ["03_cifar10", "04_tinygpt"])
def test_completed_workspace_runs_the_quick_milestones(completed_language, milestone,
                                                       tmp_path):
    env = dict(ws.environment(completed_language), TINYTORCH_OFFLINE="1")
    shared = REPO.parent / "shared" / "data"  # the offline data beside the checkout
    if "TINYTORCH_DATA" not in env and shared.is_dir():
        env["TINYTORCH_DATA"] = str(shared.resolve())
    run = run_milestone(milestone, env, "--quick", "--output", str(tmp_path / "out"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "PASSED" in run.stdout or "holds" in run.stdout, run.stdout[-3000:]


def test_grading_from_a_process_that_imports_a_workspace(tmp_path, built):
    """A student's kernel imports their workspace; run_test and grade() then compare with
    the installed reference in a child process, never with the student's own code."""
    folder = ws.init(tmp_path / "w", phases=(1,))
    script = ("import sys, json; from tinytorch.course import grade; "
              "from tinytorch.course.workspace import in_use; assert in_use() is not None; "
              "r = [grade('03', p) for p in sys.argv[1:]]; "
              "print(json.dumps([(x.score, x.max_score) for x in r]))")
    run = subprocess.run([sys.executable, "-c", script, str(built["03", "instructor"]),
                          str(built["03", "student"])], env=ws.environment(folder),
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    (full, top), (stub, _) = json.loads(run.stdout)
    assert full == top > 0 and stub == 0
    env = dict(ws.environment(folder), **{ws.REFERENCE_ENV: "1"})
    refused = subprocess.run([sys.executable, "-c", script, str(built["03", "student"])],
                             env=env, capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "grading needs the reference" in refused.stderr
    building = subprocess.run([sys.executable, "-c", "from tinytorch.course import "
                               "build_notebook; build_notebook('03')"],
                              env=ws.environment(folder), capture_output=True, text=True,
                              check=False)
    assert "notebooks are built from the installed library" in building.stderr


def test_every_damaged_workspace_record_is_refused_naming_it(tmp_path):
    from tinytorch.core.serialization.damage import damaged_copies

    folder = ws.init(tmp_path / "w", phases=(1, 2))
    marker = folder / ws.MARKER
    assert ws.workspace_info(folder) == {"phases": [1, 2], "packages": ["core", "vision"]}
    good = marker.read_bytes()
    refused = 0
    for damaged in damaged_copies(good, seed=12, flips=200, cuts=40):
        marker.write_bytes(damaged)
        with pytest.raises(ws.WorkspaceError, match=f"{marker}.*rebuilt from the packages"):
            ws.workspace_info(folder)
        refused += 1
    assert refused == 240
    marker.unlink()  # the documented recovery: the record is re-derived from src/
    assert ws.workspace_info(folder) == {"phases": [1, 2], "packages": ["core", "vision"]}
    assert marker.read_bytes() == good


def test_every_damaged_activation_file_is_refused_naming_it(tmp_path):
    from tinytorch.core.serialization.damage import damaged_copies

    folder = ws.init(tmp_path / "w", phases=(1,))
    site_dir = tmp_path / "site"
    pth = ws.activate(folder, site_dir)
    good = pth.read_bytes()
    assert ws.active_workspace(site_dir) == folder
    assert not [p for p in site_dir.iterdir() if p != pth]  # no temporary left behind
    for damaged in damaged_copies(good, seed=12, flips=200, cuts=40):
        pth.write_bytes(damaged)
        with pytest.raises(ws.WorkspaceError, match=f"{pth} is damaged.*deactivate"):
            ws.active_workspace(site_dir)
    assert ws.deactivate(site_dir) and ws.active_workspace(site_dir) is None


def test_exporting_never_leaves_half_a_student_file(tmp_path, built, monkeypatch):
    import tinytorch.core.atomic as atomic

    folder = ws.init(tmp_path / "w", phases=(1,))
    target = ws.module_file(ws.source_dir(folder), "tinytorch.core.ops.pointwise")
    before = target.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(atomic, "_fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        ws.export_notebook(folder, get("03"), built["03", "instructor"])
    assert target.read_bytes() == before
    assert not [p for p in target.parent.iterdir() if ".tmp-" in p.name]
