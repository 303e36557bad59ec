"""Module 18 (MLOps): int8 quantization arithmetic and magnitude pruning."""

from __future__ import annotations

import numpy as np

from . import check_close, grading_test


@grading_test(points=2)
def per_channel_int8_weights(student):
    """quantize_per_channel: one scale per output channel (max|w| / 127), int8 codes in
    [-127, 127]; an all-zero channel gets scale 1."""
    w = np.array([[0.5, -1.27, 0.01], [0.002, 0.001, -0.004], [0.0, 0.0, 0.0]], np.float32)
    q, scale = student.quantize_per_channel(w)
    assert q.dtype == np.int8, f"codes must be int8, got {q.dtype}"
    check_close(scale, [1.27 / 127, 0.004 / 127, 1.0], "per-channel scales")
    check_close(q, np.clip(np.rint(w / scale[:, None]), -127, 127), "int8 codes")
    assert q[1].tolist() == [64, 32, -127], \
        f"a channel of small weights keeps its resolution, got {q[1].tolist()}"


@grading_test(points=2)
def dequantize_round_trip(student):
    """dequantize(quantize(w)) is within half a step of w, along any axis; int8 is 4x
    smaller than float32."""
    w = np.random.default_rng(0).standard_normal((8, 4, 3, 3)).astype(np.float32)
    for axis in (0, 1):
        q, scale = student.quantize_per_channel(w, axis=axis)
        back = student.dequantize_per_channel(q, scale, axis=axis)
        shape = [1] * 4
        shape[axis] = -1
        error = np.abs(back - w) / scale.reshape(shape)
        assert back.dtype == np.float32 and float(error.max()) <= 0.5 + 1e-4, \
            f"axis {axis}: error up to {error.max():.3f} quantization steps"
    assert w.nbytes == 4 * q.nbytes


@grading_test(points=1)
def activation_range_parameters(student):
    """activation_qparams: uint8 scale and zero point covering [low, high] and 0 exactly."""
    scale, zero = student.activation_qparams(-1.0, 3.0)
    check_close(scale, 4.0 / 255, "scale of [-1, 3]")
    assert zero == 64, f"zero point of [-1, 3] should be round(255 / 4) = 64, got {zero}"
    scale, zero = student.activation_qparams(0.5, 2.0)  # the range is widened to include 0
    check_close(scale, 2.0 / 255, "scale of [0.5, 2] widened to [0, 2]")
    assert zero == 0, f"zero point should be 0, got {zero}"


@grading_test(points=2)
def magnitude_pruning_mask(student):
    """magnitude_mask removes the given fraction of smallest-|w| entries."""
    w = np.array([[0.1, -3.0, 0.5], [2.0, -0.05, 1.0]])
    mask = student.magnitude_mask(w, 0.5)
    assert mask.dtype == np.bool_ and mask.shape == w.shape
    assert mask.tolist() == [[False, True, False], [True, False, True]], \
        f"50% sparsity should drop 0.1, 0.5 and -0.05, got {mask.tolist()}"
    big = np.random.default_rng(1).standard_normal((40, 25))
    kept = student.magnitude_mask(big, 0.9)
    assert int(kept.sum()) == 100, f"90% sparsity keeps 100 of 1000, got {int(kept.sum())}"
    assert np.abs(big[kept]).min() >= np.abs(big[~kept]).max()
