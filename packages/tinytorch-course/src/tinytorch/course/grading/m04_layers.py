"""Module 04 (Layers): initialisation, Module/Parameter bookkeeping and Linear.

The property-based tests draw trees of modules (any depth and fan-out, shared parameters
and shared children), weight shapes of 2 to 5 dims (Linear and conv weights),
both fan modes and several gains, and Linear layers of any width applied to inputs with
any number of batch dims in float32 and float64."""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core import Generator, Tensor, manual_seed

from . import check_close, check_dtype, check_equal, check_raises, grading_test


def _weight_shape_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "shape": h.hnp.array_shapes(min_dims=2, max_dims=5, min_side=1, max_side=6),
        "mode": st.sampled_from(["fan_in", "fan_out"]),
        "gain": st.sampled_from([("leaky_relu", 5 ** 0.5), ("leaky_relu", 0.0), ("relu", None),
                                 ("tanh", None), ("linear", None)]),
        "seed": h.cases.seeds(h)})


@grading_test(points=1, cases=_weight_shape_cases)
def fans_of_any_weight_shape(student, case):
    """fan_in = shape[1] * receptive field and fan_out = shape[0] * receptive field, the
    receptive field being the product of shape[2:] (1 for a Linear weight)."""
    shape = tuple(case["shape"])
    receptive = int(np.prod(shape[2:], dtype=np.int64))
    got = student._calculate_fan_in_and_fan_out(Tensor(np.zeros(shape, np.float32)))
    check_equal([int(f) for f in got], [shape[1] * receptive, shape[0] * receptive],
                f"fans of a {shape} weight")


@grading_test(points=1, cases=_weight_shape_cases)
def kaiming_uniform_any_shape_mode_and_gain(student, case):
    """kaiming_uniform_(w, a, mode, nonlinearity) draws U(-b, b) from the given generator
    with b = sqrt(3) * gain / sqrt(fan), for any weight shape, either mode and any gain."""
    shape, mode = tuple(case["shape"]), case["mode"]
    nonlinearity, a = case["gain"]
    receptive = int(np.prod(shape[2:], dtype=np.int64))
    fan = shape[1] * receptive if mode == "fan_in" else shape[0] * receptive
    gains = {"relu": 2 ** 0.5, "tanh": 5 / 3, "linear": 1.0,
             "leaky_relu": (2 / (1 + (a or 0.0) ** 2)) ** 0.5}
    bound = 3 ** 0.5 * gains[nonlinearity] / fan ** 0.5
    w = Tensor(np.zeros(shape, np.float64))
    student.kaiming_uniform_(w, a=a or 0.0, mode=mode, nonlinearity=nonlinearity,
                             generator=Generator(case["seed"]))
    expected = Generator(case["seed"]).rng.uniform(-bound, bound, shape)
    check_close(w, expected, f"kaiming_uniform_ of a {shape} weight, mode={mode}, "
                f"nonlinearity={nonlinearity}, a={a}", rtol=1e-6, atol=1e-12)


def _linear_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "in": st.integers(1, 6), "out": st.integers(1, 6), "bias": st.booleans(),
        "batch": st.lists(st.integers(1, 4), max_size=3).map(tuple),
        "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h)})


@grading_test(points=2, cases=_linear_cases)
def linear_any_width_batch_and_dtype(student, case):
    """Linear(in, out, bias, dtype): weight (out, in) and bias (out,) of that dtype;
    forward is x W^T + b over any number of batch dims (gradients are module 06's)."""
    n_in, n_out, dtype = case["in"], case["out"], np.dtype(case["dtype"])
    manual_seed(case["seed"])
    layer = student.Linear(n_in, n_out, bias=case["bias"], dtype=dtype)
    label = f"Linear({n_in}, {n_out}, bias={case['bias']}, dtype={dtype})"
    check_dtype(layer.weight, dtype, f"{label}.weight")
    check_equal(tuple(layer.weight.shape), (n_out, n_in), f"{label}.weight shape")
    check_equal(None if layer.bias is None else tuple(layer.bias.shape),
                (n_out,) if case["bias"] else None, f"{label}.bias shape")
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((*case["batch"], n_in)).astype(dtype)
    w = layer.weight.array.astype(np.float64)
    b = np.zeros(n_out) if layer.bias is None else layer.bias.array.astype(np.float64)
    out = layer(Tensor(x))
    check_close(out, x @ w.T + b, f"{label} on a {x.shape} input", rtol=1e-5, atol=1e-6)


