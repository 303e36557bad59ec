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

What it teaches, the properties production registries guarantee:
- **Atomic writes**: a version is written in a hidden staging folder and renamed into place
  in one step, so a crash never leaves a half-written version that looks complete.
- **Immutable versions**: version 3 means the same bytes forever; a new model is version
  4. Tags (`production`, `staging`) are the only mutable thing: pointers moved by `promote`.
  `latest` is not stored, it is always the highest version.
- **Integrity**: the manifest records the sha256 and size of every file and carries its
  own checksum (as does tags.json); `load` checks them, so a corrupted or truncated file
  fails loudly instead of serving garbage. Every file a manifest names must be a plain
  name inside its version folder (no `..`, no absolute path, no symlink out), checked
  before anything is read.
- **No lost updates**: `promote` reads, edits and writes tags.json under an exclusive
  file lock, so two processes promoting at once both land.
- **No debris**: staging folders and temporary files of writes killed mid-way are
  removed by the next write to that model.

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
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tinytorch.core import Tensor, nn, no_grad, zeros
from tinytorch.core.atomic import remove_stale_temps
from tinytorch.core.optim import Optimizer
from tinytorch.core.serialization import (
    SerializationError,
    load_model,
    read_json,
    save_model,
    spec_of,
    write_json,
)

from .checkpoint import load_optimizer, save_optimizer

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

MANIFEST = "manifest.json"
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
TAGS_FILE = "tags.json"
LATEST = "latest"
REGISTRY_ENV_VAR = "TINYTORCH_REGISTRY"
LOCK_FILE = ".lock"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)  # always used with fullmatch
_TAG = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,49}", re.ASCII)
_VERSION = re.compile(r"[0-9]{1,9}", re.ASCII)
_MANIFEST_KEYS = {"name": str, "version": int, "architecture": dict, "files": dict,
                  "signature": dict, "metrics": dict, "created": str, "packages": dict}
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
        if not isinstance(model, nn.Module):
            raise TypeError(f"register: expected a tinytorch Module, got {type(model).__name__}")
        _check_labels(model, input_shape, labels)
        model_dir = self.root / name
        model_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(model_dir)
        staging = Path(tempfile.mkdtemp(dir=model_dir, prefix=f".staging-{os.getpid()}-"))
        try:
            files = {MODEL_FILE: save_model(model, staging / MODEL_FILE)}
            if optimizer is not None:
                files[OPTIMIZER_FILE] = save_optimizer(optimizer, staging / OPTIMIZER_FILE)
            manifest = {
                "name": name,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "description": str(description),
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
            write_json(staging / MANIFEST, manifest)
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
        if not isinstance(tag, str) or not _TAG.fullmatch(tag) or tag == LATEST:
            raise ValueError(f"promote: invalid tag {tag!r}; expected letters, digits, '.', '_' "
                             f"or '-', starting with a letter, and not '{LATEST}' (which always "
                             "means the highest version)")
        with self._locked(name):  # read-modify-write: without the lock, updates get lost
            target = self.get(name, version)
            tags = self.tags(name)
            tags[tag] = target.version
            write_json(self.root / name / TAGS_FILE, tags)
        return target

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """An exclusive lock on one model's folder, across processes (released on exit,
        and by the operating system if the process dies)."""
        folder = self.root / name
        remove_stale_temps(folder)
        with open(folder / LOCK_FILE, "a+b") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            else:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                else:
                    handle.seek(0)
                    msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

    # ------------------------------------------------------------ reading
    def models(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and _NAME.fullmatch(p.name) and self.versions(p.name))

    def versions(self, name: str) -> list[int]:
        _check_name(name)
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir()
                      if _VERSION.fullmatch(p.name) and not p.is_symlink()
                      and (p / MANIFEST).is_file())

    def tags(self, name: str) -> dict[str, int]:
        _check_name(name)
        path = self.root / name / TAGS_FILE
        if not path.is_file():
            return {}
        tags = _read_json(path)
        bad = {k: v for k, v in tags.items() if not (isinstance(k, str) and _TAG.fullmatch(k))
               or not isinstance(v, int) or isinstance(v, bool) or v < 1}
        if bad:
            raise RegistryError(f"registry: {path} has invalid entries {bad!r:.200}")
        return tags

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
        if isinstance(ref, bool) or not isinstance(ref, (int, str)):
            raise ValueError(f"registry: a reference is a version number, a tag or "
                             f"'{LATEST}', got {ref!r}")
        if isinstance(ref, int) or _VERSION.fullmatch(ref):
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
        return ModelVersion(name, version, path, _checked_manifest(path, name, version))

    def verify(self, name: str, ref: int | str = LATEST) -> ModelVersion:
        """Check every file's size and sha256 against the manifest; raise RegistryError."""
        entry = self.get(name, ref)
        for file, expected in entry.manifest["files"].items():
            path = _contained(entry.path, file)
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
        try:
            return load_model(entry.path / MODEL_FILE)
        except SerializationError as exc:
            raise RegistryError(f"registry: {name} v{entry.version}: {exc}") from None

    def load_optimizer(self, name: str, ref: int | str, optimizer: Optimizer) -> Optimizer:
        """Restore the optimizer state saved with a version into `optimizer` (to resume)."""
        entry = self.verify(name, ref)
        if OPTIMIZER_FILE not in entry.manifest["files"]:
            raise RegistryError(f"registry: {name} v{entry.version} was registered without "
                                "optimizer state")
        return load_optimizer(optimizer, _contained(entry.path, OPTIMIZER_FILE))


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


