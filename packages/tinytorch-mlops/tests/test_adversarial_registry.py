"""The registry and checkpoints under attack and under crashes: hostile manifests, damaged
files of every kind, processes SIGKILLed mid-write, two processes promoting at once.

Deterministic (seeded) and bounded: the whole file runs in well under 30 s on 2 cores.
The kill and concurrency tests fork the test process (POSIX only), so each child starts
in a millisecond instead of paying Python start-up and imports."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
from conftest import make_mlp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinytorch.core import optim
from tinytorch.core.serialization import (
    ArchitectureError,
    SerializationError,
    build_model,
    write_json,
)
from tinytorch.core.serialization.damage import damaged_copies
from tinytorch.core.serialization.json_file import loads_json
from tinytorch.core.serialization.objects import loads
from tinytorch.core.training import load_checkpoint, save_checkpoint
from tinytorch.mlops import ModelRegistry, RegistryError
from tinytorch.mlops.registry import MANIFEST, MODEL_FILE, OPTIMIZER_FILE, TAGS_FILE

posix_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
KILLS = 60


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "registry")


def debris(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()
                  if p.name.startswith(".staging-") or ".tmp-" in p.name)


def rewrite_manifest(version, edit) -> None:
    """What an attacker with write access does: edit, and write a *valid* checksum."""
    manifest = dict(version.manifest)
    edit(manifest)
    (version.path / MANIFEST).chmod(0o644)
    write_json(version.path / MANIFEST, manifest)


# ---------------------------------------------------------------- hostile manifests
@pytest.mark.parametrize("name", ["../../outside", "/etc/passwd", "..", "sub/model.safetensors",
                                  "..\\..\\x"])
def test_manifest_paths_must_stay_inside_the_version_folder(registry, tmp_path, name):
    secret = tmp_path / "outside"
    secret.write_bytes(b"secret bytes" * 100)
    v = registry.register("m", make_mlp())
    rewrite_manifest(v, lambda m: m["files"].update({name: {"sha256": "0" * 64, "bytes": 1}}))
    with pytest.raises(RegistryError, match="not a plain file inside its version folder") as e:
        registry.load("m")
    assert "1200" not in str(e.value) and "secret" not in str(e.value)


def test_a_symlink_pointing_out_is_refused(registry, tmp_path):
    outside = tmp_path / "elsewhere.safetensors"
    v = registry.register("m", make_mlp())
    outside.write_bytes((v.path / MODEL_FILE).read_bytes())
    (v.path / MODEL_FILE).unlink()
    (v.path / MODEL_FILE).symlink_to(outside)
    with pytest.raises(RegistryError, match="not a plain file inside"):
        registry.load("m")


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.pop("signature"), "'signature' is missing"),
    (lambda m: m.pop("files"), "'files' is missing"),
    (lambda m: m.update(version="1"), "'version' is missing or not a int"),
    (lambda m: m.update(version=7), "describes 'm' v7"),
    (lambda m: m["files"].pop(MODEL_FILE), f"lists no {MODEL_FILE}"),
    (lambda m: m["files"][MODEL_FILE].update(bytes="12"), "needs 'sha256'"),
])
def test_manifest_missing_or_wrong_keys_are_clear_errors(registry, edit, message):
    v = registry.register("m", make_mlp())
    rewrite_manifest(v, edit)
    with pytest.raises(RegistryError, match=message):
        registry.load("m")


def test_names_versions_and_tags_are_matched_whole_and_ascii(registry):
    registry.register("m", make_mlp())
    for bad in ("model\n", "m\n", "m/../x", "", "-m", "m" * 101, "é"):
        with pytest.raises(ValueError, match="invalid model name"):
            registry.register(bad, make_mlp())
    (registry.root / "m" / "\u0661").mkdir()  # ARABIC-INDIC DIGIT ONE: not a version
    assert registry.versions("m") == [1]
    with pytest.raises(RegistryError, match="no tag '\u0661'"):
        registry.resolve("m", "\u0661")
    for bad_tag in ("prod\n", "latest", "x/y"):
        with pytest.raises(ValueError, match="invalid tag"):
            registry.promote("m", 1, bad_tag)
    with pytest.raises(ValueError, match="a reference is"):
        registry.resolve("m", True)


def test_register_refuses_labels_that_do_not_match_the_outputs(registry):
    with pytest.raises(ValueError, match="2 labels for a model with output size 3"):
        registry.register("m", make_mlp(), input_shape=(8,), labels=["a", "b"])
    with pytest.raises(ValueError, match="labels need input_shape"):
        registry.register("m", make_mlp(), labels=["a", "b", "c"])
    v = registry.register("m", make_mlp(), input_shape=(8,), labels=["a", "b", "c"])
    assert v.manifest["signature"]["labels"] == ["a", "b", "c"]


# ---------------------------------------------------------------- damage of every file kind
@pytest.mark.parametrize("seed, file", list(enumerate([MANIFEST, MODEL_FILE, OPTIMIZER_FILE,
                                                       TAGS_FILE])))
def test_every_damaged_registry_file_is_refused_naming_it(registry, seed, file):
    model = make_mlp()
    v = registry.register("m", model, optimizer=optim.Adam(model.parameters()))
    registry.promote("m", 1)
    path = (registry.root / "m" / TAGS_FILE) if file == TAGS_FILE else v.path / file
    path.chmod(0o644)
    good = path.read_bytes()
    tried = 0
    for damaged in damaged_copies(good, seed=seed, flips=150, cuts=40):
        path.write_bytes(damaged)
        with pytest.raises(RegistryError, match=file.replace(".", r"\.")):
            if file == TAGS_FILE:
                registry.load("m", "production")
            elif file == OPTIMIZER_FILE:
                registry.load_optimizer("m", 1, optim.Adam(make_mlp().parameters()))
            else:
                registry.load("m", 1)
        tried += 1
    assert tried == 190
    path.write_bytes(good)
    registry.load("m", "production")


# ---------------------------------------------------------------- SIGKILL during writes
def _write_forever(root, checkpoint, progress_fd) -> None:
    """Register, promote, checkpoint, forever; one byte on `progress_fd` after each."""
    registry, model, i = ModelRegistry(root), make_mlp((8, 64, 3)), 0
    while True:
        registry.register("m", model, metrics={"i": i})
        os.write(progress_fd, b"r")
        registry.promote("m", "latest", tag="production")
        os.write(progress_fd, b"p")
        save_checkpoint(checkpoint, model, epoch=i)
        os.write(progress_fd, b"c")
        i += 1


@posix_only
def test_sigkill_during_writes_never_corrupts_and_leaves_no_debris(registry, tmp_path):
    """Each round: let the writer finish 0-2 operations (so kills land at every stage, on
    any machine speed), wait a random 0-15 ms more, SIGKILL it, check every invariant."""
    checkpoint = tmp_path / "ckpt" / "best.ckpt"
    rng = np.random.default_rng(12)
    verified, debris_seen, completed = set(), 0, 0
    for _ in range(KILLS):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child writes until it is killed
            try:
                os.close(read_end)
                _write_forever(registry.root, checkpoint, write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        for _ in range(int(rng.integers(0, 3))):
            completed += len(os.read(read_end, 1))
        time.sleep(float(rng.uniform(0.0, 0.015)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)  # reaped: a zombie would still look alive
        os.close(read_end)
        if (registry.root / "m").is_dir():
            debris_seen += len(debris(registry.root / "m"))
            for version in set(registry.versions("m")) - verified:
                registry.verify("m", version)  # a committed version is always whole
                verified.add(version)
            tags = registry.tags("m")  # readable, checksum intact
            assert set(tags.values()) <= set(registry.versions("m"))
        if checkpoint.is_file():
            assert "epoch" in load_checkpoint(checkpoint, make_mlp((8, 64, 3)))
            debris_seen += len(debris(checkpoint.parent))
    assert completed >= KILLS // 2 and verified  # the writes were making progress
    for version in verified:
        registry.load("m", version)
    registry.register("m", make_mlp())  # the next operation removes what the kills left
    save_checkpoint(checkpoint, make_mlp())
    assert debris(registry.root / "m") == [] and debris(checkpoint.parent) == []
    print(f"\n{KILLS} kills after {completed} completed writes: {len(verified)} versions "
          f"committed and verified, {debris_seen} debris entries seen between kills, "
          "0 left after the next write")


# ---------------------------------------------------------------- concurrent promote
@posix_only
def test_two_processes_promoting_at_once_lose_no_update(registry, tmp_path):
    for _ in range(2):
        registry.register("m", make_mlp())
    start = tmp_path / "go"
    children = []
    for prefix in ("a", "b"):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                while not start.exists():
                    time.sleep(0.001)
                for i in range(40):
                    registry.promote("m", 1 + i % 2, tag=f"{prefix}{i}")
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    start.touch()
    codes = [os.waitpid(pid, 0)[1] for pid in children]
    assert codes == [0, 0]
    tags = registry.tags("m")
    assert len(tags) == 80, sorted({f"{p}{i}" for p in "ab" for i in range(40)} - set(tags))
    assert all(tags[f"a{i}"] == 1 + i % 2 for i in range(40))


# ---------------------------------------------------------------- hypothesis: bad input
_any_ref = st.one_of(st.text(max_size=12), st.integers(-5, 10**12), st.none(), st.booleans(),
                     st.floats(allow_nan=True), st.lists(st.integers(), max_size=2))


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_any_ref, ref=_any_ref)
def test_registry_lookups_raise_only_clear_errors(tmp_path_factory, name, ref):
    registry = _lookup_registry(tmp_path_factory)
    try:
        registry.resolve(name, ref)
    except (ValueError, RegistryError) as exc:
        assert str(exc).startswith("registry:")
    for call in (registry.versions, registry.tags):
        try:
            call(name)
        except ValueError as exc:
            assert "invalid model name" in str(exc)


_REGISTRIES: dict = {}


def _lookup_registry(factory):
    if "r" not in _REGISTRIES:
        _REGISTRIES["r"] = ModelRegistry(factory.mktemp("lookups"))
        _REGISTRIES["r"].register("m", make_mlp())
    return _REGISTRIES["r"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_refused_with_serialization_errors(data):
    for parse in (loads, loads_json):
        with pytest.raises(SerializationError):
            parse(data, "random.bin")


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(
                         st.sampled_from(["class", "config", "children", "names", "x"]), c,
                         max_size=4), max_leaves=20)
_classes = st.sampled_from(["tinytorch.core.nn.layers.Linear", "tinytorch.core.nn.container."
                            "Sequential", "tinytorch.core.nn.layers.LayerNorm", "os.system"])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(_json, st.fixed_dictionaries({"class": _classes}, optional={
    "config": st.dictionaries(st.sampled_from(["in_features", "out_features", "bias",
                                               "normalized_shape", "eps"]), _json, max_size=3),
    "children": _json, "names": _json})))
def test_arbitrary_specs_are_refused_with_architecture_errors(spec):
    header = {"w": (4, 4)}
    try:
        build_model(spec, header=header)
    except ArchitectureError as exc:
        assert str(exc).startswith("build_model:")
