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

from .. import parallel
from ..autograd import Function, is_grad_enabled
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
    @staticmethod
    def forward(ctx, a):
        # BEGIN SOLUTION
        ctx.save_for_backward(a > 0)
        return np.maximum(a, 0, dtype=a.dtype)
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        # BEGIN SOLUTION
        (positive,) = ctx.saved_tensors
        return grad * positive
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
# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, i.e. float32 precision
_P = 0.3275911
_A = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)


_exact_erf = np.vectorize(math.erf, otypes=[np.float64])
_FLOAT32_SIGN_BIT = np.uint32(0x80000000)


def _with_sign_of(magnitude: np.ndarray, x: np.ndarray, out: np.ndarray,
                  scratch: np.ndarray) -> np.ndarray:
    """copysign(magnitude, x) for float32 `magnitude` >= 0, as two integer bit operations.

    numpy's copysign has no SIMD loop: on the development machine it cost ~0.55 ns a
    number, 8x a multiply, the dearest step of the erf polynomial. For a non-negative
    magnitude, OR-ing in x's sign bit gives the same bits (signed zeros and NaNs included).
    `scratch` is a float32 buffer of x's shape that may be overwritten.
    """
    sign = np.bitwise_and(x.view(np.uint32), _FLOAT32_SIGN_BIT, out=scratch.view(np.uint32))
    np.bitwise_or(magnitude.view(np.uint32), sign, out=out.view(np.uint32))
    return out


