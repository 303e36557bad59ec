"""The grader grades the student: the stub scores 0, the reference full marks, one bug costs
the points of the behaviours it breaks, and cheats (importing, wrapping, exec'ing the
reference, patching the grader, forging the report, exiting early) earn nothing.

Every submission here is graded the real way: exported into a sandbox workspace and run in
a separate process, compared with the reference in this one."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import READY

import tinytorch.core.ops.pointwise as reference_pointwise
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
    report = grade(module_id, built[module_id, "student"])
    assert report.cell_errors == []
    assert report.max_score == grading.max_score(module_id) > 0
    assert report.score == 0
    for result in report.tests:
        assert not result.passed
        assert "not written yet" in result.feedback, result.feedback
        assert "Hint:" in result.feedback or "teaches it" in result.feedback


@pytest.mark.parametrize("module_id", READY)
def test_reference_notebook_scores_full_marks(built, module_id):
    report = grade(module_id, built[module_id, "instructor"])
    assert report.cell_errors == []
    failed = {r.name: r.feedback for r in report.tests if not r.passed}
    assert failed == {}
    assert report.score == report.max_score == grading.max_score(module_id)
    assert report.passed


def _edit(path, tmp_path, grade_id: str, old: str, new: str, name: str = "edited"):
    notebook = nbformat.read(path, as_version=4)
    cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id")
             == grade_id]
    assert len(cells) == 1 and cells[0].metadata.nbgrader.solution, grade_id
    # edit the solution only (a hint above the region may quote the same code)
    parts = re.split(r"(# BEGIN SOLUTION|# END SOLUTION)", cells[0].source)
    inside = [i for i, part in enumerate(parts) if i >= 2 and parts[i - 1] == "# BEGIN SOLUTION"]
    assert sum(parts[i].count(old) for i in inside) == 1, (grade_id, old)
    for i in inside:
        parts[i] = parts[i].replace(old, new)
    cells[0].source = "".join(parts)
    out = tmp_path / f"{name}-{path.name}"
    nbformat.write(notebook, out)
    return out


BUGS = [  # module, solution cell, code replaced, replacement, the tests that must fail
    ("01", "result_dtype", "return np.promote_types(a, b)", "return a",
     {"result_dtype_promotion", "result_dtype_of_any_pair"}),
    ("02", "MatMul", "return np.matmul(a, b)", "return np.matmul(a, b) * 1.01",
     {"matmul_values"}),
    ("03", "Sigmoid", "out = 0.5 * (np.tanh(0.5 * a) + 1)", "out = 1 / (1 + np.exp(-a))",
     {"sigmoid_is_stable"}),
    ("04", "Module", "if param is None or id(param) in seen:", "if param is None:",
     {"named_parameters_walks_the_tree", "named_parameters_of_any_tree"}),
    ("05", "Sequential", "for module in self._modules.values():",
     "for module in reversed(self._modules.values()):",
     {"sequential_forward_composes", "xor_needs_relu", "sequential_of_any_depth"}),
    ("06", "Sigmoid", "return grad * out * (1 - out)", "return grad * out",
     {"activation_backwards"}),
    ("08", "SGD", 'grad = grad + momentum * buf if group["nesterov"] else buf', "grad = buf",
     {"sgd_nesterov_and_weight_decay", "sgd_any_hyperparameters"}),
    ("09", "DataLoader", "return samples // self.batch_size\n",
     "return samples // self.batch_size + 1\n", {"length_counts_batches", "batches_of_any_size"}),
    ("10", "accuracy", "return float(np.mean(rank < top_k))",
     "return float(np.mean(rank <= top_k))", {"accuracy_top_k"}),
    ("07", "add_patches", "out[:, rows, columns, :] += slab", "out[:, rows, columns, :] = slab",
     {"col2im_is_the_adjoint", "col2im_of_any_geometry"}),
    ("11", "_merge_pair", "i += 2", "i += 1",
     {"merge_pair_left_to_right", "merge_pair_any_sequence"}),
    ("12", "EmbeddingLookup", "np.add.at(grad_weight, ids.reshape(-1), grad.reshape(-1, dim))",
     "grad_weight[ids.reshape(-1)] += grad.reshape(-1, dim)",
     {"backward_accumulates_repeated_ids"}),
    ("13", "attention_backward", "grad_k = np.matmul(np.swapaxes(scaled, -1, -2), q)",
     "grad_k = np.matmul(scaled, q)", {"attention_backward_matches_numeric"}),
    ("14", "TransformerBlock", "return x + self.dropout2(self._mlp(self.norm2(x)))",
     "return self.dropout2(self._mlp(self.norm2(x)))",
     {"block_is_pre_norm_residual", "zero_sublayers_give_identity",
      "causal_block_ignores_the_future", "block_any_shape_dtype_and_mask",
      "cached_block_equals_the_full_causal_pass"}),
    ("15", "_nucleus", "mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs",
     "mass_before = np.cumsum(sorted_probs, axis=-1)",
     {"top_p_keeps_the_nucleus", "nucleus_of_any_distribution",
      "sampling_follows_the_distribution"}),
]
BUGS += [
    ("16", "matmul_blocked", "for p in range(0, k, block):", "for p in range(0, k - 1, block):",
     {"matmul_blocked_handles_ragged_tiles", "matmul_kernels_any_shape"}),
    ("17", "RooflineModel", "return self.peak_gflops / self.bandwidth_gbs",
     "return self.bandwidth_gbs / self.peak_gflops", {"roofline_roofs", "roofline_any_machine"}),
    ("18", "activation_qparams", "zero_point = int(np.clip(round(-low / scale), 0, 255))",
     "zero_point = int(np.clip(round(low / scale), 0, 255))",
     {"activation_range_parameters", "activation_qparams_any_range"}),
]

# the bugs the single fixed examples of the first grader missed
RECURSIVE_TOPOLOGICAL_ORDER = """    order: list[Function] = []
    visited = set()

    def visit(node):
        visited.add(node)
        for parent in node.parents():
            if parent not in visited:
                visit(parent)
        order.append(node)

    visit(root)
    order.reverse()
    return order
