"""Where data lives (the data-root rule) and the verified download, on a 127.0.0.1 server."""

import functools
import hashlib
import http.server
import threading

import pytest

from tinytorch.core.data import ChecksumError, cache_dir, data_root, download_url, file_md5


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """(folder served, its base URL): tests never touch the network."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
    folder, base_url = served
    payload = b"abc" * 1000
    (folder / "f.bin").write_bytes(payload)
    sha, md5 = hashlib.sha256(payload).hexdigest(), hashlib.md5(payload).hexdigest()
    path = download_url(f"{base_url}/f.bin", tmp_path / "out" / "f.bin", md5=md5, sha256=sha,
                        progress=False)
    assert path.read_bytes() == payload and file_md5(path) == md5


def test_download_with_wrong_checksum_keeps_nothing(tmp_path, served):
    folder, base_url = served
    (folder / "f.bin").write_bytes(b"abc")
    destination = tmp_path / "out" / "f.bin"
    with pytest.raises(ChecksumError, match=f"sha256 checksum mismatch .* expected {'0' * 64}"):
        download_url(f"{base_url}/f.bin", destination, sha256="0" * 64, progress=False)
    assert not any(destination.parent.iterdir())  # no file, no half-written temporary file


def test_download_from_unreachable_url_names_it(tmp_path, served):
    _, base_url = served
    with pytest.raises(ConnectionError, match=f"could not fetch {base_url}/missing.bin"):
        download_url(f"{base_url}/missing.bin", tmp_path / "m.bin", progress=False)
