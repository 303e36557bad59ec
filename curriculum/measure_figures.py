"""Measure every number the module pages quote, on this machine, and write them into
curriculum/figures.json and into the pages' figure blocks.

    python curriculum/measure_figures.py            # measure everything, update the pages
    python curriculum/measure_figures.py --render   # only re-render pages from figures.json
    python curriculum/measure_figures.py --only 08_optimizers 13_attention
    python curriculum/measure_figures.py --milestones 01 03 04 05   # + time milestone runs

Each page has blocks

    <!-- figures: 08_optimizers -->
    ...generated table...
    <!-- /figures -->

whose content this script owns: the pages contain no measured number that did not come
from here. Run from a checkout, the script measures this checkout's packages
(packages/*/src are put first on sys.path); figures whose package is missing are skipped
and say so.

Timings are the best of several runs (time.perf_counter) after a warm-up; the machine
description (CPU, cores, numpy and its BLAS) is recorded with them. Memory figures come
from tinytorch.core.memory, which measures the real numpy buffers, not formulas.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIGURES_JSON = HERE / "figures.json"
PAGES = HERE / "modules"
for _src in sorted((ROOT / "packages").glob("*/src")):
    sys.path.insert(0, str(_src))

import numpy as np  # noqa: E402

from tinytorch.core.atomic import atomic_write_text  # noqa: E402

FIGURES: dict[str, tuple[str, Callable[[], dict]]] = {}


def figure(key: str, package: str = "tinytorch.core"):
    def register(fn):
        FIGURES[key] = (package, fn)
        return fn
    return register


def best_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Seconds per call: the best of `repeat` runs of `number` calls, after one warm-up."""
    fn()
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.2f} MiB"


def table(title: str, columns: list[str], rows: list[list], note: str = "") -> dict:
    return {"title": title, "columns": columns, "rows": [[str(c) for c in r] for r in rows],
            "note": note}


# ---------------------------------------------------------------- phase 1


@figure("01_setup")
def setup_figures() -> dict:
    n = 1024
    rows = []
    for dtype in (np.float32, np.float64):
        a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
        seconds = best_time(lambda a=a: a @ a, repeat=5)
        rows.append([np.dtype(dtype).name, np.dtype(dtype).itemsize, mib(a.nbytes),
                     f"{seconds * 1e3:.1f} ms", f"{2 * n**3 / seconds / 1e9:.1f}"])
    return {"tables": [table(f"A {n}x{n} matrix and its matmul, float32 vs float64",
                             ["dtype", "bytes/element", "matrix size", "A @ A time",
                              "GFLOP/s"], rows)]}


@figure("02_tensor")
def tensor_figures() -> dict:
    from tinytorch.core import Tensor

    n = 64
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    rows_a, rows_b = a.tolist(), b.tolist()

    def loops():
        out = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for p in range(n):
                a_ip, row_b, row_out = rows_a[i][p], rows_b[p], out[i]
                for j in range(n):
                    row_out[j] += a_ip * row_b[j]
        return out

    slow = best_time(loops, repeat=3)
    fast = best_time(lambda: a @ b, repeat=20, number=50)
    ta, tb = Tensor(a.astype(np.float32)), Tensor(b.astype(np.float32))
    tiny = best_time(lambda: ta @ tb, repeat=20, number=50)
    m = 1_000_000
    x = rng.standard_normal(m).astype(np.float32)
    xs = x.tolist()
    loop_add = best_time(lambda: [v + 1.0 for v in xs], repeat=3)
    np_add = best_time(lambda: x + 1.0, repeat=10, number=5)
    return {"tables": [
        table(f"Matmul of two {n}x{n} matrices ({2 * n**3:,} FLOPs)",
              ["implementation", "time", "GFLOP/s", "vs Python loops"],
              [["three Python loops", f"{slow * 1e3:.1f} ms", f"{2 * n**3 / slow / 1e9:.3f}",
                "1x"],
               ["numpy `a @ b` (BLAS)", f"{fast * 1e6:.1f} us", f"{2 * n**3 / fast / 1e9:.2f}",
                f"{slow / fast:,.0f}x"],
               ["TinyTorch `Tensor @ Tensor`", f"{tiny * 1e6:.1f} us",
                f"{2 * n**3 / tiny / 1e9:.2f}", f"{slow / tiny:,.0f}x"]]),
        table(f"Adding 1 to {m:,} float32 numbers",
              ["implementation", "time", "ns per element"],
              [["Python list comprehension", f"{loop_add * 1e3:.1f} ms",
                f"{loop_add / m * 1e9:.1f}"],
               ["numpy `x + 1`", f"{np_add * 1e3:.3f} ms", f"{np_add / m * 1e9:.2f}"]]),
    ]}


