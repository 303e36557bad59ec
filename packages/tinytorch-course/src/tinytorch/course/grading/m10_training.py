"""Module 10 (Training): cross-entropy (forward and gradient), MSE, accuracy and
gradient clipping."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor

from . import check_close, check_raises, grading_test


def _logits(n=4, c=5, seed=0, scale=2.0):
    return (scale * np.random.default_rng(seed).standard_normal((n, c))).astype(np.float64)


def _one_hot(labels, c):
    return np.eye(c)[labels]


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _ce_cases(h, large=False):
    st = h.st
    return st.fixed_dictionaries({
        "n": st.integers(1, 6), "c": st.integers(2, 7), "seed": h.cases.seeds(h),
        "dtype": h.cases.float_dtypes(h),
        "scale": st.sampled_from([100.0, 1000.0] if large else [0.5, 2.0, 5.0]),
        "shift": st.sampled_from([-1e4, 0.0, 1e3, 1e4]) if large else st.just(0.0),
        "soft": st.booleans()})


def _ce_inputs(case):
    rng = np.random.default_rng(case["seed"])
    n, c = case["n"], case["c"]
    z = (rng.standard_normal((n, c)) * case["scale"] + case["shift"]).astype(case["dtype"])
    if case["soft"]:  # soft targets (label smoothing): rows of q sum to 1
        q = rng.random((n, c))
        q /= q.sum(axis=1, keepdims=True)
    else:
        q = _one_hot(rng.integers(0, c, n), c)
    return z, q.astype(case["dtype"])


@grading_test(points=2, cases=_ce_cases)
def cross_entropy_forward(student, case):
    """CrossEntropy gives -sum_c q_c log softmax(z)_c per sample: any batch and class count,
    hard and soft targets, float32 and float64."""
    z, q = _ce_inputs(case)
    out = student.CrossEntropy.apply(Tensor(z), q)
    check_close(out, -(q * _log_softmax(z.astype(np.float64))).sum(axis=1),
                f"per-sample cross-entropy of {z.shape} {z.dtype} logits", rtol=1e-4,
                atol=1e-5)


@grading_test(points=1, cases=lambda h: _ce_cases(h, large=True))
def cross_entropy_is_stable(student, case):
    """Logits of magnitude up to 10^4 give a finite, exact loss (no exp overflow)."""
    z, q = _ce_inputs(case)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = student.CrossEntropy.apply(Tensor(z), q)
    check_close(out, -(q * _log_softmax(z.astype(np.float64))).sum(axis=1),
                f"cross-entropy of logits around {case['shift']:g} (scale {case['scale']:g})",
                rtol=1e-4, atol=1e-3)


@grading_test(points=2, cases=_ce_cases)
def cross_entropy_gradient(student, case):
    """The gradient with respect to the logits is (softmax(z) sum(q) - q) per unit of loss."""
    z, q = _ce_inputs(case)
    logits = Tensor(z, requires_grad=True)
    weights = np.random.default_rng(case["seed"] + 1).standard_normal(z.shape[0]) \
        .astype(z.dtype)
    (student.CrossEntropy.apply(logits, q) * Tensor(weights)).sum().backward()
    probs = np.exp(_log_softmax(z.astype(np.float64)))
    expected = (probs * q.sum(axis=1, keepdims=True) - q) * weights[:, None]
    check_close(logits.grad, expected, f"d loss / d logits of {z.shape} {z.dtype}",
                rtol=1e-4, atol=1e-5)


@grading_test(points=1)
def mse_loss_reductions(student):
    """mse_loss: mean, sum and none reductions of (input - target)^2."""
    a = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32)
    check_close(student.mse_loss(Tensor(a), Tensor(b)), ((a - b) ** 2).mean(), "mse mean")
    check_close(student.mse_loss(Tensor(a), Tensor(b), "sum"), ((a - b) ** 2).sum(), "mse sum",
                rtol=1e-5)
    check_close(student.mse_loss(Tensor(a), Tensor(b), "none"), (a - b) ** 2, "mse none")


@grading_test(points=1)
def accuracy_top1(student):
    """accuracy: fraction of samples whose largest logit is the target class."""
    scores = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])
    labels = np.array([1, 0, 0, 1])
    got = student.accuracy(Tensor(scores), Tensor(labels))
    assert abs(got - 0.5) < 1e-12, f"accuracy should be 0.5 (2 of 4 right), got {got}"


@grading_test(points=1)
def accuracy_top_k(student):
    """top-k accuracy counts a sample when fewer than k classes score above the target."""
    scores = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])
    labels = np.array([0, 0, 0, 2])
    got = student.accuracy(Tensor(scores), Tensor(labels), top_k=2)
    assert abs(got - 0.5) < 1e-12, f"top-2 accuracy should be 0.5, got {got}"


@grading_test(points=2)
def clip_grad_norm_scales_together(student):
    """clip_grad_norm_ returns the total L2 norm and rescales all gradients to max_norm."""
    a = Tensor(np.zeros(2, np.float32), requires_grad=True)
    b = Tensor(np.zeros(1, np.float32), requires_grad=True)
    a.grad, b.grad = Tensor(np.array([3.0, 0.0], np.float32)), Tensor(np.array([4.0], np.float32))
    total = student.clip_grad_norm_([a, b], max_norm=1.0)
    check_close(total, 5.0, "returned total norm")
    check_close(a.grad, [0.6, 0.0], "a.grad after clipping to norm 1", atol=1e-5)
    check_close(b.grad, [0.8], "b.grad after clipping to norm 1", atol=1e-5)
    a.grad = Tensor(np.array([0.3, 0.4], np.float32))
    b.grad = None
    check_close(student.clip_grad_norm_([a, b], max_norm=1.0), 0.5, "norm of a small gradient")
    check_close(a.grad, [0.3, 0.4], "a gradient under max_norm is left alone")
    check_raises(RuntimeError, lambda: _nonfinite(student), "a NaN gradient with "
                 "error_if_nonfinite=True", "non-finite")


def _nonfinite(student):
    p = Tensor(np.zeros(1, np.float32), requires_grad=True)
    p.grad = Tensor(np.array([np.nan], np.float32))
    student.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
