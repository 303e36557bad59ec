"""tinytorch.core.memory: the byte counts of parameters, gradients, optimizer state and
activations, checked against numbers worked out by hand (and PyTorch's parameter sizes)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from rich.console import Console

from tinytorch.core import Tensor, manual_seed, nn, optim, randn, tensor
from tinytorch.core.memory import (
    MemoryReport,
    activation_bytes,
    format_bytes,
    gradient_bytes,
    memory_report,
    optimizer_state_bytes,
    parameter_bytes,
)

LINEAR_1000_BYTES = (1000 * 1000 + 1000) * 4  # weight + bias, float32


@pytest.fixture(autouse=True)
def seed():
    manual_seed(0)


def train_step(model, optimizer, batch_size=4):
    loss = model(randn(batch_size, 1000)).sum()
    loss.backward()
    optimizer.step()


def test_linear_parameters_gradients_and_adam_state():
    model = nn.Linear(1000, 1000)
    optimizer = optim.Adam(model.parameters())
    before = memory_report(model, optimizer)
    assert before.parameters == 4_004_000 == LINEAR_1000_BYTES
    assert before.gradients == 0 and before.optimizer_state == 0

    train_step(model, optimizer)
    after = memory_report(model, optimizer)
    assert after.gradients == after.parameters == 4_004_000
    # Adam: exp_avg + exp_avg_sq per parameter (2x the weights) + one int step counter each
    assert after.optimizer_state == 2 * 4_004_000 + 2 * 8
    assert optimizer.state_bytes() == 2 * 4_004_000  # the optimizer's own count (arrays only)
    # weights + grads + Adam moments: the "4x the model" rule
    assert after.total == 4 * 4_004_000 + 16

    optimizer.zero_grad()
    assert gradient_bytes(model) == 0


def test_parameter_bytes_match_pytorch():
    ours = nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 5, bias=False))
    theirs = torch.nn.Sequential(torch.nn.Linear(30, 20), torch.nn.ReLU(),
                                 torch.nn.Linear(20, 5, bias=False))
    expected = sum(p.numel() * p.element_size() for p in theirs.parameters())
    assert parameter_bytes(ours) == expected == (30 * 20 + 20 + 20 * 5) * 4
    assert parameter_bytes(ours.double()) == 2 * expected


def test_sgd_state_is_zero_or_one_copy():
    model = nn.Linear(1000, 1000)
    plain = optim.SGD(model.parameters(), lr=0.1)
    train_step(model, plain)
    assert optimizer_state_bytes(plain) == 0
    model.zero_grad()
    momentum = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train_step(model, momentum)
    assert optimizer_state_bytes(momentum) == 4_004_000


def test_shared_parameters_and_buffers_counted_once():
    layer = nn.Linear(10, 10)
    tied = nn.Sequential(layer, nn.ReLU(), layer)
    assert parameter_bytes(tied) == parameter_bytes(layer) == (100 + 10) * 4

    class WithBuffer(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 10)
            self.register_buffer("running_mean", tensor(np.zeros(10, np.float32)))

    report = memory_report(WithBuffer())
    assert report.buffers == 40 and report.parameters == 440


def test_linear_saves_its_input_not_its_weight():
    model = nn.Linear(1000, 1000)
    x = randn(16, 1000)
    loss = model(x).sum()  # Sum saves only a shape
    report = memory_report(model, output=loss)
    assert report.activations == x.nbytes == 16 * 1000 * 4
    # without excluding the weights, the saved weight would be counted as an activation
    assert activation_bytes(loss) == x.nbytes + model.weight.nbytes


def test_activations_grow_linearly_with_batch_size():
    model = nn.Sequential(nn.Linear(1000, 1000), nn.ReLU(), nn.Linear(1000, 10))
    loss_fn = nn.CrossEntropyLoss()

    def activations(batch):
        logits = model(randn(batch, 1000))
        loss = loss_fn(logits, tensor(np.zeros(batch, np.int64)))
        return memory_report(model, output=loss).activations

    sizes = {b: activations(b) for b in (8, 16, 32)}
    # per sample: the input (4000 B, saved by Linear 1), ReLU's bool mask (1000 B), ReLU's
    # output (4000 B, saved by Linear 2), softmax probabilities and targets (2 x 40 B)
    per_sample = 4000 + 1000 + 4000 + 80
    assert sizes[16] - sizes[8] == 8 * per_sample
    assert sizes[32] - sizes[16] == 16 * per_sample
    constant = sizes[8] - 8 * per_sample
    assert 0 <= constant <= 16  # only the scalar loss' division node


def test_backward_frees_the_saved_activations():
    model = nn.Linear(100, 100)
    loss = model(randn(8, 100)).relu().sum()
    assert memory_report(model, output=loss).activations > 0
    loss.backward(retain_graph=True)
    kept = memory_report(model, output=loss).activations
    assert kept == 8 * 100 * 4 + 8 * 100  # input + ReLU mask still held
    loss.backward()
    assert memory_report(model, output=loss).activations == 0


def test_each_buffer_counted_once_even_through_views():
    x = Tensor(np.ones((100, 50), np.float32), requires_grad=True)
    squared = (x * x).sum()  # Mul saves (x, x): the same array twice
    assert activation_bytes(squared) == 100 * 50 * 4
    transposed = (x.T * x.T).sum()  # two transpose views of one buffer
    assert activation_bytes(transposed) == 100 * 50 * 4
    assert activation_bytes(Tensor(np.ones(3))) == 0  # no graph, nothing saved


def test_report_text_and_rich_table():
    model = nn.Linear(1000, 1000)
    report = memory_report(model)
    text = str(report)
    assert "parameters" in text and "3.82 MiB" in text and "(4,004,000 B)" in text
    assert report.rows()[0] == ("parameters", 4_004_000)
    buffer = io.StringIO()
    Console(file=buffer, width=100).print(report)
    rendered = buffer.getvalue()
    assert "optimizer state" in rendered and "4,004,000" in rendered and "100%" in rendered


def test_format_bytes():
    assert format_bytes(0) == "0 B"
    assert format_bytes(1023) == "1023 B"
    assert format_bytes(1024) == "1.00 KiB"
    assert format_bytes(4_004_000) == "3.82 MiB"
    assert format_bytes(3 * 1024**3) == "3.00 GiB"
    assert format_bytes(2 * 1024**4) == "2048.00 GiB"
    with pytest.raises(ValueError, match="size must be >= 0, got -1"):
        format_bytes(-1)


def test_bad_inputs():
    with pytest.raises(TypeError, match="model must be a tinytorch.core.nn.Module, got dict"):
        memory_report({})
    with pytest.raises(TypeError, match="output must be a Tensor, got ndarray"):
        activation_bytes(np.zeros(3))
    with pytest.raises(TypeError, match="expected an optimizer with a .state dict, got list"):
        optimizer_state_bytes([])


def test_report_total_is_the_sum():
    report = MemoryReport(parameters=1, buffers=2, gradients=3, optimizer_state=4,
                          activations=5)
    assert report.total == 15
