"""The model registry: immutable versions, manifest, integrity checks, tags, concurrency."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from conftest import make_mlp

import tinytorch.core as tt
from tinytorch.core import no_grad, optim
from tinytorch.mlops import ModelRegistry, RegistryError
from tinytorch.mlops.registry import MANIFEST, MODEL_FILE, OPTIMIZER_FILE, sha256_of


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "registry")


def test_register_writes_manifest_with_checksums_and_versions(registry):
    model = make_mlp()
    v = registry.register("mlp", model, metrics={"accuracy": 0.9}, input_shape=(8,),
                          labels=["a", "b", "c"], description="test")
    m = v.manifest
    assert v.version == 1 and m["name"] == "mlp" and m["metrics"] == {"accuracy": 0.9}
    assert m["signature"] == {"input_shape": [8], "labels": ["a", "b", "c"]}
    assert m["architecture"]["class"].endswith("Sequential")
    info = m["files"][MODEL_FILE]
    assert info["sha256"] == sha256_of(v.path / MODEL_FILE)
    assert info["bytes"] == (v.path / MODEL_FILE).stat().st_size
    assert "tinytorch-core" in m["packages"] or "python" in m["packages"]
    on_disk = json.loads((v.path / MANIFEST).read_text())
    assert len(on_disk.pop("tinytorch.sha256")) == 64 and on_disk == m  # self-checksummed


def test_load_returns_the_same_model(registry):
    model = make_mlp()
    registry.register("mlp", model)
    loaded = registry.load("mlp")
    x = tt.randn(4, 8)
    with no_grad():
        np.testing.assert_array_equal(loaded(x).array, model.eval()(x).array)
    assert not loaded.training


def test_versions_are_immutable_and_latest_moves(registry):
    registry.register("mlp", make_mlp())
    registry.register("mlp", make_mlp())
    assert registry.versions("mlp") == [1, 2] and registry.resolve("mlp") == 2
    with pytest.raises(RegistryError, match="already exists; versions are immutable"):
        registry.register("mlp", make_mlp(), version=1)
    registry.register("mlp", make_mlp(), version=7)
    assert registry.versions("mlp") == [1, 2, 7]
    assert not any(p.name.startswith(".staging") for p in (registry.root / "mlp").iterdir())


def test_promote_moves_a_tag_and_latest_is_reserved(registry):
    for _ in range(3):
        registry.register("mlp", make_mlp())
    registry.promote("mlp", 2, tag="production")
    registry.promote("mlp", "3", tag="staging")
    assert registry.get("mlp", "production").version == 2
    assert registry.resolve("mlp", "staging") == 3
    registry.promote("mlp", "staging", tag="production")
    assert registry.tags("mlp") == {"production": 3, "staging": 3}
    with pytest.raises(ValueError, match="invalid tag 'latest'"):
        registry.promote("mlp", 1, tag="latest")
    with pytest.raises(RegistryError, match="no version 9"):
        registry.promote("mlp", 9)


def test_unknown_names_refs_and_bad_names_are_explained(registry):
    registry.register("mlp", make_mlp())
    with pytest.raises(RegistryError, match="no model named 'cnn'.*models: mlp"):
        registry.get("cnn")
    with pytest.raises(RegistryError, match="no tag 'prod'.*latest"):
        registry.get("mlp", "prod")
    for bad in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="invalid model name"):
            registry.register(bad, make_mlp())
    with pytest.raises(ValueError, match="JSON-serialisable"):
        registry.register("mlp", make_mlp(), metrics={"acc": float("nan")})


def test_corrupted_weights_are_detected(registry):
    v = registry.register("mlp", make_mlp())
    path = v.path / MODEL_FILE
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40  # one flipped bit in the last weight: the file still parses
    path.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match="sha256 .* the file is corrupted"):
        registry.load("mlp")


def test_truncated_weights_are_detected(registry):
    v = registry.register("mlp", make_mlp())
    path = v.path / MODEL_FILE
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(RegistryError, match="truncated"):
        registry.verify("mlp", 1)


def test_corrupted_manifest_is_detected(registry):
    v = registry.register("mlp", make_mlp())
    (v.path / MANIFEST).chmod(0o644)
    (v.path / MANIFEST).write_text("{ not json")
    with pytest.raises(RegistryError, match="corrupted"):
        registry.load("mlp")


def test_files_are_read_only_after_registration(registry):
    v = registry.register("mlp", make_mlp())
    for path in v.path.iterdir():
        assert path.stat().st_mode & 0o222 == 0


def test_optimizer_state_round_trip(registry):
    model = make_mlp()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    model(tt.randn(2, 8)).sum().backward()
    optimizer.step()
    v = registry.register("mlp", model, optimizer=optimizer)
    assert OPTIMIZER_FILE in v.manifest["files"]
    fresh = registry.load("mlp")
    restored = registry.load_optimizer("mlp", "latest", optim.Adam(fresh.parameters()))
    assert restored.state_dict()["state"][0]["step"] == 1
    registry.register("mlp", model)
    with pytest.raises(RegistryError, match="without optimizer state"):
        registry.load_optimizer("mlp", 2, optim.Adam(fresh.parameters()))


def test_concurrent_registrations_get_distinct_versions(registry):
    models = [make_mlp() for _ in range(6)]
    results, errors = [], []

    def register(model):
        try:
            results.append(registry.register("mlp", model).version)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(m,)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [1, 2, 3, 4, 5, 6] == registry.versions("mlp")
    for version in results:
        registry.verify("mlp", version)


def test_list_models_ignores_staging_leftovers(registry):
    registry.register("b-model", make_mlp())
    registry.register("a-model", make_mlp())
    (registry.root / "a-model" / ".staging-crashed").mkdir()
    assert registry.models() == ["a-model", "b-model"]
