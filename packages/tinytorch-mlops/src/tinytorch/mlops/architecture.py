"""Architecture specs: describe a model as JSON, rebuild it from that JSON.

What it teaches: a checkpoint holds numbers, not structure. To load weights you first need
a model of the right shape, so a registry stores the *recipe* next to the weights:

    {"class": "tinytorch.core.nn.container.Sequential", "children": [
        {"class": "tinytorch.core.nn.layers.Linear",
         "config": {"in_features": 784, "out_features": 128, "bias": true}}, ...]}

The recipe is plain data. Rebuilding imports only classes from an allow-list of TinyTorch
packages and calls their constructors with JSON values, so a spec, like a safetensors file,
cannot make the loader run code of the file author's choosing (which is exactly what a
pickled model does).

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

import importlib
import inspect
from collections import OrderedDict
from typing import Any

from tinytorch.core import nn

# Packages whose classes a spec may name, and how to install each one.
ALLOWED_PACKAGES = {
    "tinytorch.core": "tinytorch-core",
    "tinytorch.vision": "tinytorch-vision",
    "tinytorch.language": "tinytorch-language",
    "tinytorch.mlops": "tinytorch-mlops",
}
CONTAINERS = (nn.Sequential, nn.ModuleList)
_SKIPPED_ARGS = {"self", "dtype", "device", "generator"}
_JSON_SCALARS = (bool, int, float, str, type(None))


class ArchitectureError(ValueError):
    """A model that cannot be described as a spec, or a spec that cannot be built."""


def spec_of(model: nn.Module, verify: bool = True) -> dict[str, Any]:
    """The JSON-able recipe that rebuilds `model`'s structure (weights not included)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"spec_of: expected a tinytorch Module, got {type(model).__name__}")
    spec = _describe(model, "model")
    if verify:
        _verify(model, spec)
    return spec


def build_model(spec: dict[str, Any]) -> nn.Module:
    """A freshly initialised model with the structure described by `spec`."""
    if not isinstance(spec, dict) or "class" not in spec:
        raise ArchitectureError(f"build_model: expected a spec dict with a 'class' key, got "
                                f"{spec!r:.200}")
    cls = resolve_class(spec["class"])
    if "children" in spec:
        children = [build_model(child) for child in spec["children"]]
        if "names" in spec and issubclass(cls, nn.Sequential):
            return cls(OrderedDict(zip(spec["names"], children)))
        return cls(*children) if issubclass(cls, nn.Sequential) else cls(children)
    config = {key: _from_json(value) for key, value in spec.get("config", {}).items()}
    try:
        return cls(**config)
    except TypeError as exc:
        raise ArchitectureError(f"build_model: {spec['class']}(**{config}) failed: {exc}") \
            from None


def resolve_class(path: str) -> type:
    """Import `package.module.ClassName` if it belongs to an allowed TinyTorch package."""
    module_path, _, name = str(path).rpartition(".")
    package = next((p for p in ALLOWED_PACKAGES if module_path == p
                    or module_path.startswith(p + ".")), None)
    if package is None:
        raise ArchitectureError(f"build_model: class {path!r} is not in an allowed package "
                                f"({', '.join(ALLOWED_PACKAGES)}); refusing to import it")
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        raise ArchitectureError(
            f"build_model: the model needs {path}, but {exc.name} is not installed; install "
            f"it with `pip install {ALLOWED_PACKAGES[package]}`") from None
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ArchitectureError(f"build_model: {path} is not a tinytorch Module class")
    return cls


def class_path(obj) -> str:
    """'package.module.ClassName' of any object (a layer, an optimizer)."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe(module: nn.Module, where: str) -> dict[str, Any]:
    path = class_path(module)
    if not any(path.startswith(p + ".") for p in ALLOWED_PACKAGES):
        raise ArchitectureError(
            f"spec_of: {where} is a {path}, which is not a TinyTorch class; build the model "
            "from TinyTorch layers (e.g. nn.Sequential) or register the weights without a "
            "spec (save_state)")
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
