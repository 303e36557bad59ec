"""A model registry on the file system: immutable versions, a manifest, checksums, tags.

    registry = ModelRegistry("runs/registry")
    v = registry.register("mnist-mlp", model, metrics={"test_accuracy": 0.97},
                          input_shape=(784,), optimizer=optimizer)
    registry.promote("mnist-mlp", v.version, tag="production")
    model = registry.load("mnist-mlp", "production")

Layout on disk (everything is a plain file you can read):

    ROOT/NAME/tags.json                    {"production": 2, "staging": 3}
    ROOT/NAME/VERSION/manifest.json        name, version, architecture, metrics, checksums,
                                           package versions, input signature
    ROOT/NAME/VERSION/model.safetensors    weights (no pickle: loading runs no code)
    ROOT/NAME/VERSION/optimizer.safetensors  (optional) optimizer state to resume training

What it teaches, the three properties production registries guarantee:
- **Atomic writes**: a version is written in a hidden staging folder and renamed into place
  in one step, so a crash never leaves a half-written version that looks complete.
- **Immutable versions**: version 3 means the same bytes forever; a new model is version
  4. Tags (`production`, `staging`) are the only mutable thing: pointers moved by `promote`.
  `latest` is not stored, it is always the highest version.
- **Integrity**: the manifest records the sha256 and size of every file; `load` checks
  them, so a corrupted or truncated file fails loudly instead of serving garbage.

Systems lesson: a checksum costs one pass over the file (hundreds of MB/s), which is cheap
next to what a silently corrupted model costs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tinytorch.core import nn
from tinytorch.core.atomic import atomic_write_text
from tinytorch.core.optim import Optimizer

from .architecture import build_model, spec_of
from .checkpoint import load_optimizer, save_optimizer
from .safetensors_io import load_file, save_file

MANIFEST = "manifest.json"
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
TAGS_FILE = "tags.json"
LATEST = "latest"
REGISTRY_ENV_VAR = "TINYTORCH_REGISTRY"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,49}$")
_PACKAGES = ("tinytorch-core", "tinytorch-vision", "tinytorch-language", "tinytorch-mlops",
             "numpy")


class RegistryError(Exception):
    """Unknown model/version/tag, an attempt to overwrite a version, or a corrupted file."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: its folder and its manifest."""

    name: str
    version: int
    path: Path
    manifest: dict[str, Any]

    @property
    def metrics(self) -> dict[str, Any]:
        return self.manifest.get("metrics", {})

    @property
    def model_bytes(self) -> int:
        return self.manifest["files"][MODEL_FILE]["bytes"]


