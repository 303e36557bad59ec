"""tinytorch.mlops: from a trained TinyTorch model to production, with real savings.

    from tinytorch.mlops import ModelRegistry, save_model, load_model
    from tinytorch.mlops.compression import quantize_model, prune_channels, distill
    from tinytorch.mlops.export import export_onnx, check_onnx        # needs [onnx]
    from tinytorch.mlops.monitoring import DriftDetector, RetrainingTrigger
    from tinytorch.mlops.serving import ModelService, background_server, load_test

Depends on tinytorch-core only; CNN layers (tinytorch-vision) and TinyGPT
(tinytorch-language) are supported when those packages are installed. `export` and
`serving` are imported on first use (they pull in onnx / fastapi).
"""

from tinytorch.core.serialization import (
    ArchitectureError,
    SafetensorsError,
    SerializationError,
    build_model,
    load_file,
    save_file,
    spec_of,
)

from . import compression, monitoring
from .__about__ import __version__
from .checkpoint import load_model, load_optimizer, save_model, save_optimizer
from .registry import ModelRegistry, ModelVersion, RegistryError

__all__ = [name for name in dir() if not name.startswith("_")]
