"""Architecture specs: describe a model as JSON, rebuild it from that JSON.

What it teaches: a checkpoint holds numbers, not structure. To load weights you first need
a model of the right shape, so a registry stores the *recipe* next to the weights:

    {"class": "tinytorch.core.nn.container.Sequential", "children": [
        {"class": "tinytorch.core.nn.layers.Linear",
         "config": {"in_features": 784, "out_features": 128, "bias": true}}, ...]}

The recipe is plain data. Rebuilding looks each class name up in an explicit allow-list
(core's layers, plus the classes each installed package registers through the
`tinytorch.buildable` entry point group) and calls its constructor with JSON values. It
never imports a module the spec names: importing a module *is* running its code (a spec
naming a class under `tinytorch.core.cli.__main__` would run the CLI). So a spec, like a
safetensors file, cannot make the loader run code of the file author's choosing (which is
exactly what a pickled model does). Built against a weight file's header, the spec is
checked before anything is allocated: every buildable class comes with a shape function
(see `state_shapes`), so the exact state_dict a spec describes (names, shapes, element
count) is computed from the JSON alone and must equal the file's header (see `build_model`).

How a layer is described: its constructor keyword arguments, found in this order: a
`get_config()` method, a `config` dict attribute (TinyGPT keeps one), or else every
constructor argument that the layer keeps as an attribute of the same name (PyTorch's
convention: `Linear(in_features, ...)` sets `self.in_features`), with `bias` meaning "has
a bias"; arguments kept nowhere take their defaults. `spec_of` checks its own work: it
rebuilds the model from the spec and compares every state_dict entry's name and shape, so a
spec that would not load is refused when it is written, not months later when it is read.

Systems lesson: separating structure (small JSON) from weights (large binary) is what lets
the same weights be loaded by another runtime (ONNX) or a compressed variant of the layer.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any

from .. import nn
from ..tensor import Tensor
from .state_shapes import (
    CORE_STATE_SHAPES,
    StateShape,
    knows_state_shapes,
    prefixed,
    register_state_shapes,
    state_shapes_of,
)

ENTRY_POINT_GROUP = "tinytorch.buildable"
# Where a class path comes from, for the "install it" hint (strings only: core imports none).
INSTALL_HINTS = {
    "tinytorch.vision": "tinytorch-vision",
    "tinytorch.language": "tinytorch-language",
    "tinytorch.mlops": "tinytorch-mlops",
}
CONTAINERS = (nn.Sequential, nn.ModuleList)
MIN_INT_LIMIT = 64  # small settings (kernel sizes, strides, heads) are always allowed
# Unsaved buffers (a sinusoid table) may exceed the file by at most this many elements.
UNSAVED_ALLOWANCE = 2**24
MAX_COUNTED = 100_000  # state entries counted for an error message, at most
_SKIPPED_ARGS = {"self", "dtype", "device", "generator"}
_JSON_SCALARS = (bool, int, float, str, type(None))
_BUILDABLE: dict[str, type] = {}
_entry_points_loaded = False


class ArchitectureError(ValueError):
    """A model that cannot be described as a spec, or a spec that cannot be built."""


# ---------------------------------------------------------------- the allow-list
def register_buildable(classes: Iterable[type] | dict) -> None:
    """Allow specs to name these Module classes (each package registers its own layers).

    A dict maps each class to its shape function (see `state_shapes`), which lets a loader
    check a spec against a weight file before building anything; a class registered
    without one is checked layer by layer while it is built instead."""
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"register_buildable: expected Module classes, got {cls!r}")
        _BUILDABLE[_path_of(cls)] = cls
        if isinstance(classes, dict) and classes[cls] is not None:
            register_state_shapes(cls, classes[cls])


def buildable_classes() -> dict[str, type]:
    """Every class a spec may name: core's layers plus what installed packages register
    through the `tinytorch.buildable` entry point group (each a list of classes)."""
    global _entry_points_loaded
    if not _entry_points_loaded:
        _entry_points_loaded = True
        for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                register_buildable(entry_point.load())
            except Exception as exc:  # one broken package must not stop every other load
                warnings.warn(f"tinytorch: skipping buildable layers of '{entry_point.name}' "
                              f"({entry_point.value}): {type(exc).__name__}: {exc}",
                              stacklevel=2)
    return dict(_BUILDABLE)




def resolve_class(path: str) -> type:
    """The allow-listed class a spec names. Never imports a module named by the spec:
    importing a module runs its code."""
    cls = buildable_classes().get(path) if isinstance(path, str) else None
    if cls is not None:
        return cls
    prefix = next((p for p in INSTALL_HINTS if isinstance(path, str)
                   and path.startswith(p + ".")), None)
    if prefix is not None and not any(p.startswith(prefix + ".") for p in _BUILDABLE):
        raise ArchitectureError(f"build_model: the model needs {path}, but {prefix} is not "
                                f"installed; install it with `pip install "
                                f"{INSTALL_HINTS[prefix]}`")
    raise ArchitectureError(f"build_model: class {path!r:.200} is not a buildable TinyTorch "
                            "layer (not in the allow-list registered by the installed "
                            "packages); refusing to build it")


# ---------------------------------------------------------------- spec <-> model
def spec_of(model: nn.Module, verify: bool = True) -> dict[str, Any]:
    """The JSON-able recipe that rebuilds `model`'s structure (weights not included)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"spec_of: expected a tinytorch Module, got {type(model).__name__}")
    spec = _describe(model, "model")
    if verify:
        _verify(model, spec)
    return spec


