"""Learning-rate schedulers against torch.optim.lr_scheduler, step by step."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core import Tensor, optim
from tinytorch.core.optim import lr_scheduler as sched

LRS = [0.1, 0.02]


def optimizers(kind="SGD", lrs=LRS, **kwargs):
    """One of ours and one of torch's, each with a parameter group per learning rate."""
    ours = getattr(optim, kind)(
        [{"params": [Tensor(np.zeros(1), requires_grad=True)], "lr": lr} for lr in lrs],
        **kwargs)
    theirs = getattr(torch.optim, kind)(
        [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs], **kwargs)
    return ours, theirs


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def assert_same_schedule(build, steps, kind="SGD", lrs=LRS, check_momentum=False, **opt_kwargs):
    """`build(module, optimizer)` makes a scheduler from either library; compare every step."""
    ours, theirs = optimizers(kind, lrs, **opt_kwargs)
    ours_sched, torch_sched = build(sched, ours), build(torch.optim.lr_scheduler, theirs)
    scale = max(lrs)
    for step in range(steps + 1):
        if step > 0:
            theirs.step()  # torch warns unless optimizer.step() comes first
            ours.step()
            ours_sched.step()
            torch_sched.step()
        expected = torch_sched.get_last_lr()
        assert ours_sched.get_last_lr() == pytest.approx(expected, rel=1e-12, abs=1e-15 * scale), \
            f"step {step}"
        assert [g["lr"] for g in ours.param_groups] == ours_sched.get_last_lr()
        if check_momentum:
            assert momenta(ours) == pytest.approx(momenta(theirs), rel=1e-12), f"step {step}"


SCHEDULES = {
    "StepLR": (lambda m, o: m.StepLR(o, step_size=7, gamma=0.5), 40),
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3), 40),
    "MultiStepLR-unsorted": (lambda m, o: m.MultiStepLR(o, milestones=[20, 3], gamma=0.5), 30),
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.93), 60),
    "CosineAnnealingLR": (lambda m, o: m.CosineAnnealingLR(o, T_max=50), 50),
    "CosineAnnealingLR-past-T_max": (
        lambda m, o: m.CosineAnnealingLR(o, T_max=20, eta_min=1e-3), 75),
    "LinearLR-warmup": (lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=10), 30),
    "LinearLR-decay": (
        lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=25), 40),
    "LambdaLR": (lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e + 0.01 * (e % 3)), 40),
    "LambdaLR-per-group": (
        lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 1 / (1 + e), lambda e: e // 10]), 40),
    "SequentialLR-warmup-cosine": (
        lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.01, total_iters=5),
                                        m.CosineAnnealingLR(o, T_max=45, eta_min=1e-4)],
                                    milestones=[5]), 60),
    "SequentialLR-three": (
        lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.5, total_iters=4),
                                        m.ExponentialLR(o, gamma=0.9),
                                        m.StepLR(o, step_size=3, gamma=0.5)],
                                    milestones=[6, 20]), 40),
    "OneCycleLR-cos": (lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=50), 50),
    "OneCycleLR-linear-per-group": (
        lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.05], epochs=4, steps_per_epoch=10,
                                  anneal_strategy="linear", pct_start=0.25), 40),
    "OneCycleLR-three-phase": (
        lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=60, three_phase=True,
                                  div_factor=10.0, final_div_factor=100.0), 60),
    "OneCycleLR-no-momentum": (
        lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=30, cycle_momentum=False), 30),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_matches_torch(name):
    build, steps = SCHEDULES[name]
    assert_same_schedule(build, steps, check_momentum=name.startswith("OneCycleLR"),
                         momentum=0.9)


def test_one_cycle_cycles_adams_beta1_like_torch():
    build = lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=40,  # noqa: E731
                                      base_momentum=[0.8, 0.85], max_momentum=0.97)
    assert_same_schedule(build, 40, kind="Adam", check_momentum=True)


