"""FLOP counting against torch.utils.flop_counter.FlopCounterMode on the same architectures,
forward and backward, plus the bookkeeping (per module, per op, bytes, unknown ops)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import needs_language, needs_vision
from torch.utils.flop_counter import FlopCounterMode

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import nn
from tinytorch.core.autograd import Function
from tinytorch.core.cost import Cost, OpCall, pointwise
from tinytorch.perf.flops import FLOPsCounter, count_flops


def torch_flops(model, x, backward: bool = True, loss=lambda out: out.sum()):
    """(forward, backward) FLOPs of `model(x)` as torch counts them."""
    with FlopCounterMode(display=False) as counter:
        out = model(x)
        forward = counter.get_total_flops()
        if backward:
            loss(out).backward()
    return forward, counter.get_total_flops() - forward


def ours(model, x, backward: bool = True, loss=lambda out: out.sum()):
    counter = FLOPsCounter(model)
    with counter:
        out = model(x)
        if backward:
            loss(out).backward()
    return counter


# ---------------------------------------------------------------- MLPs and matmul


@pytest.mark.parametrize("batch, sizes", [(8, (20, 30, 5)), (3, (64, 128, 128, 10)),
                                           (1, (7, 1))])
def test_mlp_matches_torch_forward_and_backward(batch, sizes):
    layers, theirs = [], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        theirs.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [nn.ReLU()]
            theirs += [torch.nn.ReLU()]
    counter = ours(nn.Sequential(*layers), tt.randn(batch, sizes[0]))
    fwd, bwd = torch_flops(torch.nn.Sequential(*theirs), torch.randn(batch, sizes[0]))
    assert counter.matmul_flops("forward") == fwd
    assert counter.matmul_flops("backward") == bwd
    assert counter.tracer.unmatched_backward == 0


def test_input_that_requires_grad_adds_the_input_gradient_product():
    model, theirs = nn.Linear(16, 8), torch.nn.Linear(16, 8)
    x = tt.randn(4, 16, requires_grad=True)
    counter = ours(model, x)
    fwd, bwd = torch_flops(theirs, torch.randn(4, 16, requires_grad=True))
    assert counter.matmul_flops("backward") == bwd == 2 * fwd  # grad_x and grad_w


def test_batched_matmul_and_3d_linear_match_torch():
    """Attention-shaped work from core ops: a 3-D Linear, Q K^T, softmax, P V."""
    class Attention(nn.Module):
        def __init__(self, lib_nn, d=16):
            super().__init__()
            self.qkv = lib_nn.Linear(d, 3 * d)

        def forward(self, x):
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            scores = q @ k.transpose(-2, -1)
            return scores.softmax(dim=-1) @ v

    class TorchAttention(torch.nn.Module):
        def __init__(self, d=16):
            super().__init__()
            self.qkv = torch.nn.Linear(d, 3 * d)

        def forward(self, x):
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            return (q @ k.transpose(-2, -1)).softmax(dim=-1) @ v

    counter = ours(Attention(nn), tt.randn(2, 5, 16))
    fwd, bwd = torch_flops(TorchAttention(), torch.randn(2, 5, 16))
    assert counter.matmul_flops("forward") == fwd
    assert counter.matmul_flops("backward") == bwd
    assert counter.by_op("forward")["MatMul"].count == 2


def test_matmul_with_broadcast_batch_dims():
    a = tt.randn(3, 4, 5, requires_grad=True)
    b = tt.randn(5, 6, requires_grad=True)
    counter = FLOPsCounter()
    with counter:
        (a @ b).sum().backward()
    ta, tb = torch.randn(3, 4, 5, requires_grad=True), torch.randn(5, 6, requires_grad=True)
    with FlopCounterMode(display=False) as theirs:
        out = ta @ tb
        forward = theirs.get_total_flops()
        out.sum().backward()
    assert counter.matmul_flops("forward") == forward == 2 * 3 * 4 * 5 * 6
    assert counter.matmul_flops() == theirs.get_total_flops()


# ---------------------------------------------------------------- CNNs (tinytorch-vision)


def _cnns(V):
    """The same CNNs in both libraries: (tinytorch model, torch model, input shape)."""
    T = torch.nn
    return [
        (nn.Sequential(V.Conv2d(3, 8, 3, padding=1), nn.ReLU(), V.MaxPool2d(2),
                       V.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                       nn.Linear(16 * 4 * 4, 10)),
         T.Sequential(T.Conv2d(3, 8, 3, padding=1), T.ReLU(), T.MaxPool2d(2),
                      T.Conv2d(8, 16, 3, stride=2, padding=1), T.ReLU(), T.Flatten(),
                      T.Linear(16 * 4 * 4, 10)), (2, 3, 16, 16)),
        (nn.Sequential(V.Conv2d(4, 6, (3, 5), padding=(1, 2), bias=False), V.BatchNorm2d(6),
                       nn.ReLU(), V.Conv2d(6, 6, 1), V.AdaptiveAvgPool2d(1), nn.Flatten(),
                       nn.Linear(6, 3)),
         T.Sequential(T.Conv2d(4, 6, (3, 5), padding=(1, 2), bias=False), T.BatchNorm2d(6),
                      T.ReLU(), T.Conv2d(6, 6, 1), T.AdaptiveAvgPool2d(1), T.Flatten(),
                      T.Linear(6, 3)), (3, 4, 9, 11)),
    ]


@needs_vision
@pytest.mark.parametrize("index", [0, 1])
def test_cnn_matches_torch_forward_and_backward(index):
    import tinytorch.vision as V

    model, theirs, shape = _cnns(V)[index]
    counter = ours(model, tt.randn(*shape))
    fwd, bwd = torch_flops(theirs, torch.randn(*shape))
    assert counter.matmul_flops("forward") == fwd
    assert counter.matmul_flops("backward") == bwd
    assert not counter.unknown_ops and counter.tracer.unmatched_backward == 0


@needs_vision
def test_conv_input_gradient_counted_when_the_input_requires_grad():
    import tinytorch.vision as V

    counter = ours(V.Conv2d(3, 4, 3), tt.randn(2, 3, 8, 8, requires_grad=True))
    fwd, bwd = torch_flops(torch.nn.Conv2d(3, 4, 3), torch.randn(2, 3, 8, 8, requires_grad=True))
    assert counter.matmul_flops("forward") == fwd == 2 * 2 * 4 * 6 * 6 * 3 * 9
    assert counter.matmul_flops("backward") == bwd == 2 * fwd


@needs_vision
def test_grouped_conv_counts_the_work_done():
    """Forward agrees with torch for groups > 1. torch's convolution_backward formula
    ignores `groups` for the weight gradient (it counts groups x the work); we count what
    the op executes: exactly the forward product again."""
    import tinytorch.vision as V

    groups = 2
    counter = ours(V.Conv2d(4, 8, 3, groups=groups), tt.randn(2, 4, 7, 7))
    fwd, bwd = torch_flops(torch.nn.Conv2d(4, 8, 3, groups=groups), torch.randn(2, 4, 7, 7))
    assert counter.matmul_flops("forward") == fwd
    assert counter.matmul_flops("backward") == fwd  # the weight gradient only
    assert bwd == groups * fwd


# ---------------------------------------------------------------- transformers (language)


class TorchGPT(torch.nn.Module):
    """TinyGPT's architecture in torch, attention written with explicit products (torch's
    fused CPU attention kernel is not in FlopCounterMode's registry)."""

    def __init__(self, vocab, d, heads, layers, seq):
        super().__init__()
        T = torch.nn
        self.heads = heads
        self.tok, self.pos = T.Embedding(vocab, d), T.Embedding(seq, d)
        self.blocks = T.ModuleList(T.ModuleDict({
            "norm1": T.LayerNorm(d), "qkv": T.Linear(d, 3 * d), "out": T.Linear(d, d),
            "norm2": T.LayerNorm(d), "fc1": T.Linear(d, 4 * d), "fc2": T.Linear(4 * d, d),
        }) for _ in range(layers))
        self.ln_f, self.head = T.LayerNorm(d), T.Linear(d, vocab, bias=False)

    def forward(self, ids):
        B, L = ids.shape
        h = self.tok(ids) + self.pos(torch.arange(L))
        mask = torch.ones(L, L, dtype=torch.bool).triu(1)
        for block in self.blocks:
            q, k, v = block["qkv"](block["norm1"](h)).split(h.shape[-1], dim=-1)
            q, k, v = (t.reshape(B, L, self.heads, -1).transpose(1, 2) for t in (q, k, v))
            scores = (q @ k.transpose(-2, -1)) / q.shape[-1] ** 0.5
            attended = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
            h = h + block["out"](attended.transpose(1, 2).reshape(B, L, -1))
            h = h + block["fc2"](torch.nn.functional.gelu(block["fc1"](block["norm2"](h))))
        return self.head(self.ln_f(h))


