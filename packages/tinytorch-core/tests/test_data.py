"""tinytorch.core.data: datasets, random_split, default_collate and DataLoader.

Structure and split sizes are checked against torch.utils.data; ordering against the
seeded generators; the batched fast path and the prefetch thread against the plain path.
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

from tinytorch.core import Generator, Tensor, manual_seed, tensor
from tinytorch.core.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def make_dataset(n: int = 23, features: int = 3) -> TensorDataset:
    x = tensor(np.arange(n * features, dtype=np.float32).reshape(n, features))
    y = tensor(np.arange(n))
    return TensorDataset(x, y)


class PerItem(Dataset):
    """Wraps a dataset but offers only __getitem__, forcing the per-sample path."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def __getitem__(self, index):
        self.calls += 1
        return self.inner[index]

    def __len__(self):
        return len(self.inner)


def labels_seen(loader) -> np.ndarray:
    return np.concatenate([batch[1].numpy() for batch in loader])


def prefetch_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "DataLoader-prefetch"]


# ---------------------------------------------------------------- datasets


def test_dataset_base_class_says_what_to_implement():
    class Incomplete(Dataset):
        pass

    with pytest.raises(NotImplementedError, match="Incomplete must define __getitem__"):
        Incomplete()[0]
    with pytest.raises(NotImplementedError, match="Incomplete must define __len__"):
        len(Incomplete())


def test_tensor_dataset_rows_and_length():
    ds = make_dataset(5)
    x, y = ds[3]
    np.testing.assert_array_equal(x.numpy(), [9, 10, 11])
    assert y.item() == 3 and y.dtype == np.int64
    assert len(ds) == 5


def test_tensor_dataset_size_mismatch_names_sizes():
    with pytest.raises(ValueError, match=r"first dimensions are \[4, 5\]"):
        TensorDataset(tensor(np.zeros((4, 2))), tensor(np.zeros(5)))


def test_tensor_dataset_rejects_non_tensors():
    with pytest.raises(TypeError, match="argument 1 must be a Tensor, got ndarray"):
        TensorDataset(tensor(np.zeros(3)), np.zeros(3))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d tensor"):
        TensorDataset(tensor(1.0))


def test_tensor_dataset_getitems_is_one_gather():
    ds = make_dataset(10)
    x, y = ds.__getitems__(np.array([7, 2, 2, -1]))
    np.testing.assert_array_equal(y.numpy(), [7, 2, 2, 9])
    np.testing.assert_array_equal(x.numpy(), ds.tensors[0].numpy()[[7, 2, 2, 9]])
    with pytest.raises(IndexError, match="index 10 is out of range for a dataset of length 10"):
        ds.__getitems__([1, 10])


def test_subset_maps_indices_and_batches_like_items():
    ds = make_dataset(10)
    sub = Subset(ds, [8, 1, 5])
    assert len(sub) == 3
    assert sub[0][1].item() == 8 and sub[-1][1].item() == 5
    x, y = sub.__getitems__([2, 0])
    np.testing.assert_array_equal(y.numpy(), [5, 8])
    per_item = Subset(PerItem(ds), [8, 1, 5])
    x2, y2 = per_item.__getitems__([2, 0])
    np.testing.assert_array_equal(x2.numpy(), x.numpy())
    np.testing.assert_array_equal(y2.numpy(), y.numpy())
    with pytest.raises(IndexError, match="index 12 is out of range for a dataset of length 10"):
        Subset(ds, [0, 12])


# ---------------------------------------------------------------- random_split


@pytest.mark.parametrize("lengths", [[0.33, 0.33, 0.34], [0.5, 0.5], [0.1, 0.2, 0.7], [7, 3]])
def test_random_split_sizes_match_pytorch(lengths):
    ours = random_split(list(range(10)), lengths)
    theirs = tud.random_split(list(range(10)), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]


def test_random_split_is_a_partition_and_reproducible():
    ds = make_dataset(50)
    parts = random_split(ds, [0.6, 0.25, 0.15], generator=Generator(7))
    indices = np.concatenate([p.indices for p in parts])
    assert sorted(indices.tolist()) == list(range(50))
    again = random_split(ds, [0.6, 0.25, 0.15], generator=Generator(7))
    for a, b in zip(parts, again):
        np.testing.assert_array_equal(a.indices, b.indices)
    other = random_split(ds, [0.6, 0.25, 0.15], generator=Generator(8))
    assert not np.array_equal(parts[0].indices, other[0].indices)


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match=r"sum of input lengths \[3, 3\] is 6, which does not "
                                         r"equal the length of the input dataset \(10\)"):
        random_split(make_dataset(10), [3, 3])
    with pytest.raises(ValueError, match="must be non-negative"):
        random_split(make_dataset(10), [11, -1])
    with pytest.raises(ValueError, match="fractional lengths must sum to 1"):
        random_split(make_dataset(10), [0.5, 0.2])
    with pytest.raises(ValueError, match="non-empty sequence"):
        random_split(make_dataset(10), [])


