"""The fused batch norm + max pool (+ ReLU) op and FusedSequential.

The op against PyTorch's three calls (values, every gradient, running statistics), against
TinyTorch's own unfused layers (the forward to the bit), against float64 finite
differences; FusedSequential against nn.Sequential holding the same layers, and the rules
for when it fuses."""

import copy

import numpy as np
import pytest
import torch

import tinytorch.core as tt
import tinytorch.vision.functional as VF
from tinytorch.core import nn
from tinytorch.core.autograd import register_op_hook
from tinytorch.core.serialization.architecture import build_model, spec_of
from tinytorch.core.testing import assert_close, check_gradcheck, check_op
from tinytorch.vision import nn as vnn
from tinytorch.vision.nn.fusion import fusable_run

DTYPES = [np.float32, np.float64]
# (input shape, kernel): widened rows (32 channels), odd channel counts, non-square
# kernels, a 1x1 output, and pixel counts the widening does not divide evenly
CASES = [((2, 3, 4, 6), 2), ((3, 5, 6, 6), 3), ((2, 4, 4, 6), (2, 3)), ((1, 2, 2, 2), 2),
         ((4, 32, 8, 8), 2), ((3, 6, 6, 10), 2)]


def channel_vectors(channels, rng, dtype, negative=True):
    """A weight with some negative entries (those channels pool their minimum), a bias."""
    weight = rng.uniform(0.5, 1.5, channels) * (np.where(rng.random(channels) < 0.4, -1, 1)
                                                 if negative else 1)
    return weight.astype(dtype), rng.standard_normal(channels).astype(dtype)


def torch_reference(kernel, relu, training=True, mean=None, var=None):
    def run(x, w, b):
        y = torch.nn.functional.max_pool2d(
            torch.nn.functional.batch_norm(x, mean, var, w, b, training=training), kernel)
        return torch.relu(y) if relu else y
    return run


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("shape,kernel", CASES)
def test_training_matches_torch_values_and_gradients(shape, kernel, relu, dtype):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    weight, bias = channel_vectors(shape[1], rng, dtype)
    check_op(None, lambda x, w, b: VF.batch_norm_max_pool2d(
        x, None, None, w, b, training=True, kernel_size=kernel, relu=relu),
        torch_reference(kernel, relu), arrays=[x, weight, bias], seed=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("relu", [False, True])
def test_eval_mode_matches_torch(relu, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 6, 4)).astype(dtype)
    weight, bias = channel_vectors(4, rng, dtype)
    mean, var = rng.standard_normal(4).astype(dtype), rng.uniform(0.5, 2, 4).astype(dtype)
    check_op(None, lambda x, w, b: VF.batch_norm_max_pool2d(
        x, tt.tensor(mean), tt.tensor(var), w, b, training=False, relu=relu),
        torch_reference(2, relu, False, torch.from_numpy(mean), torch.from_numpy(var)),
        arrays=[x, weight, bias], seed=2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_running_statistics_are_updated_as_torch_does(dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 3, 4, 4)).astype(dtype) * 3 + 2
    mine = [tt.tensor(np.zeros(3, dtype)), tt.tensor(np.ones(3, dtype))]
    theirs = [torch.zeros(3, dtype=torch.from_numpy(x).dtype),
              torch.ones(3, dtype=torch.from_numpy(x).dtype)]
    for _ in range(2):
        VF.batch_norm_max_pool2d(tt.tensor(x), *mine, training=True, momentum=0.2)
        torch.nn.functional.batch_norm(torch.from_numpy(x), *theirs, training=True,
                                       momentum=0.2)
    for m, t, name in zip(mine, theirs, ("running_mean", "running_var")):
        assert_close(m.array, t.numpy(), name)


