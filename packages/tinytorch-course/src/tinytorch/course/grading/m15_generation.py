"""Module 15 (Generation): sampling (temperature, top-k, top-p) and the KV cache."""

from __future__ import annotations

import numpy as np

from . import check_close, check_raises, grading_test

LOGITS = np.array([[2.0, 1.0, 0.5, -1.0, 0.0], [0.0, 3.0, 0.1, 0.2, -2.0]])


def _frequencies(student, draws=4000, **kwargs):
    rng = np.random.default_rng(0)
    logits = np.repeat(LOGITS[:1], draws, axis=0)
    ids = student.sample_logits(logits, rng=rng, **kwargs)
    return np.bincount(ids, minlength=5) / draws


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@grading_test(points=1)
def greedy_and_top1_pick_the_argmax(student):
    """temperature 0 (greedy) and top_k=1 both pick the largest logit of every row."""
    assert student.sample_logits(LOGITS, temperature=0).tolist() == [0, 1]
    rng = np.random.default_rng(3)
    assert student.sample_logits(LOGITS, top_k=1, rng=rng).tolist() == [0, 1], \
        "top_k=1 must always pick the argmax"


@grading_test(points=2)
def temperature_sampling_follows_softmax(student):
    """Samples follow softmax(logits / T): checked on 4000 draws at T=1 and T=2."""
    for temperature in (1.0, 2.0):
        freq = _frequencies(student, temperature=temperature)
        check_close(freq, _softmax(LOGITS[0] / temperature), f"frequencies at T={temperature}",
                    atol=0.03)


@grading_test(points=1)
def top_k_keeps_k_tokens(student):
    """top_k=2 samples only the two largest logits, renormalised."""
    freq = _frequencies(student, top_k=2)
    p = _softmax(LOGITS[0, :2])
    check_close(freq, [p[0], p[1], 0, 0, 0], "frequencies with top_k=2", atol=0.03)


@grading_test(points=1)
def top_p_keeps_the_nucleus(student):
    """_nucleus keeps the smallest set of most likely tokens reaching top_p."""
    probs = np.array([[0.5, 0.05, 0.3, 0.15, 0.0]])
    check_close(student._nucleus(probs, 0.7), [[0.5 / 0.8, 0, 0.3 / 0.8, 0, 0]],
                "_nucleus(probs, 0.7)")
    check_close(student._nucleus(probs, 0.1), [[1.0, 0, 0, 0, 0]],
                "_nucleus keeps at least the top token")


@grading_test(points=2)
def kv_cache_appends_and_returns_everything(student):
    """LayerKVCache.append stores new positions after the old ones and returns views of
    all positions so far; going past max_len is an error."""
    cache = student.LayerKVCache(batch=1, num_heads=2, max_len=4, head_dim=3,
                                 dtype=np.float32)
    first = np.ones((1, 2, 3, 3), np.float32)
    keys, values = cache.append(first, 2 * first)
    assert keys.shape == (1, 2, 3, 3) and cache.length == 3, \
        f"after 3 positions: keys {keys.shape}, length {cache.length}"
    second = np.full((1, 2, 1, 3), 7.0, np.float32)
    keys, values = cache.append(second, second)
    assert keys.shape == (1, 2, 4, 3) and cache.length == 4
    check_close(keys[:, :, 3], second[:, :, 0], "the newest key")
    check_close(values[:, :, :3], 2 * first, "the earlier values are kept")
    assert np.shares_memory(keys, cache.keys), "return views of the buffer, not copies"
    check_raises(ValueError, lambda: cache.append(second, second), "appending past max_len",
                 "max_len")