def test_one_cycle_momentum_goes_down_while_lr_goes_up():
    opt, _ = optimizers(momentum=0.9)
    scheduler = sched.OneCycleLR(opt, max_lr=1.0, total_steps=20, pct_start=0.5)
    lrs, moms = [], []
    for _ in range(20):
        lrs.append(scheduler.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        scheduler.step()
    peak = int(np.argmax(lrs))
    assert lrs[0] == pytest.approx(1.0 / 25) and lrs[peak] == pytest.approx(1.0)
    assert int(np.argmin(moms)) == peak
    assert moms[0] == pytest.approx(0.95) and moms[peak] == pytest.approx(0.85)


def test_one_cycle_refuses_to_step_past_total_steps():
    opt, _ = optimizers()
    scheduler = sched.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    for _ in range(5):
        scheduler.step()  # total_steps more steps after construction are allowed, as in torch
    with pytest.raises(ValueError, match="Tried to step 6 times.*total steps is 5"):
        scheduler.step()


@settings(max_examples=25, deadline=None)
@given(total_steps=st.integers(3, 80), pct_start=st.floats(0.05, 0.95),
       three_phase=st.booleans(), anneal=st.sampled_from(["cos", "linear"]),
       max_lr=st.floats(1e-3, 10.0))
def test_one_cycle_random_settings_match_torch(total_steps, pct_start, three_phase, anneal,
                                               max_lr):
    phase_ends = [pct_start * total_steps - 1, 2 * pct_start * total_steps - 2, 0.0]
    if any(end == 0.0 for end in phase_ends[:2]) or (three_phase and pct_start > 0.5):
        return  # zero-length or backwards phases: torch divides by zero / overlaps phases
    build = lambda m, o: m.OneCycleLR(o, max_lr=max_lr, total_steps=total_steps,  # noqa: E731
                                      pct_start=pct_start, three_phase=three_phase,
                                      anneal_strategy=anneal)
    assert_same_schedule(build, total_steps, check_momentum=True, momentum=0.9)


@settings(max_examples=25, deadline=None)
@given(T_max=st.integers(1, 40), eta_min=st.floats(0.0, 0.01), steps=st.integers(1, 100))
def test_cosine_random_settings_match_torch(T_max, eta_min, steps):
    build = lambda m, o: m.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min)  # noqa: E731
    assert_same_schedule(build, steps)


def test_scheduler_writes_the_rate_the_optimizer_uses():
    p = Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    scheduler = sched.StepLR(opt, step_size=1, gamma=0.5)
    for expected_move in (1.0, 0.5, 0.25):
        before = p.array.copy()
        p.grad = Tensor(np.ones(1))
        opt.step()
        scheduler.step()
        np.testing.assert_allclose(before - p.array, [expected_move])


def test_get_last_lr_is_a_copy():
    opt, _ = optimizers()
    scheduler = sched.ExponentialLR(opt, gamma=0.5)
    scheduler.get_last_lr()[0] = 123.0
    assert scheduler.get_last_lr() == LRS


def test_step_with_an_explicit_epoch_jumps_there():
    opt, _ = optimizers()
    scheduler = sched.StepLR(opt, step_size=10, gamma=0.1)
    scheduler.step(25)
    assert scheduler.last_epoch == 25
    assert scheduler.get_last_lr() == pytest.approx([0.1 * 0.01, 0.02 * 0.01])


# ---------------------------------------------------------------- state_dict