def test_without_affine_parameters_matches_torch():
    x = np.random.default_rng(5).standard_normal((2, 3, 4, 4))
    check_op(None, lambda x: VF.batch_norm_max_pool2d(x, None, None, training=True, relu=True),
             lambda x: torch.relu(torch.nn.functional.max_pool2d(
                 torch.nn.functional.batch_norm(x, None, None, training=True), 2)),
             arrays=[x], seed=3)


def test_ties_go_to_the_first_offset_as_in_torch():
    """Integer-valued input has many equal maxima: the gradient must go where PyTorch's
    goes (the first offset of the window), for positive and negative scales."""
    rng = np.random.default_rng(6)
    x = rng.integers(-2, 3, (2, 4, 4, 4)).astype(np.float64)
    weight = np.array([1.0, -1.0, 0.5, -2.0])
    check_op(None, lambda x, w: VF.batch_norm_max_pool2d(x, None, None, w, training=True),
             lambda x, w: torch.nn.functional.max_pool2d(
                 torch.nn.functional.batch_norm(x, None, None, w, training=True), 2),
             arrays=[x, weight], seed=4)


@pytest.mark.parametrize("training", [True, False])
def test_gradients_match_finite_differences(training):
    rng = np.random.default_rng(7)
    mean, var = tt.tensor(rng.standard_normal(3)), tt.tensor(rng.uniform(0.5, 2, 3))
    weight = np.array([0.7, -1.3, 1.1])
    arrays = [rng.standard_normal((2, 3, 4, 6)), weight, rng.standard_normal(3)]
    assert check_gradcheck(None, lambda x, w, b: VF.batch_norm_max_pool2d(
        x, None if training else mean, None if training else var, w, b, training=training,
        relu=True), arrays=arrays)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_forward_equals_the_unfused_layers_to_the_bit(channels_last, relu):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 32, 8, 8)).astype(np.float32)
    if channels_last:  # a conv's output: NHWC memory seen as NCHW
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    weight, bias = (tt.tensor(v) for v in channel_vectors(32, rng, np.float32))
    fused = VF.batch_norm_max_pool2d(tt.tensor(x), None, None, weight, bias, training=True,
                                     relu=relu)
    unfused = VF.max_pool2d(VF.batch_norm(tt.tensor(x), None, None, weight, bias,
                                          training=True), 2)
    np.testing.assert_array_equal(fused.array, (unfused.relu() if relu else unfused).array)


def test_input_that_the_windows_do_not_tile_is_refused():
    x = tt.tensor(np.zeros((1, 2, 5, 4), np.float32))
    with pytest.raises(ValueError, match=r"batch_norm_max_pool2d: .*multiples of the kernel"):
        VF.batch_norm_max_pool2d(x, None, None, training=True)


# ---------------------------------------------------------------- FusedSequential


def stage(order, pool=None):
    layers = {"bn": vnn.BatchNorm2d(4), "pool": pool or vnn.MaxPool2d(2), "relu": nn.ReLU()}
    return [vnn.Conv2d(3, 4, 3, padding=1, bias=False)] + [layers[name] for name in order]


def fused_ops_during(model, x) -> list[str]:
    seen = []
    handle = register_op_hook(lambda event: seen.append(event.op))
    try:
        model(x).sum().backward()
    finally:
        handle.remove()
    return [op for op in seen if "BatchNormMaxPool" in op]


def run_pair(layers, x, steps=2):
    """FusedSequential and nn.Sequential over copies of the same layers, trained side by
    side with SGD; returns both models after checking outputs, gradients and the running
    statistics agree."""
    tt.manual_seed(0)
    fused = vnn.FusedSequential(*layers)
    plain = nn.Sequential(*copy.deepcopy(layers))
    for step in range(steps):
        outputs = []
        for model in (fused, plain):
            for p in model.parameters():
                p.grad = None
            out = model(x)
            (out * out).sum().backward()
            outputs.append(out.array)
        if step == 0:  # the same weights: the same forward, to the bit
            np.testing.assert_array_equal(outputs[0], outputs[1])
        else:  # after an update from gradients that agree to rounding
            assert_close(outputs[0], outputs[1], "forward", 1e-5, 1e-4)
        for (name, p), q in zip(fused.named_parameters(), plain.parameters()):
            assert_close(p.grad.array, q.grad.array, f"grad {name}", 1e-4, 1e-4)
        for model in (fused, plain):
            for p in model.parameters():
                p.array -= 0.01 * p.grad.array
    for (name, a), b in zip(fused.state_dict().items(), plain.state_dict().values()):
        assert_close(a.array, b.array, name, 1e-5, 1e-5)
    return fused, plain


