"""Milestone 05's picture: what each compression buys, and what the KV cache saves.

What it teaches: compression is a trade of three quantities, so it is drawn as three bar
charts side by side: file size on disk, latency of a batch, test accuracy, for float32,
int8 (post-training quantization), channel-pruned and distilled models. int8 shrinks the
file about 4x at almost no accuracy, but on numpy its latency does not fall (the weights
are dequantized to float for the matmul); pruning and distillation make the *compute*
smaller too, at a price in accuracy. The last panel is generation time against the number
of new tokens: without a cache every new token re-runs attention over the whole prefix,
so the time grows quadratically; with the KV cache each token costs about the same, so it
grows linearly.

Systems lesson: measure, do not infer. The bars are measured on this machine (best of a
few repeats), the sizes are the files' bytes on disk.
"""

from __future__ import annotations

import time

import numpy as np

from tinytorch.core.plot import new_figure

LATENCY_REPEATS = 3
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:gray")


def latency_ms(predict, x: np.ndarray, repeats: int = LATENCY_REPEATS) -> float:
    """Best-of-`repeats` milliseconds for `predict(x)` after one warm-up call."""
    predict(x)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        predict(x)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def draw_inference_report(variants: list[dict], kv_sweep: list[dict], batch: int,
                          title: str = "Milestone 05: optimized inference"):
    """`variants`: dicts with name, bytes, latency_ms, accuracy. `kv_sweep`: dicts from
    time_generation (new_tokens, cached_tps, uncached_tps), one per length."""
    if not variants or not kv_sweep:
        raise ValueError("draw_inference_report: needs at least one model variant and one "
                         f"KV-cache timing, got {len(variants)} and {len(kv_sweep)}")
    figure = new_figure(17, 4.6)
    axes = figure.subplots(1, 4)
    names = [v["name"] for v in variants]
    colours = [COLOURS[i % len(COLOURS)] for i in range(len(variants))]
    panels = (("bytes", "file size (KiB)", 1 / 1024, "{:,.0f}"),
              ("latency_ms", f"latency, batch of {batch} (ms)", 1.0, "{:.1f}"),
              ("accuracy", "test accuracy (%)", 100.0, "{:.1f}"))
    for ax, (key, label, scale, fmt) in zip(axes, panels):
        values = [v[key] * scale for v in variants]
        bars = ax.bar(range(len(values)), values, color=colours)
        ax.bar_label(bars, [fmt.format(value) for value in values], fontsize=8)
        ax.set_xticks(range(len(values)), names, rotation=20, ha="right", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    _kv_panel(axes[3], kv_sweep)
    figure.suptitle(title, fontsize=11)
    return figure


def _kv_panel(ax, kv_sweep: list[dict]) -> None:
    rows = sorted(kv_sweep, key=lambda r: r["new_tokens"])
    tokens = [r["new_tokens"] for r in rows]
    for key, label, style in (("uncached_tps", "no cache", "-o"), ("cached_tps", "KV cache",
                                                                    "-s")):
        ax.plot(tokens, [n / r[key] for n, r in zip(tokens, rows)], style, label=label)
    ax.set_xlabel("new tokens generated")
    ax.set_ylabel("generation time (s)")
    ax.set_title("greedy generation: KV cache vs none", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
