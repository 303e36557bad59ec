"""Module 09 (DataLoader): collation, batch counts, order, shuffling and reproducibility."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Generator, Tensor

from . import check_close, check_dtype, check_raises, grading_test


class _Squares:
    """A map-style dataset of (x, x^2) pairs: samples are (array(2,), int)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.array([i, -i], np.float32), int(i * i)


def _firsts(batches):
    return [b[0].array[:, 0].astype(int).tolist() for b in batches]


@grading_test(points=2)
def collate_stacks_samples(student):
    """default_collate turns B (array, int) samples into [Tensor(B, 2), int64 Tensor(B,)]."""
    batch = student.default_collate([_Squares(5)[i] for i in range(3)])
    assert isinstance(batch, list) and len(batch) == 2, \
        f"expected a list of 2 fields, got {type(batch).__name__}"
    check_close(batch[0], np.array([[0, 0], [1, -1], [2, -2]], np.float32), "stacked inputs")
    check_dtype(batch[1], np.int64, "collated Python ints")
    check_close(batch[1], np.array([0, 1, 4]), "collated targets")


@grading_test(points=1)
def collate_refuses_ragged_samples(student):
    """Samples of different shapes cannot be stacked: ValueError naming both shapes."""
    ok = student.default_collate([np.zeros(2, np.float32), np.ones(2, np.float32)])
    assert isinstance(ok, Tensor) and ok.shape == (2, 2), "two (2,) arrays stack to (2, 2)"
    check_raises(ValueError, lambda: student.default_collate([np.zeros(2), np.zeros(3)]),
                 "default_collate of shapes (2,) and (3,)", "(2,)", "(3,)")


@grading_test(points=1)
def length_counts_batches(student):
    """len(loader) is ceil(N / B), or floor(N / B) with drop_last."""
    for n, b, drop, expected in ((10, 3, False, 4), (10, 3, True, 3), (9, 3, False, 3),
                                 (2, 5, False, 1), (2, 5, True, 0)):
        loader = student.DataLoader(_Squares(n), batch_size=b, drop_last=drop)
        assert len(loader) == expected, \
            f"len(DataLoader(N={n}, batch_size={b}, drop_last={drop})) should be {expected}, " \
            f"got {len(loader)}"


@grading_test(points=2)
def batches_in_order(student):
    """Without shuffling, batches walk the dataset in order; drop_last drops the short one."""
    batches = list(student.DataLoader(_Squares(7), batch_size=3))
    assert _firsts(batches) == [[0, 1, 2], [3, 4, 5], [6]], \
        f"batches of 7 samples by 3 should be [0,1,2], [3,4,5], [6]; got {_firsts(batches)}"
    batches = list(student.DataLoader(_Squares(7), batch_size=3, drop_last=True))
    assert _firsts(batches) == [[0, 1, 2], [3, 4, 5]], \
        f"with drop_last the short batch is dropped; got {_firsts(batches)}"


@grading_test(points=2)
def shuffle_is_a_seeded_permutation(student):
    """shuffle=True: each epoch is a permutation drawn from the loader's generator, so a
    generator seeded the same way replays it and the next epoch differs."""
    loader = student.DataLoader(_Squares(20), batch_size=6, shuffle=True,
                                generator=Generator(7))
    first = sum(_firsts(loader), [])
    assert sorted(first) == list(range(20)), "every sample exactly once per epoch"
    assert first != list(range(20)), "shuffle=True must change the order"
    second = sum(_firsts(loader), [])
    assert second != first, "the next epoch must draw a new order"
    replay = student.DataLoader(_Squares(20), batch_size=6, shuffle=True,
                                generator=Generator(7))
    assert sum(_firsts(replay), []) == first, \
        "a generator seeded the same way must replay the same order"
    expected = np.random.default_rng(7).permutation(20).tolist()
    assert first == expected, "the order should be get_rng(generator).permutation(N)"