# ---------------------------------------------------------------- default_collate


def test_default_collate_nested_structure_matches_pytorch():
    rng = np.random.default_rng(0)
    samples = [(rng.standard_normal(3).astype(np.float32), i, {"w": float(i) / 2, "s": "a"})
               for i in range(4)]
    ours = default_collate(samples)
    theirs = tud.default_collate(samples)
    assert isinstance(ours, list) and len(ours) == 3  # tuples come back as lists, as in torch
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    assert ours[0].dtype == np.float32
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    assert ours[1].dtype == np.int64
    np.testing.assert_allclose(ours[2]["w"].numpy(), theirs[2]["w"].numpy())
    assert ours[2]["w"].dtype == np.float32  # documented difference: torch gives float64
    assert ours[2]["s"] == theirs[2]["s"] == ["a"] * 4


def test_default_collate_dtypes():
    assert default_collate([np.zeros(2), np.ones(2)]).dtype == np.float64
    assert default_collate([np.zeros(2, np.int32)] * 2).dtype == np.int32
    assert default_collate([np.float64(1.0), np.float64(2.0)]).dtype == np.float64
    assert default_collate([True, False]).dtype == np.bool_
    stacked = default_collate([tensor([1.0, 2.0]), tensor([3.0, 4.0])])
    assert isinstance(stacked, Tensor) and stacked.shape == (2, 2)
    np.testing.assert_array_equal(stacked.numpy(), [[1, 2], [3, 4]])


def test_default_collate_keeps_namedtuples():
    Pair = collections.namedtuple("Pair", ["x", "y"])
    batch = default_collate([Pair(np.ones(2), 1), Pair(np.zeros(2), 0)])
    assert isinstance(batch, Pair)
    np.testing.assert_array_equal(batch.y.numpy(), [1, 0])


def test_default_collate_errors_name_the_sample():
    with pytest.raises(ValueError, match=r"sample 0 has shape \(2,\) and sample 2 has shape "
                                         r"\(3,\)"):
        default_collate([np.zeros(2), np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="sample 0 is a int but sample 1 is a str"):
        default_collate([1, "a"])
    with pytest.raises(ValueError, match="sample 0 has 2 fields but sample 1 is a tuple of "
                                         "length 3"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="non-empty list of samples"):
        default_collate([])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object()])


# ---------------------------------------------------------------- DataLoader


