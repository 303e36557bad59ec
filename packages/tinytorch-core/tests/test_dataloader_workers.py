"""DataLoader's PyTorch arguments: samplers, batch samplers, worker processes, pin_memory."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import tinytorch.core as tt
from tinytorch.core.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
)


class PidDataset(Dataset):
    """Each sample says which process loaded it, and draws one random number there."""

    def __len__(self):
        return 24

    def __getitem__(self, i):
        return tt.tensor([float(i)]), os.getpid(), float(tt.rand(1).item())


class Failing(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError(f"sample {i} is missing")
        return tt.tensor([float(i)])


def _labels(loader):
    return [batch[1].tolist() for batch in loader]


def test_workers_give_the_same_batches_in_the_same_order():
    ds = TensorDataset(tt.arange(50).float(), tt.arange(50))
    for shuffle in (False, True):
        plain = _labels(DataLoader(ds, batch_size=7, shuffle=shuffle, generator=tt.Generator(4)))
        parallel = _labels(DataLoader(ds, batch_size=7, shuffle=shuffle, num_workers=3,
                                      generator=tt.Generator(4)))
        assert plain == parallel


def test_workers_are_separate_processes_with_their_own_seeds():
    batches = list(DataLoader(PidDataset(), batch_size=2, num_workers=3))
    pids = {pid for batch in batches for pid in batch[1].tolist()}
    assert len(pids) == 3 and os.getpid() not in pids
    draws = [x for batch in batches for x in batch[2].tolist()]
    assert len(set(draws)) == len(draws)  # not the same random stream in every worker


def test_persistent_workers_survive_between_epochs_and_worker_init_fn_runs():
    loader = DataLoader(PidDataset(), batch_size=4, num_workers=2, persistent_workers=True,
                        worker_init_fn=lambda worker_id: tt.manual_seed(100 + worker_id))
    first = {p for b in loader for p in b[1].tolist()}
    second = {p for b in loader for p in b[1].tolist()}
    assert first == second and len(first) == 2
    next(iter(loader))  # an abandoned epoch must not leak batches into the next
    assert [b[0].reshape(-1).tolist() for b in loader][0] == [0.0, 1.0, 2.0, 3.0]


def test_a_worker_exception_reaches_the_training_loop():
    with pytest.raises(KeyError, match="sample 5 is missing"):
        list(DataLoader(Failing(), batch_size=2, num_workers=2))


def test_samplers_match_torch():
    data = list(range(10))
    assert list(SequentialSampler(data)) == list(tud.SequentialSampler(data))
    assert list(BatchSampler(SequentialSampler(data), 3, False)) == \
        list(tud.BatchSampler(tud.SequentialSampler(data), 3, False))
    assert list(BatchSampler(range(10), 4, True)) == list(tud.BatchSampler(range(10), 4, True))
    assert len(BatchSampler(range(10), 4, False)) == len(tud.BatchSampler(range(10), 4, False))
    assert sorted(RandomSampler(data, generator=tt.Generator(0))) == data
    assert len(RandomSampler(data, replacement=True, num_samples=25)) == 25
    assert sorted(SubsetRandomSampler([3, 5, 7])) == [3, 5, 7]


def test_loader_with_sampler_and_batch_sampler_matches_torch():
    x = np.arange(10, dtype=np.float32)
    mine_ds, theirs_ds = TensorDataset(tt.tensor(x)), tud.TensorDataset(torch.tensor(x))
    batches = [[1, 4], [0], [9, 8, 7]]
    mine = [b[0].tolist() for b in DataLoader(mine_ds, batch_sampler=batches)]
    theirs = [b[0].tolist() for b in tud.DataLoader(theirs_ds, batch_sampler=batches)]
    assert mine == theirs
    order = [9, 3, 5, 1, 0]
    mine = [b[0].tolist() for b in DataLoader(mine_ds, sampler=order, batch_size=2,
                                              drop_last=True)]
    theirs = [b[0].tolist() for b in tud.DataLoader(theirs_ds, sampler=order, batch_size=2,
                                                    drop_last=True)]
    assert mine == theirs and len(DataLoader(mine_ds, sampler=order, batch_size=2)) == 3


def test_pin_memory_and_collate_fn_are_accepted():
    ds = TensorDataset(tt.arange(6).float())
    loader = DataLoader(ds, batch_size=3, pin_memory=True,
                        collate_fn=lambda samples: [s[0].item() * 2 for s in samples])
    assert list(loader) == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
    ({"sampler": [0, 1], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
    ({"num_workers": -1}, "num_workers option should be non-negative"),
    ({"persistent_workers": True}, "need num_workers > 0"),
    ({"num_workers": 1, "prefetch_factor": 0}, "prefetch_factor must be a positive int"),
    ({"timeout": -1}, "timeout option should be non-negative"),
])
def test_bad_loader_arguments_are_explained(kwargs, message):
    ds = TensorDataset(tt.arange(4).float())
    with pytest.raises(ValueError, match=message):
        DataLoader(ds, **kwargs)
