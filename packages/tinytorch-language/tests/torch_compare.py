"""Run the same computation in TinyTorch and PyTorch and compare values and gradients.

The idea of tinytorch-core's tests/op_helper.py, restated here (packages never import
each other's tests): build random inputs, run both libraries, compare outputs, push the
same random upstream gradient through both and compare every input's gradient.
"""

from __future__ import annotations

import numpy as np
import torch

import tinytorch.core as tt

TOLERANCES = {np.float32: (2e-5, 2e-4), np.float64: (1e-10, 1e-7)}


def to_torch(x: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    t = torch.from_numpy(np.array(x, copy=True))
    return t.requires_grad_(requires_grad) if t.is_floating_point() else t


def assert_close(mine, theirs, what: str, atol=None, rtol=None) -> None:
    mine, theirs = np.asarray(mine), np.asarray(theirs)
    assert mine.shape == theirs.shape, f"{what}: shape {mine.shape} != torch {theirs.shape}"
    assert mine.dtype == theirs.dtype, f"{what}: dtype {mine.dtype} != torch {theirs.dtype}"
    default_atol, default_rtol = TOLERANCES.get(mine.dtype.type, (0, 0))
    np.testing.assert_allclose(mine, theirs, atol=default_atol if atol is None else atol,
                               rtol=default_rtol if rtol is None else rtol, err_msg=what)


def check_fn(arrays, tt_fn, torch_fn, grad=True, seed=0, atol=None, rtol=None):
    """Compare tt_fn(*tensors) with torch_fn(*tensors), values and input gradients."""
    rng = np.random.default_rng(seed)
    tt_inputs = [tt.Tensor(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    torch_inputs = [to_torch(a, grad and a.dtype.kind == "f") for a in arrays]
    mine, theirs = tt_fn(*tt_inputs), torch_fn(*torch_inputs)
    assert_close(mine.array, theirs.detach().numpy(), "forward", atol, rtol)
    if not grad:
        return
    upstream = rng.standard_normal(mine.shape).astype(mine.dtype)
    (mine * tt.Tensor(upstream)).sum().backward()
    (theirs * torch.from_numpy(upstream)).sum().backward()
    for i, (a, b) in enumerate(zip(tt_inputs, torch_inputs)):
        if not a.requires_grad:
            continue
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad.array), f"grad of input {i}"
            continue
        assert a.grad is not None, f"input {i}: torch has a gradient, TinyTorch has none"
        assert_close(a.grad.array, b.grad.numpy(), f"gradient of input {i}", atol, rtol)


def copy_params(tt_module, torch_module, mapping=None) -> None:
    """Load torch_module's parameters into tt_module by name (optionally renamed)."""
    state = {}
    for name, value in torch_module.state_dict().items():
        state[(mapping or {}).get(name, name)] = value.detach().numpy().copy()
    tt_module.load_state_dict(state, strict=False)


def compare_param_grads(tt_module, torch_module, mapping=None, atol=None, rtol=None) -> int:
    """Assert every parameter's gradient matches torch's; return how many were compared."""
    mine = dict(tt_module.named_parameters())
    compared = 0
    for name, param in torch_module.named_parameters():
        target = mine[(mapping or {}).get(name, name)]
        assert target.grad is not None, f"{name}: no TinyTorch gradient"
        assert_close(target.grad.array, param.grad.numpy(), f"gradient of {name}", atol, rtol)
        compared += 1
    return compared
