"""Gradient clipping: clip_grad_norm_ and clip_grad_value_.

What it teaches: one bad batch can produce a gradient 1000x too large and undo hours of
training. Clipping rescales all gradients together so their global L2 norm is at most
max_norm: the direction is kept, only the step length is capped.
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@no_grad()
def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale gradients in place so their total norm is <= max_norm; returns the old norm."""
    if not max_norm >= 0:  # also catches NaN: a negative scale would flip every gradient
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    grads = _grads(parameters)
    if not grads:
        return Tensor(0.0)
    # BEGIN SOLUTION
    if norm_type == float("inf"):
        total = max(float(np.abs(g.array).max()) for g in grads)
    else:
        total = float(sum(float((np.abs(g.array.astype(np.float64)) ** norm_type).sum())
                          for g in grads) ** (1.0 / norm_type))
    # END SOLUTION
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is non-finite ({total}), so it cannot be clipped")
    # BEGIN SOLUTION
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for g in grads:
            g.array *= g.array.dtype.type(scale)
    # END SOLUTION
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


@no_grad()
def clip_grad_value_(parameters, clip_value: float) -> None:
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        np.clip(g.array, -clip_value, clip_value, out=g.array)
