"""Files written by an attacker, or damaged by a careless user: every one is refused with an
error naming the file, before anything is built, allocated or imported.

Hostile authors can compute checksums, so these files carry *valid* SHA-256 digests
(`encode` writes one): the defences under test are the checks behind the checksum."""

from __future__ import annotations

import json
import struct
import sys
import tracemalloc

import numpy as np
import pytest

import tinytorch.core as tt
from tinytorch.core import nn, optim
from tinytorch.core.serialization import (
    ArchitectureError,
    SerializationError,
    buildable_classes,
    load_model,
    save_model,
)
from tinytorch.core.serialization.damage import damaged_copies
from tinytorch.core.serialization.model_file import ARCHITECTURE_KEY, decode_model
from tinytorch.core.serialization.safetensors import encode, load_bytes
from tinytorch.core.serialization.state_shapes import knows_state_shapes, state_shapes_of
from tinytorch.core.training import load_checkpoint, save_checkpoint


def small_model():
    tt.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def with_spec(spec: dict, tensors=None) -> bytes:
    """A model file whose architecture is `spec` (weights of a tiny Linear(2, 2))."""
    tensors = tensors or {"weight": np.ones((2, 2), np.float32)}
    tree = {"dict": [[name, {"tensor": name}] for name in tensors]}
    return encode(tensors, {"format": "tinytorch/1", "tinytorch.tree": json.dumps(tree),
                            ARCHITECTURE_KEY: json.dumps(spec), "tinytorch.info": "{}"})


def test_a_tiny_file_claiming_a_huge_layer_is_refused_before_allocating(tmp_path):
    data = with_spec({"class": "tinytorch.core.nn.layers.Linear",
                      "config": {"in_features": 16000, "out_features": 16000}})
    path = tmp_path / "bomb.safetensors"
    path.write_bytes(data)
    assert len(data) < 500  # the file was 272 bytes; ours carries a 64-digit digest too
    save_model(small_model(), tmp_path / "ok.safetensors")
    load_model(tmp_path / "ok.safetensors")  # the first load imports the packages' layer lists
    tracemalloc.start()
    try:
        with pytest.raises(ArchitectureError, match="bomb.safetensors.*16000 exceeds"):
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # Linear(16000, 16000) would be 1 GB


def test_many_small_layers_cannot_outgrow_the_file():
    layer = {"class": "tinytorch.core.nn.layers.Linear",
             "config": {"in_features": 64, "out_features": 64}}
    data = with_spec({"class": "tinytorch.core.nn.container.Sequential",
                      "children": [layer] * 1000})
    # the spec's shapes are summed before any layer is built
    with pytest.raises(ArchitectureError, match=r"Sequential of 1000 layers\) describes "
                                                r"4,160,000 weights \(16.6 MB as float32\) in "
                                                "2,000 tensors but the weight file holds 4 in 1 "
                                                "tensors"):
        decode_model(data, "many.safetensors")


@pytest.mark.parametrize("path", [
    "tinytorch.core.cli.__main__.main", "tinytorch.core.cli.__main__.X", "os.system",
    "builtins.eval", "tinytorch.core.tensor.Tensor", "subprocess.Popen",
])
def test_a_spec_naming_any_module_imports_nothing(path):
    sys.modules.pop("tinytorch.core.cli.__main__", None)
    with pytest.raises(ArchitectureError, match="not a buildable"):
        decode_model(with_spec({"class": path, "config": {}}), "evil.safetensors")
    assert "tinytorch.core.cli.__main__" not in sys.modules


@pytest.mark.parametrize("spec, message", [
    ({"class": "tinytorch.core.nn.container.Sequential", "children": "abc"}, "must be a list"),
    ({"class": "tinytorch.core.nn.layers.Linear", "children": []}, "not a container"),
    ({"class": "tinytorch.core.nn.layers.Linear", "config": []}, "must be an object"),
    ({"class": "tinytorch.core.nn.layers.Linear", "config": {"in_features": "2",
                                                            "out_features": 2}}, "failed"),
    ({"class": 3}, "'class' string"),
    ({"no": "class"}, "'class' string"),
])
def test_malformed_specs_are_explained(spec, message):
    with pytest.raises(ArchitectureError, match=message):
        decode_model(with_spec(spec), "bad.safetensors")


