"""Module 02 (Tensor): building arrays, arithmetic with broadcasting, matmul, reductions."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor

from . import check_close, check_dtype, check_raises, grading_test
from .cases import arrays


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


@grading_test(points=2, cases=lambda h: h.cases.broadcastable(h))
def add_sub_broadcast(student, case):
    """add and sub broadcast like numpy (any shapes, float32 and float64), keep the dtype,
    and keep float32 with Python scalars."""
    a, b = arrays(case)
    shapes = f"{a.shape} and {b.shape} ({a.dtype})"
    out = student.add(Tensor(a), Tensor(b))
    check_close(out, a + b, f"add of {shapes}", rtol=1e-5)
    check_dtype(out, a.dtype, f"add of {shapes}")
    check_close(student.sub(Tensor(a), Tensor(b)), a - b, f"sub of {shapes}", rtol=1e-5)
    out = student.add(Tensor(a), 2.5)
    check_close(out, a + a.dtype.type(2.5), f"add({a.shape} tensor, 2.5)")
    check_dtype(out, a.dtype, f"add({a.dtype} tensor, 2.5)")


@grading_test(points=1, cases=lambda h: h.cases.broadcastable(h))
def mul_div(student, case):
    """mul and div are elementwise with broadcasting, any shapes, float32 and float64."""
    a, b = arrays(case)
    b = np.abs(b) + b.dtype.type(0.5)  # keep the divisor away from zero
    shapes = f"{a.shape} and {b.shape} ({a.dtype})"
    check_close(student.mul(Tensor(a), Tensor(b)), a * b, f"mul of {shapes}", rtol=1e-5)
    check_close(student.div(Tensor(a), Tensor(b)), a / b, f"div of {shapes}", rtol=1e-5)


@grading_test(points=2, cases=lambda h: h.cases.matmul_shapes(h))
def matmul_values(student, case):
    """matmul multiplies matrices, broadcast batches on either side and matrix-vector
    products like np.matmul (float32 and float64)."""
    a, b = arrays(case)
    out = student.matmul(Tensor(a), Tensor(b))
    check_close(out, a @ b, f"matmul({a.shape}, {b.shape}) in {a.dtype}", rtol=1e-4,
                atol=1e-5)
    check_dtype(out, a.dtype, f"matmul of two {a.dtype} tensors")


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


def _reduction_cases(h):
    st = h.st
    shapes = h.hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)
    return st.fixed_dictionaries({"shapes": shapes.map(lambda s: (s,)),
                                  "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h),
                                  "dim": st.integers(-4, 3), "keepdim": st.booleans()})


@grading_test(points=2, cases=_reduction_cases)
def sum_and_mean(student, case):
    """reduce_sum and mean over all elements and over any dim (negative too), with and
    without keepdim, float32 and float64."""
    (x,) = arrays(case)
    dim = case["dim"] % x.ndim
    keepdim = case["keepdim"]
    label = f"x of shape {x.shape} ({x.dtype}), dim={case['dim'] % x.ndim - x.ndim}"
    check_close(student.reduce_sum(Tensor(x)), x.sum(), f"reduce_sum of {label}", rtol=1e-4,
                atol=1e-5)
    check_close(student.reduce_sum(Tensor(x), dim - x.ndim, keepdim),
                x.sum(axis=dim, keepdims=keepdim), f"reduce_sum({label}, keepdim={keepdim})",
                rtol=1e-4, atol=1e-5)
    check_close(student.mean(Tensor(x)), x.mean(), f"mean of {label}", rtol=1e-4, atol=1e-5)
    check_close(student.mean(Tensor(x), dim, keepdim), x.mean(axis=dim, keepdims=keepdim),
                f"mean({label} as {dim}, keepdim={keepdim})", rtol=1e-4, atol=1e-5)
