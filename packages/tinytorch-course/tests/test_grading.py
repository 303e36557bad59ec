"""The grader grades the student's code: stubs score 0, the reference scores full marks,
one bug costs exactly the points of the tests it breaks, and imports of the reference
earn nothing."""

from __future__ import annotations

import json

import nbformat
import pytest
from conftest import READY

from tinytorch.course import get, grade, grading
from tinytorch.course.grader import GradingError, read_cells


def test_every_module_is_ready():
    """All 18 modules have notebooks; every one whose package is installed is tested."""
    from tinytorch.course import MODULES

    assert all(m.ready for m in MODULES)
    core = ["01", "02", "03", "04", "05", "06", "08", "09", "10"]
    assert [m for m in core if m in READY] == core


@pytest.mark.parametrize("module_id", READY)
def test_stub_notebook_scores_zero_with_feedback(built, module_id):
    report = grade(module_id, built[module_id, "student"], isolate=False)
    assert report.cell_errors == [], "the stub notebook's cells must all run"
    assert report.max_score == grading.max_score(module_id) > 0
    assert report.score == 0
    for result in report.tests:
        assert not result.passed
        assert "not written yet" in result.feedback or "you write this" in result.feedback, \
            result.feedback
        assert "Hint:" in result.feedback or "module" in result.feedback


@pytest.mark.parametrize("module_id", READY)
def test_reference_notebook_scores_full_marks(built, module_id):
    report = grade(module_id, built[module_id, "instructor"], isolate=False)
    assert report.cell_errors == []
    failed = {r.name: r.feedback for r in report.tests if not r.passed}
    assert failed == {}
    assert report.score == report.max_score == grading.max_score(module_id)
    assert report.passed


def _with_bug(path, tmp_path, grade_id: str, old: str, new: str):
    notebook = nbformat.read(path, as_version=4)
    cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id")
             == grade_id]
    assert len(cells) == 1 and cells[0].metadata.nbgrader.solution, grade_id
    assert cells[0].source.count(old) == 1, (grade_id, old)
    cells[0].source = cells[0].source.replace(old, new)
    out = tmp_path / f"bug-{path.name}"
    nbformat.write(notebook, out)
    return out


BUGS = [  # module, solution cell, code replaced, replacement, the tests that must fail
    ("01", "result_dtype", "return np.promote_types(a, b)", "return a",
     {"result_dtype_promotion"}),
    ("02", "MatMul", "return np.matmul(a, b)", "return np.matmul(a, b) * 1.01",
     {"matmul_values"}),
    ("03", "Sigmoid", "out = 0.5 * (np.tanh(0.5 * a) + 1)", "out = 1 / (1 + np.exp(-a))",
     {"sigmoid_is_stable"}),
    ("04", "Module", "if param is None or id(param) in seen:", "if param is None:",
     {"named_parameters_walks_the_tree"}),
    ("05", "Sequential", "for module in self._modules.values():",
     "for module in reversed(self._modules.values()):",
     {"sequential_forward_composes", "xor_needs_relu"}),
    ("06", "Sigmoid", "return grad * out * (1 - out)", "return grad * out",
     {"activation_backwards"}),
    ("08", "SGD", 'grad = grad + momentum * buf if group["nesterov"] else buf', "grad = buf",
     {"sgd_nesterov_and_weight_decay"}),
    ("09", "DataLoader", "return samples // self.batch_size\n",
     "return samples // self.batch_size + 1\n", {"length_counts_batches"}),
    ("10", "accuracy", "return float(np.mean(rank < top_k))",
     "return float(np.mean(rank <= top_k))", {"accuracy_top_k"}),
    ("07", "col2im", "out[:, rows, columns, :] += slab", "out[:, rows, columns, :] = slab",
     {"col2im_is_the_adjoint"}),
    ("11", "_merge_pair", "i += 2", "i += 1", {"merge_pair_left_to_right"}),
    ("12", "EmbeddingLookup", "np.add.at(grad_weight, ctx.ids.reshape(-1), grad.reshape(-1, dim))",
     "grad_weight[ctx.ids.reshape(-1)] += grad.reshape(-1, dim)",
     {"backward_accumulates_repeated_ids"}),
    ("13", "attention_backward", "grad_k = np.matmul(np.swapaxes(scaled, -1, -2), q)",
     "grad_k = np.matmul(scaled, q)", {"attention_backward_matches_numeric"}),
    ("14", "TransformerBlock", "return x + self.dropout2(self._mlp(self.norm2(x)))",
     "return self.dropout2(self._mlp(self.norm2(x)))",
     {"block_is_pre_norm_residual", "zero_sublayers_give_identity"}),
    ("15", "_nucleus", "mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs",
     "mass_before = np.cumsum(sorted_probs, axis=-1)", {"top_p_keeps_the_nucleus"}),
]
BUGS += [
    ("16", "matmul_blocked", "for p in range(0, k, block):", "for p in range(0, k - 1, block):",
     {"matmul_blocked_handles_ragged_tiles"}),
    ("17", "RooflineModel", "return self.peak_gflops / self.bandwidth_gbs",
     "return self.bandwidth_gbs / self.peak_gflops", {"roofline_roofs"}),
    ("18", "activation_qparams", "zero_point = int(np.clip(round(-low / scale), 0, 255))",
     "zero_point = int(np.clip(round(low / scale), 0, 255))", {"activation_range_parameters"}),
]
BUGS = [b for b in BUGS if b[0] in READY]


