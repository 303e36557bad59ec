"""Sampling strategies and the KV cache: cached logits equal uncached ones at every step."""

import numpy as np
import pytest

import tinytorch.core as tt
from tinytorch.language import KVCache, TinyGPT, generate, sample_logits
from tinytorch.language.generation import CachedDecoder

VOCAB, CONTEXT = 13, 16


@pytest.fixture(scope="module")
def model():
    """float64, so "equal" can be checked to 1e-10 rather than to float32 rounding."""
    tt.manual_seed(0)
    gpt = TinyGPT(VOCAB, 16, 2, 2, CONTEXT, dtype=np.float64)
    # larger weights than GPT-2's init so the logits are far from uniform
    for p in gpt.parameters():
        p.array *= 10
    return gpt


# ------------------------------------------------------------------ sampling
def test_greedy_and_top_k_one_are_argmax():
    logits = np.random.default_rng(0).standard_normal((50, 7))
    assert np.array_equal(sample_logits(logits, temperature=0), logits.argmax(-1))
    assert np.array_equal(sample_logits(logits, top_k=1, rng=np.random.default_rng(1)),
                          logits.argmax(-1))


def test_temperature_sampling_follows_the_softmax():
    logits = np.log(np.array([[0.1, 0.2, 0.3, 0.4]]))
    rng = np.random.default_rng(0)
    for temperature in (1.0, 0.5):
        draws = sample_logits(np.repeat(logits, 40000, 0), temperature, rng=rng)
        expected = np.exp(logits[0] / temperature)
        expected /= expected.sum()
        np.testing.assert_allclose(np.bincount(draws, minlength=4) / draws.size, expected,
                                   atol=0.01)


def test_top_k_and_nucleus_supports():
    probs = np.array([[0.05, 0.5, 0.15, 0.3]])
    many = np.repeat(np.log(probs), 5000, 0)
    rng = np.random.default_rng(0)
    assert set(sample_logits(many, top_k=2, rng=rng)) == {1, 3}
    assert set(sample_logits(many, top_p=0.75, rng=rng)) == {1, 3}       # 0.5 + 0.3 >= 0.75
    assert set(sample_logits(many, top_p=0.85, rng=rng)) == {1, 3, 2}
    assert set(sample_logits(many, top_p=0.1, rng=rng)) == {1}           # always keeps one
    draws = sample_logits(many, top_p=0.75, rng=rng)
    assert np.mean(draws == 1) == pytest.approx(0.5 / 0.8, abs=0.03)    # renormalised


def test_sampling_errors():
    logits = np.zeros((1, 3))
    with pytest.raises(ValueError, match="temperature must be a number >= 0"):
        sample_logits(logits, temperature=-1)
    with pytest.raises(ValueError, match="top_k must be a positive int"):
        sample_logits(logits, top_k=0)
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        sample_logits(logits, top_p=1.5)
    with pytest.raises(ValueError, match=r"logits must be \(batch, vocab\)"):
        sample_logits(np.zeros(3))


# ------------------------------------------------------------------ the KV cache
def test_cached_logits_equal_uncached_at_every_step(model):
    ids = np.random.default_rng(0).integers(0, VOCAB, (2, CONTEXT))
    cache = model.make_kv_cache(batch=2)
    with tt.no_grad():
        chunk = model(ids[:, :3], kv_cache=cache).array  # prefill 3 tokens at once
        np.testing.assert_allclose(chunk, model(ids[:, :3]).array, atol=1e-10, rtol=1e-10)
        for t in range(3, CONTEXT):
            cached = model(ids[:, t:t + 1], kv_cache=cache).array[:, -1]
            uncached = model(ids[:, :t + 1]).array[:, -1]
            np.testing.assert_allclose(cached, uncached, atol=1e-10, rtol=1e-10,
                                       err_msg=f"step {t}")
    assert cache.length == CONTEXT


def test_cached_logits_float32():
    tt.manual_seed(0)
    gpt = TinyGPT(VOCAB, 32, 4, 2, CONTEXT)
    ids = np.random.default_rng(1).integers(0, VOCAB, (1, CONTEXT))
    cache = gpt.make_kv_cache()
    with tt.no_grad():
        for t in range(CONTEXT):
            cached = gpt(ids[:, t:t + 1], kv_cache=cache).array[:, -1]
            np.testing.assert_allclose(cached, gpt(ids[:, :t + 1]).array[:, -1], atol=1e-6)


def test_generate_cached_equals_uncached(model):
    prompt = [3, 1, 4]
    greedy = generate(model, prompt, CONTEXT - 3, temperature=0)
    assert greedy.shape == (CONTEXT,) and greedy.array[:3].tolist() == prompt
    np.testing.assert_array_equal(
        greedy.array, generate(model, prompt, CONTEXT - 3, temperature=0, use_cache=False).array)
    batch = np.array([[3, 1, 4], [1, 5, 9]])
    sampled = generate(model, batch, 10, temperature=1.2, top_k=8, top_p=0.95, seed=7)
    assert sampled.shape == (2, 13)
    np.testing.assert_array_equal(
        sampled.array, generate(model, batch, 10, temperature=1.2, top_k=8, top_p=0.95, seed=7,
                               use_cache=False).array)
    assert not np.array_equal(
        sampled.array, generate(model, batch, 10, temperature=1.2, seed=8).array)


def test_cache_beyond_the_window_matches_the_model_on_the_kept_context(model):
    """Past max_seq_len the cache restarts from the recent half window; every step's logits
    still equal an uncached forward over exactly the context the cache holds."""
    decoder = CachedDecoder(model, np.array([[1, 2, 3]]))
    rng = np.random.default_rng(0)
    resets = 0
    with tt.no_grad():
        for _ in range(3 * CONTEXT):
            before = decoder.cache.length
            logits = decoder.next_logits()
            resets += decoder.cache.length < before
            context = decoder.ids[:, -decoder.cache.length:]
            np.testing.assert_allclose(logits, model(context).array[:, -1], atol=1e-10, rtol=1e-10)
            decoder.append(rng.integers(0, VOCAB, (1,)))
    assert resets >= 4
    long = generate(model, [1, 2, 3], 3 * CONTEXT, temperature=0)
    assert long.shape == (3 + 3 * CONTEXT,)


def test_generate_restores_mode_and_validates(model):
    model.train()
    generate(model, [1], 2, seed=0)
    assert model.training
    assert generate(model, [[1, 2]], 0).shape == (1, 2)
    with pytest.raises(ValueError, match="prompt_ids must be a non-empty"):
        generate(model, [], 3)
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 0"):
        generate(model, [1], -1)
    with pytest.raises(RuntimeError, match="KV cache is for inference"):
        model(np.array([[1]]), kv_cache=model.make_kv_cache())


def test_kv_cache_memory_and_overflow():
    cache = KVCache(num_layers=4, batch=1, num_heads=4, max_len=64, head_dim=32)
    assert cache.nbytes == 2 * 4 * 64 * 128 * 4  # 2 (K, V) x layers x context x d x 4 B
    layer = cache.layers[0]
    layer.append(np.ones((1, 4, 60, 32), np.float32), np.ones((1, 4, 60, 32), np.float32))
    with pytest.raises(ValueError, match="60 cached \\+ 5 new positions exceed"):
        layer.append(np.ones((1, 4, 5, 32), np.float32), np.ones((1, 4, 5, 32), np.float32))
    with pytest.raises(ValueError, match="num_heads must be a positive int"):
        KVCache(1, 1, 0, 8, 8)
