"""Module 18 (MLOps): int8 quantization arithmetic and magnitude pruning.

The property-based tests draw weights of any shape (1 to 4 dims) and quantization axis
(negative too), magnitudes from 1e-6 to 1e6, all-zero and all-negative channels,
activation ranges on either side of zero, and sparsities from 0 to 95%."""

from __future__ import annotations

import numpy as np

from . import check_close, check_dtype, check_equal, grading_test


def _weight_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "shape": h.hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5),
        "axis": st.integers(-4, 3), "scale": st.sampled_from([1e-6, 1e-2, 1.0, 1e3, 1e6]),
        "zero_channel": st.booleans(), "negative_channel": st.booleans(),
        "seed": h.cases.seeds(h)})


def _weights(case):
    shape = tuple(case["shape"])
    given = case["axis"] % (2 * len(shape)) - len(shape)  # in [-ndim, ndim): negative too
    axis = given % len(shape)
    w = (np.random.default_rng(case["seed"]).standard_normal(shape) * case["scale"]) \
        .astype(np.float32)
    channels = np.moveaxis(w, axis, 0)  # a view: writes reach w
    if case["negative_channel"]:
        channels[0] = -np.abs(channels[0])  # its largest magnitude is a negative weight
    if case["zero_channel"] and channels.shape[0] > 1:
        channels[-1] = 0.0
    return w, axis, given


@grading_test(points=2, cases=_weight_cases)
def quantize_any_weights(student, case):
    """quantize_per_channel(w, axis) for any shape, axis and magnitude: scale = max|w| /
    127 per slice along axis (1 for an all-zero slice; the max of |w|, so an all-negative
    slice is fine), codes = clip(rint(w / scale), -127, 127) as int8; dequantize is within
    half a step."""
    w, axis, given = _weights(case)
    reduce = tuple(i for i in range(w.ndim) if i != axis)
    max_abs = np.abs(w).max(axis=reduce, keepdims=True) if reduce else np.abs(w)
    scale = np.where(max_abs > 0, max_abs / 127, 1.0).astype(np.float32)
    label = f"quantize_per_channel of a {w.shape} weight (~{case['scale']:g}), axis={given}"
    q, got_scale = student.quantize_per_channel(w, axis=given)
    check_dtype(q, np.int8, f"{label}: codes")
    check_close(np.asarray(got_scale).reshape(-1), scale.reshape(-1), f"{label}: scales",
                rtol=1e-6, atol=0)
    check_close(q, np.clip(np.rint(w / scale), -127, 127), f"{label}: codes", rtol=0, atol=0)
    back = student.dequantize_per_channel(q, got_scale, axis=given)
    check_dtype(back, np.float32, f"dequantize_per_channel of {label}")
    check_close(back, np.clip(np.rint(w / scale), -127, 127) * scale,
                f"dequantize_per_channel of {label}", rtol=1e-5, atol=0)


def _range_cases(h):
    st = h.st
    bound = st.sampled_from([0.0, 1e-3, 0.5, 1.0, 6.0, 100.0])
    return st.fixed_dictionaries({"low": bound.map(lambda b: -b), "high": bound,
                                  "shift": st.sampled_from([0.0, 2.0, -2.0])})


@grading_test(points=1, cases=_range_cases)
def activation_qparams_any_range(student, case):
    """activation_qparams(low, high): the range is widened to include 0, scale = (high -
    low) / 255 (1 for an empty range), zero_point = round(-low / scale) in [0, 255], so
    that 0 is represented exactly."""
    low, high = case["low"] + case["shift"], case["high"] + case["shift"]
    lo, hi = min(low, 0.0), max(high, 0.0)
    scale = (hi - lo) / 255 if hi > lo else 1.0
    zero = int(np.clip(round(-lo / scale), 0, 255))
    got_scale, got_zero = student.activation_qparams(low, high)
    label = f"activation_qparams({low:g}, {high:g})"
    check_close(got_scale, scale, f"{label}: scale", rtol=1e-12, atol=0)
    check_equal(int(got_zero), zero, f"{label}: zero point")


def _pruning_cases(h):
    st = h.st
    return st.fixed_dictionaries({
        "shape": h.hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
        "sparsity": st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 0.95]),
        "seed": h.cases.seeds(h)})


@grading_test(points=1, cases=_pruning_cases)
def magnitude_mask_any_weights(student, case):
    """magnitude_mask(w, s) switches off the round(s * size) entries of smallest |w| (ties
    broken by position), for any shape and sparsity, large negative weights kept."""
    shape = tuple(case["shape"])
    w = np.random.default_rng(case["seed"]).standard_normal(shape) * 3
    prune = int(round(case["sparsity"] * w.size))
    expected = np.ones(w.size, bool)
    expected[np.argsort(np.abs(w), axis=None, kind="stable")[:prune]] = False
    mask = student.magnitude_mask(w, case["sparsity"])
    label = f"magnitude_mask of a {shape} weight at sparsity {case['sparsity']}"
    check_dtype(mask, np.bool_, label)
    check_equal(np.asarray(mask).tolist(), expected.reshape(shape).tolist(), label)


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
