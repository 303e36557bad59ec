"""nn: Module mechanics, layers, initialisation and losses against PyTorch."""

import math

import numpy as np
import pytest
import torch

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import nn, parallel
from tinytorch.core.testing import assert_close, check_gradcheck, check_op

DTYPES = [np.float32, np.float64]


# ------------------------------------------------------------------ Module mechanics
class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 2)
        self.register_buffer("steps", tt.zeros(1))
        self.scale = 2.0  # plain attribute: not a parameter

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_parameters_children_modules_and_names():
    model = TwoLayer()
    assert [n for n, _ in model.named_parameters()] == [
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert len(list(model.children())) == 3
    assert len(list(model.modules())) == 4
    assert model.num_parameters() == 4 * 8 + 8 + 8 * 2 + 2
    assert [n for n, _ in model.named_buffers()] == ["steps"]
    assert "fc1.weight" in model.state_dict() and "steps" in model.state_dict()


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2


def test_train_eval_propagate_to_children():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_and_requires_grad_():
    model = TwoLayer()
    model(tt.randn(3, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(not p.grad.array.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not model(tt.randn(3, 4)).requires_grad


def test_state_dict_round_trip_and_shape_checks():
    a, b = TwoLayer(), TwoLayer()
    b.load_state_dict(a.state_dict())
    x = tt.randn(5, 4)
    np.testing.assert_array_equal(a(x).array, b(x).array)
    bad = a.state_dict()
    bad["fc1.weight"] = tt.zeros(3, 3)
    with pytest.raises(ValueError, match=r"size mismatch for fc1.weight: checkpoint \(3, 3\)"):
        b.load_state_dict(bad)
    missing = a.state_dict()
    del missing["fc2.bias"]
    with pytest.raises(KeyError, match="missing keys.*fc2.bias"):
        b.load_state_dict(missing)
    result = b.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["fc2.bias"]


def test_forward_hooks_and_pre_hooks():
    model = TwoLayer()
    seen = []
    handle = model.fc1.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    pre = model.fc2.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = model(tt.randn(3, 4))
    assert seen == [(3, 8)]
    np.testing.assert_allclose(out.array, np.broadcast_to(model.fc2.bias.array * 2, (3, 2)),
                               rtol=1e-6)
    handle.remove()
    pre.remove()
    model(tt.randn(3, 4))
    assert seen == [(3, 8)]


def test_repr_is_readable():
    text = repr(TwoLayer())
    assert "(fc1): Linear(in_features=4, out_features=8, bias=True)" in text
    assert "(act): ReLU()" in text


def test_module_without_super_init_explains():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_plain_list_of_layers_is_not_registered_but_module_list_is():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

    assert len(list(Holder().parameters())) == 6


def test_module_to_double():
    model = TwoLayer().double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model(tt.randn(2, 4, dtype=tt.float64)).dtype == np.float64


# ------------------------------------------------------------------ layers vs torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_matches_torch_and_dense_alias(dtype):
    assert nn.Dense is nn.Linear
    layer = nn.Linear(5, 3).to(dtype)
    ref = torch.nn.Linear(5, 3).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.array))
        ref.bias.copy_(torch.from_numpy(layer.bias.array))
    x = np.random.default_rng(0).standard_normal((7, 5)).astype(dtype)
    out = layer(tt.tensor(x))
    ref_out = ref(torch.from_numpy(x))
    assert_close(out.array, ref_out.detach().numpy(), "linear", 1e-6, 1e-5)
    out.sum().backward()
    ref_out.sum().backward()
    assert_close(layer.weight.grad.array, ref.weight.grad.numpy(), "weight grad", 1e-5, 1e-5)
    assert_close(layer.bias.grad.array, ref.bias.grad.numpy(), "bias grad", 1e-5, 1e-5)


def test_linear_default_init_matches_pytorch_bounds():
    tt.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in))
    w = layer.weight.array
    assert w.min() >= -bound and w.max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(layer.bias.array).max() <= bound


