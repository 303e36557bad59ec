"""tinytorch.core.optional: the one optional-import helper of every package."""

import json

import pytest

from tinytorch.core.optional import MissingPackageError, distribution_of, optional_import


def test_an_installed_module_is_returned():
    assert optional_import("json", "reading specs") is json


@pytest.mark.parametrize("module, dist", [("tinytorch.vision.nn", "tinytorch-vision"),
                                          ("tinytorch.language", "tinytorch-language"),
                                          ("onnxruntime.capi", "onnxruntime")])
def test_distribution_names_the_pip_package(module, dist):
    assert distribution_of(module) == dist


def test_a_missing_module_names_the_feature_the_package_and_the_command():
    with pytest.raises(MissingPackageError) as info:
        optional_import("tinytorch.nosuchphase.nn", "CNN support")
    message = str(info.value)
    assert message.startswith("CNN support needs tinytorch-nosuchphase "
                              "(import tinytorch.nosuchphase.nn), which is not installed")
    assert message.endswith("install it with: pip install tinytorch-nosuchphase")
    assert isinstance(info.value, ImportError)


def test_a_custom_install_hint_is_shown():
    with pytest.raises(MissingPackageError, match=r"with: pip install 'x\[models\]'$"):
        optional_import("no_such_module_xyz", "profiling", "pip install 'x[models]'")


def test_not_required_returns_none():
    assert optional_import("no_such_module_xyz", "profiling", required=False) is None
