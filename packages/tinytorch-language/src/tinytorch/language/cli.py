"""`tito language ...`: the command group tinytorch-language adds to tito.

    tito language generate [--model DIR] [--prompt TEXT] [--max-new-tokens 200]
                           [--temperature 0.8] [--top-k K] [--top-p P] [--seed S] [--no-cache]
    tito language tokenize TEXT (--model DIR | --tokenizer FILE)

Both take `--json`. `--model` defaults to where milestone 04 saves its model
(<user cache>/models/tinygpt-shakespeare). Registered through the entry point group
`tinytorch.cli`; core never imports this module.

What it teaches: a saved model is usable from the shell because weights, config and
tokenizer were saved together (see pretrained.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .datasets import cache_dir
from .generation import generate
from .pretrained import load_pretrained
from .tokenizers import Tokenizer


def default_model_dir() -> Path:
    return cache_dir() / "models" / "tinygpt-shakespeare"


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("language", help="generate text with a saved TinyGPT, "
                                  "inspect tokenizers")
    commands = group.add_subparsers(dest="language_command", metavar="COMMAND")
    group.set_defaults(func=lambda args: (group.print_help(), 2)[1])

    gen = commands.add_parser("generate", help="continue a prompt with a saved model")
    gen.add_argument("--model", default=None, help=f"model directory (default: "
                     f"{default_model_dir()})")
    gen.add_argument("--prompt", default="\n")
    gen.add_argument("--max-new-tokens", type=int, default=200)
    gen.add_argument("--temperature", type=float, default=0.8)
    gen.add_argument("--top-k", type=int, default=None)
    gen.add_argument("--top-p", type=float, default=None)
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--no-cache", action="store_true", help="decode without the KV cache")
    gen.add_argument("--json", action="store_true")
    gen.set_defaults(func=run_generate)

    tok = commands.add_parser("tokenize", help="show how a tokenizer splits a text")
    tok.add_argument("text")
    source = tok.add_mutually_exclusive_group()
    source.add_argument("--model", default=None, help="model directory (its tokenizer.json)")
    source.add_argument("--tokenizer", default=None, help="a tokenizer .json file")
    tok.add_argument("--json", action="store_true")
    tok.set_defaults(func=run_tokenize)


def _load(model_dir) -> tuple:
    directory = Path(model_dir) if model_dir is not None else default_model_dir()
    model, tokenizer, metadata = load_pretrained(directory)
    if tokenizer is None:
        raise FileNotFoundError(f"{directory} holds no tokenizer.json; save the model with "
                                "save_pretrained(directory, model, tokenizer)")
    return model, tokenizer, metadata


def _fail(message: str) -> int:
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {message}", highlight=False)
    return 1


def run_generate(args) -> int:
    try:
        model, tokenizer, _ = _load(args.model)
        prompt_ids = tokenizer.encode(args.prompt)
        start = time.perf_counter()
        ids = generate(model, prompt_ids, args.max_new_tokens, temperature=args.temperature,
                       top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                       use_cache=not args.no_cache)
        seconds = time.perf_counter() - start
    except (OSError, ValueError, TypeError) as err:
        return _fail(str(err))
    text = tokenizer.decode(ids)
    rate = args.max_new_tokens / seconds if seconds > 0 else float("inf")
    if args.json:
        sys.stdout.write(json.dumps({"text": text, "new_tokens": args.max_new_tokens,
                                     "seconds": seconds, "tokens_per_second": rate}) + "\n")
        return 0
    console = Console()
    console.print(text, highlight=False, markup=False)
    console.print(f"[dim]{args.max_new_tokens} tokens in {seconds:.2f} s ({rate:,.0f} tokens/s, "
                  f"{'no cache' if args.no_cache else 'KV cache'})")
    return 0


def run_tokenize(args) -> int:
    try:
        if args.tokenizer is not None:
            tokenizer = Tokenizer.load(args.tokenizer)
        else:
            tokenizer = _load(args.model)[1]
        ids = tokenizer.encode(args.text)
    except (OSError, ValueError, TypeError) as err:
        return _fail(str(err))
    pieces = [tokenizer.decode([i]) for i in ids]
    if args.json:
        sys.stdout.write(json.dumps({"ids": ids, "pieces": pieces,
                                     "vocab_size": tokenizer.vocab_size}) + "\n")
        return 0
    table = Table(title=f"{len(ids)} tokens ({len(args.text)} characters, vocabulary "
                        f"{tokenizer.vocab_size})", title_justify="left")
    table.add_column("id", justify="right")
    table.add_column("piece")
    for i, piece in zip(ids, pieces):
        table.add_row(str(i), repr(piece))
    Console().print(table)
    return 0