@pytest.mark.parametrize("name, kwargs", [
    ("kaiming_uniform_", {"nonlinearity": "relu"}),
    ("kaiming_normal_", {"nonlinearity": "relu"}),
    ("xavier_uniform_", {}),
    ("xavier_normal_", {}),
])
def test_init_schemes_have_pytorch_standard_deviation(name, kwargs):
    shape = (256, 512)
    mine = tt.empty(*shape)
    getattr(nn.init, name)(mine, **kwargs)
    ref = torch.empty(*shape)
    getattr(torch.nn.init, name)(ref, **kwargs)
    assert abs(mine.array.std() - ref.std().item()) < 0.02 * ref.std().item()


def test_linear_rejects_wrong_input_width():
    with pytest.raises(ValueError, match=r"Linear\(4, 2\): expected input with last dimension 4, "
                                         r"got shape \(3, 5\)"):
        nn.Linear(4, 2)(tt.ones(3, 5))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, normalized", [((4, 6), (6,)), ((2, 3, 6), (6,)),
                                               ((2, 3, 4), (3, 4))])
def test_layer_norm_matches_torch(dtype, shape, normalized):
    check_op([shape, normalized, normalized],
             lambda x, w, b: F.layer_norm(x, normalized, w, b),
             lambda x, w, b: torch.nn.functional.layer_norm(x, normalized, w, b), dtype=dtype)
    check_op([shape], lambda x: F.layer_norm(x, normalized),
             lambda x: torch.nn.functional.layer_norm(x, normalized), dtype=dtype)
    check_gradcheck([shape, normalized, normalized],
                    lambda x, w, b: F.layer_norm(x, normalized, w, b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_weight, with_bias", [(True, True), (True, False), (False, True)])
def test_layer_norm_in_row_blocks_on_threads_matches_torch(dtype, with_weight, with_bias):
    """Many row blocks on 2 threads (tinytorch.core.parallel): still torch's values/grads."""
    def mine(x, w, b):
        return F.layer_norm(x, (48,), w if with_weight else None, b if with_bias else None)

    def theirs(x, w, b):
        return torch.nn.functional.layer_norm(x, (48,), w if with_weight else None,
                                              b if with_bias else None)

    with parallel.configured(threads=2, block_bytes=4096, min_parallel_bytes=0):
        assert len(parallel.blocks(10 * 37, 48 * 8 * 4)) > 10
        check_op([(10, 37, 48), (48,), (48,)], mine, theirs, dtype=dtype)


def test_layer_norm_refuses_weights_of_another_shape():
    with pytest.raises(ValueError, match=r"layer_norm: weight of shape \(3,\) must have the "
                                         r"normalized_shape \(2, 3\)"):
        F.layer_norm(tt.ones(4, 2, 3), (2, 3), tt.ones(3))


def test_dropout_scales_and_is_identity_in_eval():
    tt.manual_seed(0)
    layer = nn.Dropout(0.25)
    x = tt.ones(100_000)
    out = layer(x).array
    assert abs((out == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / 0.75, rtol=1e-6)
    layer.eval()
    assert layer(x) is x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_mask_is_zero_or_the_inverse_keep_rate(dtype):
    """The one inverted-dropout mask (F.dropout, dropout2d and the fused FeedForward)."""
    from tinytorch.core.random import dropout_mask

    mask = dropout_mask(np.random.default_rng(0), (400, 250), 0.2, dtype)
    again = dropout_mask(np.random.default_rng(0), (400, 250), 0.2, dtype)
    assert mask.dtype == dtype and mask.shape == (400, 250)
    np.testing.assert_array_equal(mask, again)
    assert set(np.unique(mask).tolist()) == {0.0, float(dtype(1 / 0.8))}
    assert abs((mask == 0).mean() - 0.2) < 0.01


@pytest.mark.parametrize("module, ref", [
    (nn.ReLU(), torch.nn.ReLU()), (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()), (nn.GELU(), torch.nn.GELU()),
    (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.Softmax(1), torch.nn.Softmax(1)), (nn.LogSoftmax(1), torch.nn.LogSoftmax(1)),
    (nn.Identity(), torch.nn.Identity()), (nn.Flatten(), torch.nn.Flatten()),
])
def test_activation_modules_match_torch(module, ref):
    check_op([(3, 4, 2)], module, ref)


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) * 3 for s in [(4, 3), (5,)]]
    mine = [tt.zeros(*g.shape, requires_grad=True) for g in grads]
    theirs = [torch.zeros(*g.shape, requires_grad=True) for g in grads]
    for p, q, g in zip(mine, theirs, grads):
        p.grad = tt.tensor(g)
        q.grad = torch.from_numpy(g.copy())
    norm = nn.utils.clip_grad_norm_(mine, 1.0)
    ref_norm = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_allclose(norm.item(), ref_norm.item(), rtol=1e-5)
    for p, q in zip(mine, theirs):
        np.testing.assert_allclose(p.grad.array, q.grad.numpy(), rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ losses vs torch
def _logits_and_labels(shape, classes, seed=0, ignore=False):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, shape[:1] + shape[2:])
    if ignore:
        labels[rng.random(labels.shape) < 0.3] = -100
    return rng.standard_normal(shape), labels


CE_OPTIONS = [{}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.1},
              {"ignore_index": -100}, {"weight": "w"}, {"weight": "w", "label_smoothing": 0.2}]
