"""Module 12 (Embeddings): lookup with a scatter-add backward, sinusoidal positions."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor

from . import check_close, grading_test


def _table(rows=6, dim=3):
    data = np.arange(rows * dim, dtype=np.float64).reshape(rows, dim) / 10
    return Tensor(data, requires_grad=True)


@grading_test(points=1)
def lookup_gathers_rows(student):
    """embedding(ids, weight) returns weight[ids] for ids of any shape."""
    weight = _table()
    ids = np.array([[0, 5], [2, 2]])
    check_close(student.embedding(Tensor(ids), weight), weight.array[ids], "embedding(ids)")


@grading_test(points=2)
def backward_accumulates_repeated_ids(student):
    """The gradient scatter-adds: a row looked up twice gets both gradients."""
    weight = _table()
    ids = np.array([1, 3, 1, 1])
    out = student.embedding(Tensor(ids), weight)
    grad = np.random.default_rng(0).standard_normal(out.shape)
    (out * Tensor(grad)).sum().backward()
    expected = np.zeros_like(weight.array)
    np.add.at(expected, ids, grad)
    check_close(weight.grad, expected, "weight.grad (row 1 is used three times)")


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