@grading_test(points=1)
def fan_in_and_fan_out(student):
    """fan_in/fan_out of a Linear weight (out, in) and a conv weight (out, in, kh, kw)."""
    fans = student._calculate_fan_in_and_fan_out
    got = fans(Tensor(np.zeros((5, 3), np.float32)))
    assert tuple(got) == (3, 5), f"fans of a (5, 3) weight should be (3, 5), got {got}"
    got = fans(Tensor(np.zeros((8, 4, 3, 3), np.float32)))
    assert tuple(got) == (36, 72), f"fans of a (8, 4, 3, 3) weight should be (36, 72), got {got}"


@grading_test(points=2)
def kaiming_uniform_bound(student):
    """kaiming_uniform_(w, a=sqrt(5)) draws from U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    manual_seed(0)
    w = Tensor(np.zeros((200, 100), np.float32))
    student.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1 / math.sqrt(100)
    top = float(np.abs(w.array).max())
    assert top <= bound * (1 + 1e-6), f"|w| must stay within {bound:.4f}, got {top:.4f}"
    assert top > 0.95 * bound, (f"the largest |w| of 20000 draws should be close to the bound "
                                f"{bound:.4f}, got {top:.4f}: is the bound too small?")
    std = float(w.array.std())
    assert abs(std - bound / math.sqrt(3)) < 0.05 * bound, \
        f"a uniform(-b, b) has std b/sqrt(3) = {bound / math.sqrt(3):.4f}, got {std:.4f}"


def _two_level_model(student):
    Module, Parameter = student.Module, student.Parameter

    class Child(Module):
        def __init__(self):
            super().__init__()
            self.weight = Parameter(np.ones((2, 3), np.float32))
            self.scale = 3.0  # a plain attribute, not a parameter

    class Parent(Module):
        def __init__(self):
            super().__init__()
            self.w = Parameter(np.zeros(4, np.float32))
            self.child = Child()

    return Parent()


@grading_test(points=2)
def module_registers_parameters_and_children(student):
    """Assigning a Parameter or a Module to a Module attribute registers it."""
    model = _two_level_model(student)
    assert list(model._parameters) == ["w"], \
        f"_parameters of the parent should be ['w'], got {list(model._parameters)}"
    assert list(model._modules) == ["child"], \
        f"_modules of the parent should be ['child'], got {list(model._modules)}"
    assert model.child.scale == 3.0, "plain attributes must stay ordinary attributes"
    assert "scale" not in model.child._parameters, "a float is not a parameter"


@grading_test(points=2)
def named_parameters_walks_the_tree(student):
    """named_parameters yields dotted names of every parameter once (shared ones too)."""
    model = _two_level_model(student)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["w", "child.weight"], \
        f"named_parameters() should give ['w', 'child.weight'], got {names}"
    model.twin = type(model.child)()
    model.twin.weight = model.child.weight  # one Parameter shared by two modules
    names = [name for name, _ in model.named_parameters()]
    assert names == ["w", "child.weight"], \
        f"a Parameter shared by two modules must appear once, got {names}"
    params = list(model.parameters())
    assert len(params) == 2 and params[1] is model.child.weight, \
        "parameters() should yield the Parameter objects themselves"


@grading_test(points=2)
def linear_parameters(student):
    """Linear(in, out) holds weight (out, in) and bias (out,) as float32 Parameters."""
    layer = student.Linear(3, 5)
    check_dtype(layer.weight, np.float32, "Linear(3, 5).weight")
    assert layer.weight.shape == (5, 3), f"weight shape should be (5, 3), got {layer.weight.shape}"
    assert layer.bias is not None and layer.bias.shape == (5,), \
        f"bias shape should be (5,), got {None if layer.bias is None else layer.bias.shape}"
    assert isinstance(layer.weight, student.Parameter), "weight must be a Parameter"
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["weight", "bias"], f"parameters should be ['weight', 'bias'], got {names}"
    no_bias = student.Linear(3, 5, bias=False)
    assert no_bias.bias is None, "Linear(..., bias=False).bias should be None"
    assert len(list(no_bias.parameters())) == 1, "without bias there is one parameter"


@grading_test(points=1)
def linear_initialisation(student):
    """Linear's weight and bias are drawn from U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's default)."""
    manual_seed(1)
    layer = student.Linear(64, 128)
    bound = 1 / math.sqrt(64)
    for name, p in (("weight", layer.weight), ("bias", layer.bias)):
        top = float(np.abs(p.array).max())
        assert top <= bound * (1 + 1e-6), f"{name}: |values| must be <= {bound:.4f}, got {top:.4f}"
        assert top > 0.8 * bound, f"{name}: values look too small (max |v| {top:.4f})"
        assert np.unique(p.array).size > p.array.size // 2, f"{name}: values must be random"


@grading_test(points=1)
def linear_forward(student):
    """Linear's output is x W^T + b for a batch, and a wrong input width is refused."""
    layer = student.Linear(4, 2)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    out = layer(Tensor(x))
    check_close(out, x @ layer.weight.array.T + layer.bias.array, "Linear(4, 2)(x)", rtol=1e-5)
    check_raises(ValueError, lambda: layer(Tensor(np.zeros((3, 5), np.float32))),
                 "Linear(4, 2) on a (3, 5) input", "4")


