"""Pointwise functions: exp, log, sqrt, abs, clamp and the activation functions.

What it teaches: an activation is what lets a network bend. Without one, any stack of
Linear layers collapses to a single linear map (milestone 01, XOR, shows it fail). Each
backward here reuses what forward computed: tanh' = 1 - tanh^2 and sigmoid' = s (1 - s)
are written in terms of the saved *output*, so the input need not be kept.

Systems lesson: saving the output instead of the input is the same memory either way,
but it saves recomputing an exp in backward. ReLU saves only a boolean mask: 1 byte per
element instead of 4.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..cost import Cost, data_movement, pointwise
from ..tensor import Tensor


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=1)


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=1)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        with np.errstate(invalid="ignore"):
            out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        with np.errstate(divide="ignore"):
            return grad / (2 * out)

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=2)


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.sign(a)

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=2)


class Sin(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.cos(a)

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=2)


class Cos(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * np.sin(a)

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=3)


class Clamp(Function):
    """Gradient flows where the input was inside [min, max] (as in PyTorch, ends included)."""

    @staticmethod
    def forward(ctx, a, low=None, high=None):
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        ctx.save_for_backward(inside)
        return np.clip(a, low, high)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside

    @staticmethod
    def cost(call, grads=None):
        if grads is None:  # one comparison per bound given
            bounds = (call.arg(1, "low") is not None) + (call.arg(2, "high") is not None)
            return Cost(bounds * call.out.size)
        return pointwise(call, grads, forward=0, backward=1)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        # BEGIN SOLUTION
        out = np.tanh(a)
        # END SOLUTION
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # BEGIN SOLUTION
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)
        # END SOLUTION

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=3)


class Sigmoid(Function):
    """sigmoid(x) = 0.5 * (1 + tanh(x / 2)): the same value, but no overflow for large |x|."""

    @staticmethod
    def forward(ctx, a):
        # BEGIN SOLUTION
        out = 0.5 * (np.tanh(0.5 * a) + 1)
        # END SOLUTION
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # BEGIN SOLUTION
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)
        # END SOLUTION

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=4, backward=3)


class ReLU(Function):
    # The one array kept as a ctx attribute: the mask is new memory (no input's), so no
    # in-place edit can reach it, and module 03's students write exactly this line.
    @staticmethod
    def forward(ctx, a):
        # BEGIN SOLUTION
        ctx.positive = a > 0
        return np.maximum(a, 0, dtype=a.dtype)
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        # BEGIN SOLUTION
        return grad * ctx.positive
        # END SOLUTION

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=1)


class LeakyReLU(Function):
    @staticmethod
    def forward(ctx, a, negative_slope=0.01):
        positive = a > 0
        ctx.save_for_backward(positive)
        ctx.slope = negative_slope
        return np.where(positive, a, a * a.dtype.type(negative_slope))

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        return np.where(positive, grad, grad * grad.dtype.type(ctx.slope))

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=2, backward=2)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


_exact_erf = np.vectorize(math.erf, otypes=[np.float64])


def erf(x: np.ndarray) -> np.ndarray:
    """Error function, vectorised (numpy has none).

    float32: Abramowitz & Stegun 7.1.26, |error| < 1.5e-7, i.e. float32 precision, at
    numpy speed. float64: the exact `math.erf` per element, ~50x slower, because float64
    is what gradient checks and reference comparisons use.
    """
    if x.dtype == np.float64:
        return _exact_erf(x)
    sign = np.sign(x)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                           + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-z * z))


class GELU(Function):
    """x * Phi(x), Phi the standard normal CDF; `approximate="tanh"` is GPT-2's version."""

    @staticmethod
    def forward(ctx, a, approximate="none"):
        ctx.approximate = approximate
        dtype = a.dtype.type
        if approximate == "tanh":
            inner = dtype(_SQRT_2_OVER_PI) * (a + dtype(0.044715) * a * a * a)
            tanh_inner = np.tanh(inner)
            ctx.save_for_backward(a, tanh_inner)
            return dtype(0.5) * a * (1 + tanh_inner)
        cdf = (dtype(0.5) * (1 + erf(a * dtype(_INV_SQRT_2)))).astype(a.dtype)
        ctx.save_for_backward(a, cdf)
        return a * cdf

    @staticmethod
    def backward(ctx, grad):
        a, t_or_cdf = ctx.saved_tensors
        dtype = a.dtype.type
        if ctx.approximate == "tanh":
            t = t_or_cdf
            d_inner = dtype(_SQRT_2_OVER_PI) * (1 + dtype(3 * 0.044715) * a * a)
            return grad * (dtype(0.5) * (1 + t) + dtype(0.5) * a * (1 - t * t) * d_inner)
        pdf = dtype(_INV_SQRT_2PI) * np.exp(dtype(-0.5) * a * a)
        return grad * (t_or_cdf + a * pdf)

    @staticmethod
    def cost(call, grads=None):
        tanh = call.arg(1, "approximate") == "tanh"
        return pointwise(call, grads, forward=9 if tanh else 5, backward=17 if tanh else 7)


class Clone(Function):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


class Cast(Function):
    """Float-to-float dtype conversion that keeps the graph (x.double() inside a model)."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.source = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.source)

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


def clamp(a: Tensor, min=None, max=None) -> Tensor:
    if min is None and max is None:
        raise ValueError("clamp: at least one of min or max must be given")
    low = None if min is None else a.dtype.type(min)
    high = None if max is None else a.dtype.type(max)
    return Clamp.apply(a, low, high)
