"""TinyGPT training and generation throughput: TinyTorch vs PyTorch CPU on the same work.

    python benchmarks/bench_language.py [--quick] [--json] [--repeats N] [--strict]

Training: milestone 04's model and recipe (nanoGPT's CPU Shakespeare setup): vocabulary
65, 4 layers, 4 heads, d_model 128, context 64, batch 12, no biases, tied embeddings; one
step = forward, cross-entropy over all 768 positions, backward, AdamW step (milestone 04's
settings: lr 1e-3, betas 0.9/0.99, no weight decay, no clipping), zero_grad. Two PyTorch
programs do the same work from TinyTorch's weights (the first losses are checked to agree):

- "PyTorch nanoGPT-style", the program a user would write: nanoGPT's model file (one fused
  qkv Linear, `F.scaled_dot_product_attention(is_causal=True)`, GELU MLP, pre-norm
  LayerNorm without bias, tied head). Target: TinyTorch >= 1.0x its tokens/s.
- "PyTorch TransformerEncoderLayer", assembled from torch's generic encoder layer with a
  float mask: a weaker baseline (about half as fast), shown but never used for a target.

All get the same number of BLAS threads and are timed in one interleaved run.

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
    torch_training_step,
    training_cases,
    training_step,
)

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import optim
from tinytorch.language import TinyGPT, generate
from tinytorch.language.milestones.tinygpt import RECIPE

VOCAB, D_MODEL, HEADS, LAYERS, CONTEXT, BATCH = 65, 128, 4, 4, 64, 12
TARGET_RATIO = 1.0  # against the nanoGPT-style model
PROMPT, NEW_TOKENS, GEN_CONTEXT = 16, 256, 320
NANOGPT, ENCODER = "train PyTorch nanoGPT-style", "train PyTorch TransformerEncoderLayer"


def tinytorch_training(ids: np.ndarray, targets: np.ndarray):
    tt.manual_seed(0)
    model = TinyGPT(VOCAB, D_MODEL, HEADS, LAYERS, CONTEXT, bias=False)
    opt = optim.AdamW(model.parameters(), lr=RECIPE["lr"], betas=RECIPE["betas"],
                      weight_decay=RECIPE["weight_decay"])
    return model, training_step(
        model, opt, ids, targets,
        lambda out, y: F.cross_entropy(out.reshape(-1, VOCAB), y.reshape(-1)))


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
    state = {name: torch.from_numpy(t.numpy().copy()) for name, t in tt_model.state_dict().items()}
    model.load_state_dict(state, strict=False)
    return model


def nanogpt_style(torch, tt_model):
    """nanoGPT's model file (model.py, in its CPU Shakespeare configuration), written the way
    a PyTorch user writes it, starting from `tt_model`'s weights."""
    nn, F = torch.nn, torch.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(D_MODEL, 3 * D_MODEL, bias=False)  # q, k, v in one matmul
            self.c_proj = nn.Linear(D_MODEL, D_MODEL, bias=False)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(x).split(D_MODEL, dim=2)
            q, k, v = (t.view(B, T, HEADS, C // HEADS).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(D_MODEL, 4 * D_MODEL, bias=False)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * D_MODEL, D_MODEL, bias=False)

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = nn.LayerNorm(D_MODEL, bias=False), CausalSelfAttention()
            self.ln_2, self.mlp = nn.LayerNorm(D_MODEL, bias=False), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(VOCAB, D_MODEL), nn.Embedding(CONTEXT, D_MODEL)
            self.h = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.ln_f = nn.LayerNorm(D_MODEL, bias=False)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)
            self.wte.weight = self.lm_head.weight  # weight tying

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    model = GPT()
    model.load_state_dict(nanogpt_state(torch, tt_model))
    return model


def nanogpt_state(torch, tt_model) -> dict:
    """TinyGPT's state_dict under nanoGPT's names (same layouts: TinyGPT's in_proj rows are
    q, k, v in the order nanoGPT's c_attn splits them)."""
    renames = {"token_embedding": "wte", "position_embedding": "wpe", "blocks": "h",
               "self_attn.in_proj_weight": "attn.c_attn.weight",
               "self_attn.out_proj": "attn.c_proj", "linear1": "mlp.c_fc",
               "linear2": "mlp.c_proj", "norm1": "ln_1", "norm2": "ln_2"}
    state = {}
    for name, tensor in tt_model.state_dict().items():
        for old, new in renames.items():
            name = name.replace(old, new)
        state[name] = torch.from_numpy(tensor.numpy().copy())
    return state


def torch_training(torch, model, ids: np.ndarray, targets: np.ndarray):
    """The training step of milestone 04's recipe for a PyTorch `model`."""
    return torch_training_step(
        torch, model,
        lambda params: torch.optim.AdamW(params, lr=RECIPE["lr"], betas=RECIPE["betas"],
                                         weight_decay=RECIPE["weight_decay"]),
        ids, targets,
        loss=lambda out, y: torch.nn.functional.cross_entropy(out.reshape(-1, VOCAB),
                                                              y.reshape(-1)))


def generation_cases():
    tt.manual_seed(0)
    model = TinyGPT(VOCAB, D_MODEL, HEADS, LAYERS, GEN_CONTEXT, bias=False)
    prompt = np.random.default_rng(1).integers(0, VOCAB, PROMPT)
    cached = generate(model, prompt, NEW_TOKENS, temperature=0)
    uncached = generate(model, prompt, NEW_TOKENS, temperature=0, use_cache=False)
    same = bool(np.array_equal(cached.numpy(), uncached.numpy()))
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
        "bench_language", tt_step,
        lambda torch: torch_training(torch, nanogpt_style(torch, tt_model), ids, targets),
        names=("train TinyTorch", NANOGPT))
    if NANOGPT in cases:  # the weaker baseline, checked to do the same work as well
        import torch

        encoder_step = torch_training(torch, torch_gpt(torch, tt_model), ids, targets)
        first = (encoder_step().item(), cases[NANOGPT]().item())  # both after one step
        notes.append(f"{ENCODER}: second-step loss {first[0]:.5f} vs nanoGPT-style "
                     f"{first[1]:.5f} (same weights, same updates)")
        cases[ENCODER] = encoder_step
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
    report.checks.append(ratio_check("TinyTorch / PyTorch nanoGPT-style training tokens/s",
                                     train, "train TinyTorch", NANOGPT, TARGET_RATIO))
    if ENCODER in train:
        ratio = train[ENCODER].median / train["train TinyTorch"].median
        report.checks.append(Check("TinyTorch / PyTorch TransformerEncoderLayer (weaker "
                                   "baseline, no target)", "reported", f"{ratio:.2f}x", None))
    speedup = gen["generate, no cache"].median / gen["generate, KV cache"].median
    report.checks.append(Check(f"KV-cache speedup, {NEW_TOKENS} new tokens",
                               "> 1x, same tokens", f"{speedup:.1f}x, same: {same}",
                               speedup > 1 and same))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
