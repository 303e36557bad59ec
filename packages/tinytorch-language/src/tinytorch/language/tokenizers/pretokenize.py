"""Pre-tokenization: cut text into word-like pieces before (sub)word tokenizers see it.

What it teaches: word and BPE tokenizers first split text with one regular expression,
GPT-2 style: a word keeps the single space in front of it (" king"), digits, letters and
punctuation are separate pieces, and runs of whitespace stand alone. Merges never cross a
piece boundary, so "king." never becomes one token while " king" can.

The pattern covers every character (letters, digits, underscore, other symbols and
whitespace each fall in one branch), so joining the pieces gives back the text exactly.
Python's `re` has no `\\p{L}`; `[^\\W\\d_]` ("word characters that are not digits or
underscore") is the Unicode-aware letter class it offers instead.
"""

from __future__ import annotations

import re

PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
_COMPILED = re.compile(PATTERN)


def pretokenize(text: str, pattern: re.Pattern = _COMPILED) -> list[str]:
    """Split `text` into pieces whose concatenation is `text`."""
    return pattern.findall(text)
