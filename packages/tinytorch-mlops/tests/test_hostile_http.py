"""Hostile HTTP requests against a real server on 127.0.0.1: oversized, deeply nested,
non-JSON, wrongly typed and overflowing bodies, missing tokens. None gets a 5xx, an
oversized body is refused before it is read, and /metrics counts exactly the statuses
the client saw. Deterministic and bounded (a few seconds)."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections import Counter
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest
from conftest import make_mlp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinytorch.core import nn
from tinytorch.mlops.serving import ModelService, RequestError, background_server

LIMIT = 64 * 1024
TOKEN = "s3cret-token-for-tests"
OK = json.dumps({"inputs": [[0.5] * 8]}).encode()


def make_service(model=None) -> ModelService:
    return ModelService(model or make_mlp(), name="mlp", version=1, input_shape=(8,),
                        max_batch=64)


def raw_post(url: str, head: str, chunks=(), wait: float = 5.0) -> tuple[int, int]:
    """Send a hand-written request, one chunk at a time, watching for an early answer;
    return (status, body bytes sent before the answer arrived)."""
    where = urlparse(url)
    with socket.create_connection((where.hostname, where.port), timeout=wait) as sock:
        sock.sendall(f"POST /predict HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
        sent, reply = 0, b""
        for chunk in chunks:
            sock.settimeout(0.05)
            with contextlib.suppress(TimeoutError):
                reply = sock.recv(4096)  # answered already?
            if reply:
                break
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed
                break
            sent += len(chunk)
        sock.settimeout(wait)
        reply = reply or sock.recv(4096)
    return int(reply.split(b" ", 2)[1]), sent


HOSTILE = [
    (b"[" * 30_000 + b"]" * 30_000, 400, "nests"),  # 60 KB: under the size limit
    (b'{"inputs": [[NaN, 1, 1, 1, 1, 1, 1, 1]]}', 400, "NaN is not valid JSON"),
    (b'{"inputs": [[Infinity, 1, 1, 1, 1, 1, 1, 1]]}', 400, "Infinity is not valid JSON"),
    (b'{"inputs": [[1e400, 1, 1, 1, 1, 1, 1, 1]]}', 400, "NaN or infinite"),
    (json.dumps({"inputs": [[10**400] + [1] * 7]}).encode(), 400, "float64 range"),
    (json.dumps({"inputs": [[1e39] * 8]}).encode(), 422, "fit in float32"),
    (json.dumps({"inputs": [[True] + [1.0] * 7]}).encode(), 400, "true is not a number"),
    (json.dumps({"inputs": [["1.5"] * 8]}).encode(), 400, "strings"),
    (json.dumps({"inputs": [[1.0] * 8], "return_outputs": "false"}).encode(), 400,
     "must be true or false"),
    (json.dumps({"inputs": [[1.0] * 8], "extra": 1}).encode(), 400, "got keys"),
    (json.dumps({"inputs": {"a": 1}}).encode(), 400, "non-empty list"),
    (json.dumps({"inputs": [[1.0] * 8] * 65}).encode(), 413, "limit of 64"),
    (json.dumps({"inputs": [[1.0] * 3]}).encode(), 422, "shape (8,)"),
    (b"\xff\xfe\x00garbage", 400, "not valid JSON"),
    (b"", 400, "not valid JSON"),
    (b'"just a string"', 400, "JSON object"),
]


def test_hostile_bodies_get_4xx_and_metrics_count_what_was_sent():
    service = make_service()
    seen: Counter = Counter()
    with background_server(service, max_body_bytes=LIMIT) as url, \
            httpx.Client(base_url=url, timeout=10) as http:
        empty = http.get("/metrics", params={"format": "json"})  # NaN quantiles: no requests yet
        assert empty.status_code == 200 and empty.json()["latency_seconds"]["p50"] is None
        for body, status, message in HOSTILE:
            response = http.post("/predict", content=body,
                                 headers={"content-type": "application/json"})
            seen[response.status_code] += 1
            assert response.status_code == status, (body[:60], response.text[:200])
            assert message in response.json()["detail"]
        start = time.perf_counter()
        status, sent = raw_post(url, "Content-Type: application/json\r\n"
                                     "Content-Length: 52428800\r\n")  # 50 MB announced
        seen[status] += 1
        assert status == 413 and sent == 0 and time.perf_counter() - start < 2
        status, sent = raw_post(url, "Transfer-Encoding: chunked\r\n",
                                [b"4000\r\n" + b"[" * 0x4000 + b"\r\n"] * 64)  # 1 MB streamed
        seen[status] += 1
        assert status == 413 and sent < 8 * 0x4000  # refused while reading: ~4 chunks in
        for _ in range(3):
            assert http.post("/predict", content=OK).status_code == 200
            seen[200] += 1
        assert http.get("/predict").status_code == 405
        seen[405] += 1
        counted = http.get("/metrics", params={"format": "json"}).json()["requests_total"]
    assert {int(k): v for k, v in counted.items()} == dict(seen)
    assert not any(code >= 500 for code in seen)
    assert service.samples_total == 3


def test_a_model_whose_outputs_overflow_gets_422_not_500():
    model = nn.Linear(8, 2)
    model.weight.data[...] = 3e38
    service = ModelService(model, input_shape=(8,))
    with background_server(service) as url, httpx.Client(base_url=url, timeout=10) as http:
        response = http.post("/predict", json={"inputs": [[1e30] * 8]})
    detail = response.json()["detail"]  # "overflow" where RuntimeWarnings are errors (pytest)
    assert response.status_code == 422 and ("not finite" in detail or "overflow" in detail)
    assert service.status_counts == {422: 1}


class Infinite(nn.Module):
    def forward(self, x):
        return x * float("inf")


def test_non_finite_outputs_are_never_sent():
    service = ModelService(Infinite(), input_shape=(2,))
    with background_server(service) as url, httpx.Client(base_url=url, timeout=10) as http:
        response = http.post("/predict", json={"inputs": [[1.0, 2.0]]})
    assert response.status_code == 422 and "not finite" in response.json()["detail"]


def test_bearer_token_is_required_when_configured():
    service = make_service()
    with background_server(service, token=TOKEN) as url, \
            httpx.Client(base_url=url, timeout=10) as http:
        assert http.post("/predict", content=OK).status_code == 401
        wrong = http.post("/predict", content=OK, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert http.get("/metrics").status_code == 401
        assert http.get("/health").status_code == 401
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert http.post("/predict", content=OK, headers=good).status_code == 200
        assert http.get("/health", headers=good).status_code == 200
    assert service.status_counts == {401: 2, 200: 1}
    with pytest.raises(ValueError, match="at least 8 characters"):
        background_server(service, token="short").__enter__()


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["inputs", "return_outputs", "x"]), children, max_size=3),
    max_leaves=40)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)))
def test_no_body_whatever_its_content_gets_a_5xx(body):
    response = _SHARED["http"].post("/predict", content=body)
    assert response.status_code < 500, (body[:100], response.text[:200])
    _SHARED["requests"] += 1


_SHARED: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _shared_server():
    with background_server(make_service(), max_body_bytes=LIMIT) as url, \
            httpx.Client(base_url=url, timeout=10) as http:
        _SHARED.update(http=http, requests=0)
        yield


@settings(max_examples=300, deadline=None, derandomize=True)
@given(json_values)
def test_service_parse_raises_only_request_errors(inputs):
    service = make_service()
    try:
        batch = service.parse(inputs)
    except RequestError as exc:
        assert 400 <= exc.status < 500 and str(exc).startswith("/predict:")
    else:
        assert batch.dtype == np.float32 and batch.shape[1:] == (8,)
        assert np.all(np.isfinite(batch))


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "not a model"}, "must be a tinytorch Module"),
    ({"max_batch": 0}, "max_batch must be a positive int"),
    ({"max_batch": True}, "max_batch must be a positive int"),
    ({"input_shape": (3, -1)}, "input_shape must be"),
    ({"input_shape": ()}, "input_shape must be"),
    ({"input_shape": "8"}, "input_shape must be"),
    ({"labels": "cat"}, "labels must be a list of strings"),
    ({"input_dtype": "float16"}, "input_dtype must be"),
])
def test_service_construction_checks_its_arguments(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        ModelService(**{"model": make_mlp(), **kwargs})


def _receive_from(messages):
    queue = list(messages)

    async def receive():
        return queue.pop(0)
    return receive


@pytest.mark.parametrize("messages, declared, expected", [
    ([{"type": "http.request", "body": b"12345", "more_body": True},
      {"type": "http.request", "body": b"678", "more_body": False}], 8, b"12345678"),
    ([{"type": "http.request", "body": b"12345", "more_body": True},
      {"type": "http.request", "body": b"678", "more_body": False}], None, b"12345678"),
    # more than declared, or than the limit: refused before the next chunk is read
    ([{"type": "http.request", "body": b"123456", "more_body": True}], 4, "no longer than"),
    ([{"type": "http.request", "body": b"1234567890A", "more_body": True}], None,
     "at most 10 bytes"),
    ([{"type": "http.disconnect"}], 8, ""),
])
def test_the_body_is_read_into_one_bounded_buffer(messages, declared, expected):
    import asyncio

    from tinytorch.mlops.serving.app import _read_body

    body = asyncio.run(_read_body(_receive_from(messages), declared, 10))
    if isinstance(expected, bytes):
        assert body == expected
    else:
        assert isinstance(body, str) and expected in body


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64),
                                   st.integers(-2**60, 2**60)), min_size=3, max_size=3),
                min_size=1, max_size=5),
       st.sampled_from([None, True, False]), st.sampled_from([None, 0, 2]))
def test_the_typed_decoder_reads_valid_bodies_as_the_general_parser_does(rows, flag, indent):
    """Well-formed bodies take the fast typed decoder; it must give the very numbers (and
    flag) that json.loads gives, whatever the spacing, key order or int/float mix."""
    from tinytorch.mlops.serving.wire import parse_body, request_decoder

    payload = {"inputs": rows} if flag is None else {"return_outputs": flag, "inputs": rows}
    body = json.dumps(payload, indent=indent).encode()
    decoder = request_decoder(ModelService(nn.Linear(3, 2), input_shape=(3,)))
    inputs, return_outputs = parse_body(body, decoder)
    reference, reference_flag = parse_body(body)
    assert isinstance(inputs, np.ndarray) and inputs.dtype == np.float64  # the fast path ran
    np.testing.assert_array_equal(inputs, np.array(reference, dtype=np.float64))
    assert return_outputs is reference_flag is bool(flag)


def test_a_service_without_an_input_shape_has_no_typed_decoder():
    from tinytorch.mlops.serving.wire import request_decoder

    assert request_decoder(ModelService(nn.Linear(3, 2))) is None
