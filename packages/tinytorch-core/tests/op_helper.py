"""Run the same computation in TinyTorch and PyTorch and compare values and gradients.

In the spirit of tinygrad's test_ops.py: `check_op(shapes, tt_fn, torch_fn)` builds random
inputs of the given shapes, runs both functions, compares outputs, backpropagates the same
random upstream gradient through both and compares every input's gradient.
"""

from __future__ import annotations

import numpy as np
import torch

import tinytorch.core as tt

TOLERANCES = {np.float32: (1e-5, 1e-4), np.float64: (1e-10, 1e-7)}


def to_torch(x: np.ndarray, requires_grad: bool) -> torch.Tensor:
    t = torch.from_numpy(np.array(x, copy=True))
    return t.requires_grad_(requires_grad) if t.is_floating_point() else t


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def assert_close(mine, theirs, atol, rtol, what):
    mine = np.asarray(mine)
    theirs = np.asarray(theirs)
    assert mine.shape == theirs.shape, f"{what}: shape {mine.shape} != torch {theirs.shape}"
    assert mine.dtype == theirs.dtype, f"{what}: dtype {mine.dtype} != torch {theirs.dtype}"
    np.testing.assert_allclose(mine, theirs, atol=atol, rtol=rtol, err_msg=what)


def check_op(shapes, tt_fn, torch_fn, dtype=np.float32, low=-2.0, high=2.0, seed=0,
             arrays=None, grad=True, atol=None, rtol=None):
    """Compare `tt_fn(*tt_inputs)` with `torch_fn(*torch_inputs)` (values and grads)."""
    rng = np.random.default_rng(seed)
    if arrays is None:
        arrays = [rng.uniform(low, high, size=s).astype(dtype) for s in shapes]
    default_atol, default_rtol = TOLERANCES[np.dtype(dtype).type]
    atol = default_atol if atol is None else atol
    rtol = default_rtol if rtol is None else rtol

    tt_inputs = [tt.Tensor(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    torch_inputs = [to_torch(a, grad and a.dtype.kind == "f") for a in arrays]
    tt_out = _outputs(tt_fn(*tt_inputs))
    torch_out = _outputs(torch_fn(*torch_inputs))
    assert len(tt_out) == len(torch_out)
    for i, (mine, theirs) in enumerate(zip(tt_out, torch_out)):
        assert_close(mine.array, theirs.detach().numpy(), atol, rtol, f"forward output {i}")

    if not grad:
        return
    tt_total, torch_total = None, None
    for mine, theirs in zip(tt_out, torch_out):
        if not (mine.requires_grad and theirs.requires_grad):
            continue
        upstream = rng.standard_normal(mine.shape).astype(mine.dtype)
        tt_term = (mine * tt.Tensor(upstream)).sum()
        torch_term = (theirs * torch.from_numpy(upstream)).sum()
        tt_total = tt_term if tt_total is None else tt_total + tt_term
        torch_total = torch_term if torch_total is None else torch_total + torch_term
    assert tt_total is not None, "no differentiable output to check"
    tt_total.backward()
    torch_total.backward()
    for i, (mine, theirs) in enumerate(zip(tt_inputs, torch_inputs)):
        if not mine.requires_grad:
            continue
        if theirs.grad is None:
            assert mine.grad is None or not np.any(mine.grad.array), f"grad of input {i}"
            continue
        assert mine.grad is not None, f"input {i}: torch has a gradient, TinyTorch has none"
        assert_close(mine.grad.array, theirs.grad.numpy(), atol, rtol, f"gradient of input {i}")


def check_gradcheck(shapes, fn, low=-2.0, high=2.0, seed=0, arrays=None):
    """float64 central differences against autograd for `fn`."""
    rng = np.random.default_rng(seed)
    if arrays is None:
        arrays = [rng.uniform(low, high, size=s) for s in shapes]
    inputs = [tt.Tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    assert tt.gradcheck(fn, inputs)
