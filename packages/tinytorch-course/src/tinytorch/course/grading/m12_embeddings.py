"""Module 12 (Embeddings): lookup with a scatter-add backward, sinusoidal positions."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor

from . import as_numpy, check_close, grading_test


def _lookup_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "rows": st.integers(1, 9), "dim": st.integers(1, 5),
        "ids_shape": h.hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
        "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h)})


def _lookup_inputs(case):
    rng = np.random.default_rng(case["seed"])
    weight = Tensor(rng.standard_normal((case["rows"], case["dim"])).astype(case["dtype"]),
                    requires_grad=True)
    ids = rng.integers(0, case["rows"], case["ids_shape"])  # repeats are likely
    return weight, ids


@grading_test(points=1, cases=_lookup_cases)
def lookup_gathers_rows(student, case):
    """embedding(ids, weight) returns weight[ids] for ids of any shape (a scalar id too),
    float32 and float64 tables."""
    weight, ids = _lookup_inputs(case)
    check_close(student.embedding(Tensor(ids), weight), as_numpy(weight)[ids],
                f"embedding of ids of shape {ids.shape} in a {as_numpy(weight).shape} table")


@grading_test(points=2, cases=_lookup_cases)
def backward_accumulates_repeated_ids(student, case):
    """The gradient scatter-adds: a row looked up k times gets the sum of its k gradients."""
    weight, ids = _lookup_inputs(case)
    out = student.embedding(Tensor(ids), weight)
    grad = np.random.default_rng(case["seed"] + 1).standard_normal(out.shape).astype(
        case["dtype"])
    (out * Tensor(grad)).sum().backward()
    expected = np.zeros(as_numpy(weight).shape)
    np.add.at(expected, ids.reshape(-1), grad.reshape(-1, case["dim"]))
    check_close(weight.grad, expected, f"weight.grad for ids {ids.reshape(-1).tolist()}",
                rtol=1e-5, atol=1e-6)


@grading_test(points=1)
def padding_row_gets_no_gradient(student):
    """Embedding(padding_idx=p): row p starts at zero and never receives a gradient."""
    layer = student.Embedding(5, 2, padding_idx=0)
    assert np.all(layer.weight.array[0] == 0), "the padding row must start at zero"
    layer(Tensor(np.array([0, 2, 0]))).sum().backward()
    check_close(layer.weight.grad.array[0], [0.0, 0.0], "gradient of the padding row")
    check_close(layer.weight.grad.array[2], [1.0, 1.0], "gradient of row 2")


@grading_test(points=2)
def sinusoidal_positions(student):
    """sinusoidal_table: PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...)."""
    table = student.sinusoidal_table(50, 8)
    assert table.shape == (50, 8) and table.dtype == np.float32, \
        f"expected a (50, 8) float32 table, got {table.shape} {table.dtype}"
    pos, i = np.arange(50)[:, None], np.arange(4)[None, :]
    angle = pos / 10000 ** (2 * i / 8)
    check_close(table[:, 0::2], np.sin(angle), "even columns", atol=1e-6)
    check_close(table[:, 1::2], np.cos(angle), "odd columns", atol=1e-6)
    odd = student.sinusoidal_table(3, 5)
    assert odd.shape == (3, 5), f"an odd d_model must work too, got {odd.shape}"
