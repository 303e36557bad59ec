"""`tito registry` and `tito serve`, driven in-process through core's CLI."""

from __future__ import annotations

import argparse
import json
from importlib import metadata

import numpy as np
import pytest
from conftest import make_mlp

from tinytorch.mlops import ModelRegistry, save_model
from tinytorch.mlops.cli import load_service, register_registry, register_serve


def tito(argv: list[str]) -> int:
    """Build tito's parser with only this package's command groups, as core's main would."""
    parser = argparse.ArgumentParser(prog="tito")
    subparsers = parser.add_subparsers(dest="command")
    register_registry(subparsers)
    register_serve(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def root(tmp_path):
    registry = ModelRegistry(tmp_path / "reg")
    registry.register("mlp", make_mlp(), metrics={"accuracy": 0.91}, input_shape=(8,))
    registry.register("mlp", make_mlp(), metrics={"accuracy": 0.93}, input_shape=(8,))
    return str(registry.root)


def test_entry_points_are_declared_for_tito():
    try:
        dist = metadata.distribution("tinytorch-mlops")
    except metadata.PackageNotFoundError:
        pytest.skip("tinytorch-mlops is not installed (running from the source tree)")
    names = {ep.name: ep.value for ep in dist.entry_points if ep.group == "tinytorch.cli"}
    assert names == {"registry": "tinytorch.mlops.cli:register_registry",
                     "serve": "tinytorch.mlops.cli:register_serve"}
    from tinytorch.core.cli import main
    assert main(["registry", "list", "--root", "/nonexistent-registry-dir"]) == 0


def test_registry_list_json(root, capsys):
    assert tito(["registry", "list", "--root", root, "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    (model,) = listing["models"]
    assert model["name"] == "mlp" and model["versions"] == [1, 2] and model["latest"] == 2
    assert model["metrics"] == {"accuracy": 0.93}


def test_registry_list_table_and_empty(root, tmp_path, capsys):
    assert tito(["registry", "list", "--root", root]) == 0
    assert "mlp" in capsys.readouterr().out
    assert tito(["registry", "list", "--root", str(tmp_path / "empty")]) == 0
    assert "no models registered" in capsys.readouterr().out


def test_registry_promote_then_show(root, capsys):
    assert tito(["registry", "promote", "mlp", "1", "--root", root]) == 0
    assert "production' -> v1" in capsys.readouterr().out
    assert tito(["registry", "show", "mlp:production", "--root", root, "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["version"] == 1 and manifest["metrics"] == {"accuracy": 0.91}
    assert tito(["registry", "show", "mlp", "--root", root, "--verify"]) == 0
    out = capsys.readouterr().out
    assert "every sha256 matches" in out and "mlp v2" in out


def test_registry_errors_are_messages_and_exit_code_2(root, capsys):
    assert tito(["registry", "show", "nope", "--root", root]) == 2
    assert "no model named 'nope'" in capsys.readouterr().err
    assert tito(["registry", "promote", "mlp", "5", "--root", root]) == 2
    assert "no version 5" in capsys.readouterr().err


def test_serve_load_test_from_the_registry(root, capsys):
    code = tito(["serve", "mlp:latest", "--root", root, "--load-test", "--clients", "3",
                 "--requests", "30", "--batch", "4", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["completed"] == 30 and report["failures"] == 0
    assert report["p99_ms"] >= report["p50_ms"] > 0


def test_load_service_from_a_file_needs_or_takes_an_input_shape(tmp_path):
    save_model(make_mlp(), tmp_path / "m.safetensors")
    service = load_service(str(tmp_path / "m.safetensors"), input_shape="8")
    assert service.input_shape == (8,) and service.version == "file"
    result = service.predict(np.zeros((2, 8)).tolist())
    assert len(result["predictions"]) == 2
    assert tito(["serve", str(tmp_path / "m.safetensors"), "--load-test"]) == 2