@figure("03_activations")
def activation_figures() -> dict:
    from tinytorch.core import Tensor, nn
    from tinytorch.core.memory import activation_bytes

    x = Tensor(np.random.default_rng(0).standard_normal((1000, 1000)).astype(np.float32),
               requires_grad=True)
    rows = []
    for name, layer in (("ReLU", nn.ReLU()), ("Sigmoid", nn.Sigmoid()), ("Tanh", nn.Tanh())):
        out = layer(x)
        rows.append([name, mib(activation_bytes(out.sum(), exclude=[x.array]))])
    big = np.array([-1000.0, 1000.0], dtype=np.float32)
    problems = []

    def record(kind, flag):
        problems.append(kind)

    def run(fn):
        problems.clear()
        with np.errstate(all="call", call=record):
            result = fn()
        return [str(result.tolist()), ", ".join(sorted(set(problems))) or "none"]

    naive_sigmoid = run(lambda: 1 / (1 + np.exp(-big)))
    stable_sigmoid = run(lambda: Tensor(big).sigmoid().array)
    naive_softmax = run(lambda: np.exp(big) / np.exp(big).sum())
    stable = run(lambda: Tensor(big).softmax(-1).array)
    return {"tables": [
        table("What each activation keeps for backward, for a 1000x1000 float32 input "
              "(3.81 MiB)", ["activation", "saved for backward"], rows,
              "ReLU keeps a boolean mask (1 byte per element); Sigmoid and Tanh keep their "
              "float32 output."),
        table("Large inputs: naive formulas against the stable ones",
              ["computation", "result for [-1000, 1000]", "floating-point errors raised"],
              [["naive sigmoid 1 / (1 + exp(-x))", *naive_sigmoid],
               ["TinyTorch sigmoid 0.5 (1 + tanh(x / 2))", *stable_sigmoid],
               ["naive softmax exp(x) / sum(exp(x))", *naive_softmax],
               ["TinyTorch softmax (max subtracted)", *stable]]),
    ]}


@figure("04_layers")
def layer_figures() -> dict:
    from tinytorch.core import Tensor, nn

    rows = []
    batch = 256
    for fan_in, fan_out in ((784, 128), (1024, 1024), (4096, 4096)):
        layer = nn.Linear(fan_in, fan_out)
        params = layer.num_parameters()
        x = Tensor(np.random.default_rng(0).standard_normal((batch, fan_in)).astype(np.float32))
        seconds = best_time(lambda layer=layer, x=x: layer(x), repeat=5)
        flops = 2 * batch * fan_in * fan_out
        rows.append([f"Linear({fan_in}, {fan_out})", f"{params:,}", mib(params * 4),
                     f"{flops / 1e6:,.0f}", f"{seconds * 1e3:.2f} ms",
                     f"{flops / seconds / 1e9:.1f}"])
    return {"tables": [table(f"Linear layers: parameters and a forward pass on a batch of "
                             f"{batch}", ["layer", "parameters", "float32 weights",
                                          "forward MFLOPs", "forward time", "GFLOP/s"], rows)]}


@figure("05_networks")
def network_figures() -> dict:
    from tinytorch.core import nn

    rows = []
    for widths in ((2, 4, 1), (784, 128, 10), (784, 512, 512, 10), (3072, 1024, 1024, 1024, 10)):
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        model = nn.Sequential(*layers[:-1])
        params = model.num_parameters()
        rows.append([" -> ".join(map(str, widths)), len(widths) - 1, f"{params:,}",
                     mib(params * 4)])
    return {"tables": [table("MLPs: what depth and width cost in parameters",
                             ["widths", "Linear layers", "parameters", "float32 weights"],
                             rows)]}


@figure("06_autograd")
def autograd_figures() -> dict:
    from tinytorch.core import Tensor, nn
    from tinytorch.core.memory import memory_report

    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    rows = []
    for batch in (32, 256):
        x = Tensor(np.random.default_rng(0).standard_normal((batch, 784)).astype(np.float32))
        loss = (model(x) ** 2).mean()
        before = memory_report(model, None, loss)
        loss.backward()
        after = memory_report(model, None, loss)
        model.zero_grad()
        rows.append([batch, mib(before.parameters), mib(before.activations),
                     mib(after.activations), mib(after.gradients)])
    return {"tables": [table("MLP 784-512-512-10: the graph's saved activations, before and "
                             "after backward()", ["batch", "parameters", "activations before "
                                                  "backward", "activations after backward",
                                                  "gradients after backward"], rows,
                             "Activation memory grows with the batch; backward() frees it.")]}


# ---------------------------------------------------------------- phase 2


@figure("07_spatial", package="tinytorch.vision")
def spatial_figures() -> dict:
    from tinytorch.vision import im2col as ic

    rows = []
    for batch, channels, size in ((32, 3, 32), (32, 64, 32), (128, 64, 32)):
        x = np.random.default_rng(0).standard_normal((batch, channels, size, size)).astype(
            np.float32)
        nhwc = ic.pad_nhwc(ic.to_nhwc(x), ic.symmetric((1, 1)))
        out_hw = ic.output_hw(nhwc.shape[1:3], (3, 3), (1, 1), (1, 1))
        cols = ic.im2col(nhwc, (3, 3), (1, 1), (1, 1), out_hw)
        rows.append([f"({batch}, {channels}, {size}, {size})", mib(x.nbytes), mib(cols.nbytes),
                     f"{cols.nbytes / x.nbytes:.1f}x"])
        del cols
    return {"tables": [table("im2col for a 3x3 convolution (stride 1, padding 1): the column "
                             "matrix against its input", ["input (N, C, H, W)", "input",
                                                          "im2col columns", "ratio"], rows)]}


