"""ONNX export, checked by running the exported graph in onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_cnn, make_mlp, require

import tinytorch.core as tt
from tinytorch.core import nn

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _onnx():
    require("onnx")
    require("onnxruntime")


def export_and_check(model, example, check_inputs=(), tmp_path=None, **tolerance):
    from tinytorch.mlops.export import check_onnx, export_onnx
    path = tmp_path / "model.onnx"
    size = export_onnx(model, path, example)
    assert size == path.stat().st_size > 0
    reports = [check_onnx(path, model, x, **tolerance) for x in (example, *check_inputs)]
    for report in reports:
        assert report["argmax_agreement"] == 1.0
    return path, reports


def test_mlp_with_every_activation(tmp_path):
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.GELU(),
                          nn.Linear(16, 16), nn.GELU(approximate="tanh"), nn.Linear(16, 8),
                          nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 8), nn.Sigmoid(),
                          nn.LayerNorm(8), nn.LeakyReLU(0.1), nn.Identity(),
                          nn.Sequential(nn.Linear(8, 4), nn.LogSoftmax(dim=1)))
    export_and_check(model, tt.randn(3, 6), [tt.randn(17, 6)], tmp_path=tmp_path)


def test_linear_on_rank_3_input_and_softmax(tmp_path):
    model = nn.Sequential(nn.Linear(5, 7), nn.Softmax(dim=-1))
    export_and_check(model, tt.randn(2, 3, 5), [tt.randn(4, 3, 5)], tmp_path=tmp_path)


def test_cnn_conv_batchnorm_pools_flatten(tmp_path):
    vnn = require("tinytorch.vision.nn")
    model = make_cnn(vnn)
    export_and_check(model, tt.randn(2, 3, 8, 8), [tt.randn(9, 3, 8, 8)], tmp_path=tmp_path)


def test_cnn_padding_variants_strides_groups_and_pools(tmp_path):
    vnn = require("tinytorch.vision.nn")
    model = nn.Sequential(
        vnn.Conv2d(4, 8, 3, stride=2, padding=(1, 0)), nn.ReLU(),
        vnn.Conv2d(8, 8, (3, 2), padding="same", dilation=(1, 2), groups=2),
        vnn.BatchNorm2d(8), vnn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        vnn.Conv2d(8, 6, 2, padding="valid", bias=False), vnn.Dropout2d(0.3),
        vnn.MaxPool2d(2, ceil_mode=True), vnn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(6, 3))
    model.train()
    model(tt.randn(8, 4, 13, 11))
    model.eval()
    export_and_check(model, tt.randn(2, 4, 13, 11), [tt.randn(5, 4, 13, 11)], tmp_path=tmp_path)


@pytest.mark.parametrize("mode", ["dequantize", "integer"])
def test_int8_models_export_int8_initializers(tmp_path, mode):
    import onnx

    from tinytorch.mlops.compression import quantize_model
    vnn = require("tinytorch.vision.nn")
    model = make_cnn(vnn)
    x = tt.randn(8, 3, 8, 8)
    qmodel = quantize_model(model, [x], mode=mode)
    # integer mode: an activation within float32 rounding of a code boundary can land on the
    # neighbouring uint8 code in one runtime and not in the other (one step, ~1e-3 here)
    atol = 1e-4 if mode == "dequantize" else 5e-3
    path, _ = export_and_check(qmodel, x, tmp_path=tmp_path, atol=atol)
    graph = onnx.load(str(path)).graph
    int8 = [init for init in graph.initializer if init.data_type == onnx.TensorProto.INT8
            and len(init.dims) > 1]
    assert len(int8) == 3  # two convs and the linear layer keep int8 weights in ONNX too
    ops = {node.op_type for node in graph.node}
    assert "DequantizeLinear" in ops and ("QuantizeLinear" in ops) == (mode == "integer")


def test_sparse_linear_exports_its_dense_equivalent(tmp_path):
    from tinytorch.mlops.compression import magnitude_prune
    model = magnitude_prune(make_mlp((8, 32, 3)), 0.8)
    export_and_check(model, tt.randn(4, 8), tmp_path=tmp_path)


@pytest.mark.parametrize("options", [
    {"tie_weights": True},
    {"tie_weights": False, "positional": "sinusoidal", "dim_feedforward": 24},
    {"bias": False},
])
def test_tinygpt_forward_with_dynamic_batch_and_length(tmp_path, options):
    gpt = require("tinytorch.language.gpt")
    model = gpt.TinyGPT(40, 16, 4, 2, 20, **options).eval()
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 40, (2, 11))
    others = [rng.integers(0, 40, (3, 1)), rng.integers(0, 40, (1, 20))]
    export_and_check(model, ids, others, tmp_path=tmp_path)


def test_unsupported_models_and_layers_are_explained(tmp_path):
    from tinytorch.mlops.export import ExportError, export_onnx

    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(ExportError, match="expected a model of type nn.Sequential"):
        export_onnx(nn.Linear(2, 2), tmp_path / "m.onnx", tt.randn(1, 2))
    with pytest.raises(ExportError, match="no ONNX converter for layer Custom"):
        export_onnx(nn.Sequential(nn.Linear(2, 2), Custom()), tmp_path / "m.onnx",
                    tt.randn(1, 2))
    assert not (tmp_path / "m.onnx").exists()


def test_check_onnx_detects_a_wrong_graph(tmp_path):
    from tinytorch.mlops.export import check_onnx, export_onnx
    model = make_mlp()
    export_onnx(model, tmp_path / "m.onnx", tt.randn(2, 8))
    model[0].weight.array[0, 0] += 1.0  # the model changes after export
    with pytest.raises(AssertionError, match="disagree"):
        check_onnx(tmp_path / "m.onnx", model, tt.randn(4, 8))
