"""The HTTP layer: a FastAPI app with /predict, /health and /metrics around a ModelService.

    POST /predict   {"inputs": [[...], ...], "return_outputs": false}
                    -> 200 {"predictions": [...], "probabilities": [...], ...}
                    -> 400/413/422 {"detail": "what was wrong and what was expected"}
    GET  /health    -> 200 {"status": "ok", "model": ..., "version": ...}
    GET  /metrics   -> Prometheus text (counts by status, latency quantiles, throughput,
                       error rate, drift); /metrics?format=json for the same as JSON

What it teaches: the HTTP layer stays thin. It parses JSON, calls the service and maps
the service's exceptions to status codes: RequestError -> its 4xx with the message;
anything else -> 500 with the exception's type and message, logged and counted, and the
server keeps serving. `/predict` is a plain `def`, so FastAPI runs it in a worker thread
and the event loop stays free to accept connections while numpy computes.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from .service import ModelService, RequestError

log = logging.getLogger("tinytorch.mlops.serving")


def create_app(service: ModelService) -> FastAPI:
    app = FastAPI(title=f"TinyTorch model server: {service.name}", version=str(service.version))

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        service.record(400)
        return JSONResponse(status_code=400, content={"detail": _validation_message(exc)})

    @app.post("/predict")
    def predict(body: dict):  # a dict, so *we* write the messages for malformed batches
        unknown = set(body) - {"inputs", "return_outputs"}
        if "inputs" not in body or unknown:
            service.record(400)
            return JSONResponse(status_code=400, content={"detail": (
                "/predict: expected a JSON object {\"inputs\": [...], \"return_outputs\": "
                f"false}}, got keys {sorted(body)}")})
        try:
            return service.predict(body["inputs"], bool(body.get("return_outputs", False)))
        except RequestError as exc:
            return JSONResponse(status_code=exc.status, content={"detail": str(exc)})
        except Exception as exc:  # a bug in the model: answer 500, keep serving
            log.exception("predict failed")
            return JSONResponse(status_code=500, content={
                "detail": f"/predict: internal error {type(exc).__name__}: {exc}"})

    @app.get("/health")
    def health():
        return service.health()

    @app.get("/metrics")
    def metrics(format: str = "prometheus"):
        if format == "json":
            return JSONResponse(json.loads(json.dumps(service.metrics(), default=str)))
        if format != "prometheus":
            return JSONResponse(status_code=400, content={
                "detail": f"/metrics: format must be 'prometheus' or 'json', got {format!r}"})
        return PlainTextResponse(service.metrics_text(),
                                 media_type="text/plain; version=0.0.4")

    return app


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return ("/predict: the body must be a JSON object {\"inputs\": [[...], ...]}; "
            + "; ".join(problems))
