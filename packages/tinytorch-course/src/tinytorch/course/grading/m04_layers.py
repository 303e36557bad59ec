"""Module 04 (Layers): initialisation, Module/Parameter bookkeeping and Linear."""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core import Tensor, manual_seed

from . import check_close, check_dtype, check_raises, grading_test


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
