"""Module 05 (Networks): Sequential composition and the XOR network."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor, nn

from . import check_close, check_raises, grading_test


@grading_test(points=1)
def sequential_registers_children(student):
    """Sequential(a, b, c) registers its modules as children '0', '1', '2'."""
    model = student.Sequential(nn.Linear(2, 3), student.ReLU(), nn.Linear(3, 1))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"], \
        f"parameters should be named 0.weight, 0.bias, 2.weight, 2.bias; got {names}"
    assert len(model) == 3, f"len(Sequential of 3 modules) should be 3, got {len(model)}"


@grading_test(points=1)
def sequential_rejects_non_modules(student):
    """Sequential refuses an argument that is not a Module, naming its position."""
    student.Sequential(nn.Linear(2, 2))  # a valid call must work first
    check_raises(TypeError, lambda: student.Sequential(nn.Linear(2, 2), "relu"),
                 "Sequential(Linear, 'relu')", "1")


@grading_test(points=2)
def sequential_forward_composes(student):
    """Sequential(f, g, h)(x) == h(g(f(x))), in order."""
    first, second = nn.Linear(3, 4), nn.Linear(4, 2)
    model = student.Sequential(first, student.Tanh(), second)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    hidden = np.tanh(x @ first.weight.array.T + first.bias.array)
    check_close(model(Tensor(x)), hidden @ second.weight.array.T + second.bias.array,
                "Sequential(Linear, Tanh, Linear)(x)", rtol=1e-5)


def _xor_network(student, activation):
    """Two hidden units: h1 = x1 + x2, h2 = x1 + x2 - 1; out = h1 - 2 h2 (after ReLU)."""
    hidden, out = nn.Linear(2, 2), nn.Linear(2, 1)
    hidden.weight.array[...] = [[1.0, 1.0], [1.0, 1.0]]
    hidden.bias.array[...] = [0.0, -1.0]
    out.weight.array[...] = [[1.0, -2.0]]
    out.bias.array[...] = [0.0]
    return student.Sequential(hidden, activation, out)


@grading_test(points=2)
def xor_needs_relu(student):
    """With your Sequential and ReLU, hand-set weights compute XOR exactly; without ReLU
    the same weights cannot (the network collapses to one linear map)."""
    x = Tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    xor = np.array([[0], [1], [1], [0]], np.float32)
    check_close(_xor_network(student, student.ReLU())(x), xor, "XOR network with ReLU")
    linear = _xor_network(student, student.Sequential())(x).array  # identity: no activation
    assert not np.allclose(linear, xor), "without ReLU the network must not compute XOR"


@grading_test(points=1)
def activation_modules(student):
    """The ReLU, Sigmoid and Tanh modules apply their function elementwise."""
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    model = student.Sequential(student.ReLU())
    check_close(model(Tensor(x)), np.maximum(x, 0), "Sequential(ReLU())(x)")
    check_close(student.Sequential(student.Sigmoid())(Tensor(x)), 1 / (1 + np.exp(-x)),
                "Sequential(Sigmoid())(x)")