@needs_language
@pytest.mark.parametrize("vocab, d, heads, layers, batch, seq", [(50, 32, 4, 2, 2, 16),
                                                                 (30, 24, 2, 1, 3, 10)])
def test_tinygpt_matches_torch_forward_and_backward(vocab, d, heads, layers, batch, seq):
    from tinytorch.language import TinyGPT

    model = TinyGPT(vocab, d, heads, layers, max_seq_len=seq)
    counter = ours(model, tt.randint(0, vocab, (batch, seq)))
    fwd, bwd = torch_flops(TorchGPT(vocab, d, heads, layers, seq),
                           torch.randint(0, vocab, (batch, seq)))
    assert counter.matmul_flops("forward") == fwd
    assert counter.matmul_flops("backward") == bwd
    assert not counter.unknown_ops and counter.tracer.unmatched_backward == 0


# ---------------------------------------------------------------- bookkeeping


def test_per_module_totals_add_up_to_the_model_total():
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(),
                          nn.Sequential(nn.Linear(20, 20), nn.Tanh()), nn.Linear(20, 3))
    x, y = tt.randn(5, 10), tt.randint(0, 3, (5,))
    counter = FLOPsCounter(model)
    with counter:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
    for phase in ("forward", "backward"):
        by_module = counter.by_module(phase)
        leaves = ["0", "1", "2.0", "2.1", "3"]
        assert sum(by_module[name].flops for name in leaves) == by_module[""].flops
        assert by_module["2"].flops == by_module["2.0"].flops + by_module["2.1"].flops
        outside = by_module.get("(outside modules)")
        assert by_module[""].flops + (outside.flops if outside else 0) == \
            counter.total_flops(phase)
    # the loss ran outside the model
    assert counter.by_module("forward")["(outside modules)"].count >= 1
    assert counter.by_module("forward")["0"].matmul_flops == 2 * 5 * 10 * 20


