"""The inference service and its HTTP server: validation, status codes, metrics, load test."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from conftest import make_mlp, require

import tinytorch.core as tt
from tinytorch.core import nn, no_grad
from tinytorch.mlops.monitoring import DriftDetector
from tinytorch.mlops.serving import ModelService, RequestError, background_server, load_test


@pytest.fixture
def service():
    return ModelService(make_mlp(), name="mlp", version=3, input_shape=(8,),
                        labels=["cat", "dog", "bird"], max_batch=64)


def test_predict_returns_classes_probabilities_and_labels(service):
    x = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    result = service.predict(x.tolist(), return_outputs=True)
    with no_grad():
        logits = service.model(tt.tensor(x)).array
    assert result["predictions"] == logits.argmax(1).tolist()
    np.testing.assert_allclose(np.sum(result["probabilities"], axis=1), 1.0, atol=1e-5)
    assert result["labels"] == [service.labels[i] for i in result["predictions"]]
    np.testing.assert_allclose(result["outputs"], logits, rtol=1e-6)
    assert service.status_counts == {200: 1} and service.samples_total == 5


@pytest.mark.parametrize("inputs, status, message", [
    ([], 400, "non-empty list"),
    ("text", 400, "non-empty list"),
    ([[1.0] * 8, [1.0] * 7], 400, "rectangular"),
    ([["a"] * 8], 400, "strings"),
    ([["1.5"] * 8], 400, "strings"),  # numpy would convert it silently
    ([[True] + [1.0] * 7], 400, "true is not a number"),
    ([[10**400] * 8], 400, "float64 range"),
    ([[1e39] * 8], 422, "fit in float32"),
    ([[None] * 8], 400, "null"),
    ([[np.True_] + [1.0] * 7], 400, "true is not a number"),
    ([[False] * 8], 400, "false is not a number"),
    ([[{"x": 1}] * 8], 400, r"nested lists of numbers, got \['dict'\]"),
    ([[[1.0, 2.0], [3.0]]], 400, "rectangular"),
    ([[float("nan")] * 8], 400, "NaN"),
    ([[1.0] * 3], 422, r"shape \(8,\), got samples of shape \(3,\)"),
    ([[1.0] * 8] * 65, 413, "exceeds the limit of 64"),
])
def test_bad_requests_raise_request_errors_with_messages(service, inputs, status, message):
    with pytest.raises(RequestError, match=message) as info:
        service.predict(inputs)
    assert info.value.status == status
    assert service.status_counts == {status: 1}
    assert service.errors.total == 0  # the caller's mistakes are not service errors


def test_language_model_service_takes_integer_ids():
    gpt = require("tinytorch.language.gpt")
    model = gpt.TinyGPT(30, 16, 2, 1, 16)
    service = ModelService(model, input_shape=(5,), input_dtype="int64")
    result = service.predict([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]])
    assert len(result["predictions"]) == 2
    with pytest.raises(RequestError, match="integer token ids"):
        service.predict([[1.5, 2, 3, 4, 5]])
    with pytest.raises(RequestError, match="model rejected the input") as info:
        service.predict([[1, 2, 3, 4, 99]])  # id outside the vocabulary
    assert info.value.status == 422


def test_drift_is_watched_over_windows_of_traffic():
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((1000, 8))
    service = ModelService(make_mlp(), input_shape=(8,),
                           drift_detector=DriftDetector(reference), drift_window=200)
    for _ in range(4):
        service.predict(rng.standard_normal((100, 8)).tolist())
    assert service.last_drift["drifted"] is False
    for _ in range(6):
        service.predict((rng.standard_normal((100, 8)) + [0, 0, 0, 1.5, 0, 0, 0, 0]).tolist())
    assert service.last_drift["drifted_features"] == [3]
    assert service.metrics()["retraining_triggers"] == 1  # three drifted windows in a row


class Broken(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def test_http_endpoints_status_codes_and_messages(service):
    with background_server(service) as url:
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=10) as http:
            health = http.get("/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            ok = http.post("/predict", json={"inputs": [[0.5] * 8, [0.1] * 8]})
            assert ok.status_code == 200 and len(ok.json()["predictions"]) == 2
            cases = [
                ({"json": {"inputs": [[1.0] * 3]}}, 422, "shape (8,)"),
                ({"json": {"wrong": 1}}, 400, "got keys ['wrong']"),
                ({"json": [1, 2]}, 400, "JSON object"),
                ({"content": b"{not json", "headers": {"content-type": "application/json"}},
                 400, "JSON"),
                ({"json": {"inputs": [[1.0] * 8] * 65}}, 413, "limit of 64"),
            ]
            for kwargs, status, text in cases:
                response = http.post("/predict", **kwargs)
                assert response.status_code == status, (kwargs, response.text)
                assert text in response.json()["detail"]
            assert http.get("/predict").status_code == 405
            metrics = http.get("/metrics")
            assert metrics.status_code == 200
            assert 'tinytorch_requests_total{model="mlp",version="3",status="200"} 1' \
                in metrics.text
            assert 'status="422"} 1' in metrics.text and 'status="400"} 3' in metrics.text
            assert 'quantile="0.99"' in metrics.text
            as_json = http.get("/metrics", params={"format": "json"}).json()
            assert as_json["samples_total"] == 2
            assert http.get("/metrics", params={"format": "xml"}).status_code == 400


def test_a_failing_model_gives_500_and_the_server_keeps_serving():
    service = ModelService(Broken(), input_shape=(2,))
    with background_server(service) as url, httpx.Client(base_url=url, timeout=10) as http:
        for _ in range(3):
            response = http.post("/predict", json={"inputs": [[1.0, 2.0]]})
            assert response.status_code == 500
            assert "RuntimeError: boom" in response.json()["detail"]
        assert http.get("/health").status_code == 200
    assert service.errors.error_rate == 1.0


def test_bounded_load_test_has_no_failures(service):
    payload = {"inputs": np.random.default_rng(0).standard_normal((4, 8)).tolist()}
    with background_server(service) as url:
        report = load_test(url, payload, clients=4, requests=60, max_seconds=60)
    assert report.completed == 60 and report.failures == 0
    assert report.status_counts == {200: 60}
    assert 0 < report.p50 <= report.p99 and report.throughput > 0
    assert service.status_counts[200] == 60
    summary = report.as_dict()
    assert summary["completed"] == 60 and summary["p99_ms"] >= summary["p50_ms"]


def test_load_test_counts_failures_and_rejects_bad_bounds(service):
    with background_server(service) as url:
        report = load_test(url, {"inputs": [[1.0]]}, clients=2, requests=10)
    assert report.failures == 10 and report.status_counts == {422: 10}
    with pytest.raises(ValueError, match="clients and requests must be >= 1"):
        load_test("http://127.0.0.1:1", {}, clients=0)


def test_the_listening_socket_disables_nagle():
    import socket

    from tinytorch.mlops.serving.server import listening_socket

    sock = listening_socket("127.0.0.1", 0)
    try:  # accepted connections inherit it: no 40 ms Nagle/delayed-ACK stall per response
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()