def build_model(spec: dict[str, Any], header: dict[str, tuple] | None = None) -> nn.Module:
    """A freshly initialised model with the structure described by `spec`.

    With `header` (tensor name -> shape, from the weight file), the spec is checked against
    it before anything is allocated: no integer argument may exceed the largest dimension
    the file holds, and the state_dict the spec describes (computed by the classes' shape
    functions) must have exactly the header's names and shapes, so a tiny file whose spec
    says `Linear(16000, 16000)` or a 48-layer TinyGPT is refused before its first weight
    exists. (A class without a shape function is checked while it is built: the elements
    built so far may never exceed the file's.)"""
    budget = None if header is None else _Budget(header)
    if budget is not None:
        budget.check_spec(spec)
    try:
        return _build(spec, budget, "model")
    except MemoryError:
        raise ArchitectureError("build_model: the spec describes a model too large for memory"
                                ) from None


def _parse(spec, where: str) -> tuple[type, list | None, list | None, dict | None]:
    """(class, children, labels, config) of one spec node, checked."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise ArchitectureError(f"build_model: {where}: expected a spec dict with a 'class' "
                                f"string, got {spec!r:.200}")
    cls = resolve_class(spec["class"])
    if "children" in spec:
        children, names = spec["children"], spec.get("names")
        if not isinstance(children, list) or (names is not None and not (
                isinstance(names, list) and len(names) == len(children)
                and all(isinstance(n, str) for n in names))):
            raise ArchitectureError(f"build_model: {where}: 'children' must be a list (and "
                                    "'names' a list of as many strings)")
        if not issubclass(cls, CONTAINERS):
            raise ArchitectureError(f"build_model: {where}: {spec['class']} is not a container")
        return cls, children, names or [str(i) for i in range(len(children))], None
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ArchitectureError(f"build_model: {where}: 'config' must be an object")
    return cls, None, None, {key: _from_json(value) for key, value in config.items()}


def _build(spec, budget, where: str) -> nn.Module:
    cls, children, labels, config = _parse(spec, where)
    if children is not None:
        built = [_build(child, budget, f"{where}.{label}")
                 for child, label in zip(children, labels)]
        if "names" in spec and issubclass(cls, nn.Sequential):
            return cls(OrderedDict(zip(labels, built)))
        return cls(*built) if issubclass(cls, nn.Sequential) else cls(built)
    if budget is not None:
        budget.check_config(where, spec["class"], config)
    try:
        module = cls(**config)
    except (TypeError, ValueError) as exc:
        raise ArchitectureError(f"build_model: {where}: {spec['class']}(**{config!r:.200}) "
                                f"failed: {exc}") from None
    if budget is not None:
        budget.spend(where, module)
    return module


class _UnknownShapesError(Exception):
    """A class in the spec has no shape function: it is checked while it is built."""


def spec_state_shapes(spec: dict[str, Any], budget: _Budget | None = None,
                      where: str = "model") -> Iterator[StateShape]:
    """Every state entry the model `spec` describes would allocate, named as its state_dict
    names them, computed from the JSON alone (nothing is built or allocated)."""
    cls, children, labels, config = _parse(spec, where)
    if children is not None:
        for child, label in zip(children, labels):
            yield from prefixed(f"{label}.", spec_state_shapes(child, budget, f"{where}.{label}"))
        return
    if budget is not None:
        budget.check_config(where, spec["class"], config)
    if not knows_state_shapes(cls):
        raise _UnknownShapesError(spec["class"])
    try:
        for entry in state_shapes_of(cls, **config):
            if not (isinstance(entry.shape, tuple) and all(
                    isinstance(d, int) and not isinstance(d, bool) and d >= 0
                    for d in entry.shape)):
                raise ValueError(f"'{entry.name}' would have shape {entry.shape!r:.100}")
            yield entry
    except (TypeError, ValueError, KeyError, LookupError, ArithmeticError) as exc:
        raise ArchitectureError(f"build_model: {where}: {spec['class']}(**{config!r:.200}) "
                                f"failed: not a valid configuration: {exc}") from None


class _Budget:
    """What the weight file's header justifies building."""

    def __init__(self, header: dict[str, tuple]):
        self.header = {name: tuple(shape) for name, shape in header.items()}
        shapes = list(self.header.values())
        self.elements = sum(math.prod(shape) for shape in shapes)
        self.int_limit = max([MIN_INT_LIMIT, len(shapes), *(d for s in shapes for d in s)])
        self.spent = 0

    def check_spec(self, spec: dict[str, Any]) -> None:
        """The spec's exact state_dict against the header, before anything is allocated."""
        described, elements, unsaved = {}, 0, 0
        entries = spec_state_shapes(spec, self)
        try:
            for name, shape, persistent in entries:
                size = math.prod(shape)
                if not persistent:
                    unsaved += size
                    if unsaved > self.elements + UNSAVED_ALLOWANCE:
                        self._refuse(spec, f"unsaved buffers of at least {unsaved:,} elements")
                    continue
                described[name] = shape
                elements += size
                if elements > self.elements or len(described) > len(self.header):
                    self._refuse_too_big(spec, entries, elements, len(described))
        except _UnknownShapesError:
            return  # checked layer by layer while building
        if described != self.header:
            name = next(n for n in sorted(set(described) | set(self.header))
                        if described.get(n) != self.header.get(n))
            raise ArchitectureError(
                f"build_model: the spec ({_summary(spec)}) describes {elements:,} weights in "
                f"{len(described)} tensors, the weight file {self.elements:,} in "
                f"{len(self.header)}; e.g. '{name:.100}': spec {described.get(name)}, file "
                f"{self.header.get(name)}; the spec does not match the weights (refused "
                "before building)")

    def _refuse_too_big(self, spec, entries, elements: int, tensors: int) -> None:
        """Report the spec's whole size if it takes few more entries to count (a hostile
        spec may describe billions of entries: reading stops at MAX_COUNTED)."""
        exact = True
        for _, shape, persistent in entries:
            if tensors >= MAX_COUNTED:
                exact = False
                break
            if persistent:
                elements, tensors = elements + math.prod(shape), tensors + 1
        least = "" if exact else "at least "
        self._refuse(spec, f"{least}{elements:,} weights ({_float32_size(elements)} as "
                           f"float32) in {least}{tensors:,} tensors")

    def _refuse(self, spec, what: str) -> None:
        raise ArchitectureError(
            f"build_model: the spec ({_summary(spec)}) describes {what} but the weight file "
            f"holds {self.elements:,} in {len(self.header)} tensors; the spec does not match "
            "the weights (refused before building)")

    def check_config(self, where: str, name: str, config: dict) -> None:
        for key, value in _ints(config):
            if value > self.int_limit:
                raise ArchitectureError(
                    f"build_model: {where}: {name} argument {key}={value} exceeds the largest "
                    f"dimension in the weight file ({self.int_limit}); the spec does not match "
                    "the weights (refused before building)")

    def spend(self, where: str, module: nn.Module) -> None:
        self.spent += sum(int(t.numel()) for t in module.state_dict().values()
                          if isinstance(t, Tensor))
        if self.spent > self.elements:
            raise ArchitectureError(
                f"build_model: {where}: the spec describes at least {self.spent:,} weights but "
                f"the weight file holds {self.elements:,}; the spec does not match the weights")


