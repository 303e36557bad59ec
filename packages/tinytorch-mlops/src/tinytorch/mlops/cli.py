"""`tito registry ...` and `tito serve ...`: the command groups tinytorch-mlops adds to tito.

    tito registry list [--root DIR] [--json]
    tito registry show NAME[:VERSION|TAG] [--root DIR] [--json]
    tito registry promote NAME VERSION [--tag production] [--root DIR]
    tito serve MODEL [--host 127.0.0.1] [--port 8000] [--root DIR] [--token TOKEN]
               [--max-body-bytes N]
    tito serve MODEL --load-test [--clients 8] [--requests 400] [--batch 16] [--body json]

MODEL is NAME or NAME:REF from the registry (REF a version, a tag or `latest`), or the
path of a file written by `save_model`. The registry lives in --root, else
$TINYTORCH_REGISTRY, else ~/.cache/tinytorch/registry. With --token, or else
$TINYTORCH_SERVE_TOKEN (preferred: a command line is visible to every user in `ps`),
every request needs `Authorization: Bearer <token>`.

What it teaches: the entry-point protocol of tinytorch.core.cli. pyproject.toml declares

    [project.entry-points."tinytorch.cli"]
    registry = "tinytorch.mlops.cli:register_registry"
    serve = "tinytorch.mlops.cli:register_serve"

and tito calls each `register(subparsers)` at start-up; core never imports this package.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from tinytorch.core.serialization import SerializationError

from .registry import ModelRegistry, RegistryError

_USER_ERRORS = (RegistryError, SerializationError, ValueError, ImportError, FileNotFoundError)


def _handled(command):
    def handler(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except _USER_ERRORS as exc:
            Console(stderr=True, soft_wrap=True).print(f"[red]tito {args.command}: {exc}",
                                                       highlight=False)
            return 2
    return handler


def _root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", help="registry directory (default: $TINYTORCH_REGISTRY, "
                                       "else ~/.cache/tinytorch/registry)")


# ---------------------------------------------------------------- tito registry
def register_registry(subparsers) -> None:
    parser = subparsers.add_parser("registry", help="list, inspect and promote registered "
                                   "model versions", allow_abbrev=False)
    actions = parser.add_subparsers(dest="registry_command", metavar="{list,show,promote}")
    actions.required = True

    listing = actions.add_parser("list", help="every model with its versions and tags")
    _root_option(listing)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=_handled(_list))

    show = actions.add_parser("show", help="the manifest of one version")
    show.add_argument("model", help="NAME or NAME:VERSION|TAG (default ref: latest)")
    _root_option(show)
    show.add_argument("--json", action="store_true", help="print the manifest as JSON")
    show.add_argument("--verify", action="store_true", help="also check the sha256 of every file")
    show.set_defaults(func=_handled(_show))

    promote = actions.add_parser("promote", help="point a tag (default: production) at a version")
    promote.add_argument("name")
    promote.add_argument("version", help="a version number, or a tag/latest to copy")
    promote.add_argument("--tag", default="production")
    _root_option(promote)
    promote.set_defaults(func=_handled(_promote))


def _split_ref(text: str) -> tuple[str, str]:
    name, _, ref = text.partition(":")
    return name, ref or "latest"


def _list(args) -> int:
    registry = ModelRegistry(args.root)
    rows = []
    for name in registry.models():
        latest = registry.get(name)
        rows.append({"name": name, "versions": registry.versions(name),
                     "latest": latest.version, "tags": registry.tags(name),
                     "metrics": latest.metrics, "bytes": latest.model_bytes})
    if args.json:
        sys.stdout.write(json.dumps({"root": str(registry.root), "models": rows}, indent=2) + "\n")
        return 0
    table = Table(title=f"Model registry {registry.root}", title_justify="left")
    for column in ("model", "versions", "latest", "tags", "latest metrics", "weights"):
        table.add_column(column)
    for row in rows:
        tags = ", ".join(f"{t}->v{v}" for t, v in sorted(row["tags"].items()))
        metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in row["metrics"].items())
        table.add_row(row["name"], str(len(row["versions"])), f"v{row['latest']}", tags,
                      metrics, f"{row['bytes'] / 1024:.1f} KiB")
    Console().print(table if rows else f"no models registered in {registry.root}")
    return 0


def _show(args) -> int:
    registry = ModelRegistry(args.root)
    name, ref = _split_ref(args.model)
    entry = registry.verify(name, ref) if args.verify else registry.get(name, ref)
    if args.json:
        sys.stdout.write(json.dumps(entry.manifest, indent=2) + "\n")
        return 0
    m = entry.manifest
    table = Table(title=f"{name} v{entry.version} ({entry.path})", show_header=False,
                  title_justify="left")
    table.add_column("field", style="bold cyan")
    table.add_column("value")
    tags = [t for t, v in registry.tags(name).items() if v == entry.version]
    table.add_row("created", m["created"])
    table.add_row("tags", ", ".join(tags) or "-")
    table.add_row("architecture", m["architecture"]["class"])
    table.add_row("input shape", str(m["signature"]["input_shape"]))
    for key, value in m["metrics"].items():
        table.add_row(f"metric {key}", str(value))
    for file, info in m["files"].items():
        table.add_row(file, f"{info['bytes']:,} bytes  sha256 {info['sha256'][:16]}...")
    table.add_row("packages", ", ".join(f"{k} {v}" for k, v in m["packages"].items()))
    if args.verify:
        table.add_row("integrity", "[green]every sha256 matches")
    Console().print(table)
    return 0


def _promote(args) -> int:
    registry = ModelRegistry(args.root)
    entry = registry.promote(args.name, args.version, args.tag)
    Console().print(f"{args.name}: tag '{args.tag}' -> v{entry.version}")
    return 0


# ---------------------------------------------------------------- tito serve
def register_serve(subparsers) -> None:
    parser = subparsers.add_parser("serve", help="serve a model over HTTP (/predict, /health, "
                                   "/metrics)", allow_abbrev=False)
    parser.add_argument("model", help="NAME[:VERSION|TAG] in the registry, or a .safetensors "
                                      "file written by save_model")
    _root_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--input-shape", help="shape of one sample, e.g. 3,32,32 (default: the "
                                              "registered signature)")
    parser.add_argument("--max-batch", type=int, default=1024)
    parser.add_argument("--max-body-bytes", type=int, default=None,
                        help="largest request body accepted (default 16 MiB); larger ones get "
                             "413 before they are read")
    parser.add_argument("--token", default=None,
                        help="require 'Authorization: Bearer TOKEN' on every request (default: "
                             "$TINYTORCH_SERVE_TOKEN; unset means no authentication)")
    parser.add_argument("--load-test", action="store_true",
                        help="start on a free port of 127.0.0.1, run a bounded load test, print "
                             "throughput and p50/p99, stop")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--batch", type=int, default=16, help="samples per load-test request")
    parser.add_argument("--body", choices=("safetensors", "json"), default="safetensors",
                        help="how load-test requests carry their batch (default: safetensors)")
    parser.add_argument("--json", action="store_true", help="load-test report as JSON")
    parser.set_defaults(func=_handled(_serve))


def load_service(model_ref: str, root: str | None = None, input_shape=None, max_batch=1024):
    """A ModelService for a registry reference or a save_model file."""
    from .checkpoint import load_model
    from .serving import ModelService

    path = Path(model_ref)
    if path.suffix == ".safetensors" or path.is_file():
        model, name, version, signature = load_model(path), path.stem, "file", {}
    else:
        registry = ModelRegistry(root)
        name, ref = _split_ref(model_ref)
        entry = registry.verify(name, ref)
        model, version = registry.load(name, entry.version), entry.version
        signature = entry.manifest.get("signature", {})
    shape = tuple(int(d) for d in input_shape.split(",")) if input_shape else \
        tuple(signature["input_shape"]) if signature.get("input_shape") else None
    is_language_model = hasattr(model, "vocab_size") and hasattr(model, "max_seq_len")
    return ModelService(model, name=name, version=version, input_shape=shape,
                        input_dtype="int64" if is_language_model else "float32",
                        labels=signature.get("labels"), max_batch=max_batch)


def _serve(args) -> int:
    from .serving import background_server, load_test, serve
    from .serving.app import DEFAULT_MAX_BODY_BYTES, TOKEN_ENV_VAR

    token = args.token or os.environ.get(TOKEN_ENV_VAR) or None
    limit = args.max_body_bytes or DEFAULT_MAX_BODY_BYTES
    service = load_service(args.model, args.root, args.input_shape, args.max_batch)
    if not args.load_test:
        serve(service, args.host, args.port, token=token, max_body_bytes=limit)
        return 0
    if service.input_shape is None:
        raise ValueError("--load-test needs the input shape: pass --input-shape")
    payload = {"inputs": _random_batch(service, args.batch)}
    with background_server(service, token=token, max_body_bytes=limit) as url:
        report = load_test(url, payload, clients=args.clients, requests=args.requests,
                           token=token, format=args.body)
    result = report.as_dict()
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        table = Table(title=f"Load test: {service.name} v{service.version} on {url}",
                      show_header=False, title_justify="left")
        for key, value in result.items():
            table.add_row(key, str(value))
        Console().print(table)
    return 0 if report.failures == 0 and report.completed == args.requests else 1


def _random_batch(service, batch: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    shape = (batch, *service.input_shape)
    if service.input_dtype == "int64":
        return rng.integers(0, service.model.vocab_size, size=shape)
    return rng.standard_normal(shape).astype(np.float32)
