"""Saving and loading without pickle: one format for every file TinyTorch writes.

    import tinytorch.core as torch
    torch.save(model.state_dict(), "model.pt")        # objects.py: torch.save / torch.load
    model.load_state_dict(torch.load("model.pt"))
    save_model(model, "mlp.safetensors")              # model_file.py: weights + architecture
    model = load_model("mlp.safetensors")

Modules, from the bytes up: `safetensors` (the file format, hardened, with a SHA-256 of
every byte), `objects` (`save`/`load` of nested containers of tensors), `architecture`
(a model's structure as JSON, built only from an allow-list of classes), `model_file`
(weights + architecture + info in one file), `json_file` (checksummed JSON documents).
"""

from .architecture import (
    ArchitectureError,
    build_model,
    buildable_classes,
    class_path,
    register_buildable,
    spec_of,
)
from .json_file import read_json, write_json
from .model_file import DEFAULT_MAX_BYTES, load_model, save_model
from .objects import load, save
from .safetensors import SafetensorsError, SerializationError, load_file, save_file

__all__ = [name for name in dir() if not name.startswith("_")]
