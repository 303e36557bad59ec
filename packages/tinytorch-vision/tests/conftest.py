"""Shared fixtures: every test gets its own empty cache directory, never the user's."""

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("TINYTORCH_CACHE", str(path))
    return path
