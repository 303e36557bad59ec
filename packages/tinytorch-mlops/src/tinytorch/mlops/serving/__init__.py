"""Serving: a model behind HTTP (/predict, /health, /metrics) and a bounded load test."""

from .app import create_app
from .loadtest import LoadTestReport, load_test
from .server import background_server, serve
from .service import ModelService, RequestError

__all__ = ["LoadTestReport", "ModelService", "RequestError", "background_server", "create_app",
           "load_test", "serve"]
