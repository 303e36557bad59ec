"""CharTokenizer: one id per character, the simplest tokenizer that works.

What it teaches: `fit` collects the distinct characters of a corpus and numbers them in
sorted order; `encode` maps each character to its number, `decode` maps back. Round trip
is exact for any text made of characters seen in `fit`; anything else cannot be encoded
(there is no id for it), which is the weakness BPE removes.

Systems lesson: both directions are a single vectorized pass. Characters become Unicode
code points with one `str.encode("utf-32-le")` (4 bytes each), a sorted table of the
known code points turns them into ids with one `np.searchsorted`, and decoding is a
table lookup followed by one `bytes.decode`. Encoding the 1 MB Shakespeare corpus takes
milliseconds; a Python loop over its characters takes ~100x longer.
"""

from __future__ import annotations

import numpy as np

from .base import Tokenizer, check_ids, check_text, register


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


@register
class CharTokenizer(Tokenizer):
    """Character-level tokenizer: `fit(text)`, `encode`, `decode`, `get_vocab_size()`."""

    kind = "char"

    def __init__(self, chars=None):
        self._codes = np.zeros(0, dtype="<u4")  # sorted code points; id = position
        if chars is not None:
            self._set_chars(chars)

    def _set_chars(self, chars) -> None:
        chars = list(chars)
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("CharTokenizer: the vocabulary must be single characters")
        if len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer: the vocabulary repeats a character")
        self._codes = np.sort(_code_points("".join(chars)))

    def fit(self, text: str) -> CharTokenizer:
        """Learn the vocabulary: every distinct character of `text`, in sorted order."""
        text = check_text("CharTokenizer.fit", text)
        if not text:
            raise ValueError("CharTokenizer.fit: got an empty text; nothing to learn from")
        # BEGIN SOLUTION
        self._codes = np.unique(_code_points(text))
        # END SOLUTION
        return self

    @property
    def vocab_size(self) -> int:
        return int(self._codes.size)

    @property
    def chars(self) -> list[str]:
        """The vocabulary: `chars[i]` is the character with id i."""
        return list(self._codes.tobytes().decode("utf-32-le"))

    def _check_fitted(self, op: str) -> None:
        if self._codes.size == 0:
            raise RuntimeError(f"{op}: the tokenizer has no vocabulary yet; call fit(text) first")

    def encode_array(self, text: str) -> np.ndarray:
        text = check_text("CharTokenizer.encode", text)
        self._check_fitted("CharTokenizer.encode")
        # BEGIN SOLUTION
        codes = _code_points(text)
        ids = np.searchsorted(self._codes, codes)
        ids_in_range = np.minimum(ids, self._codes.size - 1)
        unknown = self._codes[ids_in_range] != codes
        # END SOLUTION
        if unknown.any():
            missing = sorted({chr(c) for c in codes[unknown]})
            shown = ", ".join(repr(c) for c in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise ValueError(f"CharTokenizer.encode: {len(missing)} character(s) not in the "
                             f"vocabulary of {self.vocab_size}: {shown}; fit on a text that "
                             "contains them, or use BPETokenizer, which encodes any string")
        return ids.astype(np.int64)

    def encode(self, text: str) -> list[int]:
        """Characters -> ids (a list of ints)."""
        return self.encode_array(text).tolist()

    def decode(self, ids) -> str:
        """ids (list, array or integer Tensor) -> text."""
        self._check_fitted("CharTokenizer.decode")
        ids = check_ids("CharTokenizer.decode", ids, self.vocab_size)
        # BEGIN SOLUTION
        return self._codes[ids].tobytes().decode("utf-32-le")
        # END SOLUTION

    def _config(self) -> dict:
        return {"chars": "".join(self.chars)}

    @classmethod
    def _from_config(cls, config: dict) -> CharTokenizer:
        return cls(config["chars"])

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
