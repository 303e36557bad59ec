"""Tokenizers: text <-> integer ids (characters, words, byte-level BPE)."""

from .base import Tokenizer
from .bpe import BPETokenizer
from .char import CharTokenizer
from .pretokenize import pretokenize
from .word import WordTokenizer

__all__ = ["Tokenizer", "CharTokenizer", "WordTokenizer", "BPETokenizer", "pretokenize"]
