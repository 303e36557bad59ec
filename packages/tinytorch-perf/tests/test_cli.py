"""`tito performance ...` run in-process through core's tito (plugin discovery pointed at
this package's entry point): valid JSON, real image files, clear messages."""

from __future__ import annotations

import csv
import io
import json
import sys
from importlib.metadata import EntryPoint

import pytest
from conftest import assert_real_png, load_pyproject, needs_language, needs_vision

from tinytorch.core.cli import main, plugins

QUICK = ["--warmup", "0", "--repeats", "1"]


@pytest.fixture(autouse=True)
def perf_plugin(monkeypatch):
    """tito's plugin discovery, returning the entry point our pyproject declares."""
    declared = load_pyproject()["project"]["entry-points"]["tinytorch.cli"]
    points = [EntryPoint(name, value, plugins.ENTRY_POINT_GROUP)
              for name, value in declared.items()]
    monkeypatch.setattr(plugins, "discover_plugins", lambda: points)


def tito(capsys, *argv) -> tuple[int, str, str]:
    code = main(["performance", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def tito_json(capsys, *argv):
    code, out, err = tito(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_help_lists_every_command(capsys):
    code, out, _ = tito(capsys, "--help")
    assert code == 0
    for command in ("hardware", "flops", "roofline", "profile", "cifar10", "gpt", "compare",
                    "kernels", "memory"):
        assert command in out


def test_hardware_json(capsys):
    data = tito_json(capsys, "hardware", "--quick")
    assert data["ceilings"]["peak_gflops"]["float32"] > 0
    assert data["memory_bandwidth_gbs"] > 0
    ridge = data["ridge_point_flop_per_byte"]["float32"]
    assert ridge == pytest.approx(data["ceilings"]["peak_gflops"]["float32"]
                                  / data["memory_bandwidth_gbs"])
    code, out, _ = tito(capsys, "hardware", "--quick")
    assert code == 0 and "ridge point float32" in out


def test_flops_linear(capsys):
    data = tito_json(capsys, "flops", "linear", "--input-size", "16", "--output-size", "8",
                     "--batch-size", "2", "--backward")
    assert data["forward"]["matmul_flops"] == 2 * 2 * 16 * 8
    assert data["backward"]["matmul_flops"] == 2 * 2 * 16 * 8  # the weight gradient
    assert data["bound"] in ("memory-bound", "compute-bound")
    code, out, _ = tito(capsys, "flops", "linear", "--input-size", "16", "--output-size", "8")
    assert code == 0 and "arithmetic intensity" in out


@needs_vision
def test_flops_conv2d_as_in_the_issue(capsys):
    data = tito_json(capsys, "flops", "conv2d", "--input-size", "3,32,32", "--output-size",
                     "64")
    assert data["forward"]["matmul_flops"] == 2 * 64 * 30 * 30 * 3 * 3 * 3
    assert data["layer"].startswith("Conv2d(3, 64")


def test_flops_conv2d_without_vision_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tinytorch.vision", None)  # import fails
    code, out, err = tito(capsys, "flops", "conv2d", "--input-size", "3,32,32",
                          "--output-size", "64")
    assert code == 2 and out == ""
    flat = " ".join(err.split())
    assert "tinytorch-vision" in flat and "pip install 'tinytorch-perf[models]'" in flat


def test_gpt_and_cifar10_without_models_say_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tinytorch.language", None)
    monkeypatch.setitem(sys.modules, "tinytorch.vision", None)
    for command, dist in (("gpt", "tinytorch-language"), ("cifar10", "tinytorch-vision")):
        code, _, err = tito(capsys, command, *QUICK)
        assert code == 2 and dist in " ".join(err.split())


def test_flops_attention(capsys):
    data = tito_json(capsys, "flops", "attention", "--input-size", "8,16", "--heads", "2")
    # Q K^T and P V: 2 * 2 * (2 heads * 8 * 8 * 8 head dim)
    assert data["forward"]["matmul_flops"] == 2 * 2 * (2 * 8 * 8 * 8)


@pytest.mark.parametrize("argv, message", [
    (["flops", "linear", "--input-size", "3,x"], "comma-separated positive integers"),
    (["flops", "linear", "--input-size", "16"], "--output-size"),
    (["profile", "--model", "mlp", "--output", "p.jpg"], "expected one of .png, .svg"),
])
def test_usage_errors_exit_2_with_a_message(capsys, argv, message):
    code, _, err = tito(capsys, *argv)
    assert code == 2 and message in " ".join(err.split())


def test_profile_exports_json_and_csv(capsys, tmp_path):
    data = tito_json(capsys, "profile", "--model", "mlp", "--batch-size", "4", *QUICK,
                     "--output", str(tmp_path / "p.json"))
    saved = json.loads((tmp_path / "p.json").read_text())
    assert saved[0]["name"] == "mlp" and data["profile"]["flops"] == saved[0]["flops"]
    code, out, _ = tito(capsys, "profile", "--model", "mlp", "--batch-size", "4", *QUICK,
                        "--output", str(tmp_path / "p.csv"))
    assert code == 0 and "wrote" in out
    rows = list(csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text())))
    assert [r["name"] for r in rows][:2] == ["0", "1"]


def test_roofline_writes_a_real_png(capsys, tmp_path):
    path = tmp_path / "roofline.png"
    data = tito_json(capsys, "roofline", "--model", "mlp", "--batch-size", "4", "--quick",
                     *QUICK, "--output", str(path))
    assert data["plot"] == str(path)
    assert_real_png(path, min_side=300)
    assert {p["bound"] for p in data["points"]} <= {"memory-bound", "compute-bound"}
    assert len(data["points"]) >= 3  # both Linear layers and the ReLU


def test_compare_models(capsys, tmp_path):
    data = tito_json(capsys, "compare", "mlp", "mlp-wide", "--batch-size", "4", *QUICK,
                     "--output", str(tmp_path / "c.svg"), "--quick")
    assert [p["name"] for p in data["profiles"]] == ["mlp", "mlp-wide"]
    assert "<svg" in (tmp_path / "c.svg").read_text()
    code, out, _ = tito(capsys, "compare", "mlp", "mlp-deep", "--batch-size", "2", *QUICK,
                        "--output", str(tmp_path / "c.csv"))
    assert code == 0 and "Model comparison" in out
    rows = list(csv.DictReader(io.StringIO((tmp_path / "c.csv").read_text())))
    assert {r["model"] for r in rows} == {"mlp", "mlp-deep"}
    assert len(rows) == 6 + 14  # mlp: 5 layers + (other); mlp-deep: 13 + (other)


@needs_vision
def test_cifar10_profiles_three_designs(capsys, tmp_path):
    path = tmp_path / "cifar10.png"
    data = tito_json(capsys, "cifar10", "--batch-size", "1", *QUICK, "--quick",
                     "--output", str(path))
    assert [p["name"] for p in data["profiles"]] == ["cnn-small", "cnn-deep", "cnn-wide"]
    assert all(p["flops"] > 0 for p in data["profiles"])
    assert_real_png(path, min_side=300)


@needs_language
def test_gpt_profile_and_attention_memory(capsys, tmp_path):
    data = tito_json(capsys, "gpt", "--batch-size", "1", "--seq-len", "16", "--d-model", "32",
                     "--seq-lens", "16,32", *QUICK)
    assert data["profile"]["name"] == "TinyGPT"
    rows = data["attention_memory"]
    assert [r["seq_len"] for r in rows] == [16, 32]
    assert data["attention_memory_exponent"] == pytest.approx(2.0, abs=0.3)


def test_kernels_json(capsys):
    data = tito_json(capsys, "kernels", "--quick", "--repeats", "1", "--group", "row sums")
    assert [r["name"] for r in data] == ["strided rows (F order)", "contiguous rows (C order)"]


def test_memory_json(capsys):
    data = tito_json(capsys, "memory", "--model", "mlp", "--batch-size", "4",
                     "--seq-lens", "16,32", "--optimizer", "sgd")
    step = data["training_step"]
    params = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert step["parameters"] == 4 * params and step["gradients"] == 4 * params
    assert step["optimizer_state"] == 4 * params  # SGD momentum: one buffer per weight
    assert len(data["attention_memory"]) == 2


def test_profile_png_is_the_per_layer_time_chart(capsys, tmp_path):
    from tinytorch.core.plot import read_png

    path = tmp_path / "breakdown.png"
    data = tito_json(capsys, "profile", "--model", "mlp", "--batch-size", "4", *QUICK,
                     "--output", str(path))
    assert data["plot"] == str(path) and "roofline" not in data
    assert_real_png(path, min_side=300)
    pixels = read_png(path)
    assert pixels.shape[1] == 800 and pixels[..., :3].std() > 0.02