def test_linear_forward_counts_bias_adds_apart_from_matmul():
    counter = count_flops(nn.Linear(6, 4), tt.randn(3, 6))
    totals = counter.total("forward")
    assert totals.matmul_flops == 2 * 3 * 6 * 4
    assert totals.flops == totals.matmul_flops + 3 * 4
    # bytes: x, W, b read once, y written once (float32)
    assert totals.bytes == 4 * (3 * 6 + 4 * 6 + 4 + 3 * 4)


def test_views_move_no_bytes_and_pass_through_gradients_cost_nothing():
    x = tt.randn(4, 6, requires_grad=True)
    counter = FLOPsCounter()
    with counter:
        y = x.reshape(6, 4).transpose(0, 1)
        (y + 1.0).sum().backward()
    forward = counter.by_op("forward")
    assert forward["Reshape"].bytes == 0 and forward["Permute"].bytes == 0
    assert forward["Add"].flops == 24
    backward = counter.by_op("backward")
    assert backward["Add"].flops == 0  # the gradient passes through unchanged


def test_unknown_ops_are_reported_not_guessed():
    class Mystery(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = tt.randn(3, requires_grad=True)
    counter = FLOPsCounter()
    with counter:
        Mystery.apply(x).sum().backward()
    assert counter.unknown_ops == {"Mystery"}
    assert counter.by_op("forward")["Mystery"].flops == 0
    assert not any(r.known for r in counter.records if r.op == "Mystery")


def test_an_op_without_a_cost_is_shown_as_uncounted_in_the_table():
    from rich.console import Console

    class Unpriced(Function):
        @staticmethod
        def forward(ctx, a):
            return a + 1

        @staticmethod
        def backward(ctx, grad):
            return grad

    counter = FLOPsCounter()
    with counter:
        Unpriced.apply(tt.randn(4, requires_grad=True)).sum().backward()
    console = Console(record=True, width=160)
    console.print(counter)
    text = console.export_text()
    row = next(line for line in text.splitlines() if "Unpriced" in line and "forward" in line)
    assert "uncounted" in row
    assert "uncounted (no cost formula): Unpriced" in text
    assert counter.to_dict()["unknown_ops"] == ["Unpriced"]


def test_a_functions_cost_method_teaches_the_counter_a_new_op():
    class Triple(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 3

        @staticmethod
        def backward(ctx, grad):
            return grad * 3

        @staticmethod
        def cost(call, grads=None):
            return pointwise(call, grads, forward=1, backward=1)

    x = tt.randn(7, requires_grad=True)
    counter = FLOPsCounter()
    with counter:
        Triple.apply(x).sum().backward()
    assert counter.by_op("forward")["Triple"].flops == 7
    assert counter.by_op("backward")["Triple"].flops == 7
    assert not counter.unknown_ops


def test_a_cost_that_is_not_a_cost_is_refused():
    class Sloppy(Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, grad):
            return grad

        @staticmethod
        def cost(call, grads=None):
            return 0  # meant "free": must be Cost(0), or None for "uncounted"

    with pytest.raises(TypeError, match="Sloppy.cost must return"), FLOPsCounter():
        Sloppy.apply(tt.randn(2))


def test_backward_cost_gets_gradients_by_input_position():
    """Div with only the denominator requiring grad: the one gradient is b's (4 FLOPs per
    element), which a list without the None could not tell from a's (1 FLOP)."""
    a, b = tt.randn(5), tt.randn(5, requires_grad=True)
    seen = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            return None, grad * 2

        @staticmethod
        def cost(call, grads=None):
            seen.append(grads)
            return Cost(0)

    counter = FLOPsCounter()
    with counter:
        (a / b).sum().backward()
        Spy.apply(a, b).sum().backward()
    assert counter.by_op("backward")["Div"].flops == 4 * 5
    assert seen[0] is None and seen[1][0] is None and seen[1][1].info.shape == (5,)


def _all_functions():
    """Every Function subclass core, vision and language define (found, not listed)."""
    import importlib

    for package in ("tinytorch.core", "tinytorch.vision", "tinytorch.language"):
        try:
            importlib.import_module(package)
        except ImportError:
            continue
    found, stack = [], list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[1:2] in (["core"], ["vision"], ["language"]):
            found.append(cls)
    return found


def test_every_op_of_core_vision_and_language_defines_its_cost():
    functions = _all_functions()
    assert {"MatMul", "LayerNorm"} <= {f.__name__ for f in functions}
    missing = sorted(f"{f.__module__}.{f.__name__}" for f in functions
                     if f.cost is Function.cost)
    assert not missing, f"no cost formula for {missing}"


def test_no_backward_counted_under_no_grad():
    model = nn.Linear(4, 4)
    counter = FLOPsCounter(model)
    with counter, tt.no_grad():
        model(tt.randn(2, 4))
    assert counter.total_flops("backward") == 0
    assert counter.total_flops("forward") == 2 * 2 * 4 * 4 + 2 * 4


def test_counter_json_and_rich_output():
    import json

    from rich.console import Console

    counter = count_flops(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), tt.randn(2, 3),
                          backward=True)
    data = json.loads(json.dumps(counter.to_dict()))
    assert data["total"]["forward"]["matmul_flops"] == 2 * 2 * 3 * 2
    assert "Linear" in data["by_op"]["backward"]
    console = Console(record=True, width=120)
    console.print(counter)
    text = console.export_text()
    assert "Linear" in text and "total" in text


def test_phase_is_validated():
    with pytest.raises(ValueError, match="phase must be"):
        FLOPsCounter().total("sideways")


def test_op_call_keeps_shapes_not_arrays():
    counter = FLOPsCounter()
    big = tt.randn(100, 100)
    with counter:
        big.exp()
    record = counter.records[0]
    assert record.input_shapes == ((100, 100),) and record.output_shapes == ((100, 100),)
    assert isinstance(OpCall("x", (), ()).arrays, list)
    assert not any(isinstance(v, np.ndarray) for v in vars(record).values())


@needs_vision
def test_pooling_flops_follow_the_window():
    import tinytorch.vision as V

    x = tt.randn(1, 2, 4, 4)
    for layer, per_window in ((V.MaxPool2d(2), 3), (V.AvgPool2d(2), 4)):
        counter = count_flops(layer, x)
        out_elements = 1 * 2 * 2 * 2
        assert counter.total_flops("forward") == out_elements * per_window
        assert counter.matmul_flops() == 0  # torch counts none either
    assert count_flops(V.AdaptiveAvgPool2d(1), x).total_flops("forward") == x.numel()
