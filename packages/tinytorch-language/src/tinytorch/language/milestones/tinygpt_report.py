"""Milestone 04's picture: the loss curves of training, and where each layer's attention looks.

    maps = attention_maps(model, ids, head=0)       # one (T, T) matrix per layer
    draw_tinygpt_report(history, maps, text, steps_per_epoch)

What it teaches: the loss curves show the run (training and validation loss against the
optimizer step; a gap between them is overfitting, a flat end is a finished schedule).
The attention maps show what the model learned to read. Row i is the distribution over
the characters 0..i that position i attends to (causal: the upper triangle is zero). In
a character model some heads look at the previous one or two characters (a diagonal
band: spelling), others at the start of the word or at the last space or newline
(vertical stripes: word and line structure).

Systems lesson: the fused attention used in training keeps these weights only inside its
graph node, for its own backward. To look at them, the report recomputes one sample's
attention per layer with `need_weights=True`, under no_grad, from the layer's own input
captured by a forward pre-hook: inspecting a model must not change how it trains.
"""

from __future__ import annotations

import numpy as np

import tinytorch.core as tt
from tinytorch.core.plot import new_figure
from tinytorch.core.training import History

MAX_SHOWN = 48  # characters on each axis of an attention map


def attention_maps(model, ids, head: int = 0) -> list[np.ndarray]:
    """Attention weights (T, T) of one head in every layer, for one sequence `ids` (T,)."""
    if not 0 <= head < model.num_heads:
        raise ValueError(f"attention_maps: head must be in [0, {model.num_heads}), got {head}")
    ids = np.asarray(ids, dtype=np.int64).reshape(1, -1)
    inputs: list[tt.Tensor] = []
    handles = [block.register_forward_pre_hook(lambda module, args: inputs.append(args[0]))
               for block in model.blocks]
    was_training = model.training
    model.eval()
    try:
        with tt.no_grad():
            model(tt.tensor(ids))
            maps = []
            for block, x in zip(model.blocks, inputs):
                h = block.norm1(x)
                _, weights = block.self_attn(h, h, h, need_weights=True, is_causal=True,
                                             average_attn_weights=False)
                maps.append(weights.numpy()[0, head].copy())
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return maps


def draw_tinygpt_report(history: History, maps: list[np.ndarray], text: str,
                        steps_per_epoch: int, head: int = 0,
                        title: str = "Milestone 04: TinyGPT"):
    """Train/validation loss against the step, then one attention map per layer."""
    if not maps or any(m.shape != (len(text), len(text)) for m in maps):
        raise ValueError(f"draw_tinygpt_report: expected one ({len(text)}, {len(text)}) map "
                         f"per layer for the {len(text)} characters, got "
                         f"{[m.shape for m in maps]}")
    figure = new_figure(4.2 * (len(maps) + 1), 4.8)
    axes = figure.subplots(1, len(maps) + 1)
    _loss_curves(axes[0], history, steps_per_epoch)
    labels = [_visible(c) for c in text]
    for layer, (ax, weights) in enumerate(zip(axes[1:], maps)):
        ax.imshow(weights, cmap="viridis", vmin=0, vmax=max(float(weights.max()), 1e-6))
        ax.set_xticks(range(len(text)), labels, fontsize=5, family="monospace")
        ax.set_yticks(range(len(text)), labels, fontsize=5, family="monospace")
        ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=9)
        ax.set_xlabel("attends to (key)", fontsize=8)
        ax.set_ylabel("position (query)", fontsize=8)
    figure.suptitle(f"{title}: attention over {text!r}"[:160], fontsize=9)
    return figure


def _loss_curves(ax, history: History, steps_per_epoch: int) -> None:
    for name, style in (("train_loss", "-o"), ("val_loss", "-s")):
        values = history.get(name)
        if values:
            steps = [steps_per_epoch * (i + 1) for i in range(len(values))]
            ax.plot(steps, values, style, markersize=3, label=name)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats/char)")
    ax.set_title("loss", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _visible(character: str) -> str:
    return {"\n": "\u21b5", " ": "\u2423", "\t": "\u21e5"}.get(character, character)
