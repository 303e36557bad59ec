"""Module 06 (Autograd): the engine (graph order, broadcasting, accumulation) and the
backward halves of mul, matmul, sum and the activations.

The engine tests build graphs with the library's ops and run *your* backward();
the op tests build graphs with *your* Function classes and run the library's engine,
so a bug in one half never costs the points of the other.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor

from . import check_close, check_equal, grading_test
from .cases import arrays


def _leaf(*shape, seed=0, dtype=np.float64):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return Tensor(data, requires_grad=True)


def _numeric_grad(f, x: np.ndarray, eps=1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def _stretched_cases(h):
    """A shape and a gradient shape it broadcasts to (extra leading dims, stretched 1s)."""
    shapes = h.hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                 max_side=4)
    return h.st.fixed_dictionaries({
        "shapes": shapes.map(lambda s: (s.input_shapes[0], s.result_shape)),
        "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h)})


@grading_test(points=2, cases=_stretched_cases)
def unbroadcast_sums_stretched_dims(student, case):
    """unbroadcast sums a gradient back to the shape that was broadcast: any extra leading
    dims and any stretched 1-sized dims, in any position."""
    shape = case["shapes"][0]
    _, g = arrays(case)
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and g.shape[extra + i] != 1)
    expected = g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g
    check_close(student.unbroadcast(g, tuple(shape)), expected,
                f"unbroadcast of a {g.shape} gradient to {tuple(shape)}", rtol=1e-5)


@grading_test(points=2)
def deep_graphs_do_not_recurse(student):
    """topological_order and backward handle a chain of 5000 operations (far deeper than
    Python's recursion limit: walk the graph with an explicit stack)."""
    x = _leaf(3)
    y = x
    for _ in range(2500):
        y = (y * 1.0001) + 0.0
    loss = y.sum()
    order = student.topological_order(loss.grad_fn)
    check_equal(len(order), 5001, "number of nodes of a 5000-op chain plus its sum")
    check_equal(type(order[0]).__name__, "Sum", "the first node (the root)")
    student.backward(loss)
    check_close(x.grad, np.full(3, 1.0001 ** 2500), "x.grad through 5000 ops", rtol=1e-6)


@grading_test(points=2)
def topological_order_of_a_diamond(student):
    """topological_order: every node once, the root first, each node before its inputs."""
    x = _leaf(3)
    a = x * 2.0
    b = a.exp()
    c = a.sin()
    loss = (b + c).sum()
    order = student.topological_order(loss.grad_fn)
    assert order and order[0] is loss.grad_fn, "the root (loss.grad_fn) must come first"
    assert len(order) == len(set(map(id, order))), "a node appears more than once"
    names = sorted(type(n).__name__ for n in order)
    assert names == sorted(["Sum", "Add", "Exp", "Sin", "Mul"]), f"nodes found: {names}"
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node.parents():
            assert position[id(node)] < position[id(parent)], \
                f"{type(node).__name__} must come before its input {type(parent).__name__}"


@grading_test(points=2)
def backward_through_a_chain(student):
    """backward(loss) fills x.grad and w.grad for loss = sum(x * w + 1)."""
    x, w = _leaf(2, 3), _leaf(2, 3, seed=1)
    loss = (x * w + 1.0).sum()
    student.backward(loss)
    check_close(x.grad, w.array, "x.grad of sum(x * w)")
    check_close(w.grad, x.array, "w.grad of sum(x * w)")


@grading_test(points=1)
def backward_accumulates_paths(student):
    """A tensor used twice gets the sum of both paths: d/dx sum(x*x + 3x) = 2x + 3."""
    x = _leaf(4)
    loss = (x * x + x * 3.0).sum()
    student.backward(loss)
    check_close(x.grad, 2 * x.array + 3, "x.grad of sum(x*x + 3x)")


@grading_test(points=1, cases=lambda h: h.cases.broadcastable(h))
def backward_unbroadcasts_to_leaves(student, case):
    """Leaves of any two broadcastable shapes get gradients of their own shapes:
    d/da sum(w * (a + b)) sums w over what a was stretched along."""
    a_data, b_data = arrays(case)
    a = Tensor(a_data.astype(np.float64), requires_grad=True)
    b = Tensor(b_data.astype(np.float64), requires_grad=True)
    out_shape = np.broadcast_shapes(a_data.shape, b_data.shape)
    w = np.random.default_rng(case["seed"] + 1).standard_normal(out_shape)
    loss = ((a + b) * Tensor(w)).sum()
    student.backward(loss)
    label = f"leaves {a_data.shape} and {b_data.shape}"
    check_close(a.grad, _sum_to(w, a_data.shape), f"a.grad for {label}")
    check_close(b.grad, _sum_to(w, b_data.shape), f"b.grad for {label}")


def _sum_to(w: np.ndarray, shape: tuple) -> np.ndarray:
    extra = w.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and w.shape[extra + i] != 1)
    return w.sum(axis=axes, keepdims=True).reshape(shape) if axes else w


