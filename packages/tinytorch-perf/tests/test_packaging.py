"""The package follows the repository's rules: PEP 420 namespace, entry point, no torch at
run time, vision/language imported only lazily inside functions."""

from __future__ import annotations

import ast
from importlib import metadata
from pathlib import Path

import pytest
from conftest import load_pyproject

import tinytorch.perf

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def test_namespace_package_has_no_init():
    assert not (SRC / "tinytorch" / "__init__.py").exists()


def test_version_and_metadata():
    assert tinytorch.perf.__version__ == "0.1.0"
    project = load_pyproject()["project"]
    assert project["name"] == "tinytorch-perf"
    # siblings are pinned to the 0.1 series (an unbounded range promises untested releases)
    assert "tinytorch-core>=0.1.0,<0.2" in project["dependencies"]
    assert set(project["optional-dependencies"]["models"]) == {
        "tinytorch-vision>=0.1.0,<0.2", "tinytorch-language>=0.1.0,<0.2"}
    assert project["entry-points"]["tinytorch.cli"] == {
        "performance": "tinytorch.perf.cli:register"}


def _imports(tree: ast.AST, top_level_only: bool):
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


SOURCES = sorted((SRC / "tinytorch" / "perf").rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_torch_and_no_eager_later_phases(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    everywhere = set(_imports(tree, top_level_only=False))
    assert not {m for m in everywhere if m == "torch" or m.startswith("torch.")}
    top = set(_imports(tree, top_level_only=True))
    assert not {m for m in top if m.startswith(("tinytorch.vision", "tinytorch.language"))}


def test_entry_point_is_discoverable_when_installed():
    try:
        dist = metadata.distribution("tinytorch-perf")
    except metadata.PackageNotFoundError:
        pytest.skip("tinytorch-perf is not installed (running from the source tree); the "
                    "nox session installs it and runs this check")
    points = [ep for ep in dist.entry_points if ep.group == "tinytorch.cli"]
    assert [(ep.name, ep.value) for ep in points] == [("performance",
                                                        "tinytorch.perf.cli:register")]
    assert callable(points[0].load())