class Halving:
    """A callable object: unlike a lambda, LambdaLR can save its attributes."""

    def __init__(self, every):
        self.every = every

    def __call__(self, epoch):
        return 0.5 ** (epoch // self.every)


RESUMABLE = {
    "StepLR": lambda o: sched.StepLR(o, step_size=4, gamma=0.5),
    "CosineAnnealingLR": lambda o: sched.CosineAnnealingLR(o, T_max=15, eta_min=1e-3),
    "LambdaLR-callable": lambda o: sched.LambdaLR(o, Halving(every=3)),
    "SequentialLR": lambda o: sched.SequentialLR(
        o, [sched.LinearLR(o, start_factor=0.2, total_iters=3),
            sched.CosineAnnealingLR(o, T_max=20)], milestones=[3]),
    "OneCycleLR": lambda o: sched.OneCycleLR(o, max_lr=0.5, total_steps=25),
}


@pytest.mark.parametrize("name", RESUMABLE)
def test_state_dict_round_trip_resumes_the_schedule(name):
    build = RESUMABLE[name]
    opt, _ = optimizers(momentum=0.9)
    scheduler = build(opt)
    for _ in range(6):
        opt.step()
        scheduler.step()
    saved_opt = pickle.loads(pickle.dumps(opt.state_dict()))
    saved_sched = pickle.loads(pickle.dumps(scheduler.state_dict()))
    if name == "LambdaLR-callable":
        assert saved_sched["lr_lambdas"] == [{"every": 3}, {"every": 3}]

    new_opt, _ = optimizers(momentum=0.9)
    new_scheduler = build(new_opt)  # as PyTorch advises: scheduler first, then the optimizer
    new_opt.load_state_dict(saved_opt)
    new_scheduler.load_state_dict(saved_sched)
    for _ in range(15):
        opt.step()
        new_opt.step()
        scheduler.step()
        new_scheduler.step()
        assert new_scheduler.get_last_lr() == scheduler.get_last_lr()
        assert momenta(new_opt) == momenta(opt)


def test_lambda_functions_are_not_saved():
    opt, _ = optimizers()
    state = sched.LambdaLR(opt, lambda e: 1.0).state_dict()
    assert state["lr_lambdas"] == [None, None]
    assert "optimizer" not in state


def test_resuming_with_last_epoch_needs_initial_lr():
    opt, _ = optimizers()
    with pytest.raises(KeyError, match=r"'initial_lr' is not specified in param_groups\[0\]"):
        sched.StepLR(opt, step_size=3, last_epoch=5)
    sched.StepLR(opt, step_size=3)  # a fresh scheduler records initial_lr ...
    resumed = sched.StepLR(opt, step_size=3, gamma=0.5, last_epoch=5)  # ... so this works
    assert resumed.last_epoch == 6
    assert resumed.get_last_lr() == pytest.approx([0.1 * 0.25, 0.02 * 0.25])


# ---------------------------------------------------------------- bad input


class NoMomentum(optim.Optimizer):
    def __init__(self, params):
        super().__init__(params, {"lr": 0.1})

    def _update(self, param, grad, state, group):
        param -= group["lr"] * grad


def _opt():
    return optimizers()[0]


@pytest.mark.parametrize("make, error, message", [
    (lambda: sched.StepLR(torch.optim.SGD([torch.zeros(1)]), 3), TypeError,
     "StepLR: expected a tinytorch Optimizer, got SGD"),
    (lambda: sched.StepLR(_opt(), step_size=0), ValueError, "positive integer step_size"),
    (lambda: sched.StepLR(_opt(), step_size=2, gamma="x"), TypeError, "gamma must be a real"),
    (lambda: sched.CosineAnnealingLR(_opt(), T_max=0), ValueError, "positive integer T_max"),
    (lambda: sched.LinearLR(_opt(), start_factor=0.0), ValueError,
     "Starting multiplicative factor.*start_factor=0.0"),
    (lambda: sched.LinearLR(_opt(), start_factor=1.5), ValueError, "Starting multiplicative"),
    (lambda: sched.LinearLR(_opt(), end_factor=1.5), ValueError, "Ending multiplicative"),
    (lambda: sched.MultiStepLR(_opt(), milestones=[2.5]), TypeError, "milestones must be int"),
    (lambda: sched.LambdaLR(_opt(), [lambda e: 1.0]), ValueError,
     "lr_lambda must have the same length as optimizer.param_groups.*1 values.*has 2"),
    (lambda: sched.LambdaLR(_opt(), 0.5), TypeError, "lr_lambda should be a function"),
    (lambda: sched.OneCycleLR(_opt(), max_lr=0.1), ValueError,
     "either total_steps OR \\(epochs AND steps_per_epoch\\)"),
    (lambda: sched.OneCycleLR(_opt(), max_lr=0.1, total_steps=-3), ValueError,
     "positive integer total_steps, but got -3"),
    (lambda: sched.OneCycleLR(_opt(), max_lr=0.1, epochs=2, steps_per_epoch=0), ValueError,
     "positive integer steps_per_epoch"),
    (lambda: sched.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
     "between 0 and 1 pct_start, but got 1.5"),
    (lambda: sched.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     ValueError, "anneal_strategy must be one of 'cos' or 'linear'"),
    (lambda: sched.OneCycleLR(_opt(), max_lr=[0.1], total_steps=10), ValueError,
     "max_lr must have the same length"),
    (lambda: sched.OneCycleLR(_opt(), max_lr=0.1, total_steps=4, pct_start=0.25), ValueError,
     "phase 0 of the schedule would last zero steps"),
    (lambda: sched.OneCycleLR(NoMomentum([Tensor(np.zeros(1), requires_grad=True)]),
                              max_lr=0.1, total_steps=10), ValueError,
     "must support momentum or beta1.*NoMomentum has neither"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_bad_input_is_reported(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_sequential_lr_checks_its_schedulers():
    opt, other = _opt(), _opt()
    a, b = sched.StepLR(opt, 2), sched.ExponentialLR(opt, 0.9)
    with pytest.raises(ValueError, match="at least one scheduler"):
        sched.SequentialLR(opt, [], milestones=[])
    with pytest.raises(ValueError, match="one more than the number of milestone.*schedulers 2"):
        sched.SequentialLR(opt, [a, b], milestones=[3, 6])
    with pytest.raises(ValueError, match="same optimizer.*ExponentialLR at index 1"):
        sched.SequentialLR(other, [sched.StepLR(other, 2), b], milestones=[3])
    with pytest.raises(TypeError, match="scheduler at index 1 is a str"):
        sched.SequentialLR(opt, [a, "cosine"], milestones=[3])


def test_a_scheduler_without_get_lr_says_so():
    class NoRule(sched.LRScheduler):
        pass

    with pytest.raises(NotImplementedError, match="NoRule must implement get_lr"):
        NoRule(_opt())
