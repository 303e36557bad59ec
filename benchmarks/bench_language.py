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
    emit,
    interleaved,
    parse_args,
    ratio_check,
    throughput_rows,
    training_cases,
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


def torch_gpt(torch, tt_model):
    """The same TinyGPT assembled from torch's own modules, starting from `tt_model`'s weights."""
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
            T = x.shape[1]
            h = self.token_embedding(x) + self.position_embedding.weight[:T]
            for block in self.blocks:
                h = block(h, src_mask=self.mask[:T, :T], is_causal=True)
            return self.lm_head(self.ln_f(h))

    model = TorchGPT()
    state = {name: torch.from_numpy(t.array.copy()) for name, t in tt_model.state_dict().items()}
    model.load_state_dict(state, strict=False)
    return model


def torch_training(torch, tt_model, ids: np.ndarray, targets: np.ndarray):
    nn = torch.nn
    model = torch_gpt(torch, tt_model)
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
    same = bool(np.array_equal(cached.array, uncached.array))
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
    cases, notes = training_cases(
        "bench_language", tt_step, lambda torch: torch_training(torch, tt_model, ids, targets),
        names=("train TinyTorch", "train PyTorch"))
    block = 0.05 if args.quick else 0.5
    train = interleaved(cases, repeats=args.repeats, warmup=args.warmup, min_block_seconds=block)
    gen_cases, same = generation_cases()
    gen = interleaved(gen_cases, repeats=1 if args.quick else 3, warmup=1, min_block_seconds=0)
    notes.append(f"greedy output with and without the cache identical: {same}")

    rows = throughput_rows(train, tokens, "tokens/s", lambda t: f"{t.median * 1e3:.1f} ms/step "
                                                               f"(batch {BATCH} x {CONTEXT})")
    rows += throughput_rows(gen, NEW_TOKENS, "tokens/s",
                            lambda t: f"{NEW_TOKENS} new tokens in {t.median:.2f} s")
    report = Report("language", "TinyGPT (4 layers, d_model 128): training and generation",
                    config={"repeats": args.repeats, "warmup steps": args.warmup,
                            "training tokens per step": tokens,
                            "generation": f"prompt {PROMPT}, {NEW_TOKENS} new, greedy, "
                                          f"context {GEN_CONTEXT}"},
                    rows=rows, notes=notes)
    report.checks.append(ratio_check("TinyTorch / PyTorch training tokens/s", train,
                                     "train TinyTorch", "train PyTorch", TARGET_RATIO))
    speedup = gen["generate, no cache"].median / gen["generate, KV cache"].median
    report.checks.append(Check(f"KV-cache speedup, {NEW_TOKENS} new tokens",
                               "> 1x, same tokens", f"{speedup:.1f}x, same: {same}",
                               speedup > 1 and same))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
