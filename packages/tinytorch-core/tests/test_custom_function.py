"""Custom autograd Functions written PyTorch's way (Tensors in and out) run unchanged."""

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


def test_forward_runs_without_recording_a_graph():
    seen = {}

    class Probe(tt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            inner = x * 2
            seen["inner_requires_grad"] = inner.requires_grad
            seen["type"] = type(x)
            return inner

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    assert Probe.tensor_io
    out = Probe.apply(tt.ones(3, requires_grad=True))
    assert out.requires_grad and seen == {"inner_requires_grad": False, "type": tt.Tensor}


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
