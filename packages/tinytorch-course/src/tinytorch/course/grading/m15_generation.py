"""Module 15 (Generation): sampling (temperature, top-k, top-p) and the KV cache.

The property-based tests draw logits of any batch and vocabulary size and magnitude (up
to 10^4, where a softmax without the max subtracted overflows), temperatures, top-k and
top-p, and compare the sampled ids with inverse-CDF sampling of the exact distribution
on the same random draws; and KV caches filled by appends of random lengths."""

from __future__ import annotations

import numpy as np

from . import check_close, check_equal, check_raises, grading_test

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


def _sampling_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "batch": st.integers(8, 32), "vocab": st.integers(2, 9),
        "scale": st.sampled_from([1.0, 3.0, 1e3, 1e4]),
        "temperature": st.sampled_from([0.3, 1.0, 2.5]),
        "top_k": st.one_of(st.none(), st.integers(1, 10)),
        "top_p": st.one_of(st.none(), st.sampled_from([0.3, 0.6, 0.9])),
        "seed": h.cases.seeds(h)})


def _distribution(logits, temperature, top_k, top_p):
    """softmax(logits / T) in float64, restricted to the top k and the nucleus."""
    z = logits / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.sort(z, axis=-1)[:, -top_k, None]
        z = np.where(z < kth, -np.inf, z)
    probs = np.exp(z - z.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs, axis=-1, kind="stable")
        ranked = np.take_along_axis(probs, order, axis=-1)
        keep = np.empty(probs.shape, bool)
        np.put_along_axis(keep, order, np.cumsum(ranked, axis=-1) - ranked < top_p, axis=-1)
        probs = np.where(keep, probs, 0.0)
        probs /= probs.sum(axis=-1, keepdims=True)
    return probs


@grading_test(points=2, cases=_sampling_cases)
def sampling_follows_the_distribution(student, case):
    """sample_logits draws each row's id from softmax(logits / T) restricted to the top k
    (and the nucleus): on the same uniform draws it picks the ids inverse-CDF sampling
    of that exact distribution picks, for any batch, vocabulary and logit magnitude."""
    rng = np.random.default_rng(case["seed"])
    logits = rng.standard_normal((case["batch"], case["vocab"])) * case["scale"]
    temperature, top_k, top_p = case["temperature"], case["top_k"], case["top_p"]
    cumulative = np.cumsum(_distribution(logits, temperature, top_k, top_p), axis=-1)
    draws = np.random.default_rng(case["seed"] + 1).random((case["batch"], 1))
    expected = np.minimum((cumulative <= draws * cumulative[:, -1:]).sum(axis=-1),
                          case["vocab"] - 1)
    label = (f"sample_logits of {logits.shape} logits (scale {case['scale']:g}), "
             f"temperature={temperature}, top_k={top_k}, top_p={top_p}")
    with np.errstate(over="raise", invalid="raise"):
        ids = student.sample_logits(logits, temperature=temperature, top_k=top_k,
                                    top_p=top_p, rng=np.random.default_rng(case["seed"] + 1))
    check_equal(np.asarray(ids).tolist(), expected.tolist(), label)


def _nucleus_cases(h):
    st = h.st
    return st.fixed_dictionaries({"batch": st.integers(1, 4), "vocab": st.integers(1, 8),
                                  "top_p": st.floats(0.05, 0.95), "seed": h.cases.seeds(h)})


@grading_test(points=1, cases=_nucleus_cases)
def nucleus_of_any_distribution(student, case):
    """_nucleus keeps, per row, the most likely tokens until their mass reaches top_p
    (the top token always), zeroes the rest and renormalises, in the original order."""
    rng = np.random.default_rng(case["seed"])
    probs = rng.random((case["batch"], case["vocab"])) ** 3
    probs /= probs.sum(axis=-1, keepdims=True)
    expected = _distribution(np.log(probs), 1.0, None, case["top_p"])
    check_close(student._nucleus(probs, case["top_p"]), expected,
                f"_nucleus of {probs.shape} probabilities, top_p={case['top_p']:.3f}",
                atol=1e-12)


def _cache_cases(h):
    st = h.st
    return st.fixed_dictionaries({"appends": st.lists(st.integers(1, 4), min_size=1, max_size=5),
                                  "max_len": st.integers(1, 12), "heads": st.integers(1, 3),
                                  "dtype": h.cases.float_dtypes(h), "seed": h.cases.seeds(h)})


@grading_test(points=1, cases=_cache_cases)
def kv_cache_any_append_lengths(student, case):
    """Appends of any lengths: every call returns all positions so far (old then new)
    until max_len, and the append that would pass max_len is refused."""
    rng = np.random.default_rng(case["seed"])
    dtype, heads, max_len = np.dtype(case["dtype"]), case["heads"], case["max_len"]
    cache = student.LayerKVCache(batch=2, num_heads=heads, max_len=max_len, head_dim=3,
                                 dtype=dtype)
    all_keys, all_values = np.zeros((2, heads, 0, 3), dtype), np.zeros((2, heads, 0, 3), dtype)
    for new in case["appends"]:
        keys, values = (rng.standard_normal((2, heads, new, 3)).astype(dtype) for _ in "kv")
        if all_keys.shape[2] + new > max_len:
            check_raises(ValueError, lambda k=keys, v=values: cache.append(k, v),
                         f"appending {new} positions to {all_keys.shape[2]} of {max_len}",
                         "max_len")
            break
        all_keys = np.concatenate([all_keys, keys], axis=2)
        all_values = np.concatenate([all_values, values], axis=2)
        got_keys, got_values = cache.append(keys, values)
        where = f"after appending {new} positions ({all_keys.shape[2]} of {max_len})"
        check_close(got_keys, all_keys, f"keys {where}")
        check_close(got_values, all_values, f"values {where}")
        check_equal(int(cache.length), all_keys.shape[2], f"cache.length {where}")