@figure("08_optimizers")
def optimizer_figures() -> dict:
    from tinytorch.core import Tensor, nn, optim
    from tinytorch.core.memory import memory_report

    rows = []
    x = Tensor(np.random.default_rng(0).standard_normal((64, 784)).astype(np.float32))
    for name, make in (("SGD", lambda p: optim.SGD(p, lr=0.1)),
                       ("SGD momentum=0.9", lambda p: optim.SGD(p, lr=0.1, momentum=0.9)),
                       ("Adam", lambda p: optim.Adam(p, lr=1e-3)),
                       ("Adam amsgrad", lambda p: optim.Adam(p, lr=1e-3, amsgrad=True))):
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
        opt = make(model.parameters())
        (model(x) ** 2).mean().backward()
        opt.step()
        report = memory_report(model, opt)
        total = report.parameters + report.gradients + report.optimizer_state
        rows.append([name, mib(report.parameters), mib(report.gradients),
                     mib(report.optimizer_state),
                     f"{(report.parameters + report.optimizer_state) / report.parameters:.2f}x",
                     f"{total / report.parameters:.2f}x"])
    return {"tables": [table("MLP 784-512-10 after one step: what each optimizer holds "
                             "(tinytorch.core.memory.memory_report)",
                             ["optimizer", "weights", "gradients", "optimizer state",
                              "(weights + state) / weights",
                              "(weights + grads + state) / weights"],
                             rows)]}


@figure("09_dataloader")
def dataloader_figures() -> dict:
    from tinytorch.core import tensor
    from tinytorch.core.data import DataLoader, TensorDataset

    n, d = 50_000, 32
    data = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    labels = np.arange(n) % 10
    dataset = TensorDataset(tensor(data), tensor(labels))

    class PerSample:
        def __len__(self):
            return n

        def __getitem__(self, i):
            return data[i], int(labels[i])

    rows = []
    for name, ds in (("per-sample __getitem__ + collate", PerSample()),
                     ("TensorDataset.__getitems__ (one gather)", dataset)):
        loader = DataLoader(ds, batch_size=128, shuffle=True)
        seconds = best_time(lambda loader=loader: list(loader), repeat=3)
        rows.append([name, f"{seconds * 1e3:.0f} ms", f"{n / seconds:,.0f}"])
    return {"tables": [table(f"One epoch over {n:,} samples of {d} floats, batch 128",
                             ["dataset path", "epoch time", "samples/s"], rows)]}


@figure("10_training")
def training_figures() -> dict:
    from tinytorch.core import Tensor, nn
    from tinytorch.core.memory import activation_bytes

    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    weights = [p.array for p in model.parameters()]
    rows = []
    for micro, steps in ((256, 1), (64, 4), (16, 16)):
        x = Tensor(np.random.default_rng(0).standard_normal((micro, 784)).astype(np.float32))
        labels = Tensor(np.arange(micro) % 10)
        loss = nn.functional.cross_entropy(model(x), labels)
        rows.append([f"{micro} x {steps}", 256, mib(activation_bytes(loss, exclude=weights))])
    return {"tables": [table("Gradient accumulation: peak saved activations per backward for "
                             "an effective batch of 256 (MLP 784-512-512-10)",
                             ["micro-batch x steps", "effective batch",
                              "activations per backward"], rows)]}


# ---------------------------------------------------------------- phase 3


@figure("11_tokenization", package="tinytorch.language")
def tokenization_figures() -> dict:
    from tinytorch.language.tokenizers import BPETokenizer, CharTokenizer

    data = os.environ.get("TINYTORCH_DATA")
    path = Path(data) / "tinyshakespeare" / "input.txt" if data else None
    if path is None or not path.is_file():
        return {"skipped": "tiny-shakespeare not found ($TINYTORCH_DATA/tinyshakespeare/"
                           "input.txt)"}
    text = path.read_text(encoding="utf-8")
    train, sample = text[:200_000], text[-20_000:]
    rows = []
    char = CharTokenizer().fit(text)
    rows.append(["characters", char.get_vocab_size(), f"{len(char.encode(sample)):,}",
                 f"{len(sample) / len(char.encode(sample)):.2f}"])
    for size in (512, 2048):
        bpe = BPETokenizer(vocab_size=size).fit(train)
        ids = bpe.encode(sample)
        rows.append(["byte-level BPE (trained on 200k characters)", bpe.get_vocab_size(),
                     f"{len(ids):,}", f"{len(sample) / len(ids):.2f}"])
    return {"tables": [table("The last 20,000 characters of tiny-shakespeare, tokenized",
                             ["tokenizer", "vocabulary", "tokens", "characters per token"],
                             rows, "Attention cost grows with the square of the token count.")]}


@figure("12_embeddings", package="tinytorch.language")
def embedding_figures() -> dict:
    from tinytorch.language import Embedding

    rows = []
    for label, vocab in (("characters (tiny-shakespeare)", 65), ("BPE 2,048", 2048),
                         ("GPT-2 BPE", 50257)):
        layer = Embedding(vocab, 128)
        rows.append([label, f"{vocab:,}", f"{layer.num_parameters():,}",
                     mib(layer.weight.array.nbytes)])
    return {"tables": [table("An embedding table of width d_model = 128 (float32)",
                             ["vocabulary", "rows", "parameters", "memory"], rows)]}


