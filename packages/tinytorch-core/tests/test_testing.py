"""tinytorch.core.testing: the one torch-comparison helper every package's tests use.
A helper that cannot fail proves nothing, so these tests make it fail on purpose."""

import subprocess
import sys

import numpy as np
import pytest

from tinytorch.core.testing import TOLERANCES, check_op, helper_test_op, tolerances


def test_a_correct_op_passes_and_returns_tinytorch_output():
    out = check_op([(3, 4)], lambda a: a.exp(), lambda a: a.exp())
    assert out.shape == (3, 4)


def test_a_wrong_forward_value_fails():
    with pytest.raises(AssertionError, match="forward"):
        check_op([(3, 4)], lambda a: a * 2.001, lambda a: a * 2)


def test_a_wrong_gradient_fails_even_when_values_agree():
    # a * a.detach() has the value of a * a but the gradient a instead of 2a
    with pytest.raises(AssertionError, match="gradient of input 0"):
        check_op([(5,)], lambda a: a * a.detach(), lambda a: a * a, low=0.5)


def test_a_dtype_difference_fails():
    with pytest.raises(AssertionError, match="dtype"):
        check_op([(2, 2)], lambda a: a.double(), lambda a: a)


def test_every_output_is_compared():
    with pytest.raises(AssertionError, match="forward output 1"):
        check_op([(4,)], lambda a: (a + 1, a * 3), lambda a: (a + 1, a * 2))


def test_tolerances_follow_the_dtype_and_can_be_overridden():
    assert tolerances(np.float64) == TOLERANCES[np.float64]
    assert tolerances(np.int64) == (0.0, 0.0)
    assert tolerances(np.float32, atol=0.0) == (0.0, TOLERANCES[np.float32][1])


def test_helper_draws_broadcasting_shapes_and_both_dtypes():
    seen = []

    def mul(a, b):
        seen.append((a.shape, b.shape, a.dtype))
        return a * b

    helper_test_op(mul, lambda a, b: a * b, num_inputs=2, max_examples=40)
    assert {str(dtype) for _, _, dtype in seen} == {"float32", "float64"}
    assert any(a != b for a, b, _ in seen), "no pair of different (broadcasting) shapes"
    assert any(a == () or b == () for a, b, _ in seen), "no 0-d input"


def test_helper_finds_a_wrong_gradient():
    with pytest.raises(AssertionError, match="gradient"):
        helper_test_op(lambda a: a * a.detach(), lambda a: a * a, low=0.5, max_examples=10)


def test_importing_the_helper_does_not_import_torch():
    code = ("import sys, tinytorch.core.testing; "
            "assert 'torch' not in sys.modules and 'hypothesis' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