def test_a_spec_nested_too_deep_is_refused_without_recursing():
    spec = "[" * 100_000 + "]" * 100_000
    data = encode({"w": np.ones(1, np.float32)},
                  {"format": "tinytorch/1", "tinytorch.tree": '{"dict": []}',
                   ARCHITECTURE_KEY: spec})
    with pytest.raises(SerializationError, match="nests deeper"):
        decode_model(data, "deep.safetensors")


def raw_file(header: dict | bytes, data: bytes = b"") -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.mark.parametrize("data, message", [
    (struct.pack("<Q", 2**63) + b"{}", "header claims"),
    (raw_file(b"[" * 200_000 + b"]" * 200_000), "nests 200000 levels"),
    (raw_file({"x": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 4]}}),
     "invalid shape|needs"),
    (raw_file({"x": {"dtype": "F32", "shape": [2**31, 2**31, 2**31],
                     "data_offsets": [0, 4]}}, b"\0" * 4), "needs 39614081257132168796771975168"),
    (raw_file({"x": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}), "invalid shape"),
    (raw_file({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 2**70]}}),
     "needs 4 bytes"),
    (raw_file({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}), "truncated"),
    (raw_file({"x": {"dtype": "O", "shape": [1], "data_offsets": [0, 8]}}), "unknown dtype"),
    (raw_file({"__metadata__": {"format": "tinytorch/1"}}), "no tinytorch.sha256"),
])
def test_hostile_safetensors_headers_get_clear_errors(data, message):
    with pytest.raises(SerializationError, match=message):
        load_bytes(data, "hostile.safetensors")


# ---------------------------------------------------------------- damage of every file kind
def test_every_damaged_standalone_model_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    save_model(small_model(), path)
    good = path.read_bytes()
    tried = 0
    for damaged in damaged_copies(good, seed=1):
        path.write_bytes(damaged)
        with pytest.raises(SerializationError, match="model.safetensors"):
            load_model(path)
        tried += 1
    assert tried == 360


def test_every_damaged_trainer_checkpoint_is_refused(tmp_path):
    model = small_model()
    opt = optim.Adam(model.parameters())
    model(tt.randn(2, 4)).sum().backward()
    opt.step()
    path = tmp_path / "best.ckpt"
    save_checkpoint(path, model, opt, epoch=3)
    good = path.read_bytes()
    for damaged in damaged_copies(good, seed=2):
        path.write_bytes(damaged)
        with pytest.raises(SerializationError, match="best.ckpt"):
            load_checkpoint(path, small_model(), optim.Adam(small_model().parameters()))
    path.write_bytes(good)
    assert load_checkpoint(path, small_model())["epoch"] == 3


@pytest.mark.parametrize("cls, args, kwargs", [
    (nn.Linear, (4, 3), {}), (nn.Linear, (4, 3), {"bias": False}),
    (nn.LayerNorm, (5,), {}), (nn.LayerNorm, ((2, 3),), {"bias": False}),
    (nn.LayerNorm, (4,), {"elementwise_affine": False}), (nn.ReLU, (), {}),
    (nn.CrossEntropyLoss, (), {}), (nn.Flatten, (), {}),
])
def test_core_state_shapes_are_the_built_state(cls, args, kwargs):
    described = {name: shape for name, shape, _ in state_shapes_of(cls, *args, **kwargs)}
    built = cls(*args, **kwargs).state_dict()
    assert described == {name: tuple(t.shape) for name, t in built.items()}


def test_every_buildable_class_installed_can_be_sized_from_its_spec():
    missing = [path for path, cls in buildable_classes().items()
               if not knows_state_shapes(cls)]
    assert missing == []
