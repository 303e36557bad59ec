"""Dynamic batching: waiting requests share one model call, each gets its own rows back,
and one request's failure never becomes another's."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import make_mlp

import tinytorch.core as tt
from tinytorch.core import no_grad
from tinytorch.mlops.serving import ModelService
from tinytorch.mlops.serving.batching import Batcher


class GatedModel:
    """`run` for a Batcher: the first call waits for `gate`, so other requests queue up
    behind it; every call's batch size is recorded."""

    def __init__(self, fail_on=None):
        self.gate, self.entered = threading.Event(), threading.Event()
        self.sizes, self.fail_on = [], fail_on

    def __call__(self, batch):
        self.sizes.append(len(batch))
        self.entered.set()
        self.gate.wait(timeout=10)
        if self.fail_on is not None and np.any(batch == self.fail_on):
            raise ValueError(f"the model refuses {self.fail_on}")
        return batch.sum(axis=tuple(range(1, batch.ndim)))[:, None] * 2.0


def run_concurrently(batcher, first, others):
    """Call `batcher(first)`; once it runs, queue `others` behind it; then open the gate."""
    results, errors = {}, {}

    def call(key, batch):
        try:
            results[key] = batcher(batch)
        except Exception as exc:  # recorded for the test to inspect
            errors[key] = exc

    threads = [threading.Thread(target=call, args=("first", first))]
    threads[0].start()
    batcher._run.entered.wait(timeout=10)
    for key, batch in others.items():
        threads.append(threading.Thread(target=call, args=(key, batch)))
        threads[-1].start()
    for _ in range(2000):  # until every other request waits in the queue (<= 10 s)
        if len(batcher._queue) == len(others):
            break
        threading.Event().wait(0.005)
    assert len(batcher._queue) == len(others), "the other requests never queued"
    batcher._run.gate.set()
    for thread in threads:
        thread.join(timeout=10)
    return results, errors


def batches(*sizes, width=3):
    rng = np.random.default_rng(0)
    return {f"r{i}": rng.standard_normal((n, width)).astype(np.float32)
            for i, n in enumerate(sizes)}


def test_waiting_requests_share_one_call_and_get_their_own_rows():
    model = GatedModel()
    batcher = Batcher(model, max_samples=64)
    others = batches(2, 5, 1)
    results, errors = run_concurrently(batcher, np.ones((4, 3), np.float32), others)
    assert not errors
    assert model.sizes == [4, 2 + 5 + 1]  # the first alone, then all three waiting together
    assert batcher.calls == 2
    np.testing.assert_array_equal(results["first"], np.full((4, 1), 6.0))
    for key, batch in others.items():
        np.testing.assert_allclose(results[key], batch.sum(axis=1, keepdims=True) * 2.0)


def test_batches_stop_at_max_samples_and_keep_arrival_order():
    model = GatedModel()
    batcher = Batcher(model, max_samples=6)
    others = batches(4, 4, 2)
    results, errors = run_concurrently(batcher, np.ones((1, 3), np.float32), others)
    assert not errors and len(results) == 4
    assert sum(model.sizes) == 1 + 4 + 4 + 2
    assert all(size <= 6 for size in model.sizes[1:])


def test_different_sample_shapes_are_never_mixed():
    model = GatedModel()
    batcher = Batcher(model, max_samples=64)
    others = {"narrow": np.ones((2, 3), np.float32), "wide": np.ones((2, 5), np.float32)}
    results, errors = run_concurrently(batcher, np.ones((1, 3), np.float32), others)
    assert not errors
    np.testing.assert_array_equal(results["narrow"], np.full((2, 1), 6.0))
    np.testing.assert_array_equal(results["wide"], np.full((2, 1), 10.0))
    assert model.sizes == [1, 2, 2]


def test_a_failing_request_fails_alone():
    model = GatedModel(fail_on=13.0)
    batcher = Batcher(model, max_samples=64)
    others = batches(2, 3)
    others["bad"] = np.full((1, 3), 13.0, np.float32)
    results, errors = run_concurrently(batcher, np.ones((1, 3), np.float32), others)
    assert set(errors) == {"bad"} and "refuses 13" in str(errors["bad"])
    assert set(results) == {"first", "r0", "r1"}
    for key in ("r0", "r1"):
        np.testing.assert_allclose(results[key], others[key].sum(axis=1, keepdims=True) * 2)


def test_max_samples_must_be_a_positive_int():
    for bad in (0, -1, 2.5, True, "8"):
        with pytest.raises(ValueError, match="max_samples must be a positive int"):
            Batcher(lambda batch: batch, bad)


def test_service_batches_concurrent_requests_and_counts_model_calls():
    service = ModelService(make_mlp(), name="mlp", input_shape=(8,), max_batched_samples=64)
    rng = np.random.default_rng(1)
    requests = [rng.standard_normal((3, 8)).astype(np.float32) for _ in range(12)]
    results = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def send(i):
        start.wait(timeout=10)
        results[i] = service.predict(requests[i], return_outputs=True)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with no_grad():
        for batch, result in zip(requests, results):
            alone = service.model(tt.tensor(batch)).array
            np.testing.assert_allclose(result["outputs"], alone, rtol=1e-5, atol=1e-6)
            assert result["predictions"] == alone.argmax(1).tolist()
    metrics = service.metrics()
    assert metrics["requests_total"] == {200: len(requests)}
    assert 1 <= metrics["model_calls_total"] <= len(requests)
    assert "tinytorch_model_calls_total" in service.metrics_text()


def test_service_rejects_a_bad_max_batched_samples():
    with pytest.raises(ValueError, match="max_batched_samples must be a positive int"):
        ModelService(make_mlp(), max_batched_samples=0)