def _tree_cases(h):
    st = h.st
    tree = st.recursive(st.tuples(st.integers(0, 2), st.just(())),
                        lambda inner: st.tuples(st.integers(0, 2),
                                                st.lists(inner, max_size=3).map(tuple)),
                        max_leaves=8)
    return st.fixed_dictionaries({"tree": tree, "share": st.booleans(),
                                  "reuse_child": st.booleans(),
                                  "prefix": st.sampled_from(["", "net"])})


def _build(student, spec, modules):
    """A Module per node of `spec` (params, children): parameters p0.., children c0..,
    and a plain float attribute that must not register."""
    params, children = spec
    module = student.Module()
    modules.append(module)
    for i in range(params):
        setattr(module, f"p{i}", student.Parameter(np.full(2, float(len(modules)), np.float32)))
    module.scale = 0.5
    for j, child in enumerate(children):
        setattr(module, f"c{j}", _build(student, child, modules))
    return module


def _expected_names(spec, prefix):
    """Pre-order: a module's own parameters, then each child's (a module reached twice
    counts once)."""
    params, children = spec
    names = [f"{prefix}.p{i}" if prefix else f"p{i}" for i in range(params)]
    for j, child in enumerate(children):
        names += _expected_names(child, f"{prefix}.c{j}" if prefix else f"c{j}")
    return names


@grading_test(points=2, cases=_tree_cases)
def named_parameters_of_any_tree(student, case):
    """For any tree of modules: __setattr__ registers Parameters and Modules (not floats),
    named_parameters yields 'c0.c1.p0'-style names in pre-order, each Parameter once even
    when shared, honours prefix= and recurse=False."""
    modules = []
    root = _build(student, case["tree"], modules)
    names = _expected_names(case["tree"], case["prefix"])
    params, children = case["tree"]
    check_equal(list(root._parameters), [f"p{i}" for i in range(params)], "root._parameters")
    check_equal(list(root._modules), [f"c{j}" for j in range(len(children))], "root._modules")
    check_equal("scale" in root._parameters, False, "a float attribute is not a parameter")
    if case["share"] and len(modules) > 1 and params:
        modules[-1].shared = root.p0  # the same Parameter, reached a second time
    if case["reuse_child"] and len(modules) > 1:
        root.again = modules[1]  # the same Module under a second name
    got = [n for n, _ in root.named_parameters(prefix=case["prefix"])]
    check_equal(got, names, f"named_parameters(prefix={case['prefix']!r}) of the tree "
                f"{case['tree']} (shared parameter: {case['share']}, shared child: "
                f"{case['reuse_child']})")
    own = [n for n, _ in root.named_parameters(recurse=False)]
    check_equal(own, [f"p{i}" for i in range(params)], "named_parameters(recurse=False)")
