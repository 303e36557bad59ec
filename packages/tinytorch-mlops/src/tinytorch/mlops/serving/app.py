"""The HTTP layer: a FastAPI app with /predict, /health and /metrics around a ModelService.

    POST /predict   {"inputs": [[...], ...], "return_outputs": false}
                    -> 200 {"predictions": [...], "probabilities": [...], ...}
                    -> 400/401/413/422 {"detail": "what was wrong and what was expected"}
    GET  /health    -> 200 {"status": "ok", "model": ..., "version": ...}
    GET  /metrics   -> Prometheus text (counts by status, latency quantiles, throughput,
                       error rate, drift); /metrics?format=json for the same as JSON

What it teaches: every byte of a request is hostile until checked, and the checks run in
the order that costs the attacker most and the server least:
1. **Authentication** (optional): with a token, any request without
   `Authorization: Bearer <token>` gets 401 before its body is read. The comparison is
   constant-time (`hmac.compare_digest`), so timing does not leak the token.
2. **Size**: the body is counted *while it is read*, into one buffer; past
   `max_body_bytes` (or past its own Content-Length) the answer is 413 at once
   (immediately, from the Content-Length header, when there is one), so a 50 MB request
   is never buffered.
3. **Shape of the JSON**: nesting depth (a body of 100,000 `[` would overflow the
   parser's stack), NaN/Infinity literals (not JSON), exact keys, exact types
   (`"return_outputs": "false"` is not a bool). A well-formed request is read by a typed
   decoder (msgspec) that checks all of this while it parses, in C: 24,576 numbers in
   ~2.5 ms where `json.loads` and a type check over the Python lists took ~12 ms, more
   than the model's forward pass. Whatever it refuses is parsed again by the general
   path, whose checks name the problem.
4. The service's own checks (numbers only, finite, within float32, the registered shape).
Content never produces a 5xx: a 500 means a bug in the model, logged, and the server
keeps serving. `/metrics` counts the status each /predict response actually carried.

`/predict` runs the model in a worker thread, so the event loop stays free to accept
connections (and to refuse oversized ones) while numpy computes.
"""

from __future__ import annotations

import hmac
import json
import logging
import math

import msgspec
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from tinytorch.core.serialization.safetensors import nesting_depth

from .service import ModelService, RequestError

log = logging.getLogger("tinytorch.mlops.serving")
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_BODY_DEPTH = 32  # {"inputs": [batch [sample [row [...]]]]}: far more than any input needs
TOKEN_ENV_VAR = "TINYTORCH_SERVE_TOKEN"


def create_app(service: ModelService, token: str | None = None,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES):
    """The ASGI app: FastAPI routes inside a guard for authentication and body size."""
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ValueError(f"create_app: max_body_bytes must be a positive int, got "
                         f"{max_body_bytes!r}")
    if token is not None and (not isinstance(token, str) or len(token) < 8):
        raise ValueError("create_app: the token must be a string of at least 8 characters")
    app = FastAPI(title=f"TinyTorch model server: {service.name}", version=str(service.version))

    decoder = request_decoder(service)

    @app.post("/predict")
    async def predict(request: Request):
        try:
            inputs, return_outputs = parse_body(await request.body(), decoder)
            result = await run_in_threadpool(service.predict, inputs, return_outputs, False)
        except RequestError as exc:
            return JSONResponse(status_code=exc.status, content={"detail": str(exc)})
        except Exception as exc:  # a bug in the model: answer 500, keep serving
            log.exception("predict failed")
            return JSONResponse(status_code=500, content={
                "detail": f"/predict: internal error {type(exc).__name__}: {exc}"})
        request.state.samples = len(inputs)
        return JSONResponse(result)

    @app.get("/health")
    def health():
        return service.health()

    @app.get("/metrics")
    def metrics(format: str = "prometheus"):
        if format == "json":
            return JSONResponse(_json_safe(service.metrics()))
        if format != "prometheus":
            return JSONResponse(status_code=400, content={
                "detail": f"/metrics: format must be 'prometheus' or 'json', got {format!r:.40}"})
        return PlainTextResponse(service.metrics_text(),
                                 media_type="text/plain; version=0.0.4")

    return Guard(app, service, token, max_body_bytes)