@figure("13_attention", package="tinytorch.language")
def attention_figures() -> dict:
    from tinytorch.core import Tensor
    from tinytorch.core.memory import activation_bytes
    from tinytorch.language.attention import scaled_dot_product_attention

    rows = []
    d = 64
    for length in (128, 256, 512, 1024):
        rng = np.random.default_rng(0)
        q, k, v = (Tensor(rng.standard_normal((1, 1, length, d)).astype(np.float32),
                          requires_grad=True) for _ in range(3))
        out = scaled_dot_product_attention(q, k, v)
        saved = activation_bytes(out.sum(), exclude=[q.array, k.array, v.array])
        rows.append([length, mib(length * d * 4), mib(saved),
                     f"{saved / (length * length * 4):.2f}"])
    return {"tables": [table(f"One attention head (d={d}, float32): memory saved for backward "
                             "grows with the square of the sequence length",
                             ["sequence length N", "Q (N x d)", "saved for backward",
                              "saved / (4 N^2 bytes)"], rows)]}


@figure("14_transformers", package="tinytorch.language")
def transformer_figures() -> dict:
    from tinytorch.core import Tensor, manual_seed
    from tinytorch.core.memory import activation_bytes
    from tinytorch.core.nn import Sequential
    from tinytorch.language.transformer import TransformerBlock

    batch, length, d, heads = 8, 128, 128, 4
    rows = []
    for layers in (1, 2, 4, 8):
        manual_seed(0)
        model = Sequential(*(TransformerBlock(d, heads) for _ in range(layers)))
        x = Tensor(np.random.default_rng(0).standard_normal((batch, length, d))
                   .astype(np.float32), requires_grad=True)
        saved = activation_bytes(model(x).sum(),
                                 exclude=[p.array for p in model.parameters()] + [x.array])
        weights = sum(p.array.nbytes for p in model.parameters())
        rows.append([layers, mib(weights), mib(saved), mib(saved // layers)])
    return {"tables": [table(f"Pre-norm TransformerBlocks (d={d}, {heads} heads, batch "
                             f"{batch}, N={length}, float32): what training keeps for backward",
                             ["layers", "weights", "saved for backward", "per layer"], rows,
                             "Saved activations grow linearly with depth and, at this size, "
                             "dwarf the weights.")]}


@figure("15_generation", package="tinytorch.language")
def generation_figures() -> dict:
    from tinytorch.language import KVCache

    rows = []
    for label, layers, heads, d, context in (("TinyGPT milestone (4 layers, d 128)", 4, 4, 128,
                                              64),
                                             ("GPT-2 small shape (12 layers, d 768)", 12, 12,
                                              768, 1024)):
        cache = KVCache(layers, 1, heads, context, d // heads)
        rows.append([label, context, mib(cache.nbytes)])
    return {"tables": [table("KV cache for one sequence at full context (float32, "
                             "allocated by tinytorch.language.KVCache)",
                             ["model", "context", "cache size"], rows)]}


# ---------------------------------------------------------------- phase 4


@figure("16_kernels", package="tinytorch.perf")
def kernel_figures() -> dict:
    from tinytorch.perf.kernels import matmul_blas, matmul_blocked, matmul_loops, matmul_rows

    n = 96
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    rows = []
    base = None
    for name, fn, repeat in (("matmul_loops (Python)", matmul_loops, 2),
                             ("matmul_rows (numpy per row)", matmul_rows, 5),
                             ("matmul_blocked (tiles)", matmul_blocked, 5),
                             ("matmul_blas (np @)", matmul_blas, 20)):
        seconds = best_time(lambda fn=fn: fn(a, b), repeat=repeat)
        base = base or seconds
        rows.append([name, f"{seconds * 1e3:.3f} ms", f"{2 * n**3 / seconds / 1e9:.3f}",
                     f"{base / seconds:,.0f}x"])
    tables = [table(f"One {n}x{n} float64 matmul, four implementations "
                    "(tinytorch.perf.kernels)", ["kernel", "time", "GFLOP/s", "speed-up"],
                    rows), gelu_ladder(), short_rows_ladder()]
    if importlib.util.find_spec("tinytorch.vision") is not None:
        tables += [relu_pool_ladder(), first_layer_columns_ladder(), conv_blocks_ladder(),
                   batch_norm_rows_ladder(), batch_norm_pool_ladder()]
    return {"tables": tables}


def _ladder(title: str, steps, note: str = "") -> dict:
    """Time each (name, fn) step (best of 7) and its speed-up over the first."""
    rows, base = [], None
    for name, fn in steps:
        seconds = best_time(fn, repeat=7)
        base = base or seconds
        rows.append([name, f"{seconds * 1e3:.2f} ms", f"{base / seconds:.2f}x"])
    return table(title, ["version", "forward + backward", "speed-up"], rows, note)


def gelu_ladder() -> dict:
    """Exact GELU, forward and backward, on milestone 04's FFN hidden activation."""
    from tinytorch.core import parallel
    from tinytorch.core.ops import gelu_derivative, gelu_with_derivative, normal_cdf
    from tinytorch.core.ops.pointwise import _A, _INV_SQRT_2, _INV_SQRT_2PI, _P

    rng = np.random.default_rng(0)
    h = rng.standard_normal((12 * 64, 512)).astype(np.float32)
    grad = rng.standard_normal(h.shape).astype(np.float32)
    f = np.float32

    def textbook():  # every formula one numpy expression: a temporary array per operation
        u = np.abs(h) * f(_INV_SQRT_2)
        t = 1 / (1 + f(_P) * u)
        poly = t * (f(_A[4]) + t * (f(_A[3]) + t * (f(_A[2]) + t * (f(_A[1]) + t * f(_A[0])))))
        cdf = 0.5 * (1 + np.sign(h) * (1 - poly * np.exp(-u * u)))
        value = h * cdf
        return value, grad * (cdf + h * np.exp(-0.5 * h * h) * f(_INV_SQRT_2PI))

    def keep_cdf():  # in place: forward keeps Phi, backward recomputes phi
        cdf = normal_cdf(h)
        return h * cdf, grad * gelu_derivative(h, cdf)

    def one_block():
        with parallel.configured(threads=1, block_bytes=1 << 60):
            return keep_cdf()

    def with_derivative():  # forward computes gelu' from the same exp; backward multiplies
        value, slope = gelu_with_derivative(h)
        return value, grad * slope

    steps = [("textbook expressions (a temporary per step)", textbook),
             ("in place, whole array (keep Phi, recompute phi)", one_block),
             ("in place, in cache-sized blocks", keep_cdf),
             ("gelu and gelu' from one exp (tinytorch.core)", with_derivative)]
    reference = textbook()
    worst = max(float(np.abs(a - b).max()) for _, fn in steps for a, b in zip(fn(), reference))
    assert worst < 1e-5, f"gelu_ladder: the versions disagree by {worst}"
    return _ladder(f"Exact GELU on milestone 04's FFN hidden layer ({h.shape[0]}x{h.shape[1]} "
                   "float32): forward, then backward's gradient", steps,
                   f"All four give the same values and gradients to {worst:.1e} (float32 "
                   "rounding), checked by this script.")


def short_rows_ladder() -> dict:
    """LayerNorm forward and backward on TinyGPT's (768, 128) rows: numpy's per-row loops."""
    from tinytorch.core import Tensor, nn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((12 * 64, 128)).astype(np.float32)
    grad = rng.standard_normal(x.shape).astype(np.float32)
    norm = nn.LayerNorm(128)
    w, eps = norm.weight.array, np.float32(norm.eps)

    def textbook():  # reductions along each short row, ufuncs broadcasting per-row numbers
        centered = x - x.mean(axis=1, keepdims=True)
        rstd = 1 / np.sqrt((centered * centered).mean(axis=1, keepdims=True) + eps)
        x_hat = centered * rstd
        g = grad * w
        dx = rstd * (g - g.mean(axis=1, keepdims=True)
                     - x_hat * (g * x_hat).mean(axis=1, keepdims=True))
        return x_hat * w + norm.bias.array, dx, (grad * x_hat).sum(axis=0), grad.sum(axis=0)

    def library():  # row sums as rows @ ones (BLAS), broadcasts as einsum
        t = Tensor(x, requires_grad=True)
        norm.zero_grad()
        out = norm(t)
        out.backward(Tensor(grad))
        return out.array, t.grad.array, norm.weight.grad.array, norm.bias.grad.array

    worst = max(float(np.abs(a - b).max()) for a, b in zip(textbook(), library()))
    assert worst < 1e-4, f"short_rows_ladder: the versions disagree by {worst}"
    return _ladder(f"LayerNorm on TinyGPT's {x.shape[0]}x{x.shape[1]} float32 activations: "
                   "forward, then backward (input, weight and bias gradients)",
                   [("sum along rows, broadcasting ufuncs (textbook numpy)", textbook),
                    ("rows @ ones and einsum (tinytorch.core's LayerNorm, with autograd)",
                     library)],
                   f"Rows of 128 numbers: numpy runs one short inner loop per row, and its "
                   f"overhead costs as much as the arithmetic. Same results to {worst:.1e}, "
                   "checked by this script.")


def relu_pool_ladder() -> dict:
    """ReLU then 2x2 max pool vs pool then ReLU, with autograd, on milestone 03's first stage."""
    from tinytorch.core import Tensor
    from tinytorch.vision import nn as vnn

    x = np.random.default_rng(0).standard_normal((128, 32, 32, 32)).astype(np.float32)
    pool = vnn.MaxPool2d(2)

    def run(relu_first: bool):
        def step():
            t = Tensor(x, requires_grad=True)
            out = pool(t.relu()) if relu_first else pool(t).relu()
            out.sum().backward()
            return out.array, t.grad.array
        return step

    same = all(np.array_equal(a, b) for a, b in zip(run(True)(), run(False)()))
    assert same, "relu_pool_ladder: the two orders disagree"
    return _ladder("ReLU and 2x2 max pool on milestone 03's first stage (batch 128, 32 "
                   "channels, 32x32): the same function in two orders",
                   [("ReLU, then pool (textbook order)", run(True)),
                    ("pool, then ReLU (the order of build_cnn's stages)", run(False))],
                   "max(relu(a), relu(b)) = relu(max(a, b)): pooled first, the ReLU sees "
                   "4x fewer numbers. Outputs and gradients are bitwise equal (checked by "
                   "this script).")


def first_layer_columns_ladder() -> dict:
    """Milestone 03's first conv layer on NCHW images, with each of the two column layouts."""
    from tinytorch.core import Tensor
    from tinytorch.vision import functional as VF
    from tinytorch.vision.ops import conv as conv_op

    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 3, 32, 32)).astype(np.float32)
    w = (rng.standard_normal((32, 3, 3, 3)) * 0.2).astype(np.float32)

    def run(channel_major: bool):
        def step():  # images need no gradient: forward and the weight gradient
            saved, conv_op.CHANNEL_MAJOR = conv_op.CHANNEL_MAJOR, channel_major
            try:
                wt = Tensor(w, requires_grad=True)
                out = VF.conv2d(Tensor(x), wt, padding=1)
                out.sum().backward()
                return out.array, wt.grad.array
            finally:
                conv_op.CHANNEL_MAJOR = saved
        return step

    worst = max(float(np.abs(a - b).max() / np.abs(b).max())
                for a, b in zip(run(True)(), run(False)()))
    assert worst < 1e-5, f"first_layer_columns_ladder: the two disagree by {worst}"
    return _ladder("Milestone 03's first convolution (batch 128, 3 -> 32 channels, 32x32, 3x3, "
                   "NCHW images): forward, then the weight gradient",
                   [("pixel-major columns: NHWC copy, then runs of kw*C = 9 numbers",
                     run(False)),
                    ("channel-major columns: runs of a 32-pixel row (tinytorch.vision)",
                     run(True))],
                   f"Same output and weight gradient to {worst:.1e} of their largest value, "
                   "checked by this script.")


def conv_blocks_ladder() -> dict:
    """Milestone 03's second conv layer, forward and backward, in one block or in blocks."""
    from tinytorch.core import Tensor, parallel
    from tinytorch.vision import functional as VF

    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 32, 16, 16)).astype(np.float32)
    w = (rng.standard_normal((64, 32, 3, 3)) * 0.05).astype(np.float32)

    def blocked():
        xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
        VF.conv2d(xt, wt, padding=1).sum().backward()
        return xt.grad.array, wt.grad.array

    def whole_batch():
        with parallel.configured(block_bytes=1 << 60):
            return blocked()

    worst = max(float(np.abs(a - b).max() / np.abs(b).max())
                for a, b in zip(blocked(), whole_batch()))
    assert worst < 1e-5, f"conv_blocks_ladder: the two disagree by {worst}"
    return _ladder("Milestone 03's second convolution (batch 128, 32 -> 64 channels, 16x16, "
                   "3x3): forward, then the input and weight gradients",
                   [("the whole batch as one block (38 MB of columns and of their gradient)",
                     whole_batch),
                    ("blocks of images, ~2 MB of columns each (tinytorch.vision)", blocked)],
                   "Each block's columns are still in cache for its products, and no "
                   "temporary passes glibc's 32 MB limit for memory it keeps for reuse "
                   "(tinytorch.core.allocator). "
                   f"Same gradients to {worst:.1e} of their largest value (the weight "
                   "gradient adds one partial sum per block), checked by this script.")


