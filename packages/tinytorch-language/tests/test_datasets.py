"""tiny-shakespeare resolution and the verified download, against a local HTTP server."""

import hashlib
import subprocess
import sys

import pytest

from tinytorch.core.data.fileserver import serve_directory
from tinytorch.core.milestones import EXIT_NO_DATA
from tinytorch.language import datasets, load_tiny_shakespeare, tiny_shakespeare_path
from tinytorch.language.datasets import ChecksumError
from tinytorch.language.milestones import tinygpt

CORPUS = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 50


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A 127.0.0.1 server (tests never touch the network) serving the corpus as input.txt."""
    monkeypatch.delenv("TINYTORCH_OFFLINE", raising=False)
    www = tmp_path / "www"
    www.mkdir()
    (www / "input.txt").write_text(CORPUS, encoding="utf-8")
    with serve_directory(www) as server:
        yield server


@pytest.fixture
def server(served):
    return f"{served.url}/input.txt"


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


# ---------------------------------------------------------------- milestone 04's data path
def milestone_args(*argv):
    return tinygpt.parse_args(list(argv))


def test_milestone_downloads_once_then_uses_the_data_root(tmp_path, served, monkeypatch,
                                                          capsys):
    monkeypatch.setattr(datasets, "TINY_SHAKESPEARE_URL", f"{served.url}/input.txt")
    monkeypatch.setattr(datasets, "TINY_SHAKESPEARE_SHA256",
                        hashlib.sha256(CORPUS.encode()).hexdigest())
    args = milestone_args("--data-dir", str(tmp_path / "data"))
    text, source = tinygpt.load_text(args, tinygpt.Console())
    assert text == CORPUS and source.endswith("input.txt")
    assert "downloading input.txt" in capsys.readouterr().out  # with a progress bar
    served.faults.append("corrupt")  # would be refused if it were fetched again
    assert tinygpt.load_text(args, tinygpt.Console())[0] == CORPUS
    assert served.requests == ["/input.txt"]  # the second run used the data root


def test_milestone_refuses_a_corrupted_download_and_retries(tmp_path, served, monkeypatch):
    monkeypatch.setattr(datasets, "TINY_SHAKESPEARE_URL", f"{served.url}/input.txt")
    monkeypatch.setattr(datasets, "TINY_SHAKESPEARE_SHA256",
                        hashlib.sha256(CORPUS.encode()).hexdigest())
    served.faults.extend(["corrupt", "cut"])
    text, _ = tinygpt.load_text(milestone_args("--data-dir", str(tmp_path / "d")),
                                tinygpt.Console())
    assert text == CORPUS and len(served.requests) == 3


def test_quick_run_without_data_uses_the_shipped_sample(tmp_path, served, monkeypatch):
    monkeypatch.setattr(datasets, "TINY_SHAKESPEARE_URL", f"{served.url}/input.txt")
    args = milestone_args("--quick", "--data-dir", str(tmp_path / "empty"))
    text, source = tinygpt.load_text(args, tinygpt.Console())
    assert text == datasets.shakespeare_sample() and source.startswith("SAMPLE")
    assert served.requests == []  # a quick run never downloads


def test_shipped_sample_is_real_shakespeare():
    sample = datasets.shakespeare_sample()
    assert 30_000 < len(sample) < 50_000
    assert sample.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert len(set(sample)) > 50  # letters, both cases, punctuation


def test_offline_milestone_fails_at_once_with_one_clear_message(tmp_path):
    env = {"PATH": "", "HOME": str(tmp_path), "TINYTORCH_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "tinytorch.language.milestones.tinygpt"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == EXIT_NO_DATA
    out = " ".join(done.stdout.split())  # rich wraps long lines
    for expected in ("cannot run, its data is missing and downloads are off",
                     str(tmp_path / ".cache" / "tinytorch" / "data" / "tinyshakespeare"),
                     datasets.TINY_SHAKESPEARE_URL, "TINYTORCH_DATA"):
        assert expected in out