def _check_name(name) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"registry: invalid model name {name!r}; expected 1-100 letters, "
                         "digits, '.', '_' or '-', starting with a letter or digit")


def _json_checked(value: dict, what: str) -> dict:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"register: {what} must be JSON-serialisable (no NaN), got {value!r:.200}"
                         f": {exc}") from None


def _read_json(path: Path) -> dict:
    try:
        return read_json(path)
    except FileNotFoundError:
        raise RegistryError(f"registry: {path} is missing") from None
    except SerializationError as exc:
        raise RegistryError(f"registry: {exc}") from None


def _checked_manifest(folder: Path, name: str, version: int) -> dict[str, Any]:
    """The manifest of a version, with every key it must have, of the right type."""
    manifest = _read_json(_contained(folder, MANIFEST))
    for key, kind in _MANIFEST_KEYS.items():
        if not isinstance(manifest.get(key), kind):
            raise RegistryError(f"registry: {folder / MANIFEST}: key '{key}' is missing or not "
                                f"a {kind.__name__}; the manifest is damaged")
    if manifest["name"] != name or manifest["version"] != version:
        raise RegistryError(f"registry: {folder / MANIFEST} describes {manifest['name']!r:.60} "
                            f"v{manifest['version']}, but lives in {name}/{version}")
    if MODEL_FILE not in manifest["files"]:
        raise RegistryError(f"registry: {folder / MANIFEST} lists no {MODEL_FILE}")
    for file, info in manifest["files"].items():
        if not (isinstance(info, dict) and isinstance(info.get("sha256"), str)
                and isinstance(info.get("bytes"), int)):
            raise RegistryError(f"registry: {folder / MANIFEST}: entry for file {file!r:.60} "
                                "needs 'sha256' (str) and 'bytes' (int)")
    return manifest


def _contained(folder: Path, file: str) -> Path:
    """`folder/file`, refused unless it is a plain name resolving inside `folder`."""
    path = folder / file
    if (not isinstance(file, str) or file in ("", ".", "..") or "/" in file or "\\" in file
            or os.path.isabs(file) or path.is_symlink()
            or not path.resolve().is_relative_to(folder.resolve())):
        raise RegistryError(f"registry: {folder} names the file {file!r:.100}, which is not a "
                            "plain file inside its version folder; refusing to read it")
    return path


def _check_labels(model: nn.Module, input_shape, labels) -> None:
    """Labels must match the model's output size (probed with one zero sample)."""
    if labels is None:
        return
    if not (isinstance(labels, (list, tuple)) and all(isinstance(x, str) for x in labels)):
        raise ValueError(f"register: labels must be a list of strings, got {labels!r:.100}")
    if input_shape is None:
        raise ValueError("register: labels need input_shape, to check them against the "
                         "model's output size")
    was_training = model.training
    try:
        with no_grad():
            output = model.eval()(zeros(1, *input_shape))
    except Exception as exc:
        raise ValueError(f"register: the model does not accept input_shape "
                         f"{tuple(input_shape)}: {exc}") from None
    finally:
        model.train(was_training)
    size = output.shape[-1] if isinstance(output, Tensor) and output.ndim >= 2 else None
    if size != len(labels):
        raise ValueError(f"register: {len(labels)} labels for a model with output size "
                         f"{size} (outputs of shape {getattr(output, 'shape', None)})")