def batch_norm_rows_ladder() -> dict:
    """Batch norm forward and backward on milestone 03's first stage: 32-number rows."""
    from tinytorch.core import Tensor
    from tinytorch.vision import nn as vnn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 32, 32, 32)).astype(np.float32)
    grad = rng.standard_normal(x.shape).astype(np.float32)
    norm = vnn.BatchNorm2d(32)
    rows, g_rows = (np.ascontiguousarray(a.transpose(0, 2, 3, 1)).reshape(-1, 32)
                    for a in (x, grad))
    x, grad = (a.reshape(128, 32, 32, 32).transpose(0, 3, 1, 2) for a in (rows, g_rows))
    eps = np.float32(norm.eps)

    def textbook():  # the (pixels, 32) matrix: every broadcast runs 32-number inner loops
        mean = rows.mean(axis=0)
        centered = rows - mean
        rstd = 1 / np.sqrt((centered * centered).mean(axis=0) + eps)
        x_hat = centered * rstd
        dx = rstd * (g_rows - g_rows.mean(axis=0) - x_hat * (g_rows * x_hat).mean(axis=0))
        return x_hat, dx

    def library():  # the same memory seen as rows of 1,024 numbers (ops/batchnorm.py)
        t = Tensor(x, requires_grad=True)
        out = norm(t)
        out.backward(Tensor(grad))
        return out.array, t.grad.array  # (N, C, H, W) views of channels-last memory

    def as_rows(a):  # free: the memory is already (pixels, channels)
        return a.transpose(0, 2, 3, 1).reshape(-1, 32)

    worst = max(float(np.abs(a - as_rows(b)).max()) for a, b in zip(textbook(), library()))
    assert worst < 1e-4, f"batch_norm_rows_ladder: the versions disagree by {worst}"
    return _ladder("Batch norm on milestone 03's first stage (batch 128, 32 channels, 32x32, "
                   "channels-last): forward, then the input gradient",
                   [("(pixels, 32) rows, broadcasting ufuncs (textbook numpy)", textbook),
                    ("rows widened to 1,024 numbers, blocked (tinytorch.vision)", library)],
                   "Per-channel vectors broadcast over 32-number rows give numpy one short "
                   "inner loop per pixel; viewing the same memory as (pixels/32, 32*32) with "
                   "the vectors tiled 32 times makes the loops 32x longer. Same results to "
                   f"{worst:.1e}, checked by this script.")


