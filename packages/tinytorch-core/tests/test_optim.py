"""Optimizers (SGD, Adam, AdamW) against torch.optim on identical parameters and gradients."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core import Tensor, nn, no_grad, optim

DTYPES = [np.float32, np.float64]
SHAPES = [(6, 5), (5,), ()]


def tolerances(dtype) -> dict:
    """Both libraries round each elementwise op once, but torch fuses some (a + alpha*b)."""
    return {"rtol": 2e-5, "atol": 2e-6} if dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-12}


def random_problem(shapes, dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    start = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return start, grads


def make_params(arrays):
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return ours, theirs


def apply_grads(ours, theirs, grads):
    for p, tp, g in zip(ours, theirs, grads):
        p.grad = Tensor(g.copy())
        tp.grad = torch.from_numpy(g.copy())


def run_side_by_side(ours_cls, torch_cls, kwargs, dtype, steps=8, shapes=SHAPES, seed=0):
    start, grads = random_problem(shapes, dtype, steps, seed)
    ours, theirs = make_params(start)
    opt = ours_cls(ours, **kwargs)
    topt = torch_cls(theirs, foreach=False, **kwargs)
    for step_grads in grads:
        apply_grads(ours, theirs, step_grads)
        opt.step()
        topt.step()
    return ours, theirs, opt, topt


def assert_params_match(ours, theirs, dtype):
    for p, tp in zip(ours, theirs):
        assert p.dtype == dtype
        np.testing.assert_allclose(p.array, tp.detach().numpy(), **tolerances(dtype))


# ---------------------------------------------------------------- update rules vs torch

SGD_CONFIGS = [
    {"lr": 0.1},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.8, "dampening": 0.3},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.02, "momentum": 0.9, "weight_decay": 0.1},
    {"lr": 0.02, "momentum": 0.5, "nesterov": True, "weight_decay": 0.05, "maximize": True},
    {"lr": 0.1, "weight_decay": 0.2, "maximize": True},
]

ADAM_CONFIGS = [
    {},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "amsgrad": True},
    {"lr": 0.02, "maximize": True},
    {"lr": 0.005, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05, "maximize": True},
]

ADAMW_CONFIGS = [
    {},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "amsgrad": True, "maximize": True},
    {"lr": 0.003, "betas": (0.5, 0.9), "eps": 1e-4, "weight_decay": 0.0},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", SGD_CONFIGS)
def test_sgd_matches_torch(config, dtype):
    ours, theirs, opt, topt = run_side_by_side(optim.SGD, torch.optim.SGD, config, dtype)
    assert_params_match(ours, theirs, dtype)
    if config.get("momentum", 0):
        for p, tp in zip(ours, theirs):
            np.testing.assert_allclose(opt.state[p]["momentum_buffer"],
                                       topt.state[tp]["momentum_buffer"].numpy(),
                                       **tolerances(dtype))
    else:
        assert len(opt.state) == 0  # plain SGD keeps no state


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", ADAM_CONFIGS)
def test_adam_matches_torch(config, dtype):
    ours, theirs, opt, topt = run_side_by_side(optim.Adam, torch.optim.Adam, config, dtype)
    assert_params_match(ours, theirs, dtype)
    for p, tp in zip(ours, theirs):
        state, tstate = opt.state[p], topt.state[tp]
        assert state["step"] == int(tstate["step"].item()) == 8
        keys = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if config.get("amsgrad") else [])
        assert sorted(k for k in state if k != "step") == sorted(keys)
        for key in keys:
            np.testing.assert_allclose(state[key], tstate[key].numpy(), **tolerances(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", ADAMW_CONFIGS)
def test_adamw_matches_torch(config, dtype):
    ours, theirs, _, _ = run_side_by_side(optim.AdamW, torch.optim.AdamW, config, dtype)
    assert_params_match(ours, theirs, dtype)


def test_adamw_differs_from_adam_with_weight_decay():
    """Decoupled decay is a different rule, not a renaming: the results must differ."""
    config = {"lr": 0.01, "weight_decay": 0.5}
    adam, _, _, _ = run_side_by_side(optim.Adam, torch.optim.Adam, config, np.float64)
    adamw, _, _, _ = run_side_by_side(optim.AdamW, torch.optim.AdamW, config, np.float64)
    assert not np.allclose(adam[0].array, adamw[0].array, rtol=1e-6, atol=0)


def test_adam_decoupled_weight_decay_flag_is_adamw():
    config = {"lr": 0.01, "weight_decay": 0.1}
    start, grads = random_problem(SHAPES, np.float64, 5)
    a = [Tensor(x.copy(), requires_grad=True) for x in start]
    b = [Tensor(x.copy(), requires_grad=True) for x in start]
    opt_a = optim.Adam(a, decoupled_weight_decay=True, **config)
    opt_b = optim.AdamW(b, **config)
    for step_grads in grads:
        for p, q, g in zip(a, b, step_grads):
            p.grad, q.grad = Tensor(g.copy()), Tensor(g.copy())
        opt_a.step()
        opt_b.step()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.array, q.array)


def test_first_adam_step_moves_each_weight_by_lr():
    """Bias correction at t=1 turns m/sqrt(v) into g/|g|: every weight moves by exactly lr."""
    p = Tensor(np.zeros(4), requires_grad=True)
    p.grad = Tensor(np.array([3.0, -0.001, 250.0, -7.0]))
    optim.Adam([p], lr=0.1, eps=0.0).step()
    np.testing.assert_allclose(p.array, [-0.1, 0.1, -0.1, 0.1], rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    shapes=st.lists(st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
                    min_size=1, max_size=3),
    lr=st.floats(1e-4, 0.5),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.3]),
    nesterov=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sgd_random_shapes_match_torch(shapes, lr, momentum, weight_decay, nesterov, seed):
    config = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
              "nesterov": nesterov and momentum > 0}
    ours, theirs, _, _ = run_side_by_side(optim.SGD, torch.optim.SGD, config, np.float64,
                                          steps=5, shapes=shapes, seed=seed)
    assert_params_match(ours, theirs, np.float64)


@settings(max_examples=25, deadline=None)
@given(
    shapes=st.lists(st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
                    min_size=1, max_size=3),
    lr=st.floats(1e-4, 0.1),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.5, 0.9999),
    amsgrad=st.booleans(),
    decoupled=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_adam_random_shapes_match_torch(shapes, lr, beta1, beta2, amsgrad, decoupled, dtype,
                                        seed):
    config = {"lr": lr, "betas": (beta1, beta2), "amsgrad": amsgrad, "weight_decay": 0.01}
    ours_cls, torch_cls = ((optim.AdamW, torch.optim.AdamW) if decoupled
                           else (optim.Adam, torch.optim.Adam))
    ours, theirs, _, _ = run_side_by_side(ours_cls, torch_cls, config, dtype, steps=5,
                                          shapes=shapes, seed=seed)
    assert_params_match(ours, theirs, dtype)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_gradients_from_a_quadratic_loss_match_torch(name):
    """Each library computes its own loss and backward; 10 steps down a random quadratic."""
    rng = np.random.default_rng(3)
    curvature = rng.uniform(0.5, 3.0, (4, 3))
    centre = rng.standard_normal((4, 3))
    start = rng.standard_normal((4, 3))
    p, tp = Tensor(start.copy(), requires_grad=True), torch.tensor(start.copy(),
                                                                   requires_grad=True)
    config = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05, "amsgrad": True}
    opt = getattr(optim, name)([p], **config)
    topt = getattr(torch.optim, name)([tp], foreach=False, **config)
    a, c = Tensor(curvature), Tensor(centre)
    ta, tc = torch.from_numpy(curvature), torch.from_numpy(centre)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        topt.zero_grad()
        loss = (a * (p - c) * (p - c)).sum()
        tloss = (ta * (tp - tc) * (tp - tc)).sum()
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
        losses.append(loss.item())
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    np.testing.assert_allclose(p.array, tp.detach().numpy(), rtol=1e-11, atol=1e-12)
    assert losses[-1] < losses[0]


# ---------------------------------------------------------------- parameter groups


def _grouped(params, lrs_and_extra):
    return [{"params": [p], **extra} for p, extra in zip(params, lrs_and_extra)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_param_groups_with_their_own_hyperparameters_match_torch(dtype):
    start, grads = random_problem(SHAPES, dtype, 6)
    ours, theirs = make_params(start)
    groups = [{"lr": 0.1}, {"lr": 0.01, "momentum": 0.5}, {"weight_decay": 0.2}]
    opt = optim.SGD(_grouped(ours, groups), lr=0.03, momentum=0.9)
    topt = torch.optim.SGD(_grouped(theirs, groups), lr=0.03, momentum=0.9, foreach=False)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01, 0.03]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.5, 0.9]
    for step_grads in grads:
        apply_grads(ours, theirs, step_grads)
        opt.step()
        topt.step()
    assert_params_match(ours, theirs, dtype)


def test_add_param_group_later_matches_torch():
    start, grads = random_problem(SHAPES, np.float64, 6)
    ours, theirs = make_params(start)
    opt = optim.Adam(ours[:1], lr=0.01)
    topt = torch.optim.Adam(theirs[:1], lr=0.01, foreach=False)
    for i, step_grads in enumerate(grads):
        if i == 2:  # e.g. unfreezing the rest of a network part-way through training
            opt.add_param_group({"params": ours[1:], "lr": 0.05, "amsgrad": True})
            topt.add_param_group({"params": theirs[1:], "lr": 0.05, "amsgrad": True})
        apply_grads(ours, theirs, step_grads)
        opt.step()
        topt.step()
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)  # defaults filled in
    assert_params_match(ours, theirs, np.float64)


def test_module_parameters_generator_and_frozen_parameters():
    """`SGD(model.parameters())` with a frozen layer works as in PyTorch: no grad, no update."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)
    frozen = model[0].weight.array.copy()
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert sum(len(g["params"]) for g in opt.param_groups) == 4
    before = model[2].weight.array.copy()
    model(Tensor(np.ones((5, 3), dtype=np.float32))).sum().backward()
    opt.step()
    np.testing.assert_array_equal(model[0].weight.array, frozen)
    assert not np.array_equal(model[2].weight.array, before)
    assert model[0].weight not in opt.state


