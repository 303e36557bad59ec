"""Running the app: in the foreground (`tito serve`) or in a background thread (tests, load
tests), always with uvicorn.

What it teaches: binding to port 0 asks the operating system for any free port, so tests
never collide with each other or with a running service; the socket is created first and
handed to uvicorn, so the chosen port is known before the server starts.

The listening socket has TCP_NODELAY set (accepted connections inherit it). Without it a
keep-alive client waited ~40 ms for every response: the server writes the headers and the
body separately, Nagle's algorithm holds the second write until the first is
acknowledged, and the client delays that acknowledgement by 40 ms (measured: /health took
44 ms per request on a kept-alive connection, 2 ms with TCP_NODELAY).

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
    sock = listening_socket(host, port)
    config = uvicorn.Config(create_app(service, token, max_body_bytes), log_level=log_level)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket with TCP_NODELAY (no Nagle delay on small responses)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


@contextlib.contextmanager
def background_server(service: ModelService, host: str = "127.0.0.1",
                      startup_timeout: float = 20.0, token: str | None = None,
                      max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Iterator[str]:
    """Run the server in a thread on a free port; yields its base URL; stops it on exit."""
    sock = listening_socket(host, 0)
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
