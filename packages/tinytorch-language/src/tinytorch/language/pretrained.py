"""Saving a trained language model so another program can load and use it.

What it teaches: a usable model is three things, and all three must travel together:
the weights (the state_dict), the architecture that gives the weights their meaning (the
constructor arguments), and the tokenizer that turns text into the ids the weights were
trained on. Weights without the tokenizer are useless: id 17 means nothing on its own.
So all three go into one file, `model.safetensors`, written by core's one save path
(`tinytorch.core.serialization.save_model`): the tokenizer rides in the file's info.

Systems lessons: no pickle anywhere (loading a file never runs code), one SHA-256 covers
weights, architecture and tokenizer, and the file is written atomically, so a crash
mid-save leaves the old model intact. Tied weights appear under both names in the
state_dict, as in PyTorch; for TinyGPT that duplicates one vocab x d_model table in the file.
"""

from __future__ import annotations

import os

from tinytorch.core.serialization import load_model, save_model

from .gpt import TinyGPT
from .tokenizers import Tokenizer

MODEL_FILE = "model.safetensors"
FORMAT = "tinytorch-language-model-v2"


def save_pretrained(directory, model: TinyGPT, tokenizer: Tokenizer | None = None,
                    **metadata) -> str:
    """Write `directory/model.safetensors` (weights, config, tokenizer); return the directory.

    `metadata` (JSON-able: training steps, validation loss, ...) is stored with them.
    """
    if not isinstance(model, TinyGPT):
        raise TypeError(f"save_pretrained: expected a TinyGPT, got {type(model).__name__}")
    if tokenizer is not None and not isinstance(tokenizer, Tokenizer):
        raise TypeError(f"save_pretrained: expected a Tokenizer or None, got "
                        f"{type(tokenizer).__name__}")
    directory = os.fspath(directory)
    info = {"format": FORMAT, "metadata": metadata,
            "tokenizer": None if tokenizer is None else tokenizer.to_document()}
    try:
        save_model(model, os.path.join(directory, MODEL_FILE), info=info)
    except TypeError as err:
        raise TypeError(f"save_pretrained: metadata must be JSON-serialisable: {err}") from None
    return directory


def load_pretrained(directory) -> tuple[TinyGPT, Tokenizer | None, dict]:
    """Rebuild (model, tokenizer or None, metadata) from a `save_pretrained` directory."""
    path = os.path.join(os.fspath(directory), MODEL_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_pretrained: {path!r} is missing; expected a "
                                f"directory written by save_pretrained")
    model, info = load_model(path, return_info=True)
    if info.get("format") != FORMAT or not isinstance(model, TinyGPT):
        raise ValueError(f"load_pretrained: {path!r} holds a {type(model).__name__} with "
                         f"format {info.get('format')!r:.60}, expected a TinyGPT with "
                         f"format {FORMAT!r}")
    document = info.get("tokenizer")
    tokenizer = None if document is None else Tokenizer.from_document(document, path)
    metadata = info.get("metadata", {})
    return model, tokenizer, metadata if isinstance(metadata, dict) else {}
