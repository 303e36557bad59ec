"""build_cnn / save_model / load_model, and a whole CNN step against PyTorch."""


import numpy as np
import pytest
import torch

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core.serialization.damage import damaged_copies
from tinytorch.vision import models

CONFIG = {"stages": [[4, 1], [8, 2]], "hidden": 16, "image_size": 8}


def torch_twin(config):
    """The same architecture in PyTorch, layer for layer (so state_dict names match)."""
    cfg = models.full_config(config)
    layers, channels = [], cfg["in_channels"]
    for width, convs in cfg["stages"]:
        for _ in range(convs):
            layers += [torch.nn.Conv2d(channels, width, 3, padding=1, bias=False),
                       torch.nn.BatchNorm2d(width), torch.nn.ReLU()]
            channels = width
        layers.append(torch.nn.MaxPool2d(2))
    side = cfg["image_size"] // 2 ** len(cfg["stages"])
    layers += [torch.nn.Flatten(), torch.nn.Linear(channels * side * side, cfg["hidden"]),
               torch.nn.ReLU(), torch.nn.Linear(cfg["hidden"], cfg["num_classes"])]
    return torch.nn.Sequential(*layers)


def test_cnn_training_step_matches_torch():
    tt.manual_seed(0)
    mine = models.build_cnn(CONFIG)
    theirs = torch_twin(CONFIG)
    theirs.load_state_dict({k: torch.from_numpy(v.array.copy())
                            for k, v in mine.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 6)
    loss = F.cross_entropy(mine(tt.tensor(x)), tt.tensor(y), label_smoothing=0.1)
    expected = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)),
                                                 torch.from_numpy(y), label_smoothing=0.1)
    loss.backward()
    expected.backward()
    assert abs(loss.item() - expected.item()) < 1e-5
    for (name, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.array, q.grad.numpy(), atol=1e-5, rtol=1e-4,
                                   err_msg=name)
    for (name, b), (_, c) in zip(mine.named_buffers(), theirs.named_buffers()):
        np.testing.assert_allclose(b.array, c.numpy(), atol=1e-6, err_msg=name)


def test_describe_counts_parameters_and_flops():
    facts = models.describe(CONFIG)
    model = models.build_cnn(CONFIG)
    assert facts["parameters"] == sum(p.numel() for p in model.parameters())
    flops = 2 * (8 * 8 * 27 * 4 + 4 * 4 * 36 * 8 + 4 * 4 * 72 * 8)
    assert facts["conv_mflops_per_image"] == pytest.approx(flops / 1e6)


def test_save_and_load_round_trip(tmp_path):
    tt.manual_seed(1)
    model = models.build_cnn(CONFIG)
    model(tt.randn(4, 3, 8, 8))  # move the BatchNorm running statistics off their init
    model.eval()
    x = tt.randn(2, 3, 8, 8)
    expected = model(x).array
    models.save_model(model, CONFIG, tmp_path / "run", extra={"test_accuracy": 0.5})
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["model.safetensors"]
    loaded, info = models.load_model(tmp_path / "run")
    np.testing.assert_array_equal(loaded(x).array, expected)
    assert not loaded.training
    assert info["test_accuracy"] == 0.5 and info["config"]["stages"] == [[4, 1], [8, 2]]
    assert info["architecture"] == "tinytorch.vision.models.build_cnn"


def test_a_damaged_saved_model_is_refused_naming_the_file(tmp_path):
    models.save_model(models.build_cnn(CONFIG), CONFIG, tmp_path)
    path = tmp_path / "model.safetensors"
    good = path.read_bytes()
    for damaged in damaged_copies(good, seed=3, flips=100, cuts=20):
        path.write_bytes(damaged)
        with pytest.raises(ValueError, match="model.safetensors"):
            models.load_model(tmp_path)


def test_avgpool_head_and_dropout():
    model = models.build_cnn({"stages": [[4, 1]], "head": "avgpool", "dropout": 0.1,
                              "image_size": 8})
    assert model(tt.randn(2, 3, 8, 8)).shape == (2, 10)


def test_bad_configs_and_missing_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="needs 'stages'"):
        models.build_cnn({})
    with pytest.raises(ValueError, match="must be positive"):
        models.build_cnn({"stages": [[0, 1]]})
    with pytest.raises(ValueError, match="cannot be halved"):
        models.build_cnn({"stages": [[4, 1]] * 3, "image_size": 12})
    with pytest.raises(ValueError, match="head must be"):
        models.build_cnn({"stages": [[4, 1]], "head": "max"})
    with pytest.raises(FileNotFoundError, match="missing"):
        models.load_model(tmp_path)