def _summary(spec) -> str:
    cls = str(spec.get("class", "?")).rsplit(".", 1)[-1]
    if "children" in spec:
        return f"{cls} of {len(spec['children'])} layers"
    config = ", ".join(f"{k}={v!r}" for k, v in spec.get("config", {}).items())
    return f"{cls}({config:.200})"


def _float32_size(elements: int) -> str:
    size, unit = float(elements * 4), "bytes"
    for bigger in ("kB", "MB", "GB", "TB"):
        if size < 1000:
            break
        size, unit = size / 1000, bigger
    return f"{size:,.1f} {unit}" if unit != "bytes" else f"{int(size)} bytes"


def _ints(config: dict, prefix: str = ""):
    for key, value in config.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, int) and not isinstance(item, bool):
                yield f"{prefix}{key}", item


def class_path(obj) -> str:
    """'package.module.ClassName' of any object (a layer, an optimizer)."""
    return _path_of(type(obj))


def _path_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe(module: nn.Module, where: str) -> dict[str, Any]:
    path = class_path(module)
    if buildable_classes().get(path) is not type(module):
        raise ArchitectureError(
            f"spec_of: {where} is a {path}, which is not a buildable TinyTorch layer (not in "
            "the allow-list); build the model from TinyTorch layers (e.g. nn.Sequential), "
            "register the class with register_buildable, or save only its weights "
            "(tinytorch.core.save(model.state_dict(), path))")
    if isinstance(module, CONTAINERS):
        names = [name for name, _ in module.named_children()]
        spec = {"class": path, "children": [_describe(child, f"{where}.{name}")
                                            for name, child in module.named_children()]}
        if names != [str(i) for i in range(len(names))]:
            spec["names"] = names  # Sequential(OrderedDict(...)) with custom names
        return spec
    return {"class": path, "config": _config(module, where)}


