"""Custom autograd Functions written PyTorch's way run unchanged; numpy-style ones too.

A Function defined outside TinyTorch's packages receives TorchStyleArrays: numpy arrays
that also answer PyTorch's method names (clamp, clone, sum(dim=...), ...).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinytorch.core as tt


def make_functions(lib):
    class MyReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    class Legendre3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    class ScaledMul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return a * b * scale

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            grad_a = grad * b * ctx.scale if ctx.needs_input_grad[0] else None
            grad_b = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
            return grad_a, grad_b, None

    return MyReLU, Legendre3, ScaledMul


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pytorch_style_functions_match_torch(dtype):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 5)).astype(dtype), rng.standard_normal((5,)).astype(dtype)
    results = []
    for lib in (tt, torch):
        relu, legendre, scaled = make_functions(lib)
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        out = scaled.apply(legendre.apply(relu.apply(a)), b, 0.5)
        out.sum().backward()
        results.append([out.detach().numpy(), a.grad.numpy(), b.grad.numpy()])
    for mine, theirs in zip(*results):
        assert mine.dtype == theirs.dtype
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_user_functions_get_arrays_that_speak_both_dialects():
    seen = {}

    class Probe(tt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen["is_array"] = isinstance(x, np.ndarray)
            ctx.save_for_backward(x)
            numpy_style = np.exp(x).max(axis=1, keepdims=True)
            torch_style = x.exp().max(dim=1, keepdim=True)
            np.testing.assert_array_equal(numpy_style, torch_style)
            return x.clamp(min=0) * 2

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            grad_input = grad.clone() * 2
            grad_input[x < 0] = 0
            return grad_input

    assert Probe.tensor_io
    x = tt.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    out = Probe.apply(x)
    assert isinstance(out.array, np.ndarray) and type(out.array) is np.ndarray
    out.sum().backward()
    assert seen["is_array"] and x.grad.tolist() == [[0.0, 2.0], [2.0, 0.0]]
    with tt.no_grad():
        x += 1  # the saved input was modified: backward must notice, as for built-in ops
    y = Probe.apply(tt.tensor([1.0, 2.0], requires_grad=True).reshape(1, 2))
    assert y.requires_grad


def test_in_place_edit_of_a_saved_input_is_caught():
    class Square(tt.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return 2 * a * grad

    leaf = tt.tensor([1.0, 2.0], requires_grad=True)
    x = leaf * 1
    y = Square.apply(x)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_numpy_style_functions_can_opt_in():
    class ArraySquare(tt.autograd.Function):
        tensor_io = False

        @staticmethod
        def forward(ctx, a):
            assert isinstance(a, np.ndarray)
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return 2 * a * grad

    x = tt.tensor([1.0, 3.0], requires_grad=True)
    ArraySquare.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 6.0]
