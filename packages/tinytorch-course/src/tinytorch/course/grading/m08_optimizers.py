"""Module 08 (Optimizers): SGD with momentum/Nesterov/weight decay, Adam, AdamW, and
what their state costs in memory. Expected values come from the update formulas written
out in numpy here, step by step.

The property-based tests draw parameters of any shape (a scalar too), float32 and float64,
gradients from 1e-3 to 1e3 and 2 to 4 steps; SGD runs without momentum, with momentum,
with dampening and with Nesterov, Adam with any betas, eps, AMSGrad, maximize and L2 or
decoupled decay, each with and without weight decay; every step is compared with the
formulas in float64."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Tensor

from . import as_numpy, check_close, check_dtype, grading_test

GRADS = [np.array([[0.5, -1.0, 2.0]], np.float32), np.array([[0.1, 0.3, -0.2]], np.float32),
         np.array([[-0.4, 0.2, 0.05]], np.float32)]
START = np.array([[1.0, -2.0, 0.5]], np.float32)


def _run(optimizer_cls, steps=3, **kwargs):
    p = Tensor(START.copy(), requires_grad=True)
    opt = optimizer_cls([p], **kwargs)
    for g in GRADS[:steps]:
        p.grad = Tensor(g.copy())
        opt.step()
    return p, opt


def _sgd_reference(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf = START.astype(np.float64), None
    for g in GRADS:
        g = g.astype(np.float64) + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def _adam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False,
                    steps=3):
    p = START.astype(np.float64)
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(GRADS[:steps], start=1):
        g = g.astype(np.float64)
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@grading_test(points=1)
def sgd_plain_step(student):
    """SGD without momentum: p <- p - lr * g."""
    p, _ = _run(student.SGD, steps=1, lr=0.1)
    check_close(p, START - 0.1 * GRADS[0], "p after one SGD(lr=0.1) step")


@grading_test(points=2)
def sgd_momentum(student):
    """SGD with momentum 0.9 over three steps (buffer = g on the first step)."""
    p, opt = _run(student.SGD, lr=0.1, momentum=0.9)
    check_close(p, _sgd_reference(0.1, momentum=0.9), "p after 3 steps of SGD(momentum=0.9)")
    buffer = opt.state[p].get("momentum_buffer")
    assert buffer is not None and buffer.shape == START.shape, \
        "SGD with momentum keeps state['momentum_buffer'] shaped like the parameter"


@grading_test(points=1)
def sgd_nesterov_and_weight_decay(student):
    """SGD with Nesterov momentum and L2 weight decay."""
    p, _ = _run(student.SGD, lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)
    check_close(p, _sgd_reference(0.05, 0.8, weight_decay=0.1, nesterov=True),
                "p after 3 steps of SGD(momentum=0.8, weight_decay=0.1, nesterov=True)")


@grading_test(points=1)
def adam_first_step(student):
    """Adam's first step moves every weight by about lr, whatever the gradient's size
    (bias correction turns m and v back into g and g^2)."""
    p, _ = _run(student.Adam, steps=1, lr=0.01)
    check_close(p, START - 0.01 * np.sign(GRADS[0]), "p after one Adam(lr=0.01) step",
                atol=1e-6)


@grading_test(points=2)
def adam_three_steps(student):
    """Adam over three steps matches the bias-corrected update written out in numpy."""
    p, _ = _run(student.Adam, lr=0.01, betas=(0.8, 0.99))
    check_close(p, _adam_reference(0.01, betas=(0.8, 0.99)), "p after 3 Adam steps")
    p, _ = _run(student.Adam, lr=0.01, weight_decay=0.1)
    check_close(p, _adam_reference(0.01, weight_decay=0.1), "p after 3 Adam steps with L2")


@grading_test(points=1)
def adam_state_is_two_copies(student):
    """Adam keeps exp_avg and exp_avg_sq shaped like the weights: 2x the weight memory."""
    p, opt = _run(student.Adam, steps=2, lr=0.01)
    state = opt.state[p]
    for key in ("exp_avg", "exp_avg_sq"):
        assert key in state and state[key].shape == p.shape, \
            f"Adam's state must hold {key} shaped like the parameter"
        assert state[key].dtype == np.float32, f"{key} should stay float32"
    assert state["step"] == 2, f"state['step'] should count 2 steps, got {state['step']}"
    assert opt.state_bytes() == 2 * p.array.nbytes, \
        f"state_bytes() should be 2 x {p.array.nbytes}, got {opt.state_bytes()}"


@grading_test(points=1)
def adamw_decays_decoupled(student):
    """AdamW shrinks the weights directly (p *= 1 - lr * wd) instead of adding wd * p to g."""
    p, _ = _run(student.AdamW, lr=0.01, weight_decay=0.5)
    check_close(p, _adam_reference(0.01, weight_decay=0.5, decoupled=True),
                "p after 3 AdamW steps")


def _trajectory_cases(h, **hyper):
    st = h.st
    return st.fixed_dictionaries({
        "shape": h.hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4),
        "steps": st.integers(2, 4), "dtype": h.cases.float_dtypes(h),
        "scale": st.sampled_from([1e-3, 1.0, 1e3]), "seed": h.cases.seeds(h),
        "lr": st.sampled_from([0.1, 0.01]), **hyper})


def _trajectory(case):
    rng = np.random.default_rng(case["seed"])
    shape, dtype = tuple(case["shape"]), np.dtype(case["dtype"])
    start = rng.standard_normal(shape).astype(dtype)
    grads = [(rng.standard_normal(shape) * case["scale"]).astype(dtype)
             for _ in range(case["steps"])]
    return start, grads


def _run_steps(optimizer, p, grads):
    """Step through the gradients, yielding a copy of the parameter after every step (the
    optimizer updates it in place)."""
    for step, g in enumerate(grads, start=1):
        p.grad = Tensor(g.copy())
        optimizer.step()
        yield step, np.array(as_numpy(p), copy=True)


SGD_CONFIGS = ((0.0, 0.0, False), (0.9, 0.0, False), (0.5, 0.3, False), (0.9, 0.0, True))


def _sgd_cases(h):
    return _trajectory_cases(h, weight_decay=h.st.sampled_from([0.0, 0.1]))


@grading_test(points=2, cases=_sgd_cases)
def sgd_any_hyperparameters(student, case):
    """SGD step by step for any shape, dtype and gradient size, without momentum, with
    momentum, with dampening and with Nesterov, each with and without weight decay:
    b = g first, then b = m b + (1 - dampening) g; Nesterov steps along g + m b."""
    lr, decay = case["lr"], case["weight_decay"]
    start, grads = _trajectory(case)
    tol = 1e-4 if start.dtype == np.float32 else 1e-9
    for momentum, dampening, nesterov in SGD_CONFIGS:
        p = Tensor(start.copy(), requires_grad=True)
        opt = student.SGD([p], lr=lr, momentum=momentum, dampening=dampening,
                          weight_decay=decay, nesterov=nesterov)
        expected, buf = start.astype(np.float64), None
        label = (f"SGD(lr={lr}, momentum={momentum}, dampening={dampening}, "
                 f"weight_decay={decay}, nesterov={nesterov}) on a {start.shape} "
                 f"{start.dtype} parameter")
        for step, param in _run_steps(opt, p, grads):
            g = grads[step - 1].astype(np.float64) + decay * expected
            if momentum:
                buf = g if buf is None else momentum * buf + (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            expected = expected - lr * g
            check_close(param, expected, f"{label}, after step {step}", rtol=tol,
                        atol=tol * case["scale"] * lr)
        check_dtype(p, start.dtype, f"{label}: the parameter's dtype")


def _adam_cases(h):
    st = h.st
    return _trajectory_cases(h, betas=st.sampled_from([(0.9, 0.999), (0.8, 0.99), (0.5, 0.9)]),
                             eps=st.sampled_from([1e-8, 1e-3]),
                             weight_decay=st.sampled_from([0.0, 0.1]),
                             decoupled=st.booleans(), amsgrad=st.booleans(),
                             maximize=st.booleans())


@grading_test(points=2, cases=_adam_cases)
def adam_any_hyperparameters(student, case):
    """Adam and AdamW step by step for any shape, dtype and gradient size, any betas and
    eps, with AMSGrad and maximize: bias-corrected m and v, L2 or decoupled weight decay."""
    (beta1, beta2), eps, lr = case["betas"], case["eps"], case["lr"]
    decay, decoupled = case["weight_decay"], case["decoupled"]
    start, grads = _trajectory(case)
    p = Tensor(start.copy(), requires_grad=True)
    cls = student.AdamW if decoupled else student.Adam
    opt = cls([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=decay,
              amsgrad=case["amsgrad"], maximize=case["maximize"])
    label = (f"{cls.__name__}(lr={lr}, betas={(beta1, beta2)}, eps={eps}, "
             f"weight_decay={decay}, amsgrad={case['amsgrad']}, maximize={case['maximize']}) "
             f"on a {start.shape} {start.dtype} parameter with gradients ~{case['scale']:g}")
    expected = start.astype(np.float64)
    m, v, v_max = (np.zeros_like(expected) for _ in range(3))
    tol = 1e-4 if start.dtype == np.float32 else 1e-9
    for step, param in _run_steps(opt, p, grads):
        g = grads[step - 1].astype(np.float64) * (-1 if case["maximize"] else 1)
        if decay and decoupled:
            expected = expected * (1 - lr * decay)
        elif decay:
            g = g + decay * expected
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = np.maximum(v_max, v)
        second = v_max if case["amsgrad"] else v
        expected = expected - lr / (1 - beta1 ** step) * m / (
            np.sqrt(second) / np.sqrt(1 - beta2 ** step) + eps)
        check_close(param, expected, f"{label}, after step {step}", rtol=tol, atol=tol * lr)
    check_dtype(p, start.dtype, f"{label}: the parameter's dtype")
