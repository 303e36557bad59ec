"""Module 02 (Tensor): building arrays, arithmetic with broadcasting, matmul, reductions."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor

from . import check_close, check_dtype, check_raises, grading_test


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@grading_test(points=2)
def as_array_default_dtypes(student):
    """_as_array: Python floats become float32, Python ints int64; numpy arrays keep theirs."""
    conv = student._as_array
    check_dtype(conv([1.0, 2.5], None), np.float32, "_as_array([1.0, 2.5])")
    check_dtype(conv(3.0, None), np.float32, "_as_array(3.0)")
    check_dtype(conv([[1, 2], [3, 4]], None), np.int64, "_as_array([[1, 2], [3, 4]])")
    check_dtype(conv(np.arange(3, dtype=np.float64), None), np.float64,
                "_as_array(float64 array)")
    check_dtype(conv([1, 2], np.float64), np.float64, "_as_array([1, 2], dtype=float64)")
    check_close(conv([[1.5, 2.0]], None), np.array([[1.5, 2.0]], np.float32),
                "_as_array([[1.5, 2.0]]) values")


@grading_test(points=2)
def add_sub_broadcast(student):
    """add and sub broadcast like numpy and keep float32 with Python scalars."""
    a, b = _rand(4, 3), _rand(3, seed=1)
    check_close(student.add(Tensor(a), Tensor(b)), a + b, "add((4, 3), (3,))")
    check_close(student.sub(Tensor(a), Tensor(b)), a - b, "sub((4, 3), (3,))")
    out = student.add(Tensor(a), 2.5)
    check_close(out, a + np.float32(2.5), "add(tensor, 2.5)")
    check_dtype(out, np.float32, "add(float32 tensor, 2.5)")


@grading_test(points=1)
def mul_div(student):
    """mul and div are elementwise with broadcasting."""
    a, b = _rand(2, 5), _rand(2, 1, seed=2) + 3
    check_close(student.mul(Tensor(a), Tensor(b)), a * b, "mul((2, 5), (2, 1))")
    check_close(student.div(Tensor(a), Tensor(b)), a / b, "div((2, 5), (2, 1))")


@grading_test(points=2)
def matmul_values(student):
    """matmul multiplies matrices, batches and matrix-vector products like np.matmul."""
    a, b = _rand(4, 3), _rand(3, 5, seed=1)
    check_close(student.matmul(Tensor(a), Tensor(b)), a @ b, "matmul((4, 3), (3, 5))",
                rtol=1e-4)
    batch = _rand(2, 4, 3, seed=3)
    check_close(student.matmul(Tensor(batch), Tensor(b)), batch @ b,
                "matmul((2, 4, 3), (3, 5))", rtol=1e-4)
    v = _rand(3, seed=4)
    check_close(student.matmul(Tensor(a), Tensor(v)), a @ v, "matmul((4, 3), (3,))", rtol=1e-4)


@grading_test(points=1)
def matmul_shape_error(student):
    """matmul refuses misaligned shapes with a ValueError naming both shapes."""
    ok = student.matmul(Tensor(_rand(2, 3)), Tensor(_rand(3, 2)))
    assert ok.shape == (2, 2), f"matmul((2, 3), (3, 2)) should have shape (2, 2), got {ok.shape}"
    check_raises(ValueError, lambda: student.matmul(Tensor(_rand(2, 3)), Tensor(_rand(4, 5))),
                 "matmul((2, 3), (4, 5))", "(2, 3)", "(4, 5)")


@grading_test(points=1)
def linear_op(student):
    """linear(x, W, b) computes x W^T + b (with and without bias)."""
    x, w, b = _rand(5, 3), _rand(4, 3, seed=1), _rand(4, seed=2)
    check_close(student.linear(Tensor(x), Tensor(w), Tensor(b)), x @ w.T + b,
                "linear(x (5, 3), W (4, 3), b (4,))", rtol=1e-4)
    check_close(student.linear(Tensor(x), Tensor(w)), x @ w.T, "linear without bias", rtol=1e-4)


@grading_test(points=2)
def sum_and_mean(student):
    """reduce_sum and mean over all elements, over a dim, and with keepdim."""
    x = _rand(3, 4)
    check_close(student.reduce_sum(Tensor(x)), x.sum(), "reduce_sum(x)", rtol=1e-4)
    check_close(student.reduce_sum(Tensor(x), 1), x.sum(axis=1), "reduce_sum(x, dim=1)",
                rtol=1e-4)
    check_close(student.reduce_sum(Tensor(x), 0, True), x.sum(axis=0, keepdims=True),
                "reduce_sum(x, dim=0, keepdim=True)", rtol=1e-4)
    check_close(student.mean(Tensor(x)), x.mean(), "mean(x)", rtol=1e-4)
    check_close(student.mean(Tensor(x), -1, True), x.mean(axis=-1, keepdims=True),
                "mean(x, dim=-1, keepdim=True)", rtol=1e-4)