def request_decoder(service: ModelService) -> msgspec.json.Decoder | None:
    """A typed JSON decoder for `service`'s well-formed requests, or None when the service
    has no input shape (then every request takes the general path).

    The type says exactly what a request is: {"inputs": lists of numbers nested one level
    per dimension of a batch, "return_outputs": bool} and no other key. msgspec checks it
    while it parses, in C, without building a Python object for anything it refuses."""
    if service.input_shape is None:
        return None
    batch = float
    for _ in range(len(service.input_shape) + 1):
        batch = list[batch]
    body = msgspec.defstruct("PredictRequest", [("inputs", batch), ("return_outputs", bool, False)],
                             forbid_unknown_fields=True)
    return msgspec.json.Decoder(body)


def parse_body(body: bytes, decoder: msgspec.json.Decoder | None = None
                ) -> tuple[list | np.ndarray, bool]:
    """(inputs, return_outputs) of a /predict body, or a RequestError saying what is wrong.

    Well-formed requests take the typed decoder and arrive as one float64 array; anything
    it refuses is parsed again by the general path below, whose checks name the problem."""
    if decoder is not None:
        try:
            request = decoder.decode(body)
            return np.array(request.inputs, dtype=np.float64), request.return_outputs
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            pass  # not a well-formed request: the general path says why
    depth = nesting_depth(body)
    if depth > MAX_BODY_DEPTH:
        raise RequestError(f"/predict: the JSON nests {depth} levels deep; at most "
                           f"{MAX_BODY_DEPTH} are accepted")
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise RequestError(f"/predict: the body must be a JSON object {{\"inputs\": [[...], "
                           f"...]}}; it is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise RequestError(f"/predict: the body must be a JSON object {{\"inputs\": [[...], "
                           f"...]}}, got a JSON {type(payload).__name__}")
    unknown = set(payload) - {"inputs", "return_outputs"}
    if "inputs" not in payload or unknown:
        raise RequestError("/predict: expected a JSON object {\"inputs\": [...], "
                           f"\"return_outputs\": false}}, got keys {sorted(payload)[:10]}")
    return_outputs = payload.get("return_outputs", False)
    if not isinstance(return_outputs, bool):
        raise RequestError(f"/predict: 'return_outputs' must be true or false, got "
                           f"{return_outputs!r:.40}")
    return payload["inputs"], return_outputs


def _json_safe(value):
    """NaN and infinity (e.g. latency quantiles before any request) as null: JSON has none."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    return _json_safe(value.item()) if hasattr(value, "item") else str(value)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class Guard:
    """ASGI middleware: authentication, the body-size limit, and counting the status
    every /predict response actually carried."""

    def __init__(self, app, service: ModelService, token: str | None, max_body_bytes: int):
        self.app, self.service = app, service
        self.token = None if token is None else f"Bearer {token}".encode()
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sent = {"status": 500}

        async def send_and_watch(message):
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, send_and_watch)
        finally:
            if scope["path"] == "/predict":
                samples = scope.get("state", {}).get("samples", 0)
                self.service.record(sent["status"], samples if sent["status"] == 200 else 0)

    async def _guarded(self, scope, receive, send):
        headers = dict(scope["headers"])
        if self.token is not None and not hmac.compare_digest(
                headers.get(b"authorization", b""), self.token):
            return await _reply(send, 401, "missing or wrong bearer token (send the header "
                                "'Authorization: Bearer <token>')",
                                [(b"www-authenticate", b"Bearer")])
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        declared = headers.get(b"content-length")  # None: a chunked body
        if declared is not None and (not declared.isdigit()
                                     or int(declared) > self.max_body_bytes):
            return await _reply(send, 413 if declared.isdigit() else 400,
                                f"the body must be at most {self.max_body_bytes:,} bytes "
                                f"(Content-Length: {declared[:20].decode('latin-1')})")
        body = await _read_body(receive, None if declared is None else int(declared),
                                self.max_body_bytes)
        if isinstance(body, str):
            return await _reply(send, 413, body) if body else None
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


async def _read_body(receive, declared: int | None, limit: int) -> bytes | str:
    """The whole body, into one buffer sized by Content-Length when it is declared.

    Counted while it arrives: more than `limit` bytes (or than declared) is refused before
    the rest is read. Returns the refusal's message instead ("" when the client left)."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return ""
        body += message.get("body", b"")
        if len(body) > (limit if declared is None else min(limit, declared)):
            return f"the body must be at most {limit:,} bytes (and no longer than declared)"
        if not message.get("more_body", False):
            return bytes(body)


async def _reply(send, status: int, detail: str, headers=()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": body})