@grading_test(points=1)
def mul_backward(student):
    """Mul.backward: d(a*b)/da = b and d(a*b)/db = a (with broadcasting)."""
    a, b = _leaf(3, 4), _leaf(4, seed=1)
    out = student.Mul.apply(a, b)
    weights = np.random.default_rng(2).standard_normal((3, 4))
    (out * Tensor(weights)).sum().backward()
    check_close(a.grad, weights * b.array, "a.grad")
    check_close(b.grad, (weights * a.array).sum(axis=0), "b.grad")


@grading_test(points=2)
def matmul_backward(student):
    """MatMul.backward: dA = G B^T and dB = A^T G, for matrices, batches and vectors."""
    for shape_a, shape_b in (((3, 4), (4, 2)), ((2, 3, 4), (4, 5)), ((4,), (4, 3))):
        a, b = _leaf(*shape_a), _leaf(*shape_b, seed=1)
        out = student.MatMul.apply(a, b)
        weights = np.random.default_rng(3).standard_normal(out.shape)
        (out * Tensor(weights)).sum().backward()

        def loss_a(value, b=b.array, weights=weights):
            return float((np.matmul(value, b) * weights).sum())

        def loss_b(value, a=a.array, weights=weights):
            return float((np.matmul(a, value) * weights).sum())

        check_close(a.grad, _numeric_grad(loss_a, a.array.copy()), f"A.grad for {shape_a} @ "
                    f"{shape_b}", rtol=1e-4, atol=1e-6)
        check_close(b.grad, _numeric_grad(loss_b, b.array.copy()), f"B.grad for {shape_a} @ "
                    f"{shape_b}", rtol=1e-4, atol=1e-6)


@grading_test(points=1)
def sum_backward_spreads(student):
    """Sum.backward spreads the gradient over the summed axes (with and without keepdim)."""
    for axes, keepdim in ((None, False), ((1,), False), ((0, 2), True)):
        x = _leaf(2, 3, 4)
        out = student.Sum.apply(x, axes, keepdim)
        weights = np.random.default_rng(4).standard_normal(out.shape)
        (out * Tensor(weights)).sum().backward()
        expected = np.broadcast_to(weights if keepdim or axes is None else
                                   np.expand_dims(weights, axes), x.shape)
        check_close(x.grad, expected, f"x.grad of sum over {axes} (keepdim={keepdim})")


@grading_test(points=2)
def activation_backwards(student):
    """ReLU, Sigmoid and Tanh backward: mask, s(1 - s) and 1 - tanh^2."""
    data = np.array([-2.0, -0.5, 0.5, 3.0])
    s = 1 / (1 + np.exp(-data))
    for name, expected in (("ReLU", (data > 0).astype(float)), ("Sigmoid", s * (1 - s)),
                           ("Tanh", 1 - np.tanh(data) ** 2)):
        x = Tensor(data.copy(), requires_grad=True)
        getattr(student, name).apply(x).sum().backward()
        check_close(x.grad, expected, f"{name}: x.grad")