@pytest.mark.parametrize(("module_id", "grade_id", "old", "new", "breaks"), BUGS,
                         ids=[b[0] for b in BUGS])
def test_one_bug_costs_exactly_its_tests(built, tmp_path, module_id, grade_id, old, new,
                                         breaks):
    buggy = _with_bug(built[module_id, "instructor"], tmp_path, grade_id, old, new)
    report = grade(module_id, buggy, isolate=False)
    failed = {r.name for r in report.tests if not r.passed}
    assert failed == breaks
    lost = sum(t.points for t in grading.tests_for(module_id) if t.name in breaks)
    assert report.score == report.max_score - lost
    for result in report.tests:
        assert result.passed or result.feedback  # every failure says why


def test_importing_the_reference_earns_nothing(built, tmp_path):
    """A student who imports the library's ReLU/Sigmoid/... instead of writing them."""
    notebook = nbformat.read(built["03", "student"], as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "from tinytorch.core.ops import ReLU, Sigmoid, Tanh, Softmax, softmax"))
    cheat = tmp_path / "cheat.ipynb"
    nbformat.write(notebook, cheat)
    report = grade("03", cheat, isolate=False)
    assert report.score == 0
    assert all("not from your notebook" in r.feedback for r in report.tests)


def test_edited_test_cells_are_ignored(built, tmp_path):
    """Test cells are the grader's own: emptying them changes nothing."""
    notebook = nbformat.read(built["03", "student"], as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "print('all tests passed')"
    tampered = tmp_path / "tampered.ipynb"
    nbformat.write(notebook, tampered)
    report = grade("03", tampered, isolate=False)
    assert report.score == 0 and len(report.tests) == len(grading.tests_for("03"))


def test_python_file_submission(built, tmp_path):
    """A .py file (cells split at '# %%') is graded like a notebook."""
    notebook = nbformat.read(built["01", "instructor"], as_version=4)
    cells = [c.source for c in notebook.cells
             if c.cell_type == "code" and not c.metadata.nbgrader.get("grade")]
    script = tmp_path / "01_setup.py"
    script.write_text("".join(f"# %%\n{source}\n" for source in cells))
    assert len(read_cells(script)) == len(cells)
    report = grade("01", script, isolate=False)
    assert report.passed, [r.feedback for r in report.tests if not r.passed]


def test_isolated_grading_in_a_subprocess(built):
    report = grade("02", built["02", "instructor"])
    assert report.passed and report.score == grading.max_score("02")
    stub = grade("02", built["02", "student"])
    assert stub.score == 0 and not stub.error


def test_runaway_code_is_stopped(tmp_path):
    script = tmp_path / "loop.py"
    script.write_text("while True:\n    pass\n")
    report = grade("01", script, timeout=3)
    assert report.score == 0
    assert "timed out" in report.error
    assert all("timed out" in r.feedback for r in report.tests)


def test_a_crashing_cell_does_not_stop_the_rest(built, tmp_path):
    notebook = nbformat.read(built["01", "instructor"], as_version=4)
    notebook.cells.insert(3, nbformat.v4.new_code_cell("1 / 0"))
    path = tmp_path / "crash.ipynb"
    nbformat.write(notebook, path)
    report = grade("01", path, isolate=False)
    assert report.passed
    assert len(report.cell_errors) == 1 and "ZeroDivisionError" in \
        report.cell_errors[0]["error"]


def test_report_json_round_trip(built):
    report = grade("01", built["01", "student"], isolate=False)
    data = json.loads(json.dumps(report.to_json()))
    assert data["score"] == 0 and data["passed"] is False
    assert {t["name"] for t in data["tests"]} == {t.name for t in grading.tests_for("01")}


def test_bad_submissions_are_refused(tmp_path):
    with pytest.raises(GradingError, match="does not exist"):
        grade("01", tmp_path / "missing.ipynb")
    text = tmp_path / "answer.txt"
    text.write_text("x")
    with pytest.raises(GradingError, match=r"\.ipynb notebook or a \.py file"):
        grade("01", text)
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    with pytest.raises(GradingError, match="not a readable Jupyter notebook"):
        grade("01", broken)
    with pytest.raises(KeyError, match="unknown course module"):
        get("99")
