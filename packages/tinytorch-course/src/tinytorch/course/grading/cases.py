"""Inputs for property-based grading tests: small descriptions, arrays made from them.

What it teaches: a grading input should be cheap to send and easy to read in feedback.
A case is a dict like {"shapes": ((2, 1, 3), (4, 3)), "dtype": "float64", "seed": 7,
"scale": 1.0}; `arrays(case)` turns it into the same arrays in the grader and in the
sandbox. The strategies below (called in the grader only, where hypothesis is installed)
draw the shapes PyTorch users meet: broadcasting, batching, empty-free, float32 and
float64, and magnitudes from tiny to the large logits that break a naive softmax.
"""

from __future__ import annotations

import numpy as np


def arrays(case: dict) -> list[np.ndarray]:
    """The arrays a case describes: standard normal times `scale` (plus `shift`)."""
    rng = np.random.default_rng(case["seed"])
    dtype = np.dtype(case.get("dtype", "float32"))
    scale, shift = case.get("scale", 1.0), case.get("shift", 0.0)
    return [(rng.standard_normal(shape) * scale + shift).astype(dtype)
            for shape in case["shapes"]]


def float_dtypes(h):
    return h.st.sampled_from(["float32", "float64"])


def seeds(h):
    return h.st.integers(0, 2**31 - 1)


def broadcastable(h, num_shapes: int = 2, min_dims: int = 0, max_dims: int = 4,
                  max_side: int = 5, **extra):
    """Cases of `num_shapes` mutually broadcastable shapes."""
    shapes = h.hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                                 max_dims=max_dims, min_side=1,
                                                 max_side=max_side)
    return h.st.fixed_dictionaries({
        "shapes": shapes.map(lambda s: tuple(s.input_shapes)),
        "dtype": float_dtypes(h), "seed": seeds(h), **extra})


def matmul_shapes(h, batched_right: bool = True):
    """(a, b) shapes np.matmul accepts: vectors, matrices, broadcast batches on either side."""
    st = h.st

    def build(draw):
        n, k, m = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
        kind = draw(st.sampled_from(["mm", "batch_left", "batch_right", "batch_both",
                                     "vector_right", "vector_left"]
                                    if batched_right else ["mm", "batch_left"]))
        batch = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
        if kind == "mm":
            return ((n, k), (k, m))
        if kind == "batch_left":
            return (batch + (n, k), (k, m))
        if kind == "batch_right":
            return ((n, k), batch + (k, m))
        if kind == "batch_both":
            ones = tuple(1 for _ in batch)
            return (batch + (n, k), draw(st.sampled_from([batch, ones])) + (k, m))
        if kind == "vector_right":
            return (batch + (n, k), (k,))
        return ((k,), batch + (k, m))

    return st.fixed_dictionaries({"shapes": st.composite(lambda draw: build(draw))(),
                                  "dtype": float_dtypes(h), "seed": seeds(h)})
