"""BPETokenizer: byte-level byte-pair encoding, trained incrementally.

What it teaches: start from the 256 possible bytes, so every string has an encoding (its
UTF-8 bytes) and nothing is ever unknown. Then repeat: find the most frequent adjacent pair
of tokens in the corpus and make it a new token, until the vocabulary has the size you
asked for. Frequent words end up as one token (" the"), rare ones as a few pieces
(" un" "friend" "ed"), unseen characters as their bytes. Encoding replays the merges in
the order they were learned; decoding concatenates each token's bytes.

Systems lessons:
- Training cost. Recounting every pair after every merge costs O(corpus) per merge, i.e.
  O(merges x corpus): minutes for 1 MB in Python. Here the corpus is first reduced to its
  distinct pre-tokenized words with their counts (1.1 MB of Shakespeare: ~300k pieces,
  ~25k distinct), and pair counts are kept up to date incrementally: an index says which
  words contain each pair, so a merge only revisits those words and adjusts the counts
  their change affects. A heap with lazy deletion (stale entries are skipped when popped)
  gives the most frequent pair in O(log P). Training to 1,000 tokens takes about a second.
- Encoding caches each distinct piece, because natural text repeats the same few
  thousand words: most pieces cost one dictionary lookup.
- Vocabulary vs length: byte-level BPE spends 256 ids on raw bytes before learning any
  merge; the payoff is that no input can fail to encode.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict

from .base import Tokenizer, check_ids, check_text, register
from .pretokenize import PATTERN

NUM_BYTES = 256


def _utf8(text: str) -> bytes:
    # surrogatepass: even a lone surrogate (legal in a Python str) round-trips exactly
    return text.encode("utf-8", errors="surrogatepass")


def _merge_pair(seq: list[int], a: int, b: int, new: int) -> list[int]:
    """Replace every non-overlapping (a, b) in `seq`, left to right, by `new`."""
    # BEGIN SOLUTION
    out, i, n = [], 0, len(seq)
    while i < n:
        if i + 1 < n and seq[i] == a and seq[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return out
    # END SOLUTION


class _PairStats:
    """Pair counts over a bag of words, updated incrementally as pairs are merged."""

    def __init__(self, words: list[list[int]], freqs: list[int]):
        self.words, self.freqs = words, freqs
        self.counts: Counter = Counter()
        self.where: defaultdict = defaultdict(set)  # pair -> ids of words that may hold it
        for index, (word, freq) in enumerate(zip(words, freqs)):
            for pair in zip(word, word[1:]):
                self.counts[pair] += freq
                self.where[pair].add(index)
        self.heap = [(-count, pair) for pair, count in self.counts.items()]
        heapq.heapify(self.heap)

    def most_frequent(self):
        """(pair, count) with the highest count (ties: smallest ids), or None."""
        while self.heap:
            negative, pair = self.heap[0]
            if self.counts.get(pair, 0) == -negative:
                return pair, -negative
            heapq.heappop(self.heap)  # stale entry: that count has changed since
        return None

    def merge(self, pair: tuple[int, int], new: int) -> None:
        a, b = pair
        changed: Counter = Counter()
        for index in self.where.pop(pair, ()):
            old = self.words[index]
            merged = _merge_pair(old, a, b, new)
            if len(merged) == len(old):
                continue  # a stale index entry: the pair is no longer in this word
            freq = self.freqs[index]
            for p in zip(old, old[1:]):
                changed[p] -= freq
            for p in zip(merged, merged[1:]):
                changed[p] += freq
                if p != pair:
                    self.where[p].add(index)
            self.words[index] = merged
        for p, delta in changed.items():
            if delta == 0:
                continue
            count = self.counts[p] + delta
            if count > 0:
                self.counts[p] = count
                heapq.heappush(self.heap, (-count, p))
            else:
                del self.counts[p]
        self.counts.pop(pair, None)


@register
class BPETokenizer(Tokenizer):
    """Byte-level BPE: `BPETokenizer(vocab_size=1000).fit(text)`, exact round trip for any str.

    `vocab_size` counts the 256 byte tokens, so `vocab_size - 256` merges are learned.
    Training stops early if no pair occurs at least `min_frequency` times.
    """

    kind = "bpe"

    def __init__(self, vocab_size: int | None = None, min_frequency: int = 2,
                 pattern: str = PATTERN):
        if vocab_size is not None:
            _check_vocab_size(vocab_size)
        if not isinstance(min_frequency, int) or min_frequency < 1:
            raise ValueError(f"BPETokenizer: min_frequency must be a positive int, got "
                             f"{min_frequency!r}")
        self.target_vocab_size, self.min_frequency = vocab_size, min_frequency
        try:
            self._regex = re.compile(pattern)
        except re.error as err:
            raise ValueError(f"BPETokenizer: invalid pre-tokenization pattern: {err}") from None
        self.pattern = pattern
        self._set_merges([])

    # ------------------------------------------------------------ training
    def fit(self, text: str, vocab_size: int | None = None) -> BPETokenizer:
        """Learn `vocab_size - 256` merges from `text` (replaces any earlier training)."""
        text = check_text("BPETokenizer.fit", text)
        vocab_size = self.target_vocab_size if vocab_size is None else vocab_size
        if vocab_size is None:
            raise ValueError("BPETokenizer.fit: no vocab_size; pass it here or to the "
                             "constructor, e.g. BPETokenizer(vocab_size=1000)")
        _check_vocab_size(vocab_size)
        self.target_vocab_size = vocab_size
        pieces = Counter(self._regex.findall(text))
        words = [list(_utf8(piece)) for piece in pieces]
        stats = _PairStats(words, list(pieces.values()))
        merges = []
        for new in range(NUM_BYTES, vocab_size):
            best = stats.most_frequent()
            if best is None or best[1] < self.min_frequency:
                break
            stats.merge(best[0], new)
            merges.append(best[0])
        self._set_merges(merges)
        return self

    train = fit

    def _set_merges(self, merges: list[tuple[int, int]]) -> None:
        self.merges = [tuple(m) for m in merges]
        self._ranks = {pair: NUM_BYTES + rank for rank, pair in enumerate(self.merges)}
        self._bytes = [bytes([b]) for b in range(NUM_BYTES)]
        for a, b in self.merges:
            self._bytes.append(self._bytes[a] + self._bytes[b])
        self._cache: dict[str, list[int]] = {}

    # ------------------------------------------------------------ encoding and decoding
    @property
    def vocab_size(self) -> int:
        return NUM_BYTES + len(self.merges)

    def _encode_piece(self, piece: str) -> list[int]:
        seq = list(_utf8(piece))
        ranks = self._ranks
        while len(seq) > 1:
            # the learned merge with the lowest rank among adjacent pairs goes first
            new = min(ranks.get(p, _NEVER) for p in zip(seq, seq[1:]))
            if new == _NEVER:
                break
            a, b = self.merges[new - NUM_BYTES]
            seq = _merge_pair(seq, a, b, new)
        return seq

    def encode(self, text: str) -> list[int]:
        """text -> ids; any str works (unseen characters become their UTF-8 bytes)."""
        text = check_text("BPETokenizer.encode", text)
        cache, ids = self._cache, []
        for piece in self._regex.findall(text):
            tokens = cache.get(piece)
            if tokens is None:
                tokens = cache[piece] = self._encode_piece(piece)
            ids.extend(tokens)
        return ids

    def clear_cache(self) -> None:
        """Forget the per-piece encoding cache (to time or measure a cold encode)."""
        self._cache.clear()

    def decode(self, ids) -> str:
        """ids -> text. Byte sequences that are not valid UTF-8 (possible when decoding
        arbitrary ids, never for the output of `encode`) become U+FFFD."""
        ids = check_ids("BPETokenizer.decode", ids, self.vocab_size)
        table = self._bytes
        data = b"".join(table[i] for i in ids.tolist())
        try:
            return data.decode("utf-8", errors="surrogatepass")
        except UnicodeDecodeError:
            return data.decode("utf-8", errors="replace")

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes token `token_id` stands for."""
        check_ids("BPETokenizer.token_bytes", [token_id], self.vocab_size)
        return self._bytes[token_id]

    def tokens(self) -> list[str]:
        """Every token as readable text (invalid UTF-8 shown as \\x.. escapes)."""
        return [b.decode("utf-8", errors="backslashreplace") for b in self._bytes]

    # ------------------------------------------------------------ saving and loading
    def _config(self) -> dict:
        readable = self.tokens()
        return {
            "pattern": self.pattern,
            "min_frequency": self.min_frequency,
            # each merge: [left id, right id, the new token as text], for human readers
            "merges": [[a, b, readable[NUM_BYTES + i]] for i, (a, b) in enumerate(self.merges)],
        }

    @classmethod
    def _from_config(cls, config: dict) -> BPETokenizer:
        tokenizer = cls(min_frequency=config["min_frequency"], pattern=config["pattern"])
        merges = [(int(m[0]), int(m[1])) for m in config["merges"]]
        for rank, (a, b) in enumerate(merges):
            if not (0 <= a < NUM_BYTES + rank and 0 <= b < NUM_BYTES + rank):
                raise ValueError(f"BPETokenizer.load: merge {rank} refers to token ids "
                                 f"({a}, {b}) that do not exist yet")
        tokenizer._set_merges(merges)
        tokenizer.target_vocab_size = tokenizer.vocab_size
        return tokenizer

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"


_NEVER = float("inf")


def _check_vocab_size(vocab_size) -> None:
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < NUM_BYTES:
        raise ValueError(f"BPETokenizer: vocab_size must be an int >= {NUM_BYTES} (the byte "
                         f"tokens), got {vocab_size!r}")
