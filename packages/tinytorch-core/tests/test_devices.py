"""Devices and the one namespace: answered as a CPU-only PyTorch build answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinytorch.core as tt
from tinytorch.core import nn


def test_device_objects_match_torch():
    for spec in ("cpu", "cuda", "cuda:1", "mps"):
        mine, theirs = tt.device(spec), torch.device(spec)
        assert (str(mine), mine.type, mine.index) == (str(theirs), theirs.type, theirs.index)
        assert repr(mine) == repr(theirs)
    assert tt.device("cuda", 0) == tt.device("cuda:0") and tt.device("cpu") == "cpu"
    with pytest.raises(RuntimeError, match="device type at start of device string: gpu"):
        tt.device("gpu")


def test_cpu_only_build_answers():
    assert tt.cuda.is_available() is torch.cuda.is_available() is False
    assert tt.cuda.device_count() == 0
    assert tt.accelerator.is_available() is False and tt.accelerator.current_accelerator() is None
    assert tt.backends.mps.is_available() is False
    tt.cuda.manual_seed_all(0)  # accepted and ignored, as in torch
    tt.cuda.manual_seed(0)
    tt.backends.cudnn.benchmark = True
    with pytest.raises(AssertionError, match="CPU only"):
        tt.cuda.synchronize()


def test_tensors_and_modules_move_to_the_cpu_and_refuse_a_gpu():
    device = tt.device("cuda" if tt.cuda.is_available() else "cpu")
    x = tt.randn(2, 3, device=device)
    assert x.device == tt.device("cpu") and str(x.device) == "cpu" and not x.is_cuda
    assert x.to(device) is x and x.to("cpu") is x and x.cpu() is x
    assert x.to("cpu", tt.float64).dtype == np.float64
    assert x.to(device=device, dtype=tt.float64).dtype == np.float64
    assert x.to(tt.zeros(1, dtype=tt.float64)).dtype == np.float64
    assert x.to("cpu", copy=True) is not x
    model = nn.Linear(3, 2)
    weight = model.weight
    assert model.to(device) is model and model.weight is weight
    assert model.to("cpu", tt.float64).weight.dtype == np.float64 and model.weight is weight
    for call in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: model.to("cuda:0"),
                 lambda: model.cuda(), lambda: tt.zeros(3, device="cuda"),
                 lambda: tt.tensor([1.0], device="mps")):
        with pytest.raises(AssertionError, match="CPU only"):
            call()
    with pytest.raises(RuntimeError):  # also a RuntimeError, so either except clause works
        x.to("cuda")
    with pytest.raises(TypeError, match="floating point dtypes"):
        model.to(tt.int64)


@pytest.mark.parametrize("factory", ["zeros", "ones", "empty", "randn", "rand"])
def test_factories_take_device(factory):
    assert getattr(tt, factory)(2, 3, device="cpu").shape == (2, 3)
    assert getattr(tt, factory + "_like")(tt.zeros(4), device="cpu").shape == (4,)


def test_other_factories_take_device():
    cpu = tt.device("cpu")
    assert tt.arange(3, device=cpu).tolist() == [0, 1, 2]
    assert tt.full((2,), 7, device=cpu).tolist() == [7, 7]
    assert tt.eye(2, device=cpu).shape == (2, 2)
    assert tt.linspace(0, 1, 3, device=cpu).shape == (3,)
    assert tt.randint(5, (3,), device=cpu).shape == (3,)
    assert sorted(tt.randperm(4, device=cpu).tolist()) == [0, 1, 2, 3]
    assert tt.tensor([1.0], device=cpu).device == cpu
    assert tt.as_tensor(np.ones(2), device=cpu).dtype == np.float64


def test_one_namespace_like_torch():
    assert tt.nn is nn and tt.nn.functional.relu is not None
    assert tt.optim.SGD is not None and tt.optim.lr_scheduler.StepLR is not None
    assert tt.utils.data.DataLoader is tt.data.DataLoader
    assert tt.utils.data.TensorDataset is tt.data.TensorDataset
    from tinytorch.core.utils.data import DataLoader, random_split
    assert DataLoader is tt.data.DataLoader and random_split is tt.data.random_split
    assert tt.autograd.Function is tt.Function
