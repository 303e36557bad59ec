"""TinyGPT on Shakespeare: a character-level transformer trained from scratch on 2 CPU cores.

    tito milestones run tinygpt [--quick] [--no-download] [--output DIR] [--seed 0]

(`python -m tinytorch.language.milestones.tinygpt ...` and, in a checkout,
`python milestones/04_tinygpt.py ...` run the same module.)

The reference is nanoGPT's character-level Shakespeare example in its CPU configuration
(`train.py config/train_shakespeare_char.py --device=cpu --block_size=64 --batch_size=12
--n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0`),
for which nanoGPT reports a validation loss of 1.88. Same data, same model, the same recipe
but for three knobs the issue leaves free:

- tiny-shakespeare (1,115,394 characters) from <data root>/tinyshakespeare/input.txt
  (data root: $TINYTORCH_DATA, else the user cache; a full run that does not find it
  downloads it from its public URL, 1.1 MB, sha256-checked, unless --no-download); a
  65-character vocabulary; the first 90% of characters train, the last 10% validate;
- TinyGPT: 4 layers, 4 heads, d_model 128, context 64, no biases, tied input/output
  embedding, dropout 0 (0.80M parameters);
- 2,000 steps of batch 12 random windows; AdamW (lr 1e-3, betas 0.9/0.99), 100 warmup
  steps then cosine decay;
- no gradient clipping, no weight decay and cosine decay to 3e-4, where nanoGPT clips at
  1.0, decays matrices by 0.1 and decays the learning rate to 1e-4. Why: nanoGPT's exact
  recipe, trained in PyTorch and in TinyTorch from the same weights on the same batches,
  ends at a full-set validation loss of 1.891 +- 0.0014 (seeds 0-2, identical to 4
  decimals in both libraries: `python benchmarks/reference_tinygpt.py`); its 1.88 is a
  20-batch estimate. The changes were chosen on the last 10% of the *training* text
  (`reference_tinygpt.py --tune`, two rounds): -0.025 nats there. The validation split
  was used once per round to score the chosen recipe, never to compare variants.

Claims: validation loss (mean cross-entropy over every validation character, in nats,
read once after training) at most 1.88, reached within 15 minutes of wall time. The loss
curve's per-epoch validation points read 256 evenly spaced windows (16,384 characters);
the last one is printed beside the full-set loss. Then a 500-character sample is
printed, and the model (weights .npz + JSON config + tokenizer) is saved to the printed
directory (--output; default <user cache>/models/tinygpt-shakespeare) for later phases,
with report.png/.svg beside it (loss curves; one attention map per layer over the first
48 validation characters) and history.csv.

Also printed, for comparison with the reference's own number: the loss estimated the way
nanoGPT's `estimate_loss` does it (20 batches of 12 random validation windows), which is
noisier than the full-validation loss the claim uses.

BLAS threads: numpy's BLAS starts one thread per CPU. On a machine shared with other busy
processes, two BLAS threads on two loaded cores wait on each other and a step can become
~10x slower; `OPENBLAS_NUM_THREADS=1` is then the faster setting. The BLAS library and
its thread count are printed at the start.

--quick (for CI, ~1 minute): 300 steps, validation on the first 20,000 validation
characters, claim: the validation loss falls by at least 1.2 nats from its initial
ln(65) = 4.17. A quick run never downloads: without tiny-shakespeare it trains on the
40 KB sample shipped with the package (tinytorch.language.datasets.shakespeare_sample,
last 10% for validation) and says so. The quick model goes to a temporary directory
unless --output is given.
Exit code 0 only when the claims hold.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.panel import Panel

import tinytorch.core as tt
from tinytorch.core.cli.info import blas_info, usable_cpu_count
from tinytorch.core.milestones.support import (
    DATA_ERRORS,
    add_data_arguments,
    claims_table,
    may_download,
    no_data,
    write_report,
)
from tinytorch.language import CharTokenizer, LanguageModelTrainer, TinyGPT
from tinytorch.language.datasets import (
    TINY_SHAKESPEARE_URL,
    cache_dir,
    shakespeare_sample,
    tiny_shakespeare_path,
)
from tinytorch.language.milestones.tinygpt_report import (
    MAX_SHOWN,
    attention_maps,
    draw_tinygpt_report,
)
from tinytorch.language.trainer import language_model_loss

CONFIG = {"d_model": 128, "num_heads": 4, "num_layers": 4, "max_seq_len": 64, "dropout": 0.0,
          "tie_weights": True, "bias": False}
# nanoGPT's recipe, except three knobs the issue leaves free, chosen on text held out from
# the training split (benchmarks/reference_tinygpt.py --tune): no gradient clipping
# (nanoGPT: 1.0), no weight decay (0.1), cosine decay to 3e-4 (1e-4)
RECIPE = {"lr": 1e-3, "min_lr": 3e-4, "betas": (0.9, 0.99), "weight_decay": 0.0,
          "batch_size": 12, "warmup_steps": 100, "grad_clip": None}
# each epoch's validation point reads `val_windows` evenly spaced windows of 64 characters
# (None: all of them); the claim's loss always reads every validation character, once,
# after training. 256 windows are 16,384 characters (the last epoch's point read 1.8776
# where the full set read 1.8760, 2026-12-01); the full set is 1,742 windows, ~4 s a pass,
# nine passes were ~36 s of the run's ~200 s.
FULL = {"steps": 2000, "epochs": 8, "val_chars": None, "val_windows": 256}
QUICK = {"steps": 300, "epochs": 3, "val_chars": 20_000, "val_windows": None}
TARGET_VAL_LOSS = 1.88  # nanoGPT's reported validation loss for this configuration
TARGET_SECONDS = 15 * 60
QUICK_DROP = 1.2  # nats below ln(vocab) after the quick run
SAMPLE_CHARS = 500
NANOGPT_EVAL_BATCHES = 20  # nanoGPT's --eval_iters=20 for the CPU run


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 steps: a smoke run for CI")
    add_data_arguments(parser)
    parser.add_argument("--output", default=None, help="where to save the trained model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompt", default="ROMEO:\n", help="start of the printed sample")
    return parser.parse_args(argv)


def output_dir(args) -> Path:
    if args.output is not None:
        return Path(args.output).expanduser()
    if args.quick:
        return Path(tempfile.mkdtemp(prefix="tinygpt-quick-"))
    return cache_dir() / "models" / "tinygpt-shakespeare"


@tt.no_grad()
def nanogpt_estimate(model, val_ids: np.ndarray, seed: int) -> float:
    """Mean loss over 20 batches of 12 random validation windows (nanoGPT's estimate_loss)."""
    model.eval()
    rng = np.random.default_rng(seed)
    T, B = CONFIG["max_seq_len"], RECIPE["batch_size"]
    losses = []
    for _ in range(NANOGPT_EVAL_BATCHES):
        positions = rng.integers(0, val_ids.size - T, B)[:, None] + np.arange(T)
        x, y = tt.tensor(val_ids[positions]), tt.tensor(val_ids[positions + 1])
        losses.append(language_model_loss(model(x), y).item())
    model.train()
    return float(np.mean(losses))


def load_text(args, console: Console) -> tuple[str, str]:
    """(corpus, where it came from): tiny-shakespeare, or in a quick run without it the
    shipped sample. Raises one of DATA_ERRORS when a full run cannot get the corpus."""
    try:
        path = tiny_shakespeare_path(args.data_dir, download=may_download(args))
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError as error:
        if not args.quick:
            raise
        console.print(f"[yellow]tiny-shakespeare not found, so this quick run trains on the "
                      f"40 KB sample shipped with tinytorch-language.[/] {error}",
                      highlight=False)
        return shakespeare_sample(), "SAMPLE: the shipped 40 KB excerpt (not the corpus)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    console = Console()
    start = time.perf_counter()
    blas = blas_info()
    console.print(f"machine: {usable_cpu_count()} usable CPUs; numpy BLAS {blas['name']} "
                  f"{blas['version']} with {blas['threads']} threads ({blas['threads_source']}), "
                  f"kernel {blas['kernel']} ({blas['kernel_source']})")

    try:
        text, source = load_text(args, console)
    except DATA_ERRORS as error:
        return no_data(console, "milestone 04 (TinyGPT)", error, TINY_SHAKESPEARE_URL)
    cut = int(len(text) * 0.9)
    train_text, val_text = text[:cut], text[cut:]
    if plan["val_chars"] is not None:
        val_text = val_text[:plan["val_chars"]]
    tokenizer = CharTokenizer().fit(text)
    console.print(f"data: {source} ({len(text):,} characters, vocabulary "
                  f"{tokenizer.get_vocab_size()}); train {len(train_text):,}, "
                  f"validation {len(val_text):,} characters")

    tt.manual_seed(args.seed)
    model = TinyGPT(tokenizer.get_vocab_size(), **CONFIG)
    console.print(f"model: {model.num_parameters() / 1e6:.2f}M parameters, {CONFIG}")
    trainer = LanguageModelTrainer(model, tokenizer, val_fraction=0.0, seed=args.seed, **RECIPE)
    initial = trainer.evaluate(val_text)
    console.print(f"initial validation loss {initial:.4f} (ln {tokenizer.get_vocab_size()} = "
                  f"{math.log(tokenizer.get_vocab_size()):.4f})")

    steps_per_epoch = plan["steps"] // plan["epochs"]
    console.print(f"training: {plan['steps']} steps of batch {RECIPE['batch_size']} x "
                  f"{CONFIG['max_seq_len']}, validation every {steps_per_epoch} steps")
    train_start = time.perf_counter()
    history = trainer.fit(train_text, epochs=plan["epochs"], steps_per_epoch=steps_per_epoch,
                          val_text=val_text, val_windows=plan["val_windows"])
    train_seconds = time.perf_counter() - train_start
    val_start = time.perf_counter()
    val_loss = history["val_loss"][-1] if plan["val_windows"] is None \
        else trainer.evaluate(val_text)
    val_seconds = time.perf_counter() - val_start
    tokens_per_second = plan["steps"] * RECIPE["batch_size"] * CONFIG["max_seq_len"] / \
        sum(history["time"])

    estimate = nanogpt_estimate(model, tokenizer.encode_array(val_text), args.seed)
    console.print(f"validation loss over all {len(val_text):,} validation characters: "
                  f"{val_loss:.4f}; nanoGPT-style estimate ({NANOGPT_EVAL_BATCHES} random "
                  f"batches of {RECIPE['batch_size']}): {estimate:.4f}")

    sample = trainer.generate_text(args.prompt, max_new_tokens=SAMPLE_CHARS, temperature=0.8,
                                   top_k=200, seed=args.seed)
    console.print(Panel(sample, title=f"sample: {SAMPLE_CHARS} characters after "
                                      f"{args.prompt!r} (temperature 0.8, top-k 200)"))

    destination = trainer.save(output_dir(args), val_loss=val_loss, steps=plan["steps"],
                               train_seconds=round(train_seconds, 1), quick=args.quick)
    wall = time.perf_counter() - start
    console.print(f"model saved to {destination} (load with "
                  f"tinytorch.language.load_pretrained)")
    shown = val_text[:MAX_SHOWN]
    history.to_csv(Path(destination) / "history.csv")
    write_report(lambda: draw_tinygpt_report(
        history, attention_maps(model, tokenizer.encode_array(shown)), shown, steps_per_epoch,
        title=f"Milestone 04 ({'quick' if args.quick else 'full'}, {source})"),
        Path(destination) / "report.png", console, "04_tinygpt")

    if args.quick:
        rows = [("validation loss falls", f"<= {initial - QUICK_DROP:.2f} (initial - "
                 f"{QUICK_DROP})", f"{val_loss:.4f}", val_loss <= initial - QUICK_DROP)]
    else:
        rows = [("validation loss (nats/char)", f"<= {TARGET_VAL_LOSS}", f"{val_loss:.4f}",
                 val_loss <= TARGET_VAL_LOSS),
                ("training wall time (2 CPU cores)", f"<= {TARGET_SECONDS} s",
                 f"{train_seconds:.0f} s", train_seconds <= TARGET_SECONDS)]
    console.print(claims_table("Milestone 04: TinyGPT on Shakespeare", rows))
    per_epoch = "every validation window" if plan["val_windows"] is None else \
        f"{plan['val_windows']} validation windows"
    console.print(f"training: {train_seconds:.1f} s ({tokens_per_second:,.0f} tokens/s, "
                  f"{1000 * train_seconds / plan['steps']:.0f} ms/step incl. each epoch's "
                  f"validation on {per_epoch}); the final full validation: {val_seconds:.1f} s")
    if plan["val_windows"] is not None:
        console.print(f"last epoch's validation estimate on {per_epoch}: "
                      f"{history['val_loss'][-1]:.4f} (full set {val_loss:.4f})")
    console.print(f"final validation loss {val_loss:.4f}; wall time {wall:.1f} s")
    if all(ok for *_, ok in rows):
        console.print("[bold green]Milestone 04 passed.")
        return 0
    console.print("[bold red]Milestone 04 failed:[/] a claim above does not hold.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
