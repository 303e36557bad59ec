"""2-D sizes: a layer argument given as `3` or as `(3, 3)`.

What it teaches: PyTorch's spatial layers accept one int for a square size and a pair
for (height, width). Normalising once, at the boundary, with a check that names the layer
and the argument, lets every kernel below work with two plain ints.

Systems lesson: validation belongs at the entry point. A kernel size of 0 or a stride of
(2, 2, 2) caught here is one clear sentence; caught inside the im2col view it is a
negative-stride numpy error, or worse, a silently wrong output shape.
"""

from __future__ import annotations

import numpy as np

Pair = tuple[int, int]


def pair(op: str, name: str, value, minimum: int = 0) -> Pair:
    """Accept `3` or `(3, 3)` for a 2-D size; check it is an int >= minimum."""
    values = (value, value) if isinstance(value, (int, np.integer)) else value
    if not isinstance(values, (tuple, list)) or len(values) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{op}: {name} must be int(s) >= {minimum}, got {value!r}")
    return int(values[0]), int(values[1])
