"""Architecture specs and checkpoints: models rebuilt from JSON, optimizer state resumed."""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import pytest
from conftest import make_cnn, make_mlp, require

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import nn, no_grad, optim
from tinytorch.core.serialization import SerializationError, architecture
from tinytorch.mlops import (
    ArchitectureError,
    build_model,
    load_model,
    load_optimizer,
    save_model,
    save_optimizer,
    spec_of,
)


def same_outputs(a, b, x):
    with no_grad():
        np.testing.assert_array_equal(a.eval()(x).array, b.eval()(x).array)


def test_spec_is_json_and_rebuilds_the_same_structure():
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(approximate="tanh"), nn.Dropout(0.25),
                          nn.LayerNorm(8), nn.LeakyReLU(0.2), nn.Linear(8, 2, bias=False))
    spec = json.loads(json.dumps(spec_of(model)))
    rebuilt = build_model(spec)
    assert [type(m) for m in rebuilt] == [type(m) for m in model]
    assert rebuilt[1].approximate == "tanh" and rebuilt[2].p == 0.25
    assert rebuilt[4].negative_slope == 0.2 and rebuilt[5].bias is None


def test_named_sequential_keeps_its_names():
    model = nn.Sequential(OrderedDict(encoder=nn.Linear(3, 5), act=nn.Tanh(), head=nn.Linear(5, 2)))
    rebuilt = build_model(spec_of(model))
    assert list(rebuilt.state_dict()) == list(model.state_dict())


def test_save_and_load_model_gives_identical_outputs(tmp_path):
    model = make_mlp()
    size = save_model(model, tmp_path / "m.safetensors", info={"note": "hi"})
    assert size == (tmp_path / "m.safetensors").stat().st_size
    loaded, info = load_model(tmp_path / "m.safetensors", return_info=True)
    same_outputs(model, loaded, tt.randn(5, 8))
    assert info == {"note": "hi"}


def test_cnn_round_trip(tmp_path):
    vnn = require("tinytorch.vision.nn")
    model = make_cnn(vnn)
    save_model(model, tmp_path / "cnn.safetensors")
    loaded = load_model(tmp_path / "cnn.safetensors")
    same_outputs(model, loaded, tt.randn(3, 3, 8, 8))
    np.testing.assert_array_equal(loaded[1].running_var.array, model[1].running_var.array)


def test_tinygpt_round_trip_keeps_config_and_tied_weights(tmp_path):
    language = require("tinytorch.language.gpt")
    model = language.TinyGPT(30, 16, 2, 2, 24, tie_weights=True, positional="sinusoidal")
    save_model(model, tmp_path / "gpt.safetensors")
    loaded = load_model(tmp_path / "gpt.safetensors")
    assert loaded.lm_head.weight is loaded.token_embedding.weight
    assert loaded.config == model.config
    same_outputs(model, loaded, tt.tensor(np.arange(10).reshape(2, 5)))


def test_spec_refuses_classes_outside_tinytorch():
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(ArchitectureError, match="not a buildable TinyTorch layer"):
        spec_of(nn.Sequential(nn.Linear(2, 2), Custom()))


def test_build_refuses_to_import_arbitrary_modules():
    for path in ("os.system", "subprocess.Popen", "builtins.eval",
                 "tinytorch.core.tensor.Tensor", "tinytorch.core.nn.Module"):
        with pytest.raises(ArchitectureError, match="not a buildable TinyTorch layer"):
            build_model({"class": path, "config": {}})


def test_build_never_imports_the_module_a_spec_names():
    """Importing `tinytorch.core.cli.__main__` would run the tito CLI with our argv."""
    import sys

    sys.modules.pop("tinytorch.core.cli.__main__", None)
    for path in ("tinytorch.core.cli.__main__.Anything", "tinytorch.core.cli.__main__.main"):
        with pytest.raises(ArchitectureError, match="not a buildable"):
            build_model({"class": path, "config": {}})
    assert "tinytorch.core.cli.__main__" not in sys.modules


def test_build_names_a_missing_package(monkeypatch):
    kept = {p: c for p, c in architecture.buildable_classes().items()
            if not p.startswith("tinytorch.vision.")}
    monkeypatch.setattr(architecture, "_BUILDABLE", kept)
    with pytest.raises(ArchitectureError, match="pip install tinytorch-vision"):
        build_model({"class": "tinytorch.vision.nn.conv.Conv2d", "config": {}})


def test_load_model_of_weights_only_file_explains(tmp_path):
    tt.save(make_mlp().state_dict(), tmp_path / "w.safetensors")
    with pytest.raises(SerializationError, match="holds weights only"):
        load_model(tmp_path / "w.safetensors")


def _train(model, optimizer, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = tt.tensor(rng.standard_normal((16, 8)).astype(np.float32))
        y = tt.tensor(rng.integers(0, 3, 16))
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("make_optimizer", [
    lambda p: optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), amsgrad=True),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1),
])
def test_resuming_from_a_checkpoint_matches_uninterrupted_training(tmp_path, make_optimizer):
    model = make_mlp()
    optimizer = make_optimizer(model.parameters())
    _train(model, optimizer, 3, seed=1)
    save_model(model, tmp_path / "m.safetensors")
    save_optimizer(optimizer, tmp_path / "o.safetensors")
    _train(model, optimizer, 3, seed=2)  # uninterrupted

    resumed = load_model(tmp_path / "m.safetensors").train()
    resumed_optimizer = load_optimizer(make_optimizer(resumed.parameters()),
                                       tmp_path / "o.safetensors")
    _train(resumed, resumed_optimizer, 3, seed=2)
    for a, b in zip(model.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.array, b.array)


def test_optimizer_state_of_another_class_is_refused(tmp_path):
    model = make_mlp()
    save_optimizer(optim.SGD(model.parameters(), lr=0.1), tmp_path / "o.safetensors")
    with pytest.raises(ValueError, match="holds the state of a .*SGD"):
        load_optimizer(optim.Adam(model.parameters()), tmp_path / "o.safetensors")
    with pytest.raises(SerializationError, match="not an optimizer checkpoint"):
        save_model(model, tmp_path / "m.safetensors")
        load_optimizer(optim.SGD(model.parameters(), lr=0.1), tmp_path / "m.safetensors")
