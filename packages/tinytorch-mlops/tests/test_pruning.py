"""Pruning with measured savings (CSR storage, smaller layers) and knowledge distillation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import blobs, make_cnn, make_mlp, require

import tinytorch.core as tt
from tinytorch.core import Tensor, nn, no_grad, optim
from tinytorch.core.autograd import register_op_hook
from tinytorch.core.data import DataLoader, TensorDataset
from tinytorch.mlops import load_model, save_model
from tinytorch.mlops.compression import (
    SparseLinear,
    distill,
    distillation_loss,
    magnitude_mask,
    magnitude_prune,
    prune_channels,
    state_nbytes,
)


def test_magnitude_mask_keeps_the_largest_entries():
    w = np.array([[0.1, -5.0, 0.3], [2.0, -0.05, 0.0]], np.float32)
    mask = magnitude_mask(w, 0.5)
    np.testing.assert_array_equal(mask, [[False, True, True], [True, False, False]])
    assert magnitude_mask(w, 0.0).all()
    with pytest.raises(ValueError, match="sparsity must be in"):
        magnitude_mask(w, 1.0)


def test_sparse_linear_matches_the_masked_dense_layer():
    linear = nn.Linear(50, 30)
    mask = magnitude_mask(linear.weight, 0.8)
    mask[3] = False  # an empty row, and a trailing empty row: reduceat edge cases
    mask[-1] = False
    sparse = SparseLinear.from_dense(linear, mask)
    dense = linear.weight.array * mask
    np.testing.assert_array_equal(sparse.to_dense(), dense)
    x = tt.randn(7, 4, 50)  # extra leading dims
    expected = x.array @ dense.T + linear.bias.array
    np.testing.assert_allclose(sparse(x).array, expected, rtol=1e-5, atol=1e-6)
    assert sparse.nnz == mask.sum()


def test_sparse_storage_is_measurably_smaller(tmp_path):
    model = make_mlp((256, 256, 10))
    dense_file = save_model(model, tmp_path / "dense.safetensors")
    dense_bytes = state_nbytes(model)
    pruned = magnitude_prune(make_mlp((256, 256, 10)), 0.9)
    assert isinstance(pruned[0], SparseLinear)
    sparse_bytes = state_nbytes(pruned)
    # CSR: nnz * (4 value + 4 index) + (rows + 1) * 4; about 5x smaller at 90% sparsity
    assert sparse_bytes < dense_bytes / 4.5
    sparse_file = save_model(pruned, tmp_path / "sparse.safetensors")
    assert sparse_file < dense_file / 4.5
    x = tt.randn(3, 256)
    np.testing.assert_array_equal(load_model(tmp_path / "sparse.safetensors")(x).array,
                                  pruned(x).array)


def test_low_sparsity_csr_is_larger_than_dense():
    linear = nn.Linear(64, 64)
    sparse = SparseLinear.from_dense(linear, magnitude_mask(linear.weight, 0.3))
    assert state_nbytes(sparse) > state_nbytes(linear)  # the lesson: CSR pays only past 50%


def test_magnitude_prune_in_place_without_sparse_storage():
    model = magnitude_prune(make_mlp(), 0.5, sparse_storage=False)
    zeros = np.mean(model[0].weight.array == 0)
    assert zeros == pytest.approx(0.5, abs=0.01)


def test_prune_channels_makes_mlp_layers_smaller_and_consistent():
    model = make_mlp((8, 32, 16, 3))
    pruned = prune_channels(model, 0.5)
    shapes = [tuple(m.weight.shape) for m in pruned if isinstance(m, nn.Linear)]
    assert shapes == [(16, 8), (8, 16), (3, 8)]
    assert state_nbytes(pruned) < state_nbytes(model) / 2.5
    assert pruned(tt.randn(5, 8)).shape == (5, 3)


def test_prune_channels_with_nothing_removed_is_exact():
    model = make_mlp()
    same = prune_channels(model, 0.0)
    x = tt.randn(4, 8)
    with no_grad():
        np.testing.assert_allclose(same(x).array, model(x).array, rtol=1e-6)


def test_prune_channels_keeps_highest_norm_neurons_and_their_outgoing_weights():
    model = make_mlp((4, 6, 2))
    norms = np.linalg.norm(model[0].weight.array, axis=1)
    keep = np.sort(np.argsort(-norms)[:3])
    pruned = prune_channels(model, 0.5)
    np.testing.assert_array_equal(pruned[0].weight.array, model[0].weight.array[keep])
    np.testing.assert_array_equal(pruned[2].weight.array, model[2].weight.array[:, keep])


def test_prune_channels_of_a_cnn_through_batchnorm_and_flatten(tmp_path):
    vnn = require("tinytorch.vision.nn")
    model = make_cnn(vnn, channels=(3, 8, 16))
    pruned = prune_channels(model, 0.5)
    assert pruned[0].out_channels == 4 and pruned[1].num_features == 4
    assert pruned[4].in_channels == 4 and pruned[4].out_channels == 8
    assert pruned[7].in_features == 8 * 16
    x = tt.randn(2, 3, 8, 8)
    assert pruned(x).shape == (2, 10)
    full = save_model(model, tmp_path / "full.safetensors")
    small = save_model(pruned, tmp_path / "small.safetensors")
    assert small < full / 1.8
    # removing channels that carry nothing changes nothing: zero a channel, prune it away
    model[4].weight.array[3] = 0
    model[4].bias.array[3] = 0
    exact = prune_channels(model, 1 / 16)  # removes one channel: the zero one
    with no_grad():
        np.testing.assert_allclose(exact(x).array, model(x).array, rtol=1e-5, atol=1e-6)


def test_prune_channels_keeps_a_fused_sequential_fused():
    vnn = require("tinytorch.vision.nn")
    model = vnn.FusedSequential(*make_cnn(vnn, channels=(3, 8, 16)))
    pruned = prune_channels(model, 0.5)
    assert isinstance(pruned, vnn.FusedSequential)
    x = tt.randn(2, 3, 8, 8)
    seen = []
    with no_grad(), register_op_hook(lambda event: seen.append(event.op)):
        fused_out = pruned(x).array
    assert any("BatchNormMaxPool" in op for op in seen), seen
    with no_grad():
        plain_out = nn.Sequential(*pruned).eval()(x).array
    np.testing.assert_allclose(fused_out, plain_out, rtol=1e-5, atol=1e-6)


def test_prune_channels_rejects_bad_input():
    with pytest.raises(TypeError, match="expected an nn.Sequential"):
        prune_channels(nn.Linear(2, 2), 0.5)
    with pytest.raises(ValueError, match="amount must be in"):
        prune_channels(make_mlp(), 1.5)


def test_distillation_loss_matches_pytorch_value_and_gradient():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((6, 5)).astype(np.float32)
    t = rng.standard_normal((6, 5)).astype(np.float32)
    y = rng.integers(0, 5, 6)
    T, alpha = 3.0, 0.6
    ours_s = Tensor(s, requires_grad=True)
    ours = distillation_loss(ours_s, t, Tensor(y), T, alpha)
    ours.backward()
    ts = torch.tensor(s, requires_grad=True)
    kl = torch.nn.functional.kl_div(torch.log_softmax(ts / T, -1), torch.log_softmax(
        torch.tensor(t) / T, -1), reduction="batchmean", log_target=True)
    theirs = alpha * T * T * kl + (1 - alpha) * torch.nn.functional.cross_entropy(
        ts, torch.tensor(y))
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    np.testing.assert_allclose(ours_s.grad.array, ts.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_distillation_loss_checks_arguments():
    s = tt.randn(2, 3)
    with pytest.raises(ValueError, match="same shape"):
        distillation_loss(s, np.zeros((2, 4)), None, alpha=1.0)
    with pytest.raises(ValueError, match="targets are required"):
        distillation_loss(s, np.zeros((2, 3)), None, alpha=0.5)
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(s, np.zeros((2, 3)), None, temperature=0, alpha=1.0)


def test_distill_trains_a_smaller_student_close_to_the_teacher():
    x, y = blobs(900, features=16, classes=4, spread=2.0, seed=3)
    teacher = make_mlp((16, 128, 64, 4))
    optimizer = optim.Adam(teacher.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(Tensor(x[:600]), Tensor(y[:600])), batch_size=64,
                        shuffle=True)
    for _ in range(15):
        for xb, yb in loader:
            loss = tt.nn.functional.cross_entropy(teacher(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    teacher.eval()
    student = make_mlp((16, 8, 4))
    assert student.num_parameters() * 10 < teacher.num_parameters()
    history = distill(teacher, student, loader, optim.Adam(student.parameters(), lr=1e-2),
                      epochs=15, temperature=4.0, alpha=0.7)
    assert history[-1] < history[0] / 2
    with no_grad():
        teacher_acc = (teacher(Tensor(x[600:])).array.argmax(1) == y[600:]).mean()
        student_acc = (student(Tensor(x[600:])).array.argmax(1) == y[600:]).mean()
    assert teacher_acc > 0.85 and student_acc >= teacher_acc - 0.05
