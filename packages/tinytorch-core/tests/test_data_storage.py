"""Where data lives (the data-root rule) and the verified download, on a 127.0.0.1 server
that can be told to misbehave (tinytorch.core.data.fileserver)."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tinytorch.core.data import (
    ChecksumError,
    cache_dir,
    data_root,
    download_allowed,
    download_url,
    file_md5,
)
from tinytorch.core.data.fileserver import serve_directory


@pytest.fixture
def served(tmp_path):
    """(folder served, the running server): tests never touch the network."""
    folder = tmp_path / "served"
    folder.mkdir()
    with serve_directory(folder) as server:
        yield folder, server


@pytest.fixture(autouse=True)
def online(monkeypatch):
    monkeypatch.delenv("TINYTORCH_OFFLINE", raising=False)


def test_data_root_rule_argument_then_environment_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "arg") == (tmp_path / "arg", "the root argument")
    assert data_root() == (tmp_path / "env", "$TINYTORCH_DATA")
    monkeypatch.delenv("TINYTORCH_DATA")
    monkeypatch.setenv("TINYTORCH_CACHE", str(tmp_path / "cache"))
    assert data_root()[0] == tmp_path / "cache" / "data" and cache_dir() == tmp_path / "cache"
    assert "TINYTORCH_DATA is not set" in data_root()[1]
    monkeypatch.delenv("TINYTORCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "tinytorch"


def test_download_verifies_md5_and_sha256(tmp_path, served):
    folder, server = served
    base_url = server.url
    payload = b"abc" * 1000
    (folder / "f.bin").write_bytes(payload)
    sha, md5 = hashlib.sha256(payload).hexdigest(), hashlib.md5(payload).hexdigest()
    path = download_url(f"{base_url}/f.bin", tmp_path / "out" / "f.bin", md5=md5, sha256=sha,
                        progress=False)
    assert path.read_bytes() == payload and file_md5(path) == md5


def test_download_with_wrong_checksum_keeps_nothing(tmp_path, served):
    folder, server = served
    base_url = server.url
    (folder / "f.bin").write_bytes(b"abc")
    destination = tmp_path / "out" / "f.bin"
    with pytest.raises(ChecksumError, match=f"sha256 checksum mismatch .* expected {'0' * 64}"):
        download_url(f"{base_url}/f.bin", destination, sha256="0" * 64, progress=False)
    assert not any(destination.parent.iterdir())  # no file, no half-written temporary file


def test_download_from_unreachable_url_names_it(tmp_path, served):
    base_url = served[1].url
    with pytest.raises(ConnectionError, match=f"could not fetch {base_url}/missing.bin"):
        download_url(f"{base_url}/missing.bin", tmp_path / "m.bin", progress=False)


PAYLOAD = bytes(range(256)) * 400  # 100 KiB: several reads, so a cut lands mid-stream
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


def test_corrupted_download_is_refused_and_retried(tmp_path, served, capsys):
    folder, server = served
    (folder / "a.bin").write_bytes(PAYLOAD)
    server.faults.append("corrupt")  # the first response has flipped bytes
    path = download_url(f"{server.url}/a.bin", tmp_path / "out" / "a.bin", md5=PAYLOAD_MD5)
    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/a.bin", "/a.bin"]  # refused once, fetched again
    assert "downloading a.bin" in capsys.readouterr().out  # the progress bar was shown


def test_cut_connection_is_retried_then_reported(tmp_path, served):
    folder, server = served
    (folder / "a.bin").write_bytes(PAYLOAD)
    server.faults.extend(["cut", "cut", "cut"])
    destination = tmp_path / "out" / "a.bin"
    with pytest.raises(ConnectionError, match="transfer of .*a.bin broke off"):
        download_url(f"{server.url}/a.bin", destination, md5=PAYLOAD_MD5, progress=False)
    assert len(server.requests) == 3
    assert not any(destination.parent.iterdir())  # no half-written file, no temporary file


def test_offline_mode_refuses_downloads(tmp_path, served, monkeypatch):
    folder, server = served
    (folder / "a.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("TINYTORCH_OFFLINE", "1")
    assert not download_allowed(True)
    with pytest.raises(ConnectionError, match="TINYTORCH_OFFLINE is set"):
        download_url(f"{server.url}/a.bin", tmp_path / "a.bin", progress=False)
    assert server.requests == []
    monkeypatch.setenv("TINYTORCH_OFFLINE", "0")
    assert download_allowed(True) and not download_allowed(False)


STALLING_DOWNLOAD = """
import http.server, sys, threading, time
from pathlib import Path
from tinytorch.core.data import download_url

class Stall(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(10 << 20))
        self.end_headers()
        self.wfile.write(b"x" * (1 << 20))
        self.wfile.flush()
        Path(sys.argv[2]).write_text("streaming")
        time.sleep(60)

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stall)
threading.Thread(target=server.serve_forever, daemon=True).start()
download_url(f"http://127.0.0.1:{server.server_address[1]}/big.bin", Path(sys.argv[1]),
             progress=False)
"""


def test_killed_download_leaves_nothing_at_the_destination(tmp_path):
    destination, started = tmp_path / "data" / "big.bin", tmp_path / "started"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(STALLING_DOWNLOAD),
                              str(destination), str(started)])
    try:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the download never started"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert not destination.exists()  # only a hidden temporary file can remain
    leftovers = list(destination.parent.iterdir())
    assert all(p.name.startswith(".big.bin.") for p in leftovers)
