"""Module 03 (Activations): ReLU, Sigmoid, Tanh and a numerically stable softmax."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor

from . import check_close, check_dtype, grading_test


def _rand(*shape, seed=0, scale=3.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


@grading_test(points=2)
def relu_forward(student):
    """ReLU is max(x, 0) elementwise and keeps float32."""
    x = _rand(4, 5)
    x[0, :3] = [0.0, -0.0, 1e-8]
    out = student.ReLU.apply(Tensor(x))
    check_close(out, np.maximum(x, 0), "ReLU.apply(x)")
    check_dtype(out, np.float32, "ReLU of float32")


@grading_test(points=1)
def sigmoid_values(student):
    """Sigmoid is 1 / (1 + e^-x) on moderate inputs."""
    x = _rand(3, 4)
    check_close(student.Sigmoid.apply(Tensor(x)), 1 / (1 + np.exp(-x.astype(np.float64))),
                "Sigmoid.apply(x)", atol=1e-6)


@grading_test(points=2)
def sigmoid_is_stable(student):
    """Sigmoid of +-1000 is exactly 1 and 0, with no overflow warning (stable form)."""
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = student.Sigmoid.apply(Tensor(x))
    check_close(out, 1 / (1 + np.exp(-x.astype(np.float64).clip(-500, 500))),
                "Sigmoid.apply([-1000, -30, 0, 30, 1000])", atol=1e-7)


@grading_test(points=1)
def tanh_values(student):
    """Tanh matches np.tanh."""
    x = _rand(5, 2)
    check_close(student.Tanh.apply(Tensor(x)), np.tanh(x), "Tanh.apply(x)")


@grading_test(points=2)
def softmax_distribution(student):
    """softmax along a dim: positive entries summing to 1, equal to exp(x) / sum exp(x)."""
    x = _rand(3, 6).astype(np.float64)
    expected = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    check_close(student.softmax(Tensor(x), -1), expected, "softmax(x, dim=-1)")
    expected0 = np.exp(x) / np.exp(x).sum(axis=0, keepdims=True)
    check_close(student.softmax(Tensor(x), 0), expected0, "softmax(x, dim=0)")


@grading_test(points=2)
def softmax_is_stable(student):
    """softmax of logits near 1000 is finite and exact (subtract the max first)."""
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise"):
        out = student.softmax(Tensor(x), -1)
    shifted = x.astype(np.float64) - x.max(axis=1, keepdims=True)
    check_close(out, np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True),
                "softmax([[1000, 1001, 1002], [-1000, 0, 1000]])")
