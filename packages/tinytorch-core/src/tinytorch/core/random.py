"""Random numbers you can reproduce.

What it teaches: every source of randomness in training (weight init, dropout masks,
data shuffling) draws from a generator. Seed the generator and the whole run repeats
bit for bit; forget one source and it never will.

Systems lesson: a `Generator` is a few hundred bytes of state. Giving each consumer
(a DataLoader, say) its own generator lets you replay data order without replaying
weight initialisation, which is how PyTorch's `generator=` arguments work.
"""

from __future__ import annotations

import numpy as np


class Generator:
    """A seedable source of random numbers (wraps `numpy.random.Generator`)."""

    def __init__(self, seed: int | None = None):
        self._seed = seed
        self.rng = np.random.default_rng(seed)

    def manual_seed(self, seed: int) -> Generator:
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
        # BEGIN SOLUTION
        self._seed = int(seed)
        self.rng = np.random.default_rng(int(seed))
        # END SOLUTION
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the global generator used by factories, `nn.init`, dropout and shuffling."""
    return default_generator.manual_seed(seed)


def get_rng(generator: Generator | None = None) -> np.random.Generator:
    """The numpy generator to draw from: the one given, else the global one."""
    # BEGIN SOLUTION
    if generator is None:
        return default_generator.rng
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a tinytorch.core.Generator, got {type(generator).__name__}"
        )
    return generator.rng
    # END SOLUTION


def dropout_keep(rng: np.random.Generator, shape, p: float) -> np.ndarray:
    """Which elements survive dropout: True with probability 1 - p, one byte each (what
    attention saves for backward instead of a float multiplier 4x its size)."""
    return rng.random(shape) >= p


def dropout_mask(rng: np.random.Generator, shape, p: float, dtype) -> np.ndarray:
    """Inverted dropout's multiplier: 0 with probability p, else 1 / (1 - p), in `dtype`.

    Scaling the survivors at training time keeps every activation's expected value, so
    evaluation needs no rescaling at all (`model.eval()` skips dropout). 0 < p < 1.
    """
    return (dropout_keep(rng, shape, p) / (1.0 - p)).astype(dtype)