"""
ITERATIVE = """    order: list[Function] = []
    visited = {root}
    stack = [(root, iter(root.parents()))]
    while stack:
        node, pending = stack[-1]
        for parent in pending:
            if parent not in visited:
                visited.add(parent)
                stack.append((parent, iter(parent.parents())))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order
"""
BUGS += [
    ("02", "matmul", "inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]",
     "inner_b = b.shape[0]", {"matmul_values"}),
    ("03", "Softmax", "shifted = a - a.max(axis=dim, keepdims=True)", "shifted = a",
     {"softmax_is_stable"}),
    ("06", "topological_order", ITERATIVE, RECURSIVE_TOPOLOGICAL_ORDER,
     {"deep_graphs_do_not_recurse"}),
    ("06", "unbroadcast", "grad = grad.sum(axis=tuple(range(extra)))", "grad = grad.sum(axis=0)",
     {"unbroadcast_sums_stretched_dims", "backward_unbroadcasts_to_leaves"}),
    ("13", "causal_mask", "rows = np.arange(query_len)[:, None] + offset",
     "rows = np.arange(query_len)[:, None]", {"causal_mask_shape_and_offset"}),
    # more single bugs per module: dtype drift, a missing stabiliser, a missing correction
    ("03", "Sigmoid", "out = 0.5 * (np.tanh(0.5 * a) + 1)",
     "out = (0.5 * (np.tanh(0.5 * a) + 1)).astype(np.float64)", {"sigmoid_values"}),
    ("10", "CrossEntropy", "shifted = logits - logits.max(axis=1, keepdims=True)",
     "shifted = logits", {"cross_entropy_is_stable"}),
    ("08", "Adam", "step_size = lr / (1 - beta1**step)", "step_size = lr",
     {"adam_first_step", "adam_three_steps", "adamw_decays_decoupled",
      "adam_any_hyperparameters"}),
]
# bugs only the property-based tests find (the fixed examples above pass them), and a few
# more that break a module's property test together with its fixed examples
BUGS += [
    ("01", "Generator", "self.rng = np.random.default_rng(int(seed))",
     "self.rng = np.random.default_rng(int(seed) % 2**32)", {"any_seed_replays_numpys_stream"}),
    ("01", "result_dtype", "return np.promote_types(a, b)",
     "return max(a, b, key=lambda d: d.itemsize)", {"result_dtype_of_any_pair"}),
    ("04", "Module", "modules = self.named_modules(prefix) if recurse",
     "modules = self.named_modules() if recurse", {"named_parameters_of_any_tree"}),
    ("04", "Linear", "np.empty((out_features, in_features), dtype=dtype)",
     "np.empty((out_features, in_features), dtype=np.float32)",
     {"linear_any_width_batch_and_dtype"}),
    ("04", "kaiming_uniform_", "math.sqrt(_fan(tensor, mode))",
     'math.sqrt(_fan(tensor, "fan_in"))', {"kaiming_uniform_any_shape_mode_and_gain"}),
    ("04", "_calculate_fan_in_and_fan_out", "for n in tensor.shape[2:]:",
     "for n in tensor.shape[3:]:", {"fan_in_and_fan_out", "fans_of_any_weight_shape",
                                    "kaiming_uniform_any_shape_mode_and_gain"}),
    ("05", "Sequential", "self.add_module(str(i), module)", "self.add_module(str(i + 1), module)",
     {"sequential_registers_children", "sequential_of_any_depth"}),
    ("05", "Sequential", "for module in self._modules.values():",  # written for 3 layers
     "for module in list(self._modules.values())[:3]:", {"sequential_of_any_depth"}),
    ("07", "windows", "sw * stride[1]", "sw * stride[0]",
     {"windows_are_the_patches", "col2im_is_the_adjoint", "windows_of_any_geometry"}),
    ("07", "output_hw", "span(kernel, dilation)", "kernel",
     {"output_size_formula", "windows_are_the_patches", "col2im_is_the_adjoint",
      "output_size_of_any_geometry"}),
    ("08", "SGD", "buf += (1 - dampening) * grad", "buf += grad", {"sgd_any_hyperparameters"}),
    ("08", "Adam", "denom /= (1 - beta2**step) ** 0.5", "denom /= 1 - beta2**step",
     {"adam_first_step", "adam_three_steps", "adamw_decays_decoupled",
      "adam_any_hyperparameters"}),
    ("09", "DataLoader",
     "stop = samples - samples % self.batch_size if self.drop_last else samples",
     "stop = samples - samples % self.batch_size",
     {"batches_in_order", "shuffle_is_a_seeded_permutation", "batches_of_any_size"}),
    ("09", "DataLoader", "get_rng(self.generator)", "get_rng()",
     {"shuffle_is_a_seeded_permutation", "batches_of_any_size"}),
    ("09", "_stack", "return np.stack(arrays)", "return np.stack(arrays).astype(np.float32)",
     {"collate_any_nested_samples"}),
    ("11", "CharTokenizer", "unknown = self._codes[ids_in_range] != codes",
     "unknown = ids >= self._codes.size", {"char_tokenizer_any_text"}),
    ("11", "CharTokenizer", 'return self._codes[ids].tobytes().decode("utf-32-le")',
     'return self._codes[ids].tobytes().decode("utf-32-le").strip()',
     {"char_tokenizer_any_text"}),
    ("14", "TransformerBlock", "x = x + self.dropout1(attended)", "x = self.dropout1(attended)",
     {"block_is_pre_norm_residual", "zero_sublayers_give_identity",
      "causal_block_ignores_the_future", "block_any_shape_dtype_and_mask",
      "cached_block_equals_the_full_causal_pass"}),
    ("14", "TransformerBlock", "bias=attn_bias,", "bias=None,",
     {"block_any_shape_dtype_and_mask"}),
    ("14", "TransformerBlock", "is_causal=is_causal,", "is_causal=False,",
     {"block_is_pre_norm_residual", "causal_block_ignores_the_future",
      "block_any_shape_dtype_and_mask", "cached_block_equals_the_full_causal_pass"}),
    ("14", "TransformerBlock", "kv_cache=kv_cache)", "kv_cache=None)",
     {"cached_block_equals_the_full_causal_pass"}),
    ("15", "sample_logits", "logits = logits / temperature", "logits = logits / 1.0",
     {"temperature_sampling_follows_softmax", "sampling_follows_the_distribution"}),
    ("15", "sample_logits", "probs = np.exp(logits - logits.max(axis=-1, keepdims=True))",
     "probs = np.exp(logits)", {"sampling_follows_the_distribution"}),
    ("16", "im2col", "[:, :, ::stride, ::stride]", "[:, :, ::stride, :]",
     {"conv_im2col_matches_definition", "conv_im2col_any_geometry"}),
    ("16", "matmul_loops", "row_out[j] += a_ip * row_b[j]", "row_out[j] = a_ip * row_b[j]",
     {"matmul_loops_is_the_definition", "matmul_kernels_any_shape"}),
    ("17", "RooflineModel", '"compute-bound" if intensity >= self.ridge_point',
     '"compute-bound" if intensity > self.ridge_point', {"roofline_any_machine"}),
    ("17", "_coverage", "range(j, n - j + 1)", "range(j, n - j)",
     {"coverage_is_binomial", "median_interval_from_order_statistics",
      "median_interval_any_samples"}),
    ("18", "quantize_per_channel", "np.max(np.abs(w), axis=reduce, keepdims=True)",
     "np.max(w, axis=reduce, keepdims=True)",
     {"per_channel_int8_weights", "dequantize_round_trip", "quantize_any_weights"}),
    ("18", "dequantize_per_channel", "shape[axis] = -1", "shape[0] = -1",
     {"dequantize_round_trip", "quantize_any_weights"}),
]
BUGS = [b for b in BUGS if b[0] in READY]


@pytest.mark.parametrize(("module_id", "grade_id", "old", "new", "breaks"), BUGS,
                         ids=[f"{b[0]}-{b[1]}-{i}" for i, b in enumerate(BUGS)])
def test_one_bug_costs_exactly_its_tests(built, tmp_path, module_id, grade_id, old, new,
                                         breaks):
    buggy = _edit(built[module_id, "instructor"], tmp_path, grade_id, old, new, "bug")
    report = grade(module_id, buggy)
    failed = {r.name for r in report.tests if not r.passed}
    assert failed == breaks, {r.name: r.feedback for r in report.tests if not r.passed}
    lost = sum(t.points for t in grading.tests_for(module_id) if t.name in breaks)
    assert report.score == report.max_score - lost
    for result in report.tests:
        assert result.passed or result.feedback  # every failure says why


def test_property_feedback_names_a_small_failing_input(built, tmp_path):
    """hypothesis shrinks the failure: the feedback shows a small batched right operand."""
    buggy = _edit(built["02", "instructor"], tmp_path, "matmul",
                  "inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]", "inner_b = b.shape[0]")
    result = {r.name: r for r in grade("02", buggy).tests}["matmul_values"]
    assert "smallest failing input found" in result.feedback
    assert "not aligned" in result.feedback


def test_the_seed_fixes_the_inputs(built, tmp_path):
    buggy = _edit(built["06", "instructor"], tmp_path, "unbroadcast",
                  "grad = grad.sum(axis=tuple(range(extra)))", "grad = grad.sum(axis=0)")
    first, second = (grade("06", buggy, tests=["unbroadcast_sums_stretched_dims"], seed=5)
                     for _ in range(2))
    assert first.tests[0].feedback == second.tests[0].feedback != ""
    assert first.seed == 5


# ---------------------------------------------------------------- cheats


RELU_FORWARD = "ctx.save_for_backward(a > 0)\n        return np.maximum(a, 0, dtype=a.dtype)"


def _cheat_relu(built, tmp_path, body: str, top: str = "", name: str = "cheat",
                header: str = ""):
    """The reference notebook of module 03 with ReLU.forward replaced by `body` (and `top`
    put before the class, at module level; `header` replacing the class line)."""
    notebook = nbformat.read(built["03", "instructor"], as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.nbgrader.get("grade_id") == "ReLU")
    if header:
        cell.source = cell.source.replace("class ReLU(Function):", header)
    start = cell.source.index("        # BEGIN SOLUTION\n        ctx.save_for_backward(a > 0)")
    end = cell.source.index("        # END SOLUTION", start)
    cell.source = top + cell.source[:start] + body + cell.source[end:]
    out = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, out)
    return out


def _relu_only_fails(report, everything_else: bool = True):
    results = {r.name: r for r in report.tests}
    assert results["relu_forward"].score == 0, results["relu_forward"]
    if everything_else:
        others = {n: r.feedback for n, r in results.items() if n != "relu_forward" and
                  not r.passed}
        assert others == {}
        assert report.score == report.max_score - results["relu_forward"].points
    return results["relu_forward"].feedback


CHEATS = {  # name: (forward body, module-level code, do the other tests still pass?)
    "import": ("        return ReLU.forward(ctx, a)\n",
               "from tinytorch.core.ops.pointwise import ReLU  # the installed reference?\n",
               False),
    "subclass": ("        return super().forward(ctx, a)\n",
                 "import tinytorch.core.ops.pointwise as _reference\n", False,
                 "class ReLU(_reference.ReLU):"),
    "subclass_other_file": ("        return super().forward(ctx, a)\n",
                            "from tinytorch.core.nn import activation as _layers\n", False,
                            "class ReLU(_layers.ReLU):"),
    "wrapper": ("        import tinytorch.core.ops as ops\n"
                "        return ops.ReLU.forward(ctx, a)\n", "", True),
    "exec_source": ("        import inspect, tinytorch.core.ops.pointwise as m\n"
                    "        namespace = {'__name__': 'tinytorch.core.ops.copy',\n"
                    "                     '__package__': 'tinytorch.core.ops'}\n"
                    "        exec(inspect.getsource(m).replace('class ReLU', 'class _R'), "
                    "namespace)\n"
                    "        return namespace['_R'].forward(ctx, a)\n", "", True),
    "exec_reference_file": ("        namespace = {}\n"
                            "        exec(open(REFERENCE).read(), namespace)\n"
                            "        return namespace['ReLU'].forward(ctx, a)\n",
                            f"REFERENCE = {reference_pointwise.__file__!r}\n", True),
    "patch_grader": ("        import tinytorch.course.grading as g\n"
                     "        g.check_close = g.check_dtype = lambda *args, **kw: None\n"
                     "        g.close_problem = lambda *args, **kw: ''\n"
                     "        return a * 0\n", "", True),
    "patch_grader_at_import": ("        return a * 0\n",
                               "import tinytorch.course.grading as _g\n"
                               "_g.check_close = _g.check_dtype = lambda *args, **kw: None\n",
                               False),
    "forge_report": ("        import json, os\n"
                     "        forged = json.dumps({'id': 1, 'records': [], 'error': None, "
                     "'passed': True, 'score': 10}) + '\\n'\n"
                     "        for fd in range(3, 12):\n"
                     "            try:\n"
                     "                os.write(fd, forged.encode())\n"
                     "            except OSError:\n"
                     "                pass\n"
                     "        return a * 0\n", "", True),
    "write_report_file": ("        open('report.json', 'w').write('{\"score\": 10}')\n"
                          "        return a * 0\n", "", True),
    "sys_exit": ("        import sys\n        sys.exit(0)\n", "", True),
    "os_exit": ("        import os\n        os._exit(0)\n", "", True),
    "memory_bomb": ("        return np.ones(2**36, dtype=np.uint8) * a.sum()\n", "", True),
    "subprocess": ("        import subprocess\n"
                   "        subprocess.run(['true'])\n        return a * 0\n", "", True),
}


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_cheats_score_zero_on_what_they_cheat(built, tmp_path, cheat):
    body, top, others_pass, *header = CHEATS[cheat]
    report = grade("03", _cheat_relu(built, tmp_path, body, top, cheat, *header))
    _relu_only_fails(report, others_pass)
    assert report.score < report.max_score


def test_an_infinite_loop_is_stopped_per_test(built, tmp_path):
    looping = _cheat_relu(built, tmp_path, "        while True:\n            pass\n")
    report = grade("03", looping, timeout=2)
    feedback = _relu_only_fails(report)
    assert "too long" in feedback


def test_installed_tests_are_read_only_to_submissions(built, tmp_path):
    target = grading.tests_for("03")[0].fn.__code__.co_filename
    before = hashlib.sha256(Path(target).read_bytes()).hexdigest()
    body = (f"        open({target!r}, 'w').write('# all tests pass')\n"
            "        return a * 0\n")
    report = grade("03", _cheat_relu(built, tmp_path, body))
    feedback = _relu_only_fails(report)
    assert "tried to write" in feedback
    assert hashlib.sha256(Path(target).read_bytes()).hexdigest() == before


def test_debug_prints_keep_full_marks(built, tmp_path):
    noisy = _cheat_relu(built, tmp_path,
                        "        print('debug: relu input', a.shape, a.dtype)\n"
                        "        positive = a > 0\n"
                        "        ctx.save_for_backward(positive)\n"
                        "        print('debug: positive', positive.sum())\n"
                        "        return np.maximum(a, 0, dtype=a.dtype)\n",
                        "print('debug: the ReLU cell ran')\n")
    report = grade("03", noisy)
    assert report.passed, [(r.name, r.feedback) for r in report.tests if not r.passed]


def test_edited_test_cells_are_ignored(built, tmp_path):
    """Test cells are the grader's own: emptying them changes nothing."""
    notebook = nbformat.read(built["03", "student"], as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "print('all tests passed')"
    tampered = tmp_path / "tampered.ipynb"
    nbformat.write(notebook, tampered)
    report = grade("03", tampered)
    assert report.score == 0 and len(report.tests) == len(grading.tests_for("03"))


def test_python_file_submission(built, tmp_path):
    """A .py file (cells split at '# %%') is graded like a notebook."""
    notebook = nbformat.read(built["01", "instructor"], as_version=4)
    cells = [c.source for c in notebook.cells
             if c.cell_type == "code" and not c.metadata.nbgrader.get("grade")]
    script = tmp_path / "01_setup.py"
    script.write_text("".join(f"# %%\n{source}\n" for source in cells))
    assert len(read_cells(script)) == len(cells)
    report = grade("01", script)
    assert report.passed, [r.feedback for r in report.tests if not r.passed]


def test_a_broken_cell_keeps_the_stub_and_says_why(built, tmp_path):
    broken = _cheat_relu(built, tmp_path, "        return (\n")
    report = grade("03", broken)
    assert [e["cell"] for e in report.cell_errors] == ["ReLU"]
    assert "not valid Python" in report.cell_errors[0]["error"]
    feedback = _relu_only_fails(report)
    assert "not written yet" in feedback


def test_report_json_round_trip(built):
    report = grade("01", built["01", "student"])
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


def test_autograded_cells_grade_the_notebooks_history(built):
    """In a kernel (nbgrader autograde), run_test grades the cells IPython ran (`In`) in a
    sandbox: the reference passes, the stub raises with the feedback."""
    def history(path):
        notebook = nbformat.read(path, as_version=4)
        return [""] + [c.source for c in notebook.cells if c.cell_type == "code"]

    grading.run_test("03", "relu_forward", {"In": history(built["03", "instructor"])})
    with pytest.raises(AssertionError, match="ReLU.forward .* is not written yet"):
        grading.run_test("03", "relu_forward", {"In": history(built["03", "student"])})
    with pytest.raises(AssertionError, match="IPython's input history"):
        grading.run_test("03", "relu_forward", {})


def test_objects_that_equal_anything_earn_nothing(built, tmp_path):
    """A bare `assert got == expected` in a test is recorded and compared with the
    reference's values: an object whose __eq__ always says True does not pass it."""
    notebook = nbformat.read(built["01", "instructor"], as_version=4)
    cell = next(c for c in notebook.cells
                if c.metadata.nbgrader.get("grade_id") == "result_dtype")
    start = cell.source.index("    # BEGIN SOLUTION")
    end = cell.source.index("    # END SOLUTION")
    cell.source = (cell.source[:start] + "    class Anything:\n"
                   "        def __eq__(self, other):\n            return True\n\n"
                   "    return Anything()\n" + cell.source[end:])
    cheat = tmp_path / "anything.ipynb"
    nbformat.write(notebook, cheat)
    results = {r.name: r for r in grade("01", cheat).tests}
    assert not results["result_dtype_promotion"].passed
    assert "should be 'float32'" in results["result_dtype_promotion"].feedback
    assert not results["result_dtype_refuses_mixed_floats"].passed
    assert results["manual_seed_resets_the_stream"].passed


def test_sandbox_reads_only_the_sandbox_the_stdlib_and_its_dependencies(tmp_path):
    """The audit hook's read rule, called directly: the installed packages inside a
    standard library folder (a Python without a venv) are not readable."""
    from tinytorch.course.worker import _guard

    stdlib, env, numpy_dir = tmp_path / "lib" / "python3", tmp_path / "env", tmp_path / "np"
    for folder in (stdlib / "site-packages" / "tinytorch", env, numpy_dir):
        folder.mkdir(parents=True)
    hook = _guard((str(env), str(numpy_dir)), (str(stdlib),), -1, lambda m: b"")
    for readable in (stdlib / "json.py", env / "src" / "x.py", numpy_dir / "core.py"):
        hook("open", (str(readable), "r", 0))
    for hidden in (stdlib / "site-packages" / "tinytorch" / "core.py", tmp_path / "other.py",
                   "/etc/passwd"):
        with pytest.raises(PermissionError, match="does not let the submission read"):
            hook("open", (str(hidden), "r", 0))
    with pytest.raises(PermissionError, match="list"):
        hook("os.listdir", (str(tmp_path),))
