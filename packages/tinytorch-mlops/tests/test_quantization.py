"""int8 quantization: the arithmetic, the layers, BN folding, file sizes and accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import blobs, make_cnn, make_mlp, require

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import Tensor, nn, no_grad, optim
from tinytorch.mlops import load_model, save_model
from tinytorch.mlops.compression import (
    QuantizedLinear,
    activation_qparams,
    calibrate,
    dequantize_per_channel,
    fold_batchnorm,
    quantize_model,
    quantize_per_channel,
)
from tinytorch.mlops.compression.quantization import quantize_activation


def test_per_channel_rounding_error_is_at_most_half_a_step():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 40)).astype(np.float32) * rng.random((16, 1)).astype(np.float32)
    q, scale = quantize_per_channel(w)
    assert q.dtype == np.int8 and scale.shape == (16,) and scale.dtype == np.float32
    assert np.abs(q).max() == 127  # every channel uses its full range
    err = np.abs(dequantize_per_channel(q, scale) - w)
    assert np.all(err <= scale[:, None] / 2 + 1e-7)


def test_per_channel_beats_per_tensor_on_channels_of_different_scale():
    w = np.stack([np.linspace(-1, 1, 50), np.linspace(-0.01, 0.01, 50)]).astype(np.float32)
    q, scale = quantize_per_channel(w)
    per_channel = np.abs(dequantize_per_channel(q, scale) - w)[1].max()
    tensor_scale = np.abs(w).max() / 127
    per_tensor = np.abs(np.rint(w / tensor_scale) * tensor_scale - w)[1].max()
    assert per_channel < per_tensor / 50


def test_zero_channel_and_conv_axis():
    w = np.zeros((3, 2, 2, 2), np.float32)
    w[1] = 0.5
    q, scale = quantize_per_channel(w)
    assert np.all(q[0] == 0) and np.all(q[1] == 127) and np.isfinite(scale).all()
    with pytest.raises(ValueError, match="finite"):
        quantize_per_channel(np.array([np.nan, 1.0]))


def test_activation_qparams_cover_range_and_zero_exactly():
    scale, zero = activation_qparams(-1.0, 3.0)
    assert zero == round(1.0 / scale) and 0 <= zero <= 255
    x = np.array([-1.0, 0.0, 3.0, 10.0])
    codes = quantize_activation(x, scale, zero)
    assert codes[1] == 0  # 0.0 is represented exactly (padding, ReLU zeros)
    assert codes[3] * scale == pytest.approx(3.0, abs=scale)  # saturates at the range end
    assert activation_qparams(0.0, 0.0) == (1.0, 0)


def test_integer_mode_is_an_exact_integer_accumulation():
    linear = nn.Linear(300, 20)
    x = tt.randn(16, 300)
    layer = QuantizedLinear.from_float(linear, (float(x.array.min()), float(x.array.max())),
                                       mode="integer")
    scale, zero = layer.input_qparams.array
    xq = quantize_activation(x.array.astype(np.float64), float(scale), int(zero)).astype(np.int64)
    exact = xq @ layer.weight_int8.array.astype(np.int64).T  # true integer matmul
    expected = exact * (scale * layer.weight_scale.array) + layer.bias.array
    np.testing.assert_allclose(layer(x).array, expected.astype(np.float32), rtol=1e-6, atol=1e-6)


def test_quantized_linear_is_close_to_float_and_stores_int8():
    linear = nn.Linear(64, 10)
    x = tt.randn(32, 64)
    for mode in ("dequantize", "integer"):
        layer = QuantizedLinear.from_float(linear, (-4.0, 4.0), mode)
        assert layer.weight_int8.dtype == np.int8
        with no_grad():
            ref = linear(x).array
        err = np.abs(layer(x).array - ref).max()
        assert err < 0.02 * np.abs(ref).max(), (mode, err)


def test_integer_mode_without_calibration_is_refused():
    with pytest.raises(ValueError, match="calibrat"):
        QuantizedLinear.from_float(nn.Linear(3, 2), None, mode="integer")
    with pytest.raises(ValueError, match="needs calibration batches"):
        quantize_model(make_mlp(), None, mode="integer")
    with pytest.raises(ValueError, match="mode must be one of"):
        quantize_model(make_mlp(), None, mode="int4")


def test_calibrate_records_each_layers_input_range():
    model = make_mlp((4, 6, 2))
    batches = [tt.randn(8, 4), tt.randn(8, 4) * 3]
    ranges = calibrate(model, batches)
    assert set(ranges) == {"0", "2"}
    low = min(float(b.array.min()) for b in batches)
    high = max(float(b.array.max()) for b in batches)
    assert ranges["0"] == (low, high)
    assert ranges["2"][0] >= 0.0  # after ReLU
    assert not model[0]._forward_pre_hooks  # hooks removed


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_calibration_data_with_nan_or_inf_is_refused(bad):
    model = make_mlp((4, 6, 2))
    poisoned = tt.randn(8, 4)
    poisoned.data[3, 1] = bad
    with pytest.raises(ValueError, match="layer '0' in calibration batch 1 contains NaN"):
        calibrate(model, [tt.randn(8, 4), poisoned])
    assert not model[0]._forward_pre_hooks  # removed even though calibration failed
    with pytest.raises(ValueError, match="contains NaN or infinity"):
        quantize_model(model, [poisoned], mode="dequantize")


def _train_classifier(model, x, y, epochs=60):
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        loss = F.cross_entropy(model(Tensor(x)), Tensor(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def accuracy(model, x, y) -> float:
    with no_grad():
        return float((model(Tensor(x)).array.argmax(1) == y).mean())


def test_quantized_mlp_is_4x_smaller_on_disk_and_as_accurate(tmp_path):
    x, y = blobs(1200, features=64, classes=5, spread=2.5)
    model = _train_classifier(make_mlp((64, 256, 128, 5)), x[:800], y[:800])
    float_bytes = save_model(model, tmp_path / "float.safetensors")
    base = accuracy(model, x[800:], y[800:])
    for mode in ("dequantize", "integer"):
        qmodel = quantize_model(model, [Tensor(x[:200])], mode=mode)
        int8_bytes = save_model(qmodel, tmp_path / f"{mode}.safetensors")
        assert int8_bytes == (tmp_path / f"{mode}.safetensors").stat().st_size
        assert float_bytes / int8_bytes >= 3.5, (float_bytes, int8_bytes)
        reloaded = load_model(tmp_path / f"{mode}.safetensors")
        assert reloaded[0].weight_int8.dtype == np.int8
        assert accuracy(reloaded, x[800:], y[800:]) >= base - 0.01
    assert base > 0.9


def test_original_model_is_untouched():
    model = make_mlp()
    before = {k: v.array.copy() for k, v in model.state_dict().items()}
    quantize_model(model, [tt.randn(4, 8)], mode="integer")
    assert isinstance(model[0], nn.Linear)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.array, before[k])


def test_batchnorm_folding_preserves_eval_outputs():
    vnn = require("tinytorch.vision.nn")
    model = make_cnn(vnn)
    x = tt.randn(4, 3, 8, 8)
    with no_grad():
        ref = model(x).array
    import copy
    folded = fold_batchnorm(copy.deepcopy(model))
    assert isinstance(folded[1], nn.Identity)
    with no_grad():
        np.testing.assert_allclose(folded(x).array, ref, rtol=1e-4, atol=1e-5)


def test_quantized_cnn_agrees_with_float_and_round_trips(tmp_path):
    vnn = require("tinytorch.vision.nn")
    model = make_cnn(vnn)
    x = tt.randn(16, 3, 8, 8) * 2 + 0.5
    with no_grad():
        ref = model(x).array
    for mode in ("dequantize", "integer"):
        qmodel = quantize_model(model, [x], mode=mode)
        kinds = {type(m).__name__ for m in qmodel.modules()}
        assert {"QuantizedConv2d", "QuantizedLinear"} <= kinds and "BatchNorm2d" not in kinds
        out = qmodel(x).array
        assert np.abs(out - ref).max() < 0.05 * np.abs(ref).max()
        assert (out.argmax(1) == ref.argmax(1)).mean() >= 0.9
        save_model(qmodel, tmp_path / "q.safetensors")
        np.testing.assert_array_equal(load_model(tmp_path / "q.safetensors")(x).array, out)


def test_quantized_layers_check_their_input():
    layer = QuantizedLinear.from_float(nn.Linear(4, 2))
    with pytest.raises(ValueError, match="expected input with 4 features"):
        layer(tt.randn(3, 5))
    with pytest.raises(TypeError, match="expected a Tensor"):
        layer(np.ones((3, 4)))
