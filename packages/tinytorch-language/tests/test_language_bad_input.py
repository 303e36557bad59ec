"""Hypothesis-driven bad input to language's public entry points: every call either works
or raises a clear error naming the operation (tinytorch.core.bad_input)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinytorch.core as tt
from tinytorch.core.bad_input import expect_clear_error, hostile_values
from tinytorch.language import (
    BPETokenizer,
    CharTokenizer,
    Embedding,
    LearnedPositionalEmbedding,
    MultiheadAttention,
    PositionalEncoding,
    TinyGPT,
    TransformerBlock,
    WordTokenizer,
    causal_mask,
    embedding,
    generate,
    random_windows,
    sample_logits,
    scaled_dot_product_attention,
)

EXAMPLES = 60
tt.manual_seed(0)
GPT = TinyGPT(11, 8, 2, 1, 8)
CHARS = CharTokenizer().fit("hello world")
x = tt.tensor(np.random.default_rng(0).standard_normal((2, 4, 8)).astype(np.float32))
ids = tt.tensor(np.array([[1, 2, 3]], np.int64))
sizes = st.one_of(st.integers(1, 4), hostile_values(tensors=False))
tensors = st.one_of(st.just(x), hostile_values())
id_tensors = st.one_of(st.just(ids), hostile_values())
texts = st.one_of(st.text(max_size=8), hostile_values(tensors=False))

ENTRY_POINTS = {
    "CharTokenizer.fit": ("CharTokenizer", lambda t: CharTokenizer().fit(t), (texts,)),
    "CharTokenizer.encode": ("CharTokenizer", CHARS.encode, (texts,)),
    "CharTokenizer.decode": ("CharTokenizer", CHARS.decode, (hostile_values(),)),
    "WordTokenizer.fit": ("WordTokenizer", lambda t: WordTokenizer().fit(t), (texts,)),
    "BPETokenizer.fit": ("BPETokenizer", lambda t, n: BPETokenizer().fit(t, n),
                         (texts, sizes)),
    "Embedding": (("Embedding", "embedding"), lambda n, d, i: Embedding(n, d)(i),
                  (sizes, sizes, id_tensors)),
    "embedding": ("embedding", embedding, (id_tensors, tensors)),
    "PositionalEncoding": ("PositionalEncoding",
                           lambda d, n, t: PositionalEncoding(d, 0.0, n)(t),
                           (sizes, sizes, tensors)),
    "LearnedPositionalEmbedding": ("LearnedPositionalEmbedding",
                                   lambda n, d, t: LearnedPositionalEmbedding(n, d)(t),
                                   (sizes, sizes, tensors)),
    "scaled_dot_product_attention": ("scaled_dot_product_attention",
                                     scaled_dot_product_attention,
                                     (tensors, tensors, tensors, hostile_values(),
                                      hostile_values(tensors=False))),
    "causal_mask": ("causal_mask", causal_mask, (sizes, sizes, sizes)),
    "MultiheadAttention": ("MultiheadAttention",
                           lambda e, h, t: MultiheadAttention(e, h)(t, t, t),
                           (sizes, sizes, tensors)),
    "TransformerBlock": (("TransformerBlock", "MultiheadAttention"),
                         lambda d, h, t: TransformerBlock(d, h)(t), (sizes, sizes, tensors)),
    "TinyGPT": (("TinyGPT", "Embedding", "TransformerBlock", "MultiheadAttention"), TinyGPT,
                (sizes, sizes, sizes, sizes, sizes)),
    "TinyGPT.forward": (("TinyGPT", "embedding"), GPT, (id_tensors,)),
    # (max_new_tokens stays small: asking for 2**40 tokens is slow, not wrong)
    "generate": ("generate", lambda p, n, t, k: generate(GPT, p, n, t, k),
                 (id_tensors, st.one_of(st.integers(-2, 3), st.none(), st.text(max_size=2),
                                        st.floats(allow_nan=True)),
                  hostile_values(tensors=False), sizes)),
    "sample_logits": (("sample_logits", "generate"), sample_logits,
                      (hostile_values().map(lambda v: v.numpy() if isinstance(v, tt.Tensor)
                                            else v), hostile_values(tensors=False), sizes)),
    "random_windows": ("random_windows", random_windows, (id_tensors, sizes, sizes)),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_bad_input_gets_a_clear_error(entry, data):
    op, function, strategies = ENTRY_POINTS[entry]
    args = [data.draw(strategy) for strategy in strategies]
    expect_clear_error(op, lambda: function(*args))
