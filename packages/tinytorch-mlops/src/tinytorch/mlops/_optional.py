"""Optional integrations, imported only when used, with a message that says what to install.

tinytorch-mlops depends on tinytorch-core alone. CNN layers (tinytorch-vision), TinyGPT
(tinytorch-language) and ONNX (onnx, onnxruntime) are used when installed; a function
that needs one of them calls the helper below (core's `tinytorch.core.optional`, with
the mlops extras as install hints), which either returns the module or raises an
ImportError naming the pip command. Importing tinytorch.mlops itself never needs them.
"""

from __future__ import annotations

from types import ModuleType

from tinytorch.core.optional import distribution_of
from tinytorch.core.optional import optional_import as _import

INSTALL = {
    "tinytorch-vision": "pip install tinytorch-vision  (or tinytorch-mlops[vision])",
    "tinytorch-language": "pip install tinytorch-language  (or tinytorch-mlops[language])",
    "onnx": "pip install onnx  (or tinytorch-mlops[onnx])",
    "onnxruntime": "pip install onnxruntime  (or tinytorch-mlops[onnx])",
}


def optional_import(name: str, purpose: str, required: bool = True) -> ModuleType | None:
    """Core's `optional_import` with mlops's install hints (which extra brings it)."""
    return _import(name, purpose, INSTALL.get(distribution_of(name)), required)


def vision_nn(required: bool = True):
    return optional_import("tinytorch.vision.nn", "CNN support", required)


def vision_functional(required: bool = True):
    return optional_import("tinytorch.vision.functional", "CNN support", required)


def language(required: bool = True):
    return optional_import("tinytorch.language", "TinyGPT support", required)


def tinygpt_class(required: bool = True):
    """TinyGPT's class if tinytorch-language is installed (else None or ImportError)."""
    package = language(required)
    if package is None:
        return None
    found = getattr(package, "TinyGPT", None)
    return found if found is not None else optional_import(
        "tinytorch.language.gpt", "TinyGPT support", required).TinyGPT


def onnx():
    return optional_import("onnx", "ONNX export")


def onnxruntime():
    return optional_import("onnxruntime", "running ONNX models")