def batch_norm_pool_ladder() -> dict:
    """Batch norm -> 2x2 max pool -> ReLU on milestone 03's first stage: three layers, or
    one fused op that pools first and normalises a quarter of the numbers."""
    from tinytorch.core import Tensor, nn
    from tinytorch.vision import nn as vnn

    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 32, 32, 32)).astype(np.float32)
    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # a conv's NHWC
    layers = [vnn.BatchNorm2d(32), vnn.MaxPool2d(2), nn.ReLU()]
    layers[0].weight.array[:] = rng.uniform(0.5, 1.5, 32)  # positive, as trained ones mostly are

    def run(container):
        model = container(*layers)

        def step():
            t = Tensor(x, requires_grad=True)
            model.zero_grad()
            out = model(t)
            (out * out).sum().backward()
            return out.array, t.grad.array, layers[0].weight.grad.array
        return step

    unfused, fused = run(nn.Sequential)(), run(vnn.FusedSequential)()
    assert np.array_equal(unfused[0], fused[0]), "batch_norm_pool_ladder: outputs differ"
    worst = max(float(np.abs(a - b).max() / np.abs(a).max())
                for a, b in zip(unfused[1:], fused[1:]))
    assert worst < 1e-4, f"batch_norm_pool_ladder: the gradients disagree by {worst}"
    return _ladder("Batch norm, 2x2 max pool and ReLU on milestone 03's first stage (batch "
                   "128, 32 channels, 32x32): forward, then the input and weight gradients",
                   [("three layers (nn.Sequential)", run(nn.Sequential)),
                    ("one fused op: pool the raw input, normalise the winners "
                     "(tinytorch.vision FusedSequential)", run(vnn.FusedSequential))],
                   "For scale >= 0 batch norm's affine map keeps the order of values, so the "
                   "window's winner is the same before and after it (a channel with scale "
                   "< 0 is pooled as -x: one more pass, not timed here). The statistics and "
                   "the input gradient still cover every pixel, but the normalised "
                   "full-size output is never written and both channel sums "
                   "of the backward run over the pooled numbers. Outputs "
                   f"bitwise equal, gradients to {worst:.1e} of their largest value, checked "
                   "by this script.")


