"""RMSprop, Adagrad and Adadelta against torch.optim on identical parameters and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_optim import DTYPES, assert_params_match, run_side_by_side, tolerances

import tinytorch.core as tt
from tinytorch.core import optim

CASES = [
    ("RMSprop", {}, ["square_avg"]),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}, ["square_avg"]),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}, ["square_avg", "momentum_buffer"]),
    ("RMSprop", {"lr": 0.01, "centered": True, "weight_decay": 0.1},
     ["square_avg", "grad_avg"]),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5, "maximize": True},
     ["square_avg", "grad_avg", "momentum_buffer"]),
    ("Adagrad", {}, ["sum"]),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.05}, ["sum"]),
    ("Adagrad", {"lr": 0.05, "initial_accumulator_value": 0.1, "eps": 1e-8,
                 "maximize": True}, ["sum"]),
    ("Adadelta", {}, ["square_avg", "acc_delta"]),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1},
     ["square_avg", "acc_delta"]),
    ("Adadelta", {"lr": 1.0, "maximize": True}, ["square_avg", "acc_delta"]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, config, keys", CASES)
def test_adaptive_optimizers_match_torch(name, config, keys, dtype):
    ours, theirs, opt, topt = run_side_by_side(getattr(optim, name), getattr(torch.optim, name),
                                               config, dtype)
    assert_params_match(ours, theirs, dtype)
    for p, tp in zip(ours, theirs):
        state, tstate = opt.state[p], topt.state[tp]
        assert state["step"] == int(tstate["step"].item()) == 8
        for key in keys:
            np.testing.assert_allclose(state[key], tstate[key].numpy(), **tolerances(dtype))


@pytest.mark.parametrize("name, kwargs, message", [
    ("RMSprop", {"lr": -1.0}, "Invalid learning rate"),
    ("RMSprop", {"alpha": -0.1}, "Invalid alpha value"),
    ("Adagrad", {"lr_decay": -1}, "Invalid lr_decay"),
    ("Adadelta", {"rho": 1.5}, "Invalid rho value"),
])
def test_bad_hyperparameters_are_refused(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        getattr(optim, name)([tt.zeros(2, requires_grad=True)], **kwargs)
