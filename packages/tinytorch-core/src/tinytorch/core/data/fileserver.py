"""A tiny HTTP file server on 127.0.0.1, for testing downloads without the network.

    with serve_directory(folder) as server:
        download_url(f"{server.url}/archive.tar.gz", ...)
        server.faults.append("corrupt")      # the next response sends flipped bytes
        server.faults.append("cut")          # the next response stops half-way
        server.requests                      # paths fetched so far

What it teaches: a download path is only trustworthy once it has been seen to survive the
failures real networks produce (a mirror that serves the wrong bytes, a connection that
drops half-way). A test server that can be told to misbehave makes those failures
reproducible, and binding to 127.0.0.1 keeps the tests off the network entirely.

Systems lesson: a `Content-Length` header promises a size; a server that closes the
connection early breaks the promise, and the client sees `IncompleteRead`, not a clean
end of file. The download code must treat that as a failure, never as "done".
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LocalFileServer:
    """Handle on a running server: its base URL, the paths requested, pending faults."""

    url: str
    requests: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)


class _Handler(http.server.SimpleHTTPRequestHandler):
    server_state: LocalFileServer

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.server_state.requests.append(self.path)
        fault = self.server_state.faults.pop(0) if self.server_state.faults else None
        if fault is None:
            return super().do_GET()
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            return super().do_GET()
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault == "corrupt":
            self.wfile.write(bytes(b ^ 0xFF for b in body[:16]) + body[16:])
        else:  # "cut": half the promised bytes, then the connection closes
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True


@contextlib.contextmanager
def serve_directory(folder: str | Path) -> Iterator[LocalFileServer]:
    """Serve `folder` on 127.0.0.1 (a free port) until the block ends."""
    state = LocalFileServer(url="")
    handler = type("Handler", (_Handler,), {"server_state": state})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
