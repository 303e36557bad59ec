"""The entry-point extension point: later phases' layers under nn / F, or a clear error."""

from __future__ import annotations

import pytest

from tinytorch.core import extensions, nn
from tinytorch.core.nn import functional as F


@pytest.fixture
def nothing_installed(monkeypatch):
    """Pretend no later phase is installed (whatever this environment has)."""
    monkeypatch.setattr(extensions, "entry_points", lambda group: [])
    extensions._offered.cache_clear()
    extensions.resolve.cache_clear()
    yield
    extensions._offered.cache_clear()
    extensions.resolve.cache_clear()


def test_missing_phase_names_the_package_to_install(nothing_installed):
    with pytest.raises(ImportError, match=r"nn.Conv2d is provided by tinytorch-vision.*"
                                          r"pip install tinytorch-vision"):
        nn.Conv2d  # noqa: B018
    with pytest.raises(ImportError, match="pip install tinytorch-language"):
        F.scaled_dot_product_attention  # noqa: B018
    with pytest.raises(ImportError, match="nn.functional.max_pool2d is provided by "
                                          "tinytorch-vision"):
        from tinytorch.core.nn.functional import max_pool2d  # noqa: F401


def test_unknown_names_are_plain_attribute_errors(nothing_installed):
    assert not hasattr(nn, "NoSuchLayer") and not hasattr(F, "no_such_function")
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchLayer'"):
        nn.NoSuchLayer  # noqa: B018


def test_an_offered_name_is_loaded_from_its_entry_point(monkeypatch):
    class FakeEntryPoint:
        name = "Conv2d"

        def load(self):
            return "the vision Conv2d"

    monkeypatch.setattr(extensions, "entry_points", lambda group: [FakeEntryPoint()]
                        if group == "tinytorch.nn" else [])
    extensions._offered.cache_clear()
    extensions.resolve.cache_clear()
    try:
        assert nn.Conv2d == "the vision Conv2d" and "Conv2d" in dir(nn)
    finally:
        extensions._offered.cache_clear()
        extensions.resolve.cache_clear()
