"""tiny-shakespeare resolution and the verified download, against a local HTTP server."""

import hashlib
import http.server
import threading
from functools import partial

import pytest

from tinytorch.language import load_tiny_shakespeare, tiny_shakespeare_path
from tinytorch.language.datasets import ChecksumError

CORPUS = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 50


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 (tests never touch the network)."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "input.txt").write_text(CORPUS, encoding="utf-8")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/input.txt"
    httpd.shutdown()
    httpd.server_close()


def test_missing_data_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"tinyshakespeare/input.txt does not exist "
                       r"\(data root .*, chosen by the root argument\).*TINYTORCH_DATA"):
        tiny_shakespeare_path(tmp_path)


def test_download_verifies_checksum(tmp_path, server):
    digest = hashlib.sha256(CORPUS.encode()).hexdigest()
    root = tmp_path / "data"
    with pytest.raises(ChecksumError, match="expected 0000"):
        tiny_shakespeare_path(root, download=True, url=server, sha256="0000")
    assert not (root / "tinyshakespeare").exists() or \
        not any((root / "tinyshakespeare").iterdir())  # nothing half-written left behind
    text = load_tiny_shakespeare(root, download=True, url=server, sha256=digest)
    assert text == CORPUS
    assert load_tiny_shakespeare(root) == CORPUS  # now found without downloading
