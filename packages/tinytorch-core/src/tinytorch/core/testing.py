"""Testing against PyTorch: run one function in both libraries, compare values and gradients.

    from tinytorch.core.testing import check_op, helper_test_op

    check_op([(3, 4)], lambda a: a.exp(), lambda a: a.exp())            # one set of inputs
    helper_test_op(lambda a, b: a * b, lambda a, b: a * b, num_inputs=2)  # hypothesis-drawn

What it teaches: the reference for every op is PyTorch CPU. A comparison is only worth
something if it covers what breaks ops in practice: shapes that broadcast ((3, 1) with
(4,), a 0-d tensor), both float dtypes, and the backward pass of every input, not just
the forward value. In the spirit of tinygrad's `helper_test_op`, `check_op` builds the
inputs, runs both functions, compares every output, pushes the same random upstream
gradient through both and compares every input's gradient; `helper_test_op` does that on
shapes and dtypes that hypothesis draws (and shrinks to the smallest failing case).

Systems lesson: float32 and float64 need different tolerances. float32 carries ~7
significant digits, so two correct implementations that sum in a different order differ
by ~1e-6 relative; float64 comparisons can be ~1e-10 tight, which is why gradient checks
run in float64.

Every package's tests import this module (a test helper shipped in core, so no package
reaches into another's tests). torch and hypothesis are imported inside the functions:
tinytorch.core never needs them at run time; its `[test]` extra declares them.
"""

from __future__ import annotations

import numpy as np

from . import autograd
from .tensor import Tensor

DTYPES = (np.float32, np.float64)
TOLERANCES = {np.float32: (1e-5, 1e-4), np.float64: (1e-10, 1e-7)}  # (atol, rtol)


def tolerances(dtype, atol=None, rtol=None) -> tuple[float, float]:
    """The (atol, rtol) for `dtype`: explicit values win over TOLERANCES (exact otherwise)."""
    default_atol, default_rtol = TOLERANCES.get(np.dtype(dtype).type, (0.0, 0.0))
    return (default_atol if atol is None else atol, default_rtol if rtol is None else rtol)


def to_torch(x: np.ndarray, requires_grad: bool = False):
    """A torch tensor holding a copy of `x` (only floating tensors can require grad)."""
    import torch

    t = torch.from_numpy(np.array(x, copy=True))
    return t.requires_grad_(requires_grad) if t.is_floating_point() else t


def assert_close(mine, theirs, what: str, atol=None, rtol=None) -> None:
    """Same shape, same dtype, values within the dtype's tolerances."""
    mine, theirs = np.asarray(mine), np.asarray(theirs)
    assert mine.shape == theirs.shape, f"{what}: shape {mine.shape} != torch {theirs.shape}"
    assert mine.dtype == theirs.dtype, f"{what}: dtype {mine.dtype} != torch {theirs.dtype}"
    atol, rtol = tolerances(mine.dtype, atol, rtol)
    np.testing.assert_allclose(mine, theirs, atol=atol, rtol=rtol, err_msg=what)