@pytest.mark.parametrize("n, batch_size", [(23, 5), (20, 5), (4, 5), (0, 3), (1, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_and_batch_sizes(n, batch_size, drop_last):
    loader = DataLoader(make_dataset(n), batch_size=batch_size, drop_last=drop_last)
    reference = tud.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    sizes = [len(batch[1]) for batch in loader]
    assert len(loader) == len(reference) == len(sizes)
    assert sizes == [len(b) for b in reference]


def test_unshuffled_order_is_sequential():
    loader = DataLoader(make_dataset(23), batch_size=5)
    np.testing.assert_array_equal(labels_seen(loader), np.arange(23))
    x, y = next(iter(loader))
    np.testing.assert_array_equal(x.numpy(), np.arange(15).reshape(5, 3))


def test_shuffle_covers_every_sample_once_per_epoch():
    loader = DataLoader(make_dataset(23), batch_size=4, shuffle=True)
    first, second = labels_seen(loader), labels_seen(loader)
    assert sorted(first.tolist()) == list(range(23))
    assert sorted(second.tolist()) == list(range(23))
    assert not np.array_equal(first, second)  # a fresh permutation each epoch
    assert not np.array_equal(first, np.arange(23))


def test_drop_last_drops_only_the_partial_batch():
    loader = DataLoader(make_dataset(23), batch_size=5, shuffle=True, drop_last=True)
    seen = labels_seen(loader)
    assert len(seen) == 20 and len(set(seen.tolist())) == 20


def test_global_seed_reproduces_order():
    loader = DataLoader(make_dataset(30), batch_size=7, shuffle=True)
    manual_seed(123)
    run1 = [labels_seen(loader) for _ in range(2)]
    manual_seed(123)
    run2 = [labels_seen(loader) for _ in range(2)]
    manual_seed(124)
    run3 = labels_seen(loader)
    for a, b in zip(run1, run2):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(run1[0], run3)


def test_own_generator_is_independent_of_global_seed():
    ds = make_dataset(30)
    manual_seed(1)
    a = labels_seen(DataLoader(ds, batch_size=7, shuffle=True, generator=Generator(9)))
    manual_seed(2)
    b = labels_seen(DataLoader(ds, batch_size=7, shuffle=True, generator=Generator(9)))
    np.testing.assert_array_equal(a, b)


def test_batched_fast_path_equals_per_item_path_without_item_calls():
    ds = make_dataset(23)
    slow = PerItem(ds)
    fast_batches = list(DataLoader(ds, batch_size=6, shuffle=True, generator=Generator(3)))
    slow_batches = list(DataLoader(slow, batch_size=6, shuffle=True, generator=Generator(3)))
    assert slow.calls == 23
    for (fx, fy), (sx, sy) in zip(fast_batches, slow_batches, strict=True):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype

    class Counting(TensorDataset):
        calls = 0

        def __getitem__(self, index):
            Counting.calls += 1
            return super().__getitem__(index)

    list(DataLoader(Counting(*ds.tensors), batch_size=6))
    assert Counting.calls == 0  # one fancy index per batch, no per-sample calls


def test_random_split_subsets_load_through_fast_path():
    train, val = random_split(make_dataset(40), [0.75, 0.25], generator=Generator(0))
    seen = labels_seen(DataLoader(train, batch_size=8))
    np.testing.assert_array_equal(seen, np.asarray(train.indices))


def test_custom_collate_fn_gets_the_list_of_samples():
    received = []

    def collate(samples):
        received.append(len(samples))
        return [int(y) for _, y in samples]

    out = list(DataLoader(make_dataset(7), batch_size=3, collate_fn=collate))
    assert received == [3, 3, 1]
    assert out == [[0, 1, 2], [3, 4, 5], [6]]


# ---------------------------------------------------------------- prefetch


@pytest.mark.parametrize("prefetch", [1, 3, True])
def test_prefetch_matches_plain_loading(prefetch):
    ds = make_dataset(37)
    plain = list(DataLoader(ds, batch_size=4, shuffle=True, generator=Generator(11)))
    ahead = list(DataLoader(ds, batch_size=4, shuffle=True, generator=Generator(11),
                            prefetch=prefetch))
    assert len(plain) == len(ahead) == 10
    for (px, py), (ax, ay) in zip(plain, ahead):
        np.testing.assert_array_equal(px.numpy(), ax.numpy())
        np.testing.assert_array_equal(py.numpy(), ay.numpy())
    assert prefetch_threads() == []


class FailsAt(Dataset):
    def __init__(self, bad: int, n: int = 20):
        self.bad, self.n = bad, n

    def __getitem__(self, index):
        if index == self.bad:
            raise KeyError(f"sample {index} is corrupt")
        return np.full(2, index, dtype=np.float32), index

    def __len__(self):
        return self.n


@pytest.mark.parametrize("prefetch", [False, 2])
def test_loading_errors_reach_the_consumer(prefetch):
    loader = DataLoader(FailsAt(bad=9), batch_size=4, prefetch=prefetch)
    received = []
    with pytest.raises(KeyError, match="sample 9 is corrupt"):
        for _, y in loader:
            received.append(y.tolist())
    assert received == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert prefetch_threads() == []


def test_stopping_early_shuts_the_prefetch_thread_down():
    loader = DataLoader(make_dataset(400), batch_size=2, prefetch=1)
    for step, _ in enumerate(loader):
        if step == 2:
            break
    assert prefetch_threads() == []

    iterator = iter(loader)
    next(iterator)
    time.sleep(0.05)  # let the producer fill the queue and block on put
    assert len(prefetch_threads()) == 1
    iterator.close()
    assert prefetch_threads() == []


def test_prefetch_loads_ahead_but_at_most_depth_batches():
    class Recording(Dataset):
        loaded: list = []

        def __getitem__(self, index):
            self.loaded.append(index)
            return np.zeros(1, np.float32)

        def __len__(self):
            return 50

    ds = Recording()
    iterator = iter(DataLoader(ds, batch_size=1, prefetch=3))
    next(iterator)
    deadline = time.monotonic() + 5
    while len(ds.loaded) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    # 1 consumed + 3 waiting in the queue + 1 built by the producer, blocked on put
    assert ds.loaded == [0, 1, 2, 3, 4]
    iterator.close()
    assert prefetch_threads() == []


# ---------------------------------------------------------------- argument checks


@pytest.mark.parametrize("batch_size", [0, -2, 2.5, True, None])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be a positive int, got "
                                         f"{batch_size!r}"):
        DataLoader(make_dataset(4), batch_size=batch_size)


def test_bad_arguments():
    ds = make_dataset(4)
    with pytest.raises(TypeError, match="shuffle must be a bool, got 'yes'"):
        DataLoader(ds, shuffle="yes")
    with pytest.raises(TypeError, match="drop_last must be a bool"):
        DataLoader(ds, drop_last=1)
    with pytest.raises(TypeError, match="generator must be a tinytorch.core.Generator"):
        DataLoader(ds, shuffle=True, generator=torch.Generator())
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(ds, collate_fn=3)
    with pytest.raises(ValueError, match="prefetch must be False or a number of batches"):
        DataLoader(ds, prefetch=-1)
    with pytest.raises(TypeError, match="dataset must define __getitem__ and __len__"):
        DataLoader(iter([1, 2, 3]))
