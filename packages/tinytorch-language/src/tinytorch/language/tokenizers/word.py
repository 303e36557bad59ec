"""WordTokenizer: one id per word (and per punctuation mark), the most frequent ones kept.

What it teaches: words make short sequences (Shakespeare: ~0.25 tokens per character
against 1.0 for characters), but a word vocabulary is never complete: any word not seen in
`fit` (a name, a typo, "unfriended") becomes `<unk>`, and its spelling is lost. Capping
the vocabulary to the most frequent words trades coverage for a smaller embedding table.

Systems lesson: the embedding table and the output layer grow with the vocabulary: a
30,000-word vocabulary at d_model=512 is 2 x 15.4M parameters, more than the rest of a
small transformer. That cost, plus `<unk>`, is why modern models use subwords (BPE).
"""

from __future__ import annotations

from collections import Counter

from .base import Tokenizer, check_ids, check_text, register
from .pretokenize import pretokenize

UNK = "<unk>"


@register
class WordTokenizer(Tokenizer):
    """Word-level tokenizer with an `<unk>` token (id 0) for anything not in the vocabulary.

    `max_size` caps the vocabulary (including `<unk>`) to the most frequent words;
    `min_freq` drops words seen fewer times. Words keep their leading space (" the"), so
    decoding in-vocabulary text gives it back exactly.
    """

    kind = "word"

    def __init__(self, max_size: int | None = None, min_freq: int = 1):
        if max_size is not None and (not isinstance(max_size, int) or max_size < 2):
            raise ValueError(f"WordTokenizer: max_size must be an int >= 2 (room for <unk> "
                             f"and one word) or None, got {max_size!r}")
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"WordTokenizer: min_freq must be a positive int, got {min_freq!r}")
        self.max_size, self.min_freq = max_size, min_freq
        self._words: list[str] = []
        self._ids: dict[str, int] = {}

    def fit(self, text: str) -> WordTokenizer:
        """Keep the most frequent pieces of `text` (ties broken alphabetically)."""
        text = check_text("WordTokenizer.fit", text)
        if not text:
            raise ValueError("WordTokenizer.fit: got an empty text; nothing to learn from")
        counts = Counter(pretokenize(text))
        ranked = sorted((w for w, n in counts.items() if n >= self.min_freq),
                        key=lambda w: (-counts[w], w))
        if self.max_size is not None:
            ranked = ranked[: self.max_size - 1]
        self._set_words([UNK, *ranked])
        return self

    def _set_words(self, words: list[str]) -> None:
        self._words = list(words)
        self._ids = {w: i for i, w in enumerate(self._words)}

    @property
    def vocab_size(self) -> int:
        return len(self._words)

    @property
    def unk_id(self) -> int:
        return 0

    def _check_fitted(self, op: str) -> None:
        if not self._words:
            raise RuntimeError(f"{op}: the tokenizer has no vocabulary yet; call fit(text) first")

    def encode(self, text: str) -> list[int]:
        """Pieces -> ids; pieces outside the vocabulary become `<unk>` (id 0)."""
        text = check_text("WordTokenizer.encode", text)
        self._check_fitted("WordTokenizer.encode")
        ids = self._ids
        return [ids.get(piece, 0) for piece in pretokenize(text)]

    def decode(self, ids) -> str:
        self._check_fitted("WordTokenizer.decode")
        ids = check_ids("WordTokenizer.decode", ids, self.vocab_size)
        words = self._words
        return "".join(words[i] for i in ids.tolist())

    def _config(self) -> dict:
        return {"max_size": self.max_size, "min_freq": self.min_freq, "words": self._words}

    @classmethod
    def _from_config(cls, config: dict) -> WordTokenizer:
        tokenizer = cls(config["max_size"], config["min_freq"])
        tokenizer._set_words(config["words"])
        return tokenizer

    def __repr__(self) -> str:
        return f"WordTokenizer(vocab_size={self.vocab_size})"
