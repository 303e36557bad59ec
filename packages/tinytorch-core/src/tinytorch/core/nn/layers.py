"""The basic layers: Linear (alias Dense), Identity, Flatten, Dropout, LayerNorm.

What it teaches: a layer = parameters + a function. Linear holds W (out, in) and b (out,)
and computes x W^T + b; its initialisation (Kaiming-uniform with a = sqrt(5), PyTorch's
default) keeps activations from exploding or vanishing as depth grows.

Systems lesson: Linear(in, out) has in*out + out parameters and costs 2*in*out FLOPs
per sample in forward and twice that in backward; LayerNorm has only 2*d parameters but
reads its input several times, so it is memory-bound.
"""

from __future__ import annotations

import math

import numpy as np

from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Linear: {name} must be a positive int, got {value!r}")
        self.in_features, self.out_features = in_features, out_features
        dtype = np.float32 if dtype is None else dtype
        # BEGIN SOLUTION
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty((out_features,), dtype=dtype)) if bias else None
        # END SOLUTION
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # BEGIN SOLUTION
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)
        # END SOLUTION

    def forward(self, x):
        shape = getattr(x, "shape", None)
        if not isinstance(shape, tuple) or not shape or shape[-1] != self.in_features:
            got = f"shape {shape}" if isinstance(shape, tuple) else type(x).__name__
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): expected input "
                             f"with last dimension {self.in_features}, got {got}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


Dense = Linear  # the seeds' name


class Identity(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) \
            else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        dtype = np.float32 if dtype is None else dtype
        self.weight = Parameter(np.ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype=dtype)) \
            if elementwise_affine and bias else None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
