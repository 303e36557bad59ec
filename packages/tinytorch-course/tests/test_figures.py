"""curriculum/measure_figures.py: a partial run relabels only what it measured, and a
figure that cannot be measured keeps its last table with a note."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import CURRICULUM


@pytest.fixture
def figures_script(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("measure_figures",
                                                  CURRICULUM / "measure_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pages = tmp_path / "modules"
    pages.mkdir()
    (pages / "99_demo.md").write_text(
        "# demo\n\n<!-- figures: speed -->\nold\n<!-- /figures -->\n\n"
        "<!-- figures: data -->\nold\n<!-- /figures -->\n")
    old_machine = {"cpu": "Old CPU", "cores": 1, "numpy": "1.0", "measured": "2020-01-01",
                   "load_average": 0.5}
    store = tmp_path / "figures.json"
    store.write_text(json.dumps({"machine": old_machine, "figures": {
        key: {"tables": [module.table(f"{key} table", ["x"], [["old value"]])]}
        for key in ("speed", "data")}}))
    monkeypatch.setattr(module, "PAGES", pages)
    monkeypatch.setattr(module, "HERE", tmp_path)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "FIGURES_JSON", store)
    monkeypatch.setattr(module, "FIGURES", {
        "speed": ("numpy", lambda: {"tables": [module.table("speed table", ["x"],
                                                            [["new value"]])]}),
        "data": ("numpy", lambda: {"skipped": "the data set is not in $TINYTORCH_DATA"}),
    })
    return module, pages / "99_demo.md", store


def _block(page: str, key: str) -> str:
    return page.split(f"<!-- figures: {key} -->\n", 1)[1].split("<!-- /figures -->", 1)[0]


def test_only_relabels_what_it_measured(figures_script):
    module, page, _ = figures_script
    module.main([])  # first: both keep the old machine until re-measured
    module.main(["--only", "speed"])
    text = page.read_text()
    assert "new value" in _block(text, "speed") and "Old CPU" not in _block(text, "speed")
    assert "Old CPU" in _block(text, "data") and "2020-01-01" in _block(text, "data")


def test_unmeasurable_figure_keeps_its_last_table(figures_script):
    module, page, store = figures_script
    module.main(["--only", "data"])
    block = _block(page.read_text(), "data")
    assert "old value" in block
    assert "Not re-measured" in block and "not in $TINYTORCH_DATA" in block
    assert "Old CPU" in block  # labelled with the machine that measured it
    saved = json.loads(store.read_text())["figures"]["data"]
    assert saved["tables"][0]["rows"] == [["old value"]]
