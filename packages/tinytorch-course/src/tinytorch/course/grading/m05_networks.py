"""Module 05 (Networks): Sequential composition and the XOR network.

The property-based test builds networks of random depth (0 to 6 modules), widths,
activations and nesting, runs them on batches of any size in float32 and float64 and
compares outputs and parameter names with numpy."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor, nn

from . import check_close, check_equal, check_raises, grading_test

_NUMPY_ACTIVATIONS = {"ReLU": lambda z: np.maximum(z, 0), "Tanh": np.tanh,
                      "Sigmoid": lambda z: 1 / (1 + np.exp(-z))}


def _network_cases(h):
    st = h.st
    layer = st.one_of(st.tuples(st.just("Linear"), st.integers(1, 5)),
                      st.tuples(st.sampled_from(sorted(_NUMPY_ACTIVATIONS)), st.just(0)))
    return st.fixed_dictionaries({
        "layers": st.lists(layer, max_size=6), "width": st.integers(1, 5),
        "batch": st.integers(1, 4), "nest": st.booleans(),
        "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h)})


@grading_test(points=2, cases=_network_cases)
def sequential_of_any_depth(student, case):
    """Any stack of Linear layers and activations (empty, deep, nested in a second
    Sequential): the output is the layers applied in order, parameters are named
    '<position>.weight' (nested: '0.<position>.weight')."""
    rng = np.random.default_rng(case["seed"])
    dtype, width = np.dtype(case["dtype"]), case["width"]
    modules, steps, names = [], [], []
    for position, (kind, out) in enumerate(case["layers"]):
        if kind == "Linear":
            layer = nn.Linear(width, out, dtype=dtype)
            w, b = layer.weight.array.astype(np.float64), layer.bias.array.astype(np.float64)
            steps.append(lambda z, w=w, b=b: z @ w.T + b)
            names += [f"{position}.weight", f"{position}.bias"]
            width = out
        else:
            layer = getattr(student, kind)()
            steps.append(_NUMPY_ACTIVATIONS[kind])
        modules.append(layer)
    model = student.Sequential(*modules)
    if case["nest"]:
        model = student.Sequential(model)
        names = [f"0.{n}" for n in names]
    check_equal([n for n, _ in model.named_parameters()], names, "named_parameters()")
    x = rng.standard_normal((case["batch"], case["width"])).astype(dtype)
    expected = x.astype(np.float64)
    for step in steps:
        expected = step(expected)
    out = model(Tensor(x))
    label = f"Sequential of {[k for k, _ in case['layers']]} on a {x.shape} {dtype} batch"
    check_close(out, expected, label, rtol=1e-4, atol=1e-5)


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
