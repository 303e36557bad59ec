"""Every op of tinytorch-language saves what its backward reads through the
version-checked path: editing an input (or the output) in place between forward and
backward raises the version error or leaves the gradients exactly as they were (see
core's test_saved_versions.py; ops are found, not listed, so a new op needs a factory)."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.core as tt
from tinytorch.core.autograd import check_saved_versions, defined_functions
from tinytorch.core.testing import check_factory_saved_versions
from tinytorch.language.attention import ScaledDotProductAttention, scaled_dot_product_attention
from tinytorch.language.embedding import embedding
from tinytorch.language.feedforward import FeedForward

_rng = np.random.default_rng(0)


def leaf(*shape):
    return tt.tensor(_rng.standard_normal(shape), dtype=tt.float64, requires_grad=True)


def _feedforward(x, w1, b1, w2, b2):
    # dropout on, from a fresh generator each call: the same keep-mask every run
    return FeedForward.apply(x, w1, b1, w2, b2, 0.25, np.random.default_rng(1))


def _packed(qkv):
    return ScaledDotProductAttention.apply(qkv, None, None, None, None, 0.5, 0.25,
                                           np.random.default_rng(1), heads=2)


def _sdpa(q, k, v, mask):
    return ScaledDotProductAttention.apply(q, k, v, mask, None, 0.5, 0.25,
                                           np.random.default_rng(1))


FACTORIES = {
    "ScaledDotProductAttention": lambda: (_sdpa, (leaf(2, 3, 4), leaf(2, 5, 4), leaf(2, 5, 4),
                                                  leaf(3, 5))),
    "FeedForward": lambda: (_feedforward, (leaf(2, 3, 4), leaf(8, 4), leaf(8), leaf(4, 8),
                                           leaf(4))),
    "EmbeddingLookup": lambda: (lambda w, ids: embedding(ids, w),
                                (leaf(5, 3), tt.tensor(np.array([[4, 0, 2], [1, 0, 3]])))),
}
LANGUAGE_FUNCTIONS = defined_functions("tinytorch.language")


@pytest.mark.parametrize("name", sorted(LANGUAGE_FUNCTIONS))
def test_in_place_edits_after_forward_never_give_a_silent_wrong_gradient(name):
    check_factory_saved_versions(name, LANGUAGE_FUNCTIONS, FACTORIES)


def test_the_packed_layout_of_the_attention_kernel_checks_its_input():
    assert 0 in check_saved_versions(_packed, (leaf(2, 3, 12),))


def test_an_edited_id_tensor_is_detected():
    fn, inputs = FACTORIES["EmbeddingLookup"]()
    assert 1 in check_saved_versions(fn, inputs)


def test_public_attention_with_a_causal_mask_checks_q_k_v():
    fn = lambda q, k, v: scaled_dot_product_attention(q, k, v, is_causal=True)  # noqa: E731
    assert {0, 1, 2} <= set(check_saved_versions(fn, (leaf(1, 4, 2), leaf(1, 4, 2),
                                                      leaf(1, 4, 2))))
