"""TinyGPT training and generation throughput: TinyTorch vs PyTorch CPU on the same work.

    python benchmarks/bench_language.py [--quick] [--json] [--repeats N] [--strict]

Training: the reference configuration of milestone 04 (nanoGPT's CPU Shakespeare setup):
vocabulary 65, 4 layers, 4 heads, d_model 128, context 64, batch 12, no biases, tied
embeddings. One step = forward, cross-entropy over all 768 positions, backward, gradient
clipping at 1.0, AdamW step, zero_grad. The PyTorch model is assembled from torch's own
modules (Embedding, TransformerEncoderLayer(norm_first=True, activation="gelu"), LayerNorm,
tied Linear) and starts from TinyTorch's weights; the first losses are checked to agree.
Both get the same number of BLAS threads and are timed in one interleaved run. Target:
TinyTorch trains at least 0.5x PyTorch's tokens/s.

Generation: 256 new tokens, greedy, from a 16-token prompt, with a model of the same
width whose context (320) holds prompt + output, so the cache never has to be rebuilt.
Without the cache every step re-runs the whole context (O(N^2) token-forwards in total);
with it every step runs one token (O(N)).

Systems lesson: at d_model 128 a step is ~3.7 GFLOP of matmuls split into ~60 small ops,
so both libraries are bound as much by per-op overhead as by BLAS throughput.
"""

from __future__ import annotations

import sys

import numpy as np
from harness import (
    Check,
    Report,
    Row,
    emit,
    interleaved,
    match_torch_threads,
    parse_args,
    torch_or_none,
)

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import optim
from tinytorch.core.nn.utils import clip_grad_norm_
from tinytorch.language import TinyGPT, generate

VOCAB, D_MODEL, HEADS, LAYERS, CONTEXT, BATCH = 65, 128, 4, 4, 64, 12
TARGET_RATIO = 0.5
PROMPT, NEW_TOKENS, GEN_CONTEXT = 16, 256, 320


def tinytorch_training(ids: np.ndarray, targets: np.ndarray):
    tt.manual_seed(0)
    model = TinyGPT(VOCAB, D_MODEL, HEADS, LAYERS, CONTEXT, bias=False)
    opt = optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)

    def step():
        loss = F.cross_entropy(model(ids).reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        return loss

    return model, step


def torch_training(torch, tt_model, ids: np.ndarray, targets: np.ndarray):
    nn = torch.nn

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding = nn.Embedding(VOCAB, D_MODEL)
            self.position_embedding = nn.Embedding(CONTEXT, D_MODEL)
            self.blocks = nn.ModuleList([
                nn.TransformerEncoderLayer(D_MODEL, HEADS, 4 * D_MODEL, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=True, bias=False)
                for _ in range(LAYERS)])
            self.ln_f = nn.LayerNorm(D_MODEL, bias=False)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)
            self.lm_head.weight = self.token_embedding.weight
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(CONTEXT))

        def forward(self, x):
            h = self.token_embedding(x) + self.position_embedding.weight[:x.shape[1]]
            for block in self.blocks:
                h = block(h, src_mask=self.mask, is_causal=True)
            return self.lm_head(self.ln_f(h))

    model = TorchGPT()
    state = {name: torch.from_numpy(t.data.copy()) for name, t in tt_model.state_dict().items()}
    model.load_state_dict(state, strict=False)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    x, y = torch.from_numpy(ids), torch.from_numpy(targets)

    def step():
        loss = nn.functional.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        return loss

    return step


def generation_cases():
    tt.manual_seed(0)
    model = TinyGPT(VOCAB, D_MODEL, HEADS, LAYERS, GEN_CONTEXT, bias=False)
    prompt = np.random.default_rng(1).integers(0, VOCAB, PROMPT)
    cached = generate(model, prompt, NEW_TOKENS, temperature=0)
    uncached = generate(model, prompt, NEW_TOKENS, temperature=0, use_cache=False)
    same = bool(np.array_equal(cached.data, uncached.data))
    return {
        "generate, KV cache": lambda: generate(model, prompt, NEW_TOKENS, temperature=0),
        "generate, no cache": lambda: generate(model, prompt, NEW_TOKENS, temperature=0,
                                               use_cache=False),
    }, same


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, VOCAB, (BATCH, CONTEXT))
    targets = rng.integers(0, VOCAB, (BATCH, CONTEXT))
    tokens = BATCH * CONTEXT

    tt_model, tt_step = tinytorch_training(ids, targets)
    cases = {"train TinyTorch": tt_step}
    notes = []
    torch = torch_or_none()
    if torch is None:
        notes.append("PyTorch is not installed: TinyTorch measured alone")
    else:
        notes.append(match_torch_threads(torch))
        torch_step = torch_training(torch, tt_model, ids, targets)
        first_tt, first_torch = tt_step().item(), torch_step().item()
        if abs(first_tt - first_torch) > 1e-4 * max(1.0, abs(first_torch)):
            raise RuntimeError(f"bench_language: first losses differ (TinyTorch {first_tt:.6f}, "
                               f"PyTorch {first_torch:.6f}); the two would not do the same work")
        notes.append(f"same weights and data: first-step loss {first_tt:.5f} (TinyTorch) vs "
                     f"{first_torch:.5f} (PyTorch)")
        cases["train PyTorch"] = torch_step
    block = 0.05 if args.quick else 0.5
    train = interleaved(cases, repeats=args.repeats, warmup=args.warmup, min_block_seconds=block)
    gen_cases, same = generation_cases()
    gen = interleaved(gen_cases, repeats=1 if args.quick else 3, warmup=1, min_block_seconds=0)
    notes.append(f"greedy output with and without the cache identical: {same}")

    rows = []
    for name, timing in train.items():
        low, high = timing.spread
        rows.append(Row(name, tokens / timing.median, tokens / high, tokens / low, "tokens/s",
                        f"{timing.median * 1e3:.1f} ms/step (batch {BATCH} x {CONTEXT})"))
    for name, timing in gen.items():
        low, high = timing.spread
        rows.append(Row(name, NEW_TOKENS / timing.median, NEW_TOKENS / high, NEW_TOKENS / low,
                        "tokens/s", f"{NEW_TOKENS} new tokens in {timing.median:.2f} s"))
    report = Report("language", "TinyGPT (4 layers, d_model 128): training and generation",
                    config={"repeats": args.repeats, "warmup steps": args.warmup,
                            "training tokens per step": tokens,
                            "generation": f"prompt {PROMPT}, {NEW_TOKENS} new, greedy, "
                                          f"context {GEN_CONTEXT}"},
                    rows=rows, notes=notes)
    if "train PyTorch" in train:
        ratio = train["train PyTorch"].median / train["train TinyTorch"].median
        report.checks.append(Check("TinyTorch / PyTorch training tokens/s",
                                   f">= {TARGET_RATIO}x", f"{ratio:.2f}x", ratio >= TARGET_RATIO))
    else:
        report.checks.append(Check("TinyTorch / PyTorch training tokens/s",
                                   f">= {TARGET_RATIO}x", "n/a", None))
    speedup = gen["generate, no cache"].median / gen["generate, KV cache"].median
    report.checks.append(Check(f"KV-cache speedup, {NEW_TOKENS} new tokens",
                               "> 1x, same tokens", f"{speedup:.1f}x, same: {same}",
                               speedup > 1 and same))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