CE_CASES = [(shape, kwargs) for shape in [(6, 5), (4, 5, 3), (5,)] for kwargs in CE_OPTIONS
            if not (len(shape) == 1 and kwargs.get("reduction") == "none")]  # unbatched: scalar


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kwargs", CE_CASES, ids=str)
def test_cross_entropy_with_class_indices_matches_torch(dtype, shape, kwargs):
    logits, labels = _logits_and_labels(shape, 5, ignore="ignore_index" in kwargs
                                        and len(shape) > 1)
    if len(shape) == 1:
        labels = np.asarray(labels[0] if labels.ndim else labels)
    weights = np.linspace(0.5, 2.0, 5).astype(dtype)

    def call(lib, fn, x):
        kw = dict(kwargs)
        if kw.get("weight") == "w":
            kw["weight"] = lib.tensor(weights)
        return fn(x, lib.tensor(labels), **kw)

    check_op(None, lambda x: call(tt, F.cross_entropy, x),
             lambda x: call(torch, torch.nn.functional.cross_entropy, x),
             arrays=[logits.astype(dtype)], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_with_probability_targets_matches_torch(dtype):
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4), size=6).astype(dtype)
    for kwargs in ({}, {"label_smoothing": 0.1}, {"reduction": "sum"}):
        check_op([(6, 4)], lambda x, kw=kwargs: F.cross_entropy(x, tt.tensor(probs), **kw),
                 lambda x, kw=kwargs: torch.nn.functional.cross_entropy(
                     x, torch.from_numpy(probs), **kw), dtype=dtype)


def test_cross_entropy_gradcheck_and_module():
    logits, labels = _logits_and_labels((5, 4), 4)
    check_gradcheck(None, lambda x: F.cross_entropy(x, tt.tensor(labels), label_smoothing=0.1),
                    arrays=[logits])
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)(tt.tensor(logits.astype(np.float32)),
                                                    tt.tensor(labels))
    ref = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(
        torch.from_numpy(logits.astype(np.float32)), torch.from_numpy(labels))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-5)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = tt.tensor([[1000.0, -1000.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(logits, tt.tensor([1]))
    loss.backward()
    assert np.isfinite(loss.item()) and abs(loss.item() - 2000.0) < 1e-3
    assert np.all(np.isfinite(logits.grad.array))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"reduction": "sum"}, {"reduction": "none"},
                                    {"weight": "w"}])
