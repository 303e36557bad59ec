"""Optional dependencies: import a package only when a feature needs it.

    onnx = optional_import("onnx", "ONNX export", "pip install onnx")

What it teaches: a library that works without its optional integrations imports them
inside the functions that use them, never at the top of a module. When one is missing the
user gets one sentence saying which feature needs which package and the pip command that
installs it, instead of a ModuleNotFoundError from deep inside.

Systems lesson: `import tinytorch.perf` stays fast and works on a machine without
tinytorch-vision, onnx or matplotlib; the cost of an import is paid by the call that needs
it, once (Python caches modules in sys.modules).
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingPackageError(ImportError):
    """An optional package that a feature needs is not installed."""


def distribution_of(module: str) -> str:
    """The pip name that provides `module`: tinytorch.vision.nn -> tinytorch-vision."""
    parts = module.split(".")
    if parts[0] == "tinytorch" and len(parts) > 1:
        return f"tinytorch-{parts[1]}"
    return parts[0]


def optional_import(module: str, purpose: str, install: str | None = None,
                    required: bool = True) -> ModuleType | None:
    """Import `module`; if it is missing, raise MissingPackageError saying that `purpose`
    needs it and how to `install` it (default: pip install <distribution>), or return None
    when not `required`."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if not required:
            return None
        dist = distribution_of(module)
        hint = install or f"pip install {dist}"
        raise MissingPackageError(f"{purpose} needs {dist} (import {module}), which is not "
                                  f"installed ({error}); install it with: {hint}") from None
