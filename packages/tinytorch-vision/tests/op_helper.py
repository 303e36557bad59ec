"""Run the same computation in TinyTorch and PyTorch; compare values and gradients.

`check_op(arrays, tt_fn, torch_fn)` wraps the arrays as inputs of both libraries, runs
both functions, compares the outputs, backpropagates the same random upstream gradient
through both and compares every input's gradient (the idea of core's op_helper, kept
separate so this package's tests need only tinytorch-core installed).
"""

from __future__ import annotations

import numpy as np
import torch

import tinytorch.core as tt

TOLERANCES = {np.float32: (2e-5, 2e-4), np.float64: (1e-10, 1e-7)}


def assert_close(mine, theirs, what, atol, rtol):
    mine, theirs = np.asarray(mine), np.asarray(theirs)
    assert mine.shape == theirs.shape, f"{what}: shape {mine.shape} != torch {theirs.shape}"
    assert mine.dtype == theirs.dtype, f"{what}: dtype {mine.dtype} != torch {theirs.dtype}"
    np.testing.assert_allclose(mine, theirs, atol=atol, rtol=rtol, err_msg=what)


def check_op(arrays, tt_fn, torch_fn, atol=None, rtol=None, seed=0, grad=True):
    """Compare tt_fn(*tensors) with torch_fn(*torch_tensors); None entries pass through."""
    dtype = next(a.dtype for a in arrays if a is not None).type
    default_atol, default_rtol = TOLERANCES[dtype]
    atol = default_atol if atol is None else atol
    rtol = default_rtol if rtol is None else rtol
    mine = [None if a is None else tt.Tensor(a.copy(), requires_grad=grad) for a in arrays]
    theirs = [None if a is None else torch.from_numpy(a.copy()).requires_grad_(grad)
              for a in arrays]
    out = tt_fn(*mine)
    expected = torch_fn(*theirs)
    assert_close(out.array, expected.detach().numpy(), "forward", atol, rtol)
    if not grad:
        return out
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    out.backward(tt.Tensor(upstream))
    expected.backward(torch.from_numpy(upstream))
    for i, (m, t) in enumerate(zip(mine, theirs)):
        if m is None:
            continue
        assert m.grad is not None, f"input {i}: torch has a gradient, TinyTorch has none"
        # gradients sum over many terms: scale the tolerance with their magnitude
        scale = max(1.0, float(np.abs(t.grad.numpy()).max()))
        assert_close(m.grad.array, t.grad.numpy(), f"gradient of input {i}", atol * scale, rtol)
    return out


def gradcheck(fn, arrays, seed=0):
    """float64 central differences against autograd for fn(*tensors)."""
    inputs = [tt.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    return tt.gradcheck(fn, inputs, seed=seed)