def _config(module: nn.Module, where: str) -> dict[str, Any]:
    if callable(getattr(module, "get_config", None)):
        return {key: _to_json(value, f"{where}.{key}")
                for key, value in module.get_config().items()}
    if isinstance(module.__dict__.get("config"), dict):  # e.g. TinyGPT keeps its kwargs
        return {key: _to_json(value, f"{where}.{key}")
                for key, value in module.__dict__["config"].items()}
    config = {}
    for arg in inspect.signature(type(module).__init__).parameters.values():
        if arg.name in _SKIPPED_ARGS or arg.kind in (arg.VAR_POSITIONAL, arg.VAR_KEYWORD):
            continue
        if arg.name == "bias" and ("bias" in module._parameters or "bias" in module._buffers):
            config["bias"] = module.bias is not None
        elif arg.name in module.__dict__:
            config[arg.name] = _to_json(module.__dict__[arg.name], f"{where}.{arg.name}")
        elif arg.default is inspect.Parameter.empty:
            raise ArchitectureError(
                f"spec_of: {where} ({class_path(module)}) takes constructor argument "
                f"'{arg.name}' but does not keep it as an attribute; define get_config()")
    return config


def _to_json(value, where: str):
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, tuple):
        return {"tuple": [_to_json(v, where) for v in value]}
    if isinstance(value, list):
        return [_to_json(v, where) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalar
        return value.item()
    raise ArchitectureError(f"spec_of: {where} is a {type(value).__name__}, which a JSON spec "
                            "cannot hold; define get_config() on the layer")


def _from_json(value):
    if isinstance(value, dict) and set(value) == {"tuple"}:
        return tuple(_from_json(v) for v in value["tuple"])
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _verify(model: nn.Module, spec: dict[str, Any]) -> None:
    rebuilt = build_model(spec)
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()}
    if want != got:
        diff = sorted(set(want.items()) ^ set(got.items()))[:6]
        raise ArchitectureError(
            f"spec_of: rebuilding {class_path(model)} from its spec gives different weights "
            f"(name, shape) pairs, e.g. {diff}; the layer keeps state its constructor "
            "arguments do not determine; define get_config()")
    try:
        described = {name: shape for name, shape, persistent in spec_state_shapes(spec)
                     if persistent}
    except _UnknownShapesError:
        return
    if described != want:
        diff = sorted(set(want.items()) ^ set(described.items()))[:6]
        raise ArchitectureError(
            f"spec_of: the shape functions registered for {class_path(model)}'s layers "
            f"describe different weights than the model holds, e.g. {diff}; fix the layer's "
            "shape function (see tinytorch.core.serialization.state_shapes)")


register_buildable(obj for obj in vars(nn).values()
                   if isinstance(obj, type) and issubclass(obj, nn.Module) and obj is not nn.Module)
register_buildable(CORE_STATE_SHAPES)