@figure("17_benchmarking", package="tinytorch.perf")
def benchmarking_figures() -> dict:
    from tinytorch.perf.hardware import measure_ceilings
    from tinytorch.perf.roofline import RooflineModel

    ceilings = measure_ceilings(quick=False)
    bandwidth = max(ceilings.bandwidth_gbs.values())
    model = RooflineModel(ceilings.peak_gflops["float32"], bandwidth)
    rows = [["float32 matmul peak", f"{ceilings.peak_gflops['float32']:.1f} GFLOP/s"],
            ["float64 matmul peak", f"{ceilings.peak_gflops['float64']:.1f} GFLOP/s"],
            ["memory bandwidth (best stream kernel)", f"{bandwidth:.1f} GB/s"],
            ["ridge point (float32)", f"{model.ridge_point:.1f} FLOP/byte"]]
    ops = [["elementwise add (float32)", 1 / 12],
           ["Linear(784, 128), batch 64", 2 * 64 * 784 * 128 / (4 * (64 * 784 + 784 * 128
                                                                   + 64 * 128))],
           ["1024^2 matmul (float32)", 2 * 1024**3 / (4 * 3 * 1024**2)]]
    op_rows = [[name, f"{intensity:.2f}", f"{model.attainable_gflops(intensity):.1f}",
                model.classify(intensity)] for name, intensity in ops]
    return {"tables": [
        table("This machine's ceilings (tinytorch.perf.hardware.measure_ceilings)",
              ["ceiling", "value"], rows),
        table("Where three operations sit on its roofline (tinytorch.perf.roofline)",
              ["operation", "FLOP/byte", "attainable GFLOP/s", "bound"], op_rows)]}


@figure("18_mlops", package="tinytorch.mlops")
def mlops_figures() -> dict:
    from tinytorch.mlops.compression.quantization import (
        dequantize_per_channel,
        quantize_per_channel,
    )

    rows = []
    rng = np.random.default_rng(0)
    for shape in ((128, 784), (1024, 1024), (256, 128, 3, 3)):
        w = (rng.standard_normal(shape) * 0.05).astype(np.float32)
        q, scale = quantize_per_channel(w)
        error = np.abs(dequantize_per_channel(q, scale) - w)
        stored = q.nbytes + scale.nbytes
        rows.append([str(shape), mib(w.nbytes), mib(stored), f"{w.nbytes / stored:.2f}x",
                     f"{float(error.max() / np.abs(w).max()):.4f}"])
    return {"tables": [table("Per-channel int8 weights (tinytorch.mlops quantize_per_channel)",
                             ["weight shape", "float32", "int8 + scales", "smaller by",
                              "max error / max |w|"], rows)]}


# ---------------------------------------------------------------- milestones