def test_nll_loss_matches_torch(dtype, kwargs):
    logits, labels = _logits_and_labels((6, 4), 4, ignore=True)
    weights = np.array([1.0, 2.0, 0.5, 1.5], dtype)

    def call(lib, fn, x):
        kw = dict(kwargs)
        if kw.get("weight") == "w":
            kw["weight"] = lib.tensor(weights)
        return fn(x.log_softmax(1), lib.tensor(labels), **kw)

    check_op(None, lambda x: call(tt, F.nll_loss, x),
             lambda x: call(torch, torch.nn.functional.nll_loss, x),
             arrays=[logits.astype(dtype)], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_l1_bce_match_torch(dtype, reduction):
    rng = np.random.default_rng(2)
    target = rng.random((4, 3)).astype(dtype)
    t_tt, t_torch = tt.tensor(target), torch.from_numpy(target)
    check_op([(4, 3)], lambda x: F.mse_loss(x, t_tt, reduction),
             lambda x: torch.nn.functional.mse_loss(x, t_torch, reduction=reduction), dtype=dtype)
    check_op([(4, 3)], lambda x: F.l1_loss(x, t_tt, reduction),
             lambda x: torch.nn.functional.l1_loss(x, t_torch, reduction=reduction), dtype=dtype)
    check_op([(4, 3)], lambda x: F.binary_cross_entropy_with_logits(x, t_tt, reduction=reduction),
             lambda x: torch.nn.functional.binary_cross_entropy_with_logits(
                 x, t_torch, reduction=reduction), dtype=dtype, low=-30, high=30)
    pos_weight = np.array([0.5, 2.0, 3.0], dtype)
    check_op([(4, 3)], lambda x: F.binary_cross_entropy_with_logits(
        x, t_tt, reduction=reduction, pos_weight=tt.tensor(pos_weight)),
        lambda x: torch.nn.functional.binary_cross_entropy_with_logits(
            x, t_torch, reduction=reduction, pos_weight=torch.from_numpy(pos_weight)),
        dtype=dtype)
    check_op([(4, 3)], lambda x: F.binary_cross_entropy(x.sigmoid(), t_tt, reduction),
             lambda x: torch.nn.functional.binary_cross_entropy(x.sigmoid(), t_torch,
                                                                reduction=reduction),
             dtype=dtype)


def test_loss_gradchecks():
    rng = np.random.default_rng(3)
    target = tt.tensor(rng.random((4, 3)))
    check_gradcheck([(4, 3)], lambda x: F.mse_loss(x, target))
    check_gradcheck([(4, 3)], lambda x: F.binary_cross_entropy_with_logits(x, target))


@pytest.mark.parametrize("fn, message", [
    (lambda: F.mse_loss(tt.ones(4), tt.ones(4, 1)),
     r"mse_loss: input shape \(4,\) and target shape \(4, 1\) differ"),
    (lambda: F.cross_entropy(tt.ones(3, 5), tt.tensor([0.0, 1.0, 2.0])),
     r"cross_entropy: target has dtype float32 .* class-index targets must be an integer"),
    (lambda: F.cross_entropy(tt.ones(3, 5), tt.tensor([0, 5, 1])),
     r"cross_entropy: target 5 is out of bounds: class indices must be in \[0, 4\]"),
    (lambda: F.cross_entropy(tt.ones(3, 5), tt.tensor([0, 1])),
     r"cross_entropy: expected target of shape \(3,\)"),
    (lambda: F.nll_loss(tt.ones(3, 5), tt.tensor([0, -3, 1])), r"nll_loss: target -3 is out"),
    (lambda: F.cross_entropy(tt.ones(3, 5), tt.tensor([0, 1, 1]), reduction="avg"),
     r"reduction must be one of"),
    (lambda: F.binary_cross_entropy_with_logits(tt.ones(4, 1), tt.ones(4)),
     r"binary_cross_entropy_with_logits: input shape \(4, 1\) and target shape \(4,\)"),
])
def test_loss_bad_input_messages(fn, message):
    with pytest.raises((ValueError, TypeError, IndexError), match=message):
        fn()