def _outputs(result) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def check_op(shapes, tt_fn, torch_fn, dtype=np.float32, low=-2.0, high=2.0, seed=0,
             arrays=None, grad=True, atol=None, rtol=None):
    """Compare `tt_fn(*inputs)` with `torch_fn(*inputs)`: every output, then every input's
    gradient under the same random upstream gradient. Returns TinyTorch's output.

    Inputs: `arrays` as given (a None entry is passed to both functions as None), else
    uniform in [low, high) of the given `shapes` and `dtype`. Tolerances: `atol`/`rtol`,
    else TOLERANCES for the inputs' dtype (the first floating array's, else `dtype`).
    """
    import torch

    rng = np.random.default_rng(seed)
    if arrays is None:
        arrays = [rng.uniform(low, high, size=s).astype(dtype) for s in shapes]
    floating = [a.dtype for a in arrays if a is not None and a.dtype.kind == "f"]
    atol, rtol = tolerances(floating[0] if floating else dtype, atol, rtol)

    def wants_grad(a):
        return grad and a.dtype.kind == "f"

    tt_inputs = [None if a is None else Tensor(a.copy(), requires_grad=wants_grad(a))
                 for a in arrays]
    torch_inputs = [None if a is None else to_torch(a, wants_grad(a)) for a in arrays]
    result = tt_fn(*tt_inputs)
    tt_out, torch_out = _outputs(result), _outputs(torch_fn(*torch_inputs))
    assert len(tt_out) == len(torch_out), \
        f"{len(tt_out)} outputs, torch has {len(torch_out)}"
    for i, (mine, theirs) in enumerate(zip(tt_out, torch_out)):
        what = "forward" if len(tt_out) == 1 else f"forward output {i}"
        assert_close(mine.array, theirs.detach().numpy(), what, atol, rtol)
    if not grad:
        return result

    tt_total, torch_total = None, None
    for mine, theirs in zip(tt_out, torch_out):
        if not (mine.requires_grad and theirs.requires_grad):
            continue
        upstream = rng.standard_normal(mine.shape).astype(mine.dtype)
        tt_term = (mine * Tensor(upstream)).sum()
        torch_term = (theirs * torch.from_numpy(upstream)).sum()
        tt_total = tt_term if tt_total is None else tt_total + tt_term
        torch_total = torch_term if torch_total is None else torch_total + torch_term
    assert tt_total is not None, "no differentiable output to check"
    tt_total.backward()
    torch_total.backward()
    for i, (mine, theirs) in enumerate(zip(tt_inputs, torch_inputs)):
        if mine is None or not mine.requires_grad:
            continue
        if theirs.grad is None:
            assert mine.grad is None or not np.any(mine.grad.array), f"grad of input {i}"
            continue
        assert mine.grad is not None, f"input {i}: torch has a gradient, TinyTorch has none"
        assert_close(mine.grad.array, theirs.grad.numpy(), f"gradient of input {i}", atol, rtol)
    return result


def helper_test_op(tt_fn, torch_fn, num_inputs=1, broadcast=True, dtypes=DTYPES,
                   low=-2.0, high=2.0, min_dims=0, max_dims=4, max_side=4, max_examples=25,
                   grad=True, atol=None, rtol=None):
    """`check_op` on hypothesis-drawn inputs: shapes that broadcast against each other
    (`broadcast=True`; else all inputs share one shape), each dtype of `dtypes`, values
    uniform in [low, high) (a (low, high) pair per input when `low`/`high` are lists).

    Call it from a plain test function: it runs the whole hypothesis search itself and
    raises on the (shrunk) first failing example.
    """
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    lows = list(low) if isinstance(low, (list, tuple)) else [low] * num_inputs
    highs = list(high) if isinstance(high, (list, tuple)) else [high] * num_inputs
    if broadcast:
        shapes = hnp.mutually_broadcastable_shapes(
            num_shapes=num_inputs, min_dims=min_dims, max_dims=max_dims, max_side=max_side
        ).map(lambda drawn: drawn.input_shapes)
    else:
        shapes = hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side
                                  ).map(lambda shape: (shape,) * num_inputs)

    @settings(max_examples=max_examples, deadline=None, database=None)
    @given(shapes=shapes, dtype=st.sampled_from(list(dtypes)), seed=st.integers(0, 2**16))
    def run(shapes, dtype, seed):
        rng = np.random.default_rng(seed)
        arrays = [rng.uniform(lo, hi, size=shape).astype(dtype)
                  for shape, lo, hi in zip(shapes, lows, highs)]
        check_op(None, tt_fn, torch_fn, arrays=arrays, seed=seed, grad=grad, atol=atol,
                 rtol=rtol)

    run()


def check_gradcheck(shapes, fn, low=-2.0, high=2.0, seed=0, arrays=None) -> bool:
    """float64 central differences against autograd for `fn` (TinyTorch only)."""
    rng = np.random.default_rng(seed)
    if arrays is None:
        arrays = [rng.uniform(low, high, size=s) for s in shapes]
    inputs = [Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert autograd.gradcheck(fn, inputs, seed=seed)
    return True


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


def check_factory_saved_versions(name: str, functions: dict, factories: dict) -> None:
    """The saved-versions test of one op of a package: its factory's call runs the op, and
    in-place edits of any input after forward give the version error or the unedited
    gradients (`autograd.check_saved_versions`), never a silent wrong gradient.

    `functions`: name -> Function class (`autograd.defined_functions(package)`);
    `factories`: name -> () -> (fn, inputs). An op without a factory fails, by name.
    """
    assert name in factories, f"no input factory for {name}: add one to FACTORIES"
    fn, inputs = factories[name]()
    ran = []
    with autograd.register_op_hook(lambda event: ran.append(event.function)):
        autograd.check_saved_versions(fn, inputs)
    assert functions[name] in ran, f"the factory of {name} does not run {name}"
