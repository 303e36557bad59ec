"""Text generation: turn next-token logits into tokens, one step at a time.

What it teaches: a language model gives a distribution over the next token; generation is
a loop of "pick one, append it, ask again". How you pick is the decoding strategy:

- greedy (`temperature=0`): always the most likely token. Deterministic, and prone to
  loops ("the the the") because it never takes a risk.
- temperature: sample from softmax(logits / T). T < 1 sharpens the distribution (safer),
  T > 1 flattens it (more surprising).
- top-k: sample only among the k most likely tokens; the long tail of individually
  unlikely but collectively likely junk is cut off.
- nucleus / top-p: sample among the smallest set of tokens whose probabilities add up to
  p. Unlike top-k it adapts: few candidates when the model is sure, many when it is not.

Systems lesson, the KV cache (see kv_cache.py): without it, step t re-runs the model on
all t tokens of context, so N new tokens cost ~N^2/2 token-forwards; with it each step
runs one token through the model and reads the cached keys/values. A model only knows
`max_seq_len` positions, so when the cache is full it is rebuilt from the most recent
`max_seq_len // 2` tokens (one forward over them) and generation continues. The uncached
path instead crops the context to the last `max_seq_len` tokens at every step: it always
sees a full window, at the price of a full forward per token. While the text fits in the
window the two paths compute identical logits; `benchmarks/bench_language.py` measures
the speedup.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.bad_input import as_array
from tinytorch.core.random import get_rng
from tinytorch.core.tensor import Tensor


def sample_logits(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None, rng: np.random.Generator | None = None
                  ) -> np.ndarray:
    """Pick one token per row of `logits` (batch, vocab); returns int64 ids (batch,)."""
    _check_sampling(temperature, top_k, top_p, op="sample_logits")
    logits = as_array("sample_logits", "logits", logits, np.float64)
    if logits.ndim != 2:
        raise ValueError(f"sample_logits: logits must be (batch, vocab), got {logits.shape}")
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    # BEGIN SOLUTION
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth_largest = np.partition(logits, -top_k, axis=-1)[:, -top_k, None]
        logits = np.where(logits < kth_largest, -np.inf, logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    # END SOLUTION
    if top_p is not None and top_p < 1.0:
        probs = _nucleus(probs, top_p)
    rng = get_rng() if rng is None else rng
    cumulative = np.cumsum(probs, axis=-1)
    draws = rng.random((probs.shape[0], 1)) * cumulative[:, -1:]
    ids = (cumulative <= draws).sum(axis=-1)  # inverse CDF, vectorized over the batch
    return np.minimum(ids, probs.shape[-1] - 1).astype(np.int64)


def _nucleus(probs: np.ndarray, top_p: float) -> np.ndarray:
    """Zero all but the smallest top set whose mass reaches top_p (always keeps one)."""
    # BEGIN SOLUTION
    order = np.argsort(-probs, axis=-1, kind="stable")
    sorted_probs = np.take_along_axis(probs, order, axis=-1)
    mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
    keep_sorted = mass_before < top_p
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    # END SOLUTION
    kept = np.where(keep, probs, 0.0)
    return kept / kept.sum(axis=-1, keepdims=True)


def _check_sampling(temperature, top_k, top_p, op: str = "generate") -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not 0 <= temperature < float("inf"):
        raise ValueError(f"{op}: temperature must be a number >= 0 and finite (0 = greedy), got "
                         f"{temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                              or top_k < 1):
        raise ValueError(f"{op}: top_k must be a positive int or None, got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float))
                              or not 0.0 < top_p <= 1.0):
        raise ValueError(f"{op}: top_p must be in (0, 1] or None, got {top_p!r}")


def _prompt_array(prompt_ids) -> tuple[np.ndarray, bool]:
    data = as_array("generate", "prompt_ids", prompt_ids)
    if data.dtype.kind not in "iu" or data.ndim not in (1, 2) or data.shape[-1] == 0:
        raise ValueError(f"generate: prompt_ids must be a non-empty (seq,) or (batch, seq) "
                         f"array of integer ids, got shape {data.shape} dtype {data.dtype}")
    return (data[None, :] if data.ndim == 1 else data).astype(np.int64), data.ndim == 1


def generate(model, prompt_ids, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
             use_cache: bool = True, generator=None) -> Tensor:
    """Extend `prompt_ids` by `max_new_tokens` tokens sampled from `model`.

    `model(ids)` must return logits (batch, seq, vocab) and have `max_seq_len`; with
    `use_cache` it must also take `kv_cache=` and offer `make_kv_cache(batch)` (TinyGPT
    does). `seed` makes the sampling reproducible without touching the global generator.
    Returns prompt + new tokens with the prompt's shape: (seq + new,) or (batch, seq + new).
    """
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    _check_sampling(temperature, top_k, top_p)
    ids, flat = _prompt_array(prompt_ids)
    rng = np.random.default_rng(seed) if seed is not None else get_rng(generator)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            decoder = CachedDecoder(model, ids) if use_cache else UncachedDecoder(model, ids)
            for _ in range(max_new_tokens):
                logits = decoder.next_logits()
                decoder.append(sample_logits(logits, temperature, top_k, top_p, rng))
    finally:
        model.train(was_training)
    return Tensor._make(decoder.ids[0] if flat else decoder.ids)


class UncachedDecoder:
    """Re-runs the model on the last `max_seq_len` tokens for every new token."""

    def __init__(self, model, ids: np.ndarray):
        self.model, self.ids = model, ids

    def next_logits(self) -> np.ndarray:
        """Logits (batch, vocab) for the token after `self.ids`."""
        return self.model(self.ids[:, -self.model.max_seq_len:]).array[:, -1]

    def append(self, token: np.ndarray) -> None:
        self.ids = np.concatenate([self.ids, token[:, None]], axis=1)


class CachedDecoder(UncachedDecoder):
    """Runs only the newest token through the model; earlier keys/values come from a cache."""

    def __init__(self, model, ids: np.ndarray):
        super().__init__(model, ids)
        self.window = model.max_seq_len
        self.cache = model.make_kv_cache(ids.shape[0])

    def next_logits(self) -> np.ndarray:
        if self.cache.length == 0:  # first call: encode the prompt
            return self._prefill(self.window)
        if self.cache.length == self.window:  # full: restart from the recent half window
            return self._prefill(self.window // 2)
        return self.model(self.ids[:, -1:], kv_cache=self.cache).array[:, -1]

    def _prefill(self, keep: int) -> np.ndarray:
        """(Re)build the cache from the last `keep` tokens in one forward."""
        self.cache.reset()
        return self.model(self.ids[:, -keep:], kv_cache=self.cache).array[:, -1]
