"""What every tokenizer shares: text <-> integer ids, a vocabulary size, JSON save/load.

What it teaches: a language model never sees text, only integer ids in [0, vocab_size).
A tokenizer is the pair of functions between the two, and its vocabulary size fixes two
of the model's shapes: the embedding table (vocab_size x d_model) and the output layer
(d_model x vocab_size).

Systems lesson: the vocabulary size is a trade-off between sequence length and parameter
count. Characters (65 symbols for Shakespeare) make sequences long and tables tiny; words
(tens of thousands) make sequences short and tables large, and still cannot spell an
unseen word. Subwords (BPE) sit in between. Attention costs O(T^2) in the sequence
length, so fewer tokens per character is cheaper attention for the same text.

Files are JSON (human-readable, no pickle, so loading never runs code) and are written
atomically with `tinytorch.core.atomic`.
"""

from __future__ import annotations

import os

import numpy as np

from tinytorch.core.bad_input import as_array
from tinytorch.core.serialization import SerializationError, read_json, write_json

FORMAT = "tinytorch-tokenizer-v1"


class Tokenizer:
    """Base class: subclasses define `encode`, `decode`, `vocab_size` and `_config`."""

    kind = "base"

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError(f"{type(self).__name__} must define encode(text)")

    def decode(self, ids) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define decode(ids)")

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define vocab_size")

    def get_vocab_size(self) -> int:
        """The seeds' name for `vocab_size`."""
        return self.vocab_size

    def __len__(self) -> int:
        return self.vocab_size

    def encode_array(self, text: str) -> np.ndarray:
        """`encode` as an int64 array (what a model and a dataset want)."""
        return np.asarray(self.encode(text), dtype=np.int64)

    # ------------------------------------------------------------ saving and loading
    def _config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must define _config()")

    @classmethod
    def _from_config(cls, config: dict) -> Tokenizer:
        raise NotImplementedError(f"{cls.__name__} must define _from_config(config)")

    def save(self, path) -> None:
        """Write the tokenizer to `path` as checksummed JSON (atomically)."""
        write_json(path, self.to_document())

    def to_document(self) -> dict:
        """The JSON object `save` writes (also embedded in a saved language model)."""
        return {"format": FORMAT, "type": self.kind, **self._config()}

    @classmethod
    def load(cls, path) -> Tokenizer:
        """Read a tokenizer saved by `save`; `Tokenizer.load` picks the right class."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{cls.__name__}.load: no tokenizer file at {path!r}")
        try:
            document = read_json(path)
        except SerializationError as err:
            raise ValueError(f"{cls.__name__}.load: {err}") from None
        return cls.from_document(document, path)

    @classmethod
    def from_document(cls, document, source: str = "<document>") -> Tokenizer:
        """The tokenizer a `to_document()` object describes."""
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"{cls.__name__}.load: {source!r} is not a TinyTorch tokenizer "
                             f"(expected format {FORMAT!r})")
        kind = document.get("type")
        target = _REGISTRY.get(kind) if isinstance(kind, str) else None
        if target is None:
            raise ValueError(f"{cls.__name__}.load: unknown tokenizer type {kind!r:.60} in "
                             f"{source!r}; known: {sorted(_REGISTRY)}")
        if cls is not Tokenizer and not issubclass(target, cls):
            raise TypeError(f"{cls.__name__}.load: {source!r} holds a {target.__name__}, not a "
                            f"{cls.__name__}; use Tokenizer.load to load any kind")
        return target._from_config(document)


_REGISTRY: dict[str, type[Tokenizer]] = {}


def register(cls: type[Tokenizer]) -> type[Tokenizer]:
    """Class decorator: make `Tokenizer.load` able to rebuild this kind from JSON."""
    _REGISTRY[cls.kind] = cls
    return cls


def check_text(op: str, text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{op}: expected a str, got {type(text).__name__}")
    return text


def check_ids(op: str, ids, vocab_size: int) -> np.ndarray:
    """ids (list, array or integer Tensor, any shape) -> flat int64 array, range-checked."""
    array = as_array(op, "ids", ids)
    if array.size == 0:
        return array.reshape(0).astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: ids must be integers, got dtype {array.dtype}")
    array = array.reshape(-1).astype(np.int64, copy=False)
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(f"{op}: ids must be in [0, {vocab_size}), got range [{low}, {high}]")
    return array

