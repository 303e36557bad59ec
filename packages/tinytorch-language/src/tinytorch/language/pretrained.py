"""Saving a trained language model so another program can load and use it.

What it teaches: a usable model is three things, and all three must travel together:
the weights (`model.npz`, the state_dict as numpy arrays), the architecture that gives the
weights their meaning (`config.json`, the constructor arguments), and the tokenizer that
turns text into the ids the weights were trained on (`tokenizer.json`). Weights without
the tokenizer are useless: id 17 means nothing on its own.

Systems lessons: no pickle anywhere (loading a file never runs code), and every file is
written atomically (`tinytorch.core.atomic`), so a crash mid-save leaves the old model
intact. Tied weights appear under both names in the state_dict, as in PyTorch; for
TinyGPT that duplicates one vocab x d_model table in the file.
"""

from __future__ import annotations

import json
import os

import numpy as np

from tinytorch.core.atomic import atomic_write_text, savez_atomic

from .gpt import TinyGPT
from .tokenizers import Tokenizer

MODEL_FILE, CONFIG_FILE, TOKENIZER_FILE = "model.npz", "config.json", "tokenizer.json"
FORMAT = "tinytorch-language-model-v1"


def save_pretrained(directory, model: TinyGPT, tokenizer: Tokenizer | None = None,
                    **metadata) -> str:
    """Write model.npz, config.json (+ tokenizer.json) into `directory`; return its path.

    `metadata` (JSON-able: training steps, validation loss, ...) goes into config.json.
    """
    if not isinstance(model, TinyGPT):
        raise TypeError(f"save_pretrained: expected a TinyGPT, got {type(model).__name__}")
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    arrays = {name: tensor.array for name, tensor in model.state_dict().items()}
    savez_atomic(os.path.join(directory, MODEL_FILE), arrays)
    config = {"format": FORMAT, "model": "TinyGPT", "config": model.config,
              "dtype": str(model.token_embedding.weight.dtype), "metadata": metadata}
    try:
        text = json.dumps(config, indent=1)
    except TypeError as err:
        raise TypeError(f"save_pretrained: metadata must be JSON-serialisable: {err}") from None
    atomic_write_text(os.path.join(directory, CONFIG_FILE), text)
    if tokenizer is not None:
        tokenizer.save(os.path.join(directory, TOKENIZER_FILE))
    return directory


def load_pretrained(directory) -> tuple[TinyGPT, Tokenizer | None, dict]:
    """Rebuild (model, tokenizer or None, metadata) from a `save_pretrained` directory."""
    directory = os.fspath(directory)
    config_path = os.path.join(directory, CONFIG_FILE)
    model_path = os.path.join(directory, MODEL_FILE)
    for path in (config_path, model_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"load_pretrained: {path!r} is missing; expected a "
                                    f"directory written by save_pretrained")
    with open(config_path, encoding="utf-8") as file:
        config = json.load(file)
    if config.get("format") != FORMAT:
        raise ValueError(f"load_pretrained: {config_path!r} has format "
                         f"{config.get('format')!r}, expected {FORMAT!r}")
    model = TinyGPT(**config["config"], dtype=np.dtype(config["dtype"]))
    with np.load(model_path, allow_pickle=False) as archive:
        model.load_state_dict({name: archive[name] for name in archive.files})
    tokenizer_path = os.path.join(directory, TOKENIZER_FILE)
    tokenizer = Tokenizer.load(tokenizer_path) if os.path.isfile(tokenizer_path) else None
    return model, tokenizer, config.get("metadata", {})