def _erf_float32(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A & S 7.1.26 evaluated in place: each step reuses one buffer instead of allocating
    a temporary, ~5x faster than the same formula written as one expression."""
    f = np.float32
    out = np.empty_like(x) if out is None else out
    z = np.abs(x)
    t = z * f(_P)
    t += f(1)
    np.reciprocal(t, out=t)
    poly = t * f(_A[0])
    for coefficient in _A[1:]:
        poly += f(coefficient)
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z
    np.subtract(f(1), poly, out=poly)  # erf(|x|) >= 0
    return _with_sign_of(poly, x, out=out, scratch=t)  # erf is odd


def erf(x: np.ndarray) -> np.ndarray:
    """Error function, vectorised (numpy has none).

    float32: Abramowitz & Stegun 7.1.26, |error| < 1.5e-7, i.e. float32 precision, at
    numpy speed. float64: the exact `math.erf` per element, ~50x slower, because float64
    is what gradient checks and reference comparisons use.
    """
    if x.dtype == np.float32:
        return _erf_float32(x)
    return _exact_erf(x).astype(x.dtype if x.dtype.kind == "f" else np.float64)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF, in x's dtype.

    float32 runs in blocks (tinytorch.core.parallel): the ~20 in-place steps of the erf
    polynomial then work on a block that stays in cache, and the blocks use every core.
    """
    if x.dtype != np.float32:
        return (0.5 * (1.0 + _exact_erf(x * _INV_SQRT_2))).astype(x.dtype)
    return _blockwise(_normal_cdf_float32, x)


def _normal_cdf_float32(out: np.ndarray, x: np.ndarray) -> None:
    # the same steps as training's gelu_with_derivative: a model gives the same bits
    # with and without a graph
    _cdf_and_density_float32(out, np.empty_like(x), x)


def gelu_derivative(x: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """gelu'(x) = Phi(x) + x * phi(x), given Phi(x) = `cdf` (phi: the standard normal density)."""
    return _blockwise(_gelu_derivative, x, cdf)


def _gelu_derivative(out: np.ndarray, x: np.ndarray, cdf: np.ndarray) -> None:
    np.square(x, out=out)
    out *= x.dtype.type(-0.5)
    np.exp(out, out=out)
    out *= x.dtype.type(_INV_SQRT_2PI)
    out *= x
    out += cdf


def gelu_with_derivative(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gelu(x), gelu'(x)) = (x * Phi(x), Phi(x) + x * phi(x)), computed together.

    What training needs: forward keeps gelu'(x) for backward, which is then one multiply,
    instead of keeping Phi(x) and recomputing phi(x) and x * Phi(x) later. In float32
    Phi and phi share the one exp(-x^2 / 2) of the erf polynomial (~25 in-place steps for
    both, against ~30 when backward recomputes them)."""
    if x.dtype != np.float32:
        cdf = normal_cdf(x)
        return x * cdf, gelu_derivative(x, cdf)
    return _blockwise(_gelu_with_derivative_float32, x, outputs=2)


def _gelu_with_derivative_float32(gelu: np.ndarray, slope: np.ndarray, x: np.ndarray) -> None:
    _cdf_and_density_float32(gelu, slope, x)  # gelu holds Phi(x), slope holds phi(x)
    slope *= x
    slope += gelu  # Phi + x phi
    gelu *= x      # x Phi


def _cdf_and_density_float32(cdf: np.ndarray, density: np.ndarray, x: np.ndarray) -> None:
    """Phi(x) into `cdf` and phi(x) into `density`, float32, in place.

    A & S 7.1.26 for u = |x| / sqrt 2 gives the upper tail Q = Phi(-|x|) =
    poly(t) / 2 * exp(-x^2 / 2), t = 1 / (1 + p u); then Phi(x) = 1/2 + sign(x) (1/2 - Q)."""
    f = np.float32
    t = np.abs(x)
    t *= f(_P * _INV_SQRT_2)
    t += f(1)
    np.reciprocal(t, out=t)
    tail = t * f(_A[0] / 2)  # halving the coefficients is exact: poly / 2 for free
    for coefficient in _A[1:]:
        tail += f(coefficient / 2)
        tail *= t
    np.square(x, out=density)
    density *= f(-0.5)
    np.exp(density, out=density)  # exp(-x^2 / 2), shared by Q and phi
    tail *= density
    np.subtract(f(0.5), tail, out=tail)  # 1/2 - Q >= 0
    _with_sign_of(tail, x, out=cdf, scratch=t)
    cdf += f(0.5)
    density *= f(_INV_SQRT_2PI)


def _blockwise(kernel, x: np.ndarray, *others: np.ndarray, outputs: int = 1):
    """kernel(*outs, x, *others) elementwise, computed block by block into `outputs`
    arrays shaped like x (returned alone for one output, as a tuple for several)."""
    flat = [np.ascontiguousarray(a).reshape(-1) for a in (x, *others)]
    outs = [np.empty(x.shape, dtype=x.dtype) for _ in range(outputs)]
    outs_flat = [out.reshape(-1) for out in outs]

    def block(part):
        kernel(*(out[part] for out in outs_flat), *(a[part] for a in flat))

    # the kernels keep ~4 block-sized temporaries alive: size blocks by 4 numbers each
    parallel.for_each_block(block, x.size, (3 + outputs) * x.itemsize)
    return outs[0] if outputs == 1 else tuple(outs)


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
        if not (is_grad_enabled() and ctx.needs_input_grad[0]):
            return a * normal_cdf(a)  # inference: no derivative to keep
        out, slope = gelu_with_derivative(a)
        ctx.save_for_backward(slope)
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.approximate != "tanh":
            (slope,) = ctx.saved_tensors
            return grad * slope
        a, t = ctx.saved_tensors
        dtype = a.dtype.type
        d_inner = dtype(_SQRT_2_OVER_PI) * (1 + dtype(3 * 0.044715) * a * a)
        return grad * (dtype(0.5) * (1 + t) + dtype(0.5) * a * (1 - t * t) * d_inner)

    @staticmethod
    def cost(call, grads=None):
        tanh = call.arg(1, "approximate") == "tanh"
        # exact: backward multiplies by the gelu' that forward kept
        return pointwise(call, grads, forward=9 if tanh else 5, backward=17 if tanh else 1)


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