def time_milestones(numbers: list[str], full: list[str]) -> dict:
    """Run milestones/NN_*.py (--quick unless listed in `full`) and record wall times."""
    import subprocess

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in sorted((ROOT / "packages").glob(
        "*/src")))
    rows = []
    for number in numbers:
        script = next((ROOT / "milestones").glob(f"{number}_*.py"), None)
        if script is None:
            rows.append([number, "-", "-", "no such milestone", "-"])
            continue
        mode = [] if number in full else ["--quick"]
        start = time.perf_counter()
        run = subprocess.run([sys.executable, str(script), *mode], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        status = "passed" if run.returncode == 0 else f"failed (exit code {run.returncode})"
        rows.append([script.stem, "full" if number in full else "--quick",
                     f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s",
                     status, str(round(os.getloadavg()[0], 1))])
        print(f"milestone {script.stem} {' '.join(mode)}: {seconds:.0f} s, {status}")
    return {"tables": [table("Milestone wall times on this machine",
                             ["milestone", "mode", "wall time", "result",
                              "load average after"], rows,
                             "Quick modes are the CI smoke runs; the full runs are bounded by "
                             "the budgets their scripts enforce (see the table below).")]}


# ---------------------------------------------------------------- pages


def render_block(entry: dict) -> str:
    if "skipped" in entry:
        return f"_Not measured: {entry['skipped']}._\n"
    parts = [f"_{entry['stale']}_"] if entry.get("stale") else []
    for t in entry["tables"]:
        lines = [f"**{t['title']}**", "", "| " + " | ".join(t["columns"]) + " |",
                 "|" + "|".join("---" for _ in t["columns"]) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in t["rows"]]
        if t.get("note"):
            lines += ["", t["note"]]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


BLOCK = re.compile(r"(<!-- figures: (\S+) -->\n)(.*?)(<!-- /figures -->)", re.S)


def machine_line(machine: dict) -> str:
    load = machine.get("load_average")
    busy = f", load average {load} while measuring" if load is not None else ""
    kernel = f" (BLAS kernel {machine['blas_kernel']})" if machine.get("blas_kernel") else ""
    return (f"_Measured by `python curriculum/measure_figures.py` on {machine['cpu']} "
            f"({machine['cores']} cores{busy}), numpy {machine['numpy']}{kernel}, "
            f"{machine['measured']}._\n\n")


def render_pages(figures: dict) -> list[Path]:
    changed = []
    for page in [*sorted(PAGES.glob("*.md")), *sorted(HERE.glob("*_GUIDE.md"))]:
        text = page.read_text(encoding="utf-8")

        def fill(match):
            key = match.group(2)
            entry = figures["figures"].get(key, {"skipped": f"no figures named {key}"})
            body = machine_line(entry.get("machine") or figures["machine"]) + \
                render_block(entry)
            return match.group(1) + body + match.group(4)

        new = BLOCK.sub(fill, text)
        if new != text:
            atomic_write_text(page, new)
            changed.append(page)
    return changed


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from tinytorch.core.cli.info import blas_info

    blas = blas_info()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform(),
            "blas_kernel": f"{blas['kernel']}, {blas['kernel_source']}",
            "measured": time.strftime("%Y-%m-%d"),
            "load_average": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None}


def record(figures: dict, key: str, result: dict, now: dict) -> None:
    """Store a measurement. One that could not be made (missing data or package) keeps the
    last measured table, with a note saying why it was not re-measured."""
    previous = figures["figures"].get(key, {})
    if "skipped" in result and "tables" in previous:
        previous["stale"] = (f"Not re-measured on {now['measured']}: {result['skipped']}; "
                             "the table below is the last measurement.")
        return
    result["machine"] = now
    figures["figures"][key] = result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render", action="store_true",
                        help="do not measure: re-render the pages from figures.json")
    parser.add_argument("--only", nargs="*", help="measure only these figure keys")
    parser.add_argument("--milestones", nargs="*", metavar="NN",
                        help="also run these milestones (quick mode) and record wall times")
    parser.add_argument("--full", nargs="*", default=[], metavar="NN",
                        help="milestones among --milestones to run in full mode")
    args = parser.parse_args(argv)
    if args.render:
        figures = json.loads(FIGURES_JSON.read_text(encoding="utf-8"))
    else:
        # figures not measured in this run (e.g. milestone times) keep their last values
        figures = json.loads(FIGURES_JSON.read_text()) if FIGURES_JSON.exists() \
            else {"figures": {}}
        # each figure carries the machine it was measured on: a partial run (--only, a
        # figure that cannot be measured) relabels only what it measured
        for entry in figures["figures"].values():
            if "tables" in entry and figures.get("machine"):
                entry.setdefault("machine", figures["machine"])
        now = figures["machine"] = machine()
        figures["command"] = "python curriculum/measure_figures.py"
        for key, (package, fn) in FIGURES.items():
            if args.only is not None and key not in args.only:
                continue
            start = time.perf_counter()
            try:
                __import__(package)
            except ImportError as exc:
                record(figures, key, {"skipped": f"{package} is not installed ({exc})"}, now)
                print(f"{key}: skipped ({package} missing)")
                continue
            record(figures, key, fn(), now)
            print(f"{key}: measured in {time.perf_counter() - start:.1f} s")
        if args.milestones:
            record(figures, "milestones", time_milestones(args.milestones, args.full), now)
        atomic_write_text(FIGURES_JSON, json.dumps(figures, indent=2) + "\n")
    for page in render_pages(figures):
        print(f"updated {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
