"""torch-style free functions (`tinytorch.core.exp(x)`, `cat`, `where`, ...).

Each is the method of the same name on Tensor, so `torch.exp(x)` and `x.exp()` both work
after changing the import. Nothing new is computed here.
"""

from __future__ import annotations

from . import ops
from .tensor import Tensor

cat = ops.cat
stack = ops.stack
where = ops.where
matmul = ops.matmul
gather = ops.gather
split = ops.split
chunk = ops.chunk
masked_fill = ops.masked_fill
einsum = ops.einsum


def pow(input, exponent):
    """`torch.pow(tensor, number)`, `torch.pow(number, tensor)`, `torch.pow(t1, t2)`."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError(f"pow: expected at least one Tensor, got {type(input).__name__} and "
                        f"{type(exponent).__name__}")
    return ops.pow(input, exponent)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def _method(name):
    def call(t: Tensor, *args, **kwargs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(t).__name__}")
        return getattr(t, name)(*args, **kwargs)

    call.__name__ = name
    call.__doc__ = f"Same as `Tensor.{name}`."
    return call


exp, log, sqrt, abs, tanh, sigmoid, relu, sin, cos = (
    _method(n) for n in ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos")
)
sum, mean, var, std, max, min, argmax, argmin = (
    _method(n) for n in ("sum", "mean", "var", "std", "max", "min", "argmax", "argmin")
)
softmax, log_softmax, clamp, reshape, flatten, squeeze, unsqueeze, transpose, permute = (
    _method(n) for n in ("softmax", "log_softmax", "clamp", "reshape", "flatten", "squeeze",
                         "unsqueeze", "transpose", "permute")
)
topk, sort, argsort, mm, bmm, t, maximum, minimum, equal, allclose = (
    _method(n) for n in ("topk", "sort", "argsort", "mm", "bmm", "t", "maximum", "minimum",
                         "equal", "allclose")
)
