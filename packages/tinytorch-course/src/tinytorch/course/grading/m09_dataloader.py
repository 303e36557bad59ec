"""Module 09 (DataLoader): collation, batch counts, order, shuffling and reproducibility.

The property-based tests draw dataset sizes (empty too), batch sizes larger and smaller
than the dataset, drop_last, shuffle and seeds, and check every batch of two epochs; and
nested samples (dicts of tuples of arrays of any shape and dtype, numbers) for collation."""

from __future__ import annotations

import numpy as np

from tinytorch.core import Generator, Tensor

from . import as_numpy, check_close, check_dtype, check_equal, check_raises, grading_test


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


def _loader_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "samples": st.integers(0, 23), "batch_size": st.integers(1, 9),
        "drop_last": st.booleans(), "shuffle": st.booleans(), "seed": h.cases.seeds(h)})


@grading_test(points=2, cases=_loader_cases)
def batches_of_any_size(student, case):
    """For any dataset size, batch size, drop_last and shuffle: len(loader) batches per
    epoch, each of batch_size samples except a short last one (kept unless drop_last),
    walking arange(N) or, shuffled, the generator's permutation (a new one each epoch)."""
    n, size, drop = case["samples"], case["batch_size"], case["drop_last"]
    loader = student.DataLoader(_Squares(n), batch_size=size, drop_last=drop,
                                shuffle=case["shuffle"], generator=Generator(case["seed"]))
    label = (f"DataLoader(N={n}, batch_size={size}, drop_last={drop}, "
             f"shuffle={case['shuffle']})")
    expected_len = n // size if drop else -(-n // size)
    check_equal(len(loader), expected_len, f"len({label})")
    rng = np.random.default_rng(case["seed"])
    for epoch in (1, 2):
        order = rng.permutation(n) if case["shuffle"] else np.arange(n)
        stop = n - n % size if drop else n
        expected = [order[i:i + size].tolist() for i in range(0, stop, size)]
        check_equal(_firsts(loader), expected, f"the samples of each batch of {label}, "
                    f"epoch {epoch}")


_LEAF_DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")


def _collate_cases(h):
    st = h.st
    leaf = st.one_of(
        st.tuples(st.just("array"), st.sampled_from(_LEAF_DTYPES),
                  h.hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)),
        st.tuples(st.sampled_from(["int", "float", "bool", "str"]), st.just(""), st.just(())))
    structure = st.recursive(leaf, lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda items: ("tuple", items)),
        st.dictionaries(st.sampled_from("abcd"), inner, min_size=1, max_size=3)
        .map(lambda fields: ("dict", fields))), max_leaves=5)
    return st.fixed_dictionaries({"structure": structure, "batch": st.integers(1, 4),
                                  "seed": h.cases.seeds(h)})


def _sample(structure, rng):
    kind = structure[0]
    if kind == "tuple":
        return tuple(_sample(s, rng) for s in structure[1])
    if kind == "dict":
        return {k: _sample(s, rng) for k, s in structure[1].items()}
    if kind == "array":
        return (rng.standard_normal(structure[2]) * 5).astype(structure[1])
    value = rng.standard_normal()
    return {"int": int(value * 10), "float": float(value), "bool": bool(value > 0),
            "str": f"s{value:.2f}"}[kind]


def _check_collated(got, samples, where):
    first = samples[0]
    if isinstance(first, tuple):
        check_equal(type(got).__name__, "list", f"type of the batch of tuples at {where}")
        for i in range(len(first)):
            _check_collated(got[i], [s[i] for s in samples], f"{where}[{i}]")
    elif isinstance(first, dict):
        check_equal(sorted(got), sorted(first), f"keys at {where}")
        for key in first:
            _check_collated(got[key], [s[key] for s in samples], f"{where}[{key!r}]")
    elif isinstance(first, str):
        check_equal(got, list(samples), f"strings at {where}")
    else:
        dtype = {int: np.int64, float: np.float32, bool: np.bool_}.get(type(first))
        expected = np.array(samples, dtype=dtype) if dtype else np.stack(samples)
        check_dtype(got, expected.dtype, f"dtype at {where}")
        check_close(as_numpy(got).astype(np.float64), expected.astype(np.float64),
                    f"values at {where}")


@grading_test(points=1, cases=_collate_cases)
def collate_any_nested_samples(student, case):
    """default_collate stacks any nesting of tuples and dicts leaf by leaf: arrays of any
    shape keep their dtype, Python ints become int64, floats float32, bools bool, strings
    stay a list."""
    rng = np.random.default_rng(case["seed"])
    samples = [_sample(case["structure"], rng) for _ in range(case["batch"])]
    _check_collated(student.default_collate(samples), samples, "the batch")
