"""Module 03 (Activations): ReLU, Sigmoid, Tanh and a numerically stable softmax."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor

from . import check_close, check_dtype, grading_test
from .cases import arrays


def _pointwise_cases(h, scale=3.0):
    return h.st.fixed_dictionaries({
        "shapes": h.hnp.array_shapes(min_dims=0, max_dims=4, max_side=5).map(lambda s: (s,)),
        "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h),
        "scale": h.st.sampled_from([0.1, scale, 30.0])})


def _softmax_cases(h, large=False):
    st = h.st
    return st.fixed_dictionaries({
        "shapes": h.hnp.array_shapes(min_dims=1, max_dims=4, max_side=6).map(lambda s: (s,)),
        "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h),
        "dim": st.integers(-4, 3),
        "scale": st.sampled_from([1.0, 50.0, 1000.0] if large else [0.5, 1.0, 3.0]),
        "shift": st.sampled_from([-1e4, 0.0, 1000.0, 1e4]) if large else st.just(0.0)})


def _exact_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    shifted = x.astype(np.float64) - x.max(axis=dim, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=dim, keepdims=True)


@grading_test(points=2, cases=_pointwise_cases)
def relu_forward(student, case):
    """ReLU is max(x, 0) elementwise and keeps the dtype (any shape, float32 and float64)."""
    (x,) = arrays(case)
    x.reshape(-1)[:3] = [0.0, -0.0, 1e-8][: x.size]
    out = student.ReLU.apply(Tensor(x))
    check_close(out, np.maximum(x, 0), f"ReLU of a {x.shape} {x.dtype} tensor")
    check_dtype(out, x.dtype, f"ReLU of {x.dtype}")


@grading_test(points=1, cases=_pointwise_cases)
def sigmoid_values(student, case):
    """Sigmoid is 1 / (1 + e^-x), any shape, float32 and float64."""
    (x,) = arrays(case)
    with np.errstate(over="ignore"):
        expected = 1 / (1 + np.exp(-x.astype(np.float64)))
    out = student.Sigmoid.apply(Tensor(x))
    check_close(out, expected, f"Sigmoid of a {x.shape} {x.dtype} tensor", atol=1e-6)
    check_dtype(out, x.dtype, f"Sigmoid of {x.dtype}")


@grading_test(points=2)
def sigmoid_is_stable(student):
    """Sigmoid of +-1000 is exactly 1 and 0, with no overflow warning (stable form)."""
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = student.Sigmoid.apply(Tensor(x))
    check_close(out, 1 / (1 + np.exp(-x.astype(np.float64).clip(-500, 500))),
                "Sigmoid.apply([-1000, -30, 0, 30, 1000])", atol=1e-7)


@grading_test(points=1, cases=_pointwise_cases)
def tanh_values(student, case):
    """Tanh matches np.tanh, any shape, float32 and float64."""
    (x,) = arrays(case)
    check_close(student.Tanh.apply(Tensor(x)), np.tanh(x), f"Tanh of a {x.shape} {x.dtype} "
                "tensor")


@grading_test(points=2, cases=_softmax_cases)
def softmax_distribution(student, case):
    """softmax along any dim: positive entries summing to 1, equal to exp(x) / sum exp(x)."""
    (x,) = arrays(case)
    dim = case["dim"] % x.ndim
    out = student.softmax(Tensor(x), dim)
    check_close(out, _exact_softmax(x, dim), f"softmax of a {x.shape} {x.dtype} tensor "
                f"along dim {dim}", atol=1e-6)
    check_dtype(out, x.dtype, f"softmax of {x.dtype}")


@grading_test(points=2, cases=lambda h: _softmax_cases(h, large=True))
def softmax_is_stable(student, case):
    """softmax of large logits (|x| up to 10^4) is finite and exact: subtract the max first."""
    (x,) = arrays(case)
    dim = case["dim"] % x.ndim
    with np.errstate(over="raise", invalid="raise"):
        out = student.softmax(Tensor(x), dim)
    check_close(out, _exact_softmax(x, dim), f"softmax of logits around {case['shift']:g} "
                f"(scale {case['scale']:g}), shape {x.shape}, {x.dtype}, dim {dim}", atol=1e-6)
