"""Every op of core saves what its backward reads through the version-checked path.

For each Function (found by walking `Function.__subclasses__()`, so a new op is covered
without being listed) an input factory builds a call; `check_saved_versions` edits each
input and the output in place between forward and backward, and backward must raise
the version error or give exactly the unedited gradients. A new op without a factory
fails here until it gets one.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core.autograd import (
    Function,
    GradcheckError,
    check_saved_versions,
    defined_functions,
)
from tinytorch.core.testing import check_factory_saved_versions

_rng = np.random.default_rng(0)


def leaf(*shape, low=None, high=None):
    """A float64 leaf of distinct values (a roll of it always changes it)."""
    values = _rng.uniform(low, high, shape) if low is not None else _rng.standard_normal(shape)
    return tt.tensor(values, dtype=tt.float64, requires_grad=True)


def ints(*values):
    return tt.tensor(np.array(values, dtype=np.int64))


def mask(*values):
    return tt.tensor(np.array(values, dtype=bool))


# name -> () -> (fn, inputs): each runs the op by its public path
FACTORIES = {
    "Add": lambda: (lambda a, b: a + b, (leaf(2, 3), leaf(3))),
    "Sub": lambda: (lambda a, b: a - b, (leaf(2, 3), leaf(2, 3))),
    "Mul": lambda: (lambda a, b: a * b, (leaf(2, 3), leaf(2, 3))),
    "Div": lambda: (lambda a, b: a / b, (leaf(2, 3), leaf(2, 3, low=1, high=2))),
    "Neg": lambda: (lambda a: -a, (leaf(4),)),
    "PowScalar": lambda: (lambda a: a ** 3, (leaf(4),)),
    "Pow": lambda: (lambda a, b: a ** b, (leaf(5, low=0.5, high=2), leaf(5))),
    "Einsum": lambda: (lambda a, b: tt.einsum("ij,jk->ik", a, b), (leaf(2, 3), leaf(3, 4))),
    "GetItem": lambda: (lambda a, i: a[i], (leaf(5, 2), ints(4, 0, 2, 0))),
    "Where": lambda: (lambda c, a, b: tt.where(c, a, b),
                      (mask(True, False, False, True), leaf(4), leaf(4))),
    "MaskedFill": lambda: (lambda a, m: a.masked_fill(m, 0.0),
                           (leaf(4), mask(True, False, False, True))),
    "Gather": lambda: (lambda a, i: a.gather(1, i),
                       (leaf(2, 3), tt.tensor(np.array([[0, 2], [1, 0]])))),
    "IndexPut": lambda: (_index_put, (leaf(5), ints(3, 0), leaf(2))),
    "IndexAdd": lambda: (lambda a, i, s: a.index_add(0, i, s),
                         (leaf(4, 2), ints(3, 1), leaf(2, 2))),
    "Scatter": lambda: (lambda a, i, s: a.scatter(1, i, s),
                        (leaf(2, 3), tt.tensor(np.array([[2, 0], [1, 2]])), leaf(2, 2))),
    "MatMul": lambda: (lambda a, b: a @ b, (leaf(2, 3), leaf(3, 4))),
    "Linear": lambda: (F.linear, (leaf(2, 3), leaf(4, 3), leaf(4))),
    "CrossEntropy": lambda: (lambda z, y: F.cross_entropy(z, y, reduction="none"),
                             (leaf(3, 4), ints(2, 0, 3))),
    "LayerNorm": lambda: (lambda x, w, b: F.layer_norm(x, (4,), w, b),
                          (leaf(3, 4), leaf(4), leaf(4))),
    "Exp": lambda: (lambda a: a.exp(), (leaf(4),)),
    "Log": lambda: (lambda a: a.log(), (leaf(4, low=0.5, high=2),)),
    "Sqrt": lambda: (lambda a: a.sqrt(), (leaf(4, low=0.5, high=2),)),
    "Abs": lambda: (lambda a: a.abs(), (leaf(4),)),
    "Sin": lambda: (lambda a: a.sin(), (leaf(4),)),
    "Cos": lambda: (lambda a: a.cos(), (leaf(4),)),
    "Clamp": lambda: (lambda a: a.clamp(-0.5, 0.5), (leaf(6),)),
    "Tanh": lambda: (lambda a: a.tanh(), (leaf(4),)),
    "Sigmoid": lambda: (lambda a: a.sigmoid(), (leaf(4),)),
    "ReLU": lambda: (lambda a: a.relu(), (leaf(6),)),
    "LeakyReLU": lambda: (lambda a: F.leaky_relu(a, 0.1), (leaf(6),)),
    "GELU": lambda: (F.gelu, (leaf(6),)),
    "Clone": lambda: (lambda a: a.clone(), (leaf(4),)),
    "Cast": lambda: (lambda a: a.to(tt.float32), (leaf(4),)),
    "Sum": lambda: (lambda a: a.sum(dim=1), (leaf(2, 3),)),
    "Mean": lambda: (lambda a: a.mean(dim=0), (leaf(2, 3),)),
    "Var": lambda: (lambda a: a.var(dim=1), (leaf(2, 3),)),
    "MaxMin": lambda: (lambda a: a.max(), (leaf(5),)),
    "MaxMinDim": lambda: (lambda a: a.max(dim=1)[0], (leaf(2, 3),)),
    "Softmax": lambda: (lambda a: a.softmax(dim=-1), (leaf(2, 3),)),
    "LogSoftmax": lambda: (lambda a: F.log_softmax(a, dim=-1), (leaf(2, 3),)),
    "Reshape": lambda: (lambda a: a.reshape(3, 2), (leaf(2, 3),)),
    "Permute": lambda: (lambda a: a.permute(1, 0), (leaf(2, 3),)),
    "Expand": lambda: (lambda a: a.expand(2, 3), (leaf(1, 3),)),
    "Repeat": lambda: (lambda a: a.repeat(2, 1), (leaf(2, 3),)),
    "Cat": lambda: (lambda a, b: tt.cat([a, b], dim=0), (leaf(2, 3), leaf(1, 3))),
    "Stack": lambda: (lambda a, b: tt.stack([a, b]), (leaf(2, 3), leaf(2, 3))),
}


def _index_put(a, index, value):
    out = a * 1.0  # a non-leaf: in-place writes into it are recorded
    out[index] = value
    return out


CORE_FUNCTIONS = defined_functions("tinytorch.core")


def test_discovery_finds_the_ops():
    assert {"MatMul", "LayerNorm", "Linear", "Softmax"} <= set(CORE_FUNCTIONS)


@pytest.mark.parametrize("name", sorted(CORE_FUNCTIONS))
def test_in_place_edits_after_forward_never_give_a_silent_wrong_gradient(name):
    check_factory_saved_versions(name, CORE_FUNCTIONS, FACTORIES)


def test_editing_a_layernorm_weight_after_forward_is_detected_as_on_linear():
    x, w, b = leaf(3, 4), leaf(4), leaf(4)
    assert 1 in check_saved_versions(lambda x, w, b: F.layer_norm(x, (4,), w, b), (x, w, b))
    x, w, b = leaf(3, 4), leaf(2, 4), leaf(2)
    assert 1 in check_saved_versions(F.linear, (x, w, b))


def test_an_edited_index_tensor_is_detected():
    a, index = leaf(5, 2), ints(4, 0, 2, 0)
    assert 1 in check_saved_versions(lambda a, i: a[i], (a, index))
    assert 1 in check_saved_versions(lambda a, i: a.gather(0, i),
                                     (leaf(3, 2), tt.tensor(np.array([[0, 2], [1, 0]]))))


def test_the_check_catches_an_op_that_keeps_an_input_behind_the_engines_back():
    class Sneaky(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.b = b  # bypasses save_for_backward: no version check
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.b, None

    with pytest.raises(GradcheckError, match="editing input 1 in place"):
        check_saved_versions(Sneaky.apply, (leaf(4), tt.tensor(np.arange(1.0, 5.0))))
