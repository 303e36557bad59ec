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

from . import compression, monitoring
from .__about__ import __version__
from .architecture import ArchitectureError, build_model, spec_of
from .checkpoint import (
    load_model,
    load_optimizer,
    load_state_dict,
    save_model,
    save_optimizer,
    save_state_dict,
)
from .registry import ModelRegistry, ModelVersion, RegistryError
from .safetensors_io import SafetensorsError, load_file, save_file

__all__ = [name for name in dir() if not name.startswith("_")]
