"""Shared fixtures: the repository's curriculum and notebooks built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinytorch.course import MODULES, build_notebook, write_notebook

REPO = Path(__file__).resolve().parents[3]
CURRICULUM = REPO / "curriculum"
READY = [m.id for m in MODULES if m.ready and m.available]


@pytest.fixture(scope="session")
def curriculum() -> Path:
    assert (CURRICULUM / "modules").is_dir(), f"no curriculum at {CURRICULUM}"
    return CURRICULUM


@pytest.fixture(scope="session")
def built(tmp_path_factory, curriculum):
    """{(module id, flavour): path} of every ready module's notebooks, built once."""
    folder = tmp_path_factory.mktemp("notebooks")
    paths = {}
    for module_id in READY:
        for flavour in ("student", "instructor"):
            notebook = build_notebook(module_id, flavour, curriculum)
            paths[module_id, flavour] = write_notebook(
                notebook, folder / flavour / f"{module_id}.ipynb")
    return paths
