"""The HTTP layer: a FastAPI app with /predict, /health and /metrics around a ModelService.

    POST /predict   {"inputs": [[...], ...], "return_outputs": false}   (application/json)
                    or one safetensors file holding "inputs" (application/x-safetensors)
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
3. **The body's format** (`wire.py`): a safetensors body goes through the checked reader
   that loads model files; a JSON body is checked for nesting depth (a body of 100,000 `[`
   would overflow the parser's stack), NaN/Infinity literals (not JSON), exact keys and
   exact types (`"return_outputs": "false"` is not a bool).
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

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from .service import ModelService, RequestError
from .wire import parse_body, request_decoder

log = logging.getLogger("tinytorch.mlops.serving")
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
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
            inputs, return_outputs = parse_body(await request.body(), decoder,
                                                request.headers.get("content-type"))
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
