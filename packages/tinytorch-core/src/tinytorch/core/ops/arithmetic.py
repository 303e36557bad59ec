"""Arithmetic ops (+, -, *, /, **) with numpy broadcasting, and their derivatives.

What it teaches: each op's backward is one line of calculus, e.g. d(a*b)/da = b. The
engine sums gradients over broadcast dimensions (a bias of shape (C,) added to a batch
(N, C) gets the sum over N), so no op here has to think about broadcasting.

Systems lesson: a binary op on float32 arrays of n elements reads 8n bytes and writes 4n
for n FLOPs: arithmetic intensity 1/12 FLOP/byte, deep in memory-bound territory. These
ops are limited by memory bandwidth, never by the CPU's arithmetic units.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes
from ..autograd import Function
from ..cost import Cost, pointwise
from ..tensor import Tensor


def as_operands(op: str, a, b) -> tuple[Tensor, Tensor]:
    """Turn (tensor|scalar, tensor|scalar) into two tensors of one dtype.

    Python and numpy scalars are "weak": they take the tensor's dtype, so float32 stays
    float32. Two tensors of different float dtypes are refused (see dtypes.result_dtype).
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        dtype = dtypes.result_dtype(op, a.dtype, b.dtype)
        return _cast(a, dtype), _cast(b, dtype)
    if isinstance(a, Tensor):
        return _with_scalar(op, a, b)
    if isinstance(b, Tensor):
        tb, ta = _with_scalar(op, b, a)
        return ta, tb
    raise TypeError(f"{op}: expected at least one Tensor, got {type(a).__name__} and "
                    f"{type(b).__name__}")


def _with_scalar(op: str, tensor: Tensor, other) -> tuple[Tensor, Tensor]:
    if isinstance(other, np.ndarray) and other.ndim > 0:
        other_t = Tensor(other)
        dtype = dtypes.result_dtype(op, tensor.dtype, other_t.dtype)
        return _cast(tensor, dtype), _cast(other_t, dtype)
    if isinstance(other, (bool, np.bool_)):
        kind_dtype = tensor.dtype
    elif isinstance(other, (numbers.Integral, np.integer)):
        kind_dtype = tensor.dtype if tensor.dtype.kind in "iuf" else dtypes.int64
    elif isinstance(other, (numbers.Real, np.floating)) or (
        isinstance(other, np.ndarray) and other.dtype.kind == "f"
    ):
        kind_dtype = tensor.dtype if tensor.dtype.kind == "f" else dtypes.default_float
    else:
        raise TypeError(f"{op}: unsupported operand of type {type(other).__name__} with a Tensor")
    scalar = Tensor._make(np.asarray(other, dtype=kind_dtype))
    return _cast(tensor, kind_dtype), scalar


def _cast(t: Tensor, dtype) -> Tensor:
    return t if t.dtype == dtype else t.to(dtype)


def _binary(fn_cls, op: str, a, b) -> Tensor:
    a, b = as_operands(op, a, b)
    try:
        return fn_cls.apply(a, b)
    except ValueError as err:
        if "broadcast" in str(err):
            raise ValueError(
                f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together"
            ) from None
        raise


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        # BEGIN SOLUTION
        return a + b
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        return grad, grad

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=0, reads_inputs=False)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        # BEGIN SOLUTION
        return a - b
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=1, reads_inputs=False)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # BEGIN SOLUTION
        # save only what backward will read: in `3 * d`, d's values are not needed (the
        # gradient for d is 3*grad), so later in-place edits of d stay legal, as in PyTorch
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        # BEGIN SOLUTION
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)
        # END SOLUTION

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=1)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        # BEGIN SOLUTION
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a / b
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b if need_a else None
        grad_b = -grad * a / (b * b) if need_b else None
        return grad_a, grad_b

    @staticmethod
    def cost(call, grads=None):
        if grads is None:
            return Cost(call.out.size)
        # d/da = g / b (1 FLOP per element); d/db = -g a / b^2 (4)
        return Cost(sum(c * g.size for c, g in zip((1, 4), grads) if g is not None))


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=1, reads_inputs=False)


class PowScalar(Function):
    """a ** p for a constant exponent p."""

    @staticmethod
    def forward(ctx, a, exponent):
        ctx.save_for_backward(a)
        ctx.exponent = exponent
        return a**exponent

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        p = ctx.exponent
        return grad * p * a ** (p - 1), None

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=3)


class Pow(Function):
    """a ** b where both are tensors: d/da = b a^(b-1), d/db = a^b ln a."""

    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad * b * a ** (b - 1) if need_a else None
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            grad_b = grad * out * log_a.astype(out.dtype)
        else:
            grad_b = None
        return grad_a, grad_b

    @staticmethod
    def cost(call, grads=None):
        return pointwise(call, grads, forward=1, backward=4)


def add(a, b) -> Tensor:
    return _binary(Add, "add", a, b)


def sub(a, b) -> Tensor:
    return _binary(Sub, "sub", a, b)


def mul(a, b) -> Tensor:
    return _binary(Mul, "mul", a, b)


def div(a, b) -> Tensor:
    a, b = as_operands("div", a, b)
    if a.dtype.kind != "f":  # true division of integers gives floats, as in PyTorch
        a, b = a.to(dtypes.default_float), b.to(dtypes.default_float)
    return _binary(Div, "div", a, b)


def pow(base, exponent) -> Tensor:
    if isinstance(base, Tensor) and isinstance(exponent, (numbers.Real, np.number)) \
            and not isinstance(exponent, bool):
        exponent = float(exponent) if base.dtype.kind == "f" else exponent
        return PowScalar.apply(base, base.array.dtype.type(exponent))
    return _binary(Pow, "pow", base, exponent)
