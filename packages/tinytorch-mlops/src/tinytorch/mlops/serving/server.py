"""Running the app: in the foreground (`tito serve`) or in a background thread (tests, load
tests), always with uvicorn.

What it teaches: binding to port 0 asks the operating system for any free port, so tests
never collide with each other or with a running service; the socket is created first and
handed to uvicorn, so the chosen port is known before the server starts.

Systems lesson: the server listens on 127.0.0.1 unless told otherwise; 0.0.0.0 would
expose the model to the whole network, and then a bearer token (`token=`) is the least
it needs (TLS, from a reverse proxy, is the next thing: a token sent in clear is readable
by anyone on the path).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from .app import DEFAULT_MAX_BODY_BYTES, create_app
from .service import ModelService


def serve(service: ModelService, host: str = "127.0.0.1", port: int = 8000,
          log_level: str = "info", token: str | None = None,
          max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
    """Serve until interrupted (Ctrl-C). With `token`, every request needs
    `Authorization: Bearer <token>`."""
    uvicorn.run(create_app(service, token, max_body_bytes), host=host, port=port,
                log_level=log_level)


@contextlib.contextmanager
def background_server(service: ModelService, host: str = "127.0.0.1",
                      startup_timeout: float = 20.0, token: str | None = None,
                      max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Iterator[str]:
    """Run the server in a thread on a free port; yields its base URL; stops it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(service, token, max_body_bytes), log_level="warning",
                            access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"background_server: uvicorn did not start on {host}:{port} "
                               f"within {startup_timeout} s")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