def default_root() -> Path:
    """$TINYTORCH_REGISTRY, else the per-user cache directory."""
    if os.environ.get(REGISTRY_ENV_VAR):
        return Path(os.environ[REGISTRY_ENV_VAR]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "tinytorch" / "registry"


class ModelRegistry:
    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_root()

    # ------------------------------------------------------------ writing
    def register(self, name: str, model: nn.Module, *, metrics: dict[str, Any] | None = None,
                 optimizer: Optimizer | None = None, version: int | None = None,
                 input_shape: tuple[int, ...] | None = None, labels: list[str] | None = None,
                 description: str = "", extra: dict[str, Any] | None = None) -> ModelVersion:
        """Write a new immutable version of `name`; returns it. `version=None` takes the next
        number. `input_shape` is the shape of one sample (what /predict accepts)."""
        _check_name(name)
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                    or version < 1):
            raise ValueError(f"register: version must be a positive int or None, got {version!r}")
        model_dir = self.root / name
        model_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=model_dir, prefix=".staging-"))
        try:
            files = {MODEL_FILE: save_file(_state_arrays(model), staging / MODEL_FILE,
                                           metadata={"format": "tinytorch-mlops/1"})}
            if optimizer is not None:
                files[OPTIMIZER_FILE] = save_optimizer(optimizer, staging / OPTIMIZER_FILE)
            manifest = {
                "name": name,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "description": description,
                "architecture": spec_of(model),
                "metrics": _json_checked(metrics or {}, "metrics"),
                "signature": {"input_shape": list(input_shape) if input_shape else None,
                              "labels": list(labels) if labels else None},
                "files": {f: {"sha256": sha256_of(staging / f), "bytes": size}
                          for f, size in files.items()},
                "packages": package_versions(),
                "extra": _json_checked(extra or {}, "extra"),
            }
            return self._commit(name, staging, manifest, version)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _commit(self, name, staging: Path, manifest: dict, version: int | None) -> ModelVersion:
        """Rename the staging folder to its version number; a rename is atomic and fails if
        the version already exists, so two writers can never both get version N."""
        candidate = version or (max(self.versions(name), default=0) + 1)
        for _ in range(100):
            manifest["version"] = candidate
            _write_json(staging / MANIFEST, manifest)
            target = self.root / name / str(candidate)
            try:
                os.rename(staging, target)
            except OSError:
                if not target.exists():
                    raise
                if version is not None:
                    raise RegistryError(
                        f"register: {name} version {version} already exists; versions are "
                        "immutable, register a new version instead") from None
                candidate += 1  # another writer took this number first
                continue
            for path in target.iterdir():
                path.chmod(0o444)  # read-only: a version is never edited in place
            return ModelVersion(name, candidate, target, manifest)
        raise RegistryError(f"register: could not find a free version number for {name}")

    def promote(self, name: str, version: int | str, tag: str = "production") -> ModelVersion:
        """Point `tag` at `version` (the only mutation a registry allows)."""
        if not isinstance(tag, str) or not _TAG.match(tag) or tag == LATEST:
            raise ValueError(f"promote: invalid tag {tag!r}; expected letters, digits, '.', '_' "
                             f"or '-', starting with a letter, and not '{LATEST}' (which always "
                             "means the highest version)")
        target = self.get(name, version)
        tags = self.tags(name)
        tags[tag] = target.version
        _write_json(self.root / name / TAGS_FILE, tags)
        return target

    # ------------------------------------------------------------ reading
    def models(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and _NAME.match(p.name) and self.versions(p.name))

    def versions(self, name: str) -> list[int]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir()
                      if p.name.isdigit() and (p / MANIFEST).is_file())

    def tags(self, name: str) -> dict[str, int]:
        path = self.root / name / TAGS_FILE
        if not path.is_file():
            return {}
        return _read_json(path)

    def resolve(self, name: str, ref: int | str = LATEST) -> int:
        """The version number that `ref` (a number, a tag or 'latest') names."""
        _check_name(name)
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.models()) or "none"
            raise RegistryError(f"registry: no model named '{name}' in {self.root} "
                                f"(models: {known})")
        if ref == LATEST:
            return versions[-1]
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            if int(ref) not in versions:
                raise RegistryError(f"registry: {name} has no version {ref} (versions: "
                                    f"{versions})")
            return int(ref)
        tags = self.tags(name)
        if ref not in tags:
            raise RegistryError(f"registry: {name} has no tag '{ref}' (tags: "
                                f"{sorted(tags) + [LATEST]})")
        return int(tags[ref])

    def get(self, name: str, ref: int | str = LATEST) -> ModelVersion:
        version = self.resolve(name, ref)
        path = self.root / name / str(version)
        return ModelVersion(name, version, path, _read_json(path / MANIFEST))

    def verify(self, name: str, ref: int | str = LATEST) -> ModelVersion:
        """Check every file's size and sha256 against the manifest; raise RegistryError."""
        entry = self.get(name, ref)
        for file, expected in entry.manifest["files"].items():
            path = entry.path / file
            if not path.is_file():
                raise RegistryError(f"registry: {name} v{entry.version}: {file} is missing")
            size = path.stat().st_size
            if size != expected["bytes"]:
                raise RegistryError(
                    f"registry: {name} v{entry.version}: {file} is {size} bytes, the manifest "
                    f"says {expected['bytes']}; the file is truncated or was replaced")
            digest = sha256_of(path)
            if digest != expected["sha256"]:
                raise RegistryError(
                    f"registry: {name} v{entry.version}: {file} has sha256 {digest[:16]}..., "
                    f"the manifest says {expected['sha256'][:16]}...; the file is corrupted")
        return entry

    def load(self, name: str, ref: int | str = LATEST) -> nn.Module:
        """The model of version `ref`, integrity-checked, rebuilt and in eval mode."""
        entry = self.verify(name, ref)
        model = build_model(entry.manifest["architecture"])
        tensors, _ = load_file(entry.path / MODEL_FILE)
        model.load_state_dict(tensors, strict=True)
        return model.eval()

    def load_optimizer(self, name: str, ref: int | str, optimizer: Optimizer) -> Optimizer:
        """Restore the optimizer state saved with a version into `optimizer` (to resume)."""
        entry = self.verify(name, ref)
        if OPTIMIZER_FILE not in entry.manifest["files"]:
            raise RegistryError(f"registry: {name} v{entry.version} was registered without "
                                "optimizer state")
        return load_optimizer(optimizer, entry.path / OPTIMIZER_FILE)


# ---------------------------------------------------------------- helpers
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def _state_arrays(model: nn.Module) -> dict:
    if not isinstance(model, nn.Module):
        raise TypeError(f"register: expected a tinytorch Module, got {type(model).__name__}")
    return {name: tensor.array for name, tensor in model.state_dict().items()}


def _check_name(name) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"registry: invalid model name {name!r}; expected 1-100 letters, "
                         "digits, '.', '_' or '-', starting with a letter or digit")


def _json_checked(value: dict, what: str) -> dict:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"register: {what} must be JSON-serialisable (no NaN), got {value!r:.200}"
                         f": {exc}") from None


def _write_json(path: Path, value) -> None:
    """Atomic (`tinytorch.core.atomic`): readers see the old file or the new one."""
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"registry: {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RegistryError(f"registry: {path} is not valid JSON ({exc}); it is corrupted") \
            from None
