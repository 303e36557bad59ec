"""The two wire formats of /predict: safetensors bodies and JSON bodies read to the same
numbers, give the same answers over HTTP, and a hostile or damaged safetensors body gets
a 4xx naming the problem, never a 5xx."""

from __future__ import annotations

import json
import struct

import httpx
import numpy as np
import pytest
from conftest import make_mlp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.core.serialization import safetensors
from tinytorch.core.serialization.damage import damaged_copies
from tinytorch.mlops.serving import ModelService, RequestError, background_server, load_test
from tinytorch.mlops.serving.wire import (
    JSON_MEDIA_TYPE,
    SAFETENSORS_MEDIA_TYPE,
    encode_request,
    parse_body,
    request_decoder,
)


def make_service() -> ModelService:
    return ModelService(make_mlp(), name="mlp", version=1, input_shape=(8,), max_batch=64)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64]),
                  hnp.array_shapes(min_dims=1, max_dims=4, max_side=5)),
       st.booleans())
def test_both_formats_carry_the_same_batch(array, flag):
    binary, binary_type = encode_request(array, flag)
    inputs, return_outputs = parse_body(binary, None, binary_type)
    assert binary_type == SAFETENSORS_MEDIA_TYPE and return_outputs is flag
    assert inputs.dtype == array.dtype and inputs.shape == array.shape
    np.testing.assert_array_equal(inputs, array)  # bit for bit, NaN where NaN
    if np.all(np.isfinite(array)):
        text, text_type = encode_request(array, flag, format="json")
        lists, text_flag = parse_body(text, None, text_type)
        assert text_type == JSON_MEDIA_TYPE and text_flag is flag
        np.testing.assert_array_equal(np.array(lists, dtype=np.float64),
                                      array.astype(np.float64))


def test_the_content_type_chooses_the_format():
    x = np.ones((2, 8), np.float32)
    binary, _ = encode_request(x)
    for header in ("application/x-safetensors", "Application/X-Safetensors; charset=binary"):
        np.testing.assert_array_equal(parse_body(binary, None, header)[0], x)
    for header in (None, "application/json", "application/x-www-form-urlencoded"):
        with pytest.raises(RequestError, match="not valid JSON"):
            parse_body(binary, None, header)  # binary bytes read as JSON: refused, not guessed
    with pytest.raises(ValueError, match="format must be"):
        encode_request(x, format="npy")


def _body(tensors: dict, metadata: dict | None = None) -> bytes:
    return safetensors.encode(tensors, metadata, checksum=False)


GOOD = np.ones((2, 8), np.float32)
HOSTILE = [
    (b"", 400, "shorter than the 8-byte header length"),
    (struct.pack("<Q", 10**12) + b"{}", 400, "header claims"),
    (struct.pack("<Q", 4) + b"[[[[", 400, "nests"),
    (_body({"inputs": GOOD})[:-3], 400, "truncated"),
    (_body({"inputs": GOOD}) + b"\0" * 4, 400, "extended or corrupted"),
    (_body({"x": GOOD}), 400, "exactly one tensor, 'inputs'"),
    (_body({"inputs": GOOD, "more": GOOD}), 400, "exactly one tensor"),
    (_body({"inputs": GOOD}, {"return_outputs": "yes"}), 400, "'true' or 'false'"),
    (_body({"inputs": GOOD}, {"debug": "1"}), 400, "may only say"),
    (_body({"inputs": np.ones((2, 8), bool)}), 400, "real numbers, got an array of dtype bool"),
    (_body({"inputs": np.float32(1.0)}), 400, "a single number"),
    (_body({"inputs": np.ones((0, 8), np.float32)}), 400, "an empty list"),
    (_body({"inputs": np.ones((2, 3), np.float32)}), 422, "shape (8,)"),
    (_body({"inputs": np.ones((65, 8), np.float32)}), 413, "limit of 64"),
    (_body({"inputs": np.full((1, 8), np.nan, np.float32)}), 400, "NaN or infinite"),
    (_body({"inputs": np.full((1, 8), 1e39)}), 422, "fit in float32"),
]


def test_hostile_safetensors_bodies_get_4xx_naming_the_problem():
    service = make_service()
    with background_server(service) as url, httpx.Client(base_url=url, timeout=10) as http:
        for body, status, message in HOSTILE:
            response = http.post("/predict", content=body,
                                 headers={"content-type": SAFETENSORS_MEDIA_TYPE})
            assert response.status_code == status, (message, response.text[:200])
            assert message in response.json()["detail"]
    assert set(service.status_counts) == {400, 413, 422}


def test_damaged_safetensors_bodies_never_get_a_5xx():
    service = make_service()
    body, content_type = encode_request(np.random.default_rng(0).standard_normal((4, 8)))
    codes = set()
    with background_server(service) as url, httpx.Client(base_url=url, timeout=10) as http:
        for damaged in damaged_copies(body, seed=1, flips=150, cuts=40):
            response = http.post("/predict", content=damaged,
                                 headers={"content-type": content_type})
            codes.add(response.status_code)
            if response.status_code != 200:
                assert response.json()["detail"].startswith("/predict")
    assert codes <= {200, 400, 413, 422} and codes & {400}  # flips in the data can stay valid


def test_both_formats_get_the_same_answer_over_http():
    service = make_service()
    x = np.random.default_rng(2).standard_normal((5, 8)).astype(np.float32)
    answers = []
    with background_server(service) as url, httpx.Client(base_url=url, timeout=10) as http:
        for body_format in ("safetensors", "json"):
            body, content_type = encode_request(x, return_outputs=True, format=body_format)
            response = http.post("/predict", content=body,
                                 headers={"content-type": content_type})
            assert response.status_code == 200, response.text[:200]
            answers.append(response.json())
    assert answers[0] == answers[1] and "outputs" in answers[0]
    assert service.status_counts == {200: 2} and service.samples_total == 10


@pytest.mark.parametrize("body_format", ["safetensors", "json"])
def test_the_load_test_sends_either_format(body_format):
    service = make_service()
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    with background_server(service) as url:
        report = load_test(url, {"inputs": x}, clients=3, requests=30, format=body_format,
                           separate_process=False)
    assert report.status_counts == {200: 30} and not report.errors
    assert service.samples_total == 120


def test_the_load_test_refuses_what_it_cannot_send():
    with pytest.raises(ValueError, match="base_url must be"):
        load_test("127.0.0.1:8000", {"inputs": [[1.0]]})
    with pytest.raises(ValueError, match="payload must be a dict with 'inputs'"):
        load_test("http://127.0.0.1:1", [[1.0]])


def test_a_server_that_went_away_is_counted_as_errors():
    with background_server(make_service()) as url:
        pass  # stopped: nothing listens on its port any more
    report = load_test(url, {"inputs": np.ones((1, 8))}, clients=2, requests=6, timeout=2,
                       separate_process=False)
    assert report.completed == 0 and report.failures == 6
    assert all("Error" in error for error in report.errors)


def test_the_typed_json_decoder_and_safetensors_agree_on_a_service_batch():
    service = make_service()
    x = np.random.default_rng(3).standard_normal((3, 8))
    decoder = request_decoder(service)
    from_json, _ = parse_body(json.dumps({"inputs": x.tolist()}).encode(), decoder)
    from_binary, _ = parse_body(*encode_request(x)[:1], None, SAFETENSORS_MEDIA_TYPE)
    np.testing.assert_array_equal(from_json, from_binary)
    assert service.predict(from_json) == service.predict(from_binary)