# ---------------------------------------------------------------- step mechanics


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1, maximize=True, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.1, maximize=True),
], ids=["SGD", "Adam", "AdamW"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_step_updates_in_place_keeps_dtype_and_leaves_grad_alone(make, dtype):
    p = Tensor(np.linspace(-1, 1, 12).reshape(3, 4).astype(dtype), requires_grad=True)
    p.grad = Tensor(np.full((3, 4), 0.5, dtype=dtype))
    grad_before = p.grad.array.copy()
    data = p.array
    opt = make([p])
    for _ in range(3):
        opt.step()
    assert p.array is data  # updated in place: views and references stay valid
    assert p.dtype == dtype
    assert all(v.dtype == dtype for v in opt.state[p].values() if isinstance(v, np.ndarray))
    np.testing.assert_array_equal(p.grad.array, grad_before)  # maximize/decay never touch grad
    assert p.grad_fn is None and p.requires_grad and p._version == 0


def test_parameters_without_grad_are_skipped():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    a.grad = Tensor(np.ones(3))
    opt = optim.Adam([a, b], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(b.array, np.ones(3))
    assert b not in opt.state and a in opt.state


def test_zero_grad_set_to_none_and_to_zeros():
    p = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = Tensor(np.ones(3, dtype=np.float32))
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad
    np.testing.assert_array_equal(p.grad.array, np.zeros(3))
    opt.zero_grad()
    assert p.grad is None
    opt.zero_grad()  # no gradient at all: nothing to do, no error


def test_step_with_closure_returns_loss_and_records_graph_inside():
    p = Tensor(np.array([2.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with no_grad():  # the closure must still be able to build a graph
        loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(p.array, [2.0 - 0.25 * 4.0])


def test_step_under_no_grad_builds_no_graph():
    p = Tensor(np.ones(3), requires_grad=True)
    p.grad = Tensor(np.ones(3))
    optim.Adam([p]).step()
    assert p.is_leaf and p.grad_fn is None


@pytest.mark.parametrize("make, copies", [
    (lambda ps: optim.SGD(ps, lr=0.1), 0),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), 1),
    (lambda ps: optim.Adam(ps), 2),
    (lambda ps: optim.AdamW(ps, amsgrad=True), 3),
], ids=["SGD", "SGD-momentum", "Adam", "AdamW-amsgrad"])
def test_state_bytes_counts_the_extra_copies_of_the_weights(make, copies):
    params = [Tensor(np.ones((10, 20), dtype=np.float32), requires_grad=True),
              Tensor(np.ones(20, dtype=np.float32), requires_grad=True)]
    for p in params:
        p.grad = Tensor(np.ones(p.shape, dtype=np.float32))
    opt = make(params)
    assert opt.state_bytes() == 0  # state is created lazily, on the first step
    opt.step()
    assert opt.state_bytes() == copies * sum(p.nbytes for p in params) == copies * 880


def test_repr_lists_each_group():
    p = Tensor(np.ones(2), requires_grad=True)
    text = repr(optim.SGD([p], lr=0.5, momentum=0.9))
    assert text.startswith("SGD (") and "Parameter Group 0" in text
    assert "lr: 0.5" in text and "momentum: 0.9" in text


def test_base_optimizer_without_update_rule_says_what_is_missing():
    class Incomplete(optim.Optimizer):
        pass

    p = Tensor(np.ones(2), requires_grad=True)
    p.grad = Tensor(np.ones(2))
    with pytest.raises(NotImplementedError, match="Incomplete must implement _update"):
        Incomplete([p], {"lr": 0.1}).step()


def test_custom_optimizer_needs_only_the_update_rule():
    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        def _update(self, param, grad, state, group):
            param -= group["lr"] * np.sign(grad)

    p = Tensor(np.zeros(3), requires_grad=True)
    p.grad = Tensor(np.array([5.0, -0.1, 0.0]))
    SignSGD([p], lr=0.5).step()
    np.testing.assert_array_equal(p.array, [-0.5, 0.5, 0.0])


# ---------------------------------------------------------------- state_dict


@pytest.mark.parametrize("ours_cls, torch_cls, config", [
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    (optim.AdamW, torch.optim.AdamW, {"lr": 0.01}),
], ids=["SGD", "Adam", "AdamW"])
def test_state_dict_round_trip_continues_exactly(ours_cls, torch_cls, config):
    start, grads = random_problem(SHAPES, np.float32, 8)
    params = [Tensor(a.copy(), requires_grad=True) for a in start]
    groups = [{"params": params[:2]}, {"params": params[2:], "lr": 0.003}]
    opt = ours_cls(groups, **config)

    def step(opt, params, step_grads):
        for p, g in zip(params, step_grads):
            p.grad = Tensor(g.copy())
        opt.step()

    for step_grads in grads[:4]:
        step(opt, params, step_grads)
    saved = pickle.loads(pickle.dumps(opt.state_dict()))  # as if written to disk
    resumed_params = [Tensor(p.array.copy(), requires_grad=True) for p in params]
    resumed = ours_cls([{"params": resumed_params[:2]}, {"params": resumed_params[2:]}],
                       lr=0.5)  # wrong lr on purpose: loading must restore 0.003 / config's
    resumed.load_state_dict(saved)
    assert [g["lr"] for g in resumed.param_groups] == [config["lr"], 0.003]
    for step_grads in grads[4:]:
        step(opt, params, step_grads)
        step(resumed, resumed_params, step_grads)
    for p, q in zip(params, resumed_params):
        np.testing.assert_array_equal(p.array, q.array)
    # the layout and names of the state are PyTorch's
    tparams = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    tgroups = [{"params": tparams[:2]}, {"params": tparams[2:], "lr": 0.003}]
    topt = torch_cls(tgroups, **config)
    for tp in tparams:
        tp.grad = torch.ones_like(tp)
    topt.step()
    tsd, sd = topt.state_dict(), opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert [g["params"] for g in tsd["param_groups"]] == [[0, 1], [2]]
    assert sd["state"].keys() == tsd["state"].keys()
    assert all(sd["state"][i].keys() == tsd["state"][i].keys() for i in sd["state"])
    for group, tgroup in zip(sd["param_groups"], tsd["param_groups"]):
        assert set(group) - {"decoupled_weight_decay"} <= set(tgroup)
        assert all(group[k] == tgroup[k] for k in group if k != "params")


def test_loaded_state_is_a_copy_and_takes_the_parameter_dtype():
    p = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    p.grad = Tensor(np.ones(3, dtype=np.float32))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    saved = copy.deepcopy(opt.state_dict())
    saved["state"][0]["momentum_buffer"] = saved["state"][0]["momentum_buffer"].astype(np.float64)
    q = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    other = optim.SGD([q], lr=0.1, momentum=0.9)
    other.load_state_dict(saved)
    buf = other.state[q]["momentum_buffer"]
    assert buf.dtype == np.float32
    assert buf is not saved["state"][0]["momentum_buffer"]


def test_state_dict_shares_arrays_like_pytorch():
    p = Tensor(np.ones(3), requires_grad=True)
    p.grad = Tensor(np.ones(3))
    opt = optim.Adam([p])
    opt.step()
    assert opt.state_dict()["state"][0]["exp_avg"] is opt.state[p]["exp_avg"]
    assert opt.state_dict()["state"][0]["step"] == 1


def _stepped_sgd(shapes, groups=1):
    params = [Tensor(np.ones(s), requires_grad=True) for s in shapes]
    for p in params:
        p.grad = Tensor(np.ones(p.shape))
    if groups == 2:
        opt = optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1, momentum=0.9)
    else:
        opt = optim.SGD(params, lr=0.1, momentum=0.9)
    opt.step()
    return opt


def test_load_state_dict_rejects_a_different_number_of_groups():
    saved = _stepped_sgd([(2,), (3,)], groups=2).state_dict()
    with pytest.raises(ValueError, match=r"different number of parameter groups \(2\).*\(1\)"):
        _stepped_sgd([(2,), (3,)]).load_state_dict(saved)


def test_load_state_dict_rejects_groups_of_a_different_size():
    saved = _stepped_sgd([(2,), (3,)]).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size.*group 0 has 2 parameters"):
        _stepped_sgd([(2,)]).load_state_dict(saved)


def test_load_state_dict_rejects_state_of_the_wrong_shape():
    saved = _stepped_sgd([(2,), (3,)]).state_dict()
    with pytest.raises(ValueError, match=r"'momentum_buffer' has shape \(2,\).*shape \(4,\)"):
        _stepped_sgd([(4,), (3,)]).load_state_dict(saved)


def test_load_state_dict_rejects_unknown_indices_and_bad_dicts():
    opt = _stepped_sgd([(2,)])
    saved = opt.state_dict()
    saved["state"][7] = saved["state"][0]
    with pytest.raises(ValueError, match="refers to parameter 7"):
        opt.load_state_dict(saved)
    with pytest.raises(ValueError, match="expected a dict with keys 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_load_state_dict_validates_loaded_hyperparameters():
    opt = _stepped_sgd([(2,)])
    saved = copy.deepcopy(opt.state_dict())
    saved["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.1  # a failed load changes nothing


# ---------------------------------------------------------------- bad input


def _param():
    return Tensor(np.ones(2), requires_grad=True)


@pytest.mark.parametrize("make, error, message", [
    (lambda: optim.SGD([_param()], lr=-0.1), ValueError, r"SGD: Invalid learning rate: -0\.1"),
    (lambda: optim.SGD([_param()], momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (lambda: optim.SGD([_param()], weight_decay=-1), ValueError, "Invalid weight_decay value"),
    (lambda: optim.SGD([_param()], nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda: optim.SGD([_param()], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "dampening=0.1"),
    (lambda: optim.SGD([_param()], lr="fast"), TypeError, "lr.*real number, got str|real number"),
    (lambda: optim.SGD([_param()], lr=float("nan")), ValueError, "Invalid learning rate: nan"),
    (lambda: optim.Adam([_param()], lr=-1e-3), ValueError, "Adam: Invalid learning rate"),
    (lambda: optim.Adam([_param()], betas=(1.0, 0.999)), ValueError,
     r"Invalid beta parameter at index 0: 1\.0 \(expected a value in \[0\.0, 1\.0\)\)"),
    (lambda: optim.Adam([_param()], betas=(0.9, -0.1)), ValueError,
     "Invalid beta parameter at index 1: -0.1"),
    (lambda: optim.Adam([_param()], betas=(0.9,)), ValueError, "betas must be a pair"),
    (lambda: optim.Adam([_param()], eps=-1e-8), ValueError, "Invalid epsilon value"),
    (lambda: optim.AdamW([_param()], weight_decay=-0.01), ValueError,
     "AdamW: Invalid weight_decay value: -0.01"),
    (lambda: optim.SGD([], lr=0.1), ValueError, "SGD: optimizer got an empty parameter list"),
    (lambda: optim.SGD(_param()), TypeError, "iterable of Tensors or dicts.*single Tensor"),
    (lambda: optim.SGD({_param()}), TypeError, "ordered collections"),
    (lambda: optim.SGD([np.ones(2)]), TypeError, "can only optimize Tensors.*ndarray"),
    (lambda: optim.SGD([Tensor(np.arange(3))]), TypeError, "floating point.*int64"),
    (lambda: optim.SGD([_param() * 2]), ValueError, "can't optimize a non-leaf Tensor"),
    (lambda: optim.SGD([{"lr": 0.1}]), ValueError, "the group has no 'params' entry"),
    (lambda: optim.SGD([{"params": [_param()], "lr": -2.0}]), ValueError,
     "Invalid learning rate: -2.0"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_bad_input_is_reported(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_parameter_in_two_groups_or_twice_in_one_is_rejected():
    p = _param()
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="same parameter twice"):
        optim.Adam([p, p])
    opt = optim.SGD([p])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": p})
    with pytest.raises(TypeError, match="add_param_group: param_group must be a dict"):
        opt.add_param_group([p])


def test_a_gradient_that_does_not_fit_its_parameter_is_reported():
    p = _param()
    p.grad = Tensor(np.ones(3))
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*gradient of shape \(3,\)"):
        optim.SGD([p], lr=0.1).step()
    p.grad = Tensor(np.ones(2, dtype=np.float32))
    with pytest.raises(RuntimeError, match="dtype float64 has a gradient.*float32"):
        optim.Adam([p]).step()