@pytest.mark.parametrize("order", [["bn", "pool", "relu"], ["bn", "relu", "pool"],
                                   ["bn", "pool"]])
def test_fused_sequential_trains_like_sequential(order):
    x = tt.tensor(np.random.default_rng(9).standard_normal((4, 3, 8, 8)).astype(np.float32))
    fused, _ = run_pair(stage(order), x)
    assert fused_ops_during(fused, x), f"{order} should have run fused"


def test_fused_sequential_in_eval_mode_equals_sequential():
    x = tt.tensor(np.random.default_rng(10).standard_normal((2, 3, 8, 8)).astype(np.float32))
    fused, plain = run_pair(stage(["bn", "pool", "relu"]), x)
    fused.eval()
    plain.eval()
    np.testing.assert_array_equal(fused(x).array, plain(x).array)
    assert fused_ops_during(fused, x)


@pytest.mark.parametrize("pool", [vnn.MaxPool2d(3, stride=2), vnn.MaxPool2d(2, padding=1),
                                  vnn.MaxPool2d(3)])
def test_pools_whose_windows_do_not_tile_run_unfused_with_the_same_result(pool):
    """Overlapping windows, padding, and 8x8 input under a 3x3 kernel (not a multiple)."""
    x = tt.tensor(np.random.default_rng(11).standard_normal((2, 3, 8, 8)).astype(np.float32))
    fused, _ = run_pair(stage(["bn", "pool", "relu"], pool=pool), x)
    assert not fused_ops_during(fused, x)


def test_a_hook_on_a_layer_turns_fusion_off_and_sees_that_layers_output():
    x = tt.tensor(np.random.default_rng(12).standard_normal((2, 3, 8, 8)).astype(np.float32))
    model = vnn.FusedSequential(*stage(["bn", "pool", "relu"]))
    seen = []
    model[1].register_forward_hook(lambda module, args, out: seen.append(out.shape))
    assert not fused_ops_during(model, x)
    assert seen == [(2, 4, 8, 8)]  # the batch norm's own (unpooled) output


def test_batches_are_counted_once_per_fused_call():
    x = tt.tensor(np.random.default_rng(13).standard_normal((2, 3, 8, 8)).astype(np.float32))
    model = vnn.FusedSequential(*stage(["bn", "pool", "relu"]))
    model(x)
    model(x)
    assert int(model[1].num_batches_tracked.array) == 2


def test_wrong_input_gets_the_batch_norms_own_error():
    model = vnn.FusedSequential(vnn.BatchNorm2d(4), vnn.MaxPool2d(2))
    assert fusable_run(list(model), 0, tt.tensor(np.zeros((2, 3, 4, 4), np.float32))) \
        == (None, False)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(4.*expected 4 channels"):
        model(tt.tensor(np.zeros((2, 3, 4, 4), np.float32)))


def test_a_saved_spec_rebuilds_a_fused_sequential_with_the_same_state_names():
    model = vnn.FusedSequential(*stage(["bn", "pool", "relu"]), nn.Flatten())
    rebuilt = build_model(spec_of(model))
    assert type(rebuilt) is vnn.FusedSequential
    assert list(rebuilt.state_dict()) == list(nn.Sequential(*list(model)).state_dict())
