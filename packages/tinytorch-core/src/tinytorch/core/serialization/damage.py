"""What a disk, a copy or a network can do to a file, made reproducible: single-bit flips
and truncations, for testing that every file kind TinyTorch writes is refused when damaged.

    for damaged in damaged_copies(path.read_bytes(), seed=0):
        path.write_bytes(damaged)
        with pytest.raises(ValueError): load(path)

What it teaches: a checksum is only a promise until it has been seen to catch damage. A
seeded generator makes "300 random bit flips and 60 truncations" the same 360 files on
every run, so a failure can be reproduced and debugged.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def damaged_copies(data: bytes, seed: int, flips: int = 300, cuts: int = 60) -> Iterator[bytes]:
    """`flips` copies with one random bit flipped, then `cuts` random truncations."""
    rng = np.random.default_rng(seed)
    for position, bit in zip(rng.integers(0, len(data), flips), rng.integers(0, 8, flips)):
        damaged = bytearray(data)
        damaged[position] ^= 1 << int(bit)
        yield bytes(damaged)
    for cut in rng.integers(0, len(data), cuts):
        yield data[:cut]
