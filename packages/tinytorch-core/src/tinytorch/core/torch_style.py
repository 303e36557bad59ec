"""Arrays for custom autograd Functions: numpy arrays that also answer PyTorch's methods.

What it teaches: TinyTorch's ops compute on numpy arrays, and so does a Function you write
for the course (`np.exp(a)`, `a.max(axis=dim, keepdims=True)`). A Function copied from a
PyTorch program calls tensor methods instead (`input.clamp(min=0)`,
`grad_output.clone()`, `x.sum(dim=1)`). A Function defined outside TinyTorch's packages
receives its inputs as this ndarray subclass, so both styles run: it *is* a numpy array,
plus the handful of torch names custom Functions use.

Systems lesson: `array.view(TorchStyleArray)` is free (same memory, a new header of about
100 bytes), which is why only user-defined Functions get it: TinyTorch's own ops skip
even that.
"""

from __future__ import annotations

import numpy as np


def _axis(dim, axis):
    return axis if dim is None else dim


def _keep(keepdim, keepdims):
    return bool(keepdim if keepdims is None else keepdims)


class TorchStyleArray(np.ndarray):
    """An ndarray with PyTorch's names for the methods custom Functions call."""

    def clamp(self, min=None, max=None):
        return np.clip(self, min, max)

    clip = clamp

    def clone(self):
        return self.copy()

    def detach(self):
        return self

    def exp(self):
        return np.exp(self)

    def log(self):
        return np.log(self)

    def sqrt(self):
        return np.sqrt(self)

    def abs(self):
        return np.abs(self)

    def tanh(self):
        return np.tanh(self)

    def sigmoid(self):
        return 1 / (1 + np.exp(-self))

    def relu(self):
        return np.maximum(self, 0)

    def pow(self, exponent):
        return self ** exponent

    def mm(self, other):
        return self @ other

    def t(self):
        return self.T

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(np.size(self))

    def unsqueeze(self, dim: int):
        return np.expand_dims(self, dim)

    def masked_fill(self, mask, value):
        return np.where(mask, self.dtype.type(value), self)

    def view(self, *shape):
        """`x.view(2, -1)` reshapes, as in torch; `x.view(dtype)` stays numpy's."""
        if shape and all(isinstance(s, (int, np.integer)) for s in shape) or \
                (len(shape) == 1 and isinstance(shape[0], tuple)):
            return self.reshape(*shape)
        return super().view(*shape)

    # reductions take torch's dim/keepdim as well as numpy's axis/keepdims
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None, **kwargs):
        return super().sum(axis=_axis(dim, axis), keepdims=_keep(keepdim, keepdims), **kwargs)

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None, **kwargs):
        return super().mean(axis=_axis(dim, axis), keepdims=_keep(keepdim, keepdims), **kwargs)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None, **kwargs):
        return super().max(axis=_axis(dim, axis), keepdims=_keep(keepdim, keepdims), **kwargs)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None, **kwargs):
        return super().min(axis=_axis(dim, axis), keepdims=_keep(keepdim, keepdims), **kwargs)


def torch_style(value):
    """View an array (or a Tensor's array) as a TorchStyleArray; leave other values alone."""
    array = getattr(value, "array", value)
    return array.view(TorchStyleArray) if isinstance(array, np.ndarray) else value
