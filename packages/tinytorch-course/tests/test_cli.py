"""tito notebooks build, tito grade, tito module list/status, driven in-process."""

from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from conftest import READY

from tinytorch.core.cli import main as core_main
from tinytorch.core.cli.main import build_parser
from tinytorch.course import cli, grading


def run(capsys, *argv):
    """Dispatch like tito's main(), adding the course's groups if the entry points of an
    installed tinytorch-course are not there (running from the source tree)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, register in (("notebooks", cli.register_notebooks), ("grade", cli.register_grade),
                           ("module", cli.register_module),
                           ("workspace", cli.register_workspace)):
        if name not in sub.choices:
            register(sub)
    args = parser.parse_args(list(argv))
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_entry_points_declared():
    try:
        dist = metadata.distribution("tinytorch-course")
    except metadata.PackageNotFoundError:
        pytest.skip("tinytorch-course is not installed (running from the source tree)")
    names = {ep.name for ep in dist.entry_points if ep.group == "tinytorch.cli"}
    assert names == {"notebooks", "grade", "module", "workspace"}
    code = core_main(["module", "list", "--json"])
    assert code == 0


def test_notebooks_build(capsys, tmp_path, curriculum):
    code, out, _ = run(capsys, "notebooks", "build", "--out", str(tmp_path),
                       "--curriculum", str(curriculum))
    assert code == 0
    written = sorted(p.stem for p in tmp_path.glob("*.ipynb"))
    assert [w[:2] for w in written] == READY
    assert "written" in out
    code, _, err = run(capsys, "notebooks", "build", "99", "--out", str(tmp_path),
                       "--curriculum", str(curriculum))
    assert code == 2 and "unknown course module" in err


def test_grade_json_and_table(capsys, built):
    code, out, _ = run(capsys, "grade", "03", str(built["03", "student"]), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["score"] == 0 and report["max_score"] > 0
    assert all("not written yet" in t["feedback"] for t in report["tests"])
    code, out, _ = run(capsys, "grade", "activations", str(built["03", "instructor"]))
    assert code == 0
    assert "03_activations" in out and "passed" in out


def test_grade_refuses_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "grade", "01", str(tmp_path / "nope.ipynb"))
    assert code == 2 and "does not exist" in err


def test_module_list(capsys):
    code, out, _ = run(capsys, "module", "list", "--json")
    assert code == 0
    data = json.loads(out)
    assert [m["module"] for m in data["modules"]] == [f"{n:02d}" for n in range(1, 19)]
    assert [p["milestone_name"] for p in data["phases"]][0].startswith("XOR")
    code, out, _ = run(capsys, "module", "list")
    assert code == 0 and "Autograd" in out and "XOR" in out


def test_module_status_unlocks_phase_one(capsys, tmp_path, built):
    for module_id, stem in (("01", "01_setup"), ("02", "02_tensor"), ("03", "03_activations"),
                            ("04", "04_layers"), ("05", "05_networks")):
        shutil.copy(built[module_id, "instructor"], tmp_path / f"{stem}.ipynb")
    shutil.copy(built["09", "student"], tmp_path / "09_dataloader.ipynb")  # untouched
    notebook = nbformat.read(built["06", "student"], as_version=4)  # one exercise done
    reference = nbformat.read(built["06", "instructor"], as_version=4)
    for cell, solved in zip(notebook.cells, reference.cells):
        if cell.metadata.nbgrader.get("grade_id") == "unbroadcast":
            cell.source = solved.source
    nbformat.write(notebook, tmp_path / "06_autograd.ipynb")
    code, out, _ = run(capsys, "module", "status", "--workspace", str(tmp_path), "--json")
    assert code == 0
    data = json.loads(out)
    states = {m["module"]: m["state"] for m in data["modules"]}
    assert [states[f"{n:02d}"] for n in range(1, 6)] == ["passed"] * 5
    tests_06 = len(grading.tests_for("06"))
    assert states["06"] == f"in progress (1/{tests_06})"
    assert states["08"] == "not started" and states["09"] == "not started"
    phases = {p["phase"]: p["unlocked"] for p in data["phases"]}
    assert phases[1] is True and phases[2] is False
    code, out, _ = run(capsys, "module", "status", "--workspace", str(tmp_path))
    assert code == 0 and "passed" in out and "yes" in out


# ---------------------------------------------------------------- installed, no checkout
def test_notebooks_build_outside_a_checkout_uses_the_shipped_pages(capsys, tmp_path,
                                                                   monkeypatch, curriculum):
    """An installed tinytorch-course carries the module pages (tinytorch/course/pages/):
    built from an empty folder with no checkout above it, every notebook is still written."""
    from tinytorch.course import notebooks

    package = tmp_path / "site" / "tinytorch" / "course"
    shutil.copytree(curriculum / "modules", package / notebooks.SHIPPED_PAGES)
    monkeypatch.setattr(notebooks.resources, "files", lambda name: package)
    monkeypatch.delenv("TINYTORCH_ROOT", raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert notebooks.find_pages() == package / notebooks.SHIPPED_PAGES
    code, out, _ = run(capsys, "notebooks", "build", "--out", str(tmp_path / "out"))
    assert code == 0
    assert sorted(p.stem[:2] for p in (tmp_path / "out").glob("*.ipynb")) == READY


def test_notebooks_build_that_writes_nothing_exits_non_zero(capsys, tmp_path, monkeypatch):
    from tinytorch.course import notebooks

    monkeypatch.setattr(notebooks.resources, "files", lambda name: tmp_path / "no-pages")
    monkeypatch.delenv("TINYTORCH_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "notebooks", "build", "--out", str(tmp_path / "out"))
    assert code == 2 and "0 written, 18 skipped" in err
    assert "cannot find the module pages" in " ".join(out.split())  # each module's reason
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_wheel_ships_the_module_pages(tmp_path, curriculum):
    """The wheel built from the repository (and the one built from its sdist) holds
    every module page as package data."""
    import subprocess
    import sys
    import tarfile
    import zipfile

    pytest.importorskip("hatchling", reason="the [test] extra installs the build backend")
    source = curriculum.parent / "packages" / "tinytorch-course"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(tmp_path / "repo"), str(source)], check=True,
                   timeout=300)
    pages = sorted(p.name for p in (curriculum / "modules").glob("[0-9][0-9]_*.md"))
    wheel = next((tmp_path / "repo").glob("tinytorch_course-*.whl"))
    shipped = sorted(Path(n).name for n in zipfile.ZipFile(wheel).namelist()
                     if n.startswith("tinytorch/course/pages/"))
    assert shipped == pages and len(pages) == 18
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d",
                    str(tmp_path / "sdist")], cwd=source, check=True, timeout=300,
                   capture_output=True)
    sdist = next((tmp_path / "sdist").glob("tinytorch_course-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    unpacked = next((tmp_path / "unpacked").iterdir())
    subprocess.run([*build, "-w", str(tmp_path / "from-sdist"), str(unpacked)], check=True,
                   timeout=300)
    wheel = next((tmp_path / "from-sdist").glob("tinytorch_course-*.whl"))
    assert sorted(Path(n).name for n in zipfile.ZipFile(wheel).namelist()
                  if n.startswith("tinytorch/course/pages/")) == pages
