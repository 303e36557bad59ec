"""`tito performance ...`: the command group tinytorch-perf adds to tito.

    tito performance hardware [--quick] [--json]
    tito performance flops conv2d --input-size 3,32,32 --output-size 64 [--kernel-size 3]
    tito performance flops linear --input-size 784 --output-size 128 [--backward]
    tito performance roofline [--model mlp ...] [--output roofline.png]
    tito performance profile --model cnn-small [--output profile.json|.csv|.png|.svg]
                                          # .png/.svg: per-layer forward/backward time chart
    tito performance cifar10 [--batch-size 32] [--output cifar10.png]
    tito performance gpt [--seq-len 64] [--output gpt.png]
    tito performance compare mlp mlp-wide mlp-deep
    tito performance kernels [--quick]
    tito performance memory [--model mlp] [--seq-lens 64,128,256]

Every command takes `--json` (machine-readable output on stdout, nothing else printed).
Registered through the entry point group `tinytorch.cli` (see tinytorch.core.cli): core
never imports this module; tito finds it in the installed package metadata.

What it teaches: a CLI is a thin layer. Each handler builds inputs, calls the library
(hardware, flops, profiler, roofline, kernels, memory) and renders what it returns.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tinytorch.core.atomic import atomic_write_text
from tinytorch.core.optional import MissingPackageError

from .models import CIFAR10_DESIGNS, MODELS, build_model, require

PLOTS = (".png", ".svg")
EXPORTS = (".json", ".csv")


class UsageError(ValueError):
    """Bad command-line input the user can fix."""


def _console() -> Console:
    return Console(soft_wrap=False)


def _emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=_jsonable) + "\n")


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _sizes(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"{option}: expected comma-separated positive integers such as "
                         f"3,32,32, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise UsageError(f"{option}: sizes must be positive, got {text!r}")
    return values


def _check_output(path: str | None, allowed: tuple[str, ...], command: str) -> Path | None:
    if path is None:
        return None
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise UsageError(f"tito performance {command}: --output {path!r} has type {suffix!r}; "
                         f"expected one of {', '.join(allowed)}")
    return Path(path)


# ---------------------------------------------------------------- hardware


def _hardware(args) -> int:
    from .hardware import get_hardware_spec

    spec = get_hardware_spec(quick=args.quick)
    if args.json:
        _emit_json(spec.to_dict())
        return 0
    table = Table(title="Hardware (ceilings measured now)", show_header=False,
                  title_justify="left")
    table.add_column("what", style="bold cyan")
    table.add_column("value")
    cores = f"{spec.physical_cores or '?'} cores, {spec.logical_cpus} threads " \
            f"({spec.usable_cpus} usable)"
    rows = [("CPU", spec.cpu_model or "unknown"), ("cores", cores),
            ("caches", ", ".join(f"L{c.level} {c.type[0]} {c.size_bytes // 1024} KiB"
                                 for c in spec.caches) or "unknown"),
            ("SIMD", " ".join(spec.simd) or "unknown"),
            ("memory", f"{spec.memory_bytes / 2**30:.1f} GiB" if spec.memory_bytes else "?"),
            ("numpy / BLAS", f"{spec.numpy_version} / {spec.blas['name']} "
                             f"{spec.blas['version']}, {spec.blas['threads']} threads")]
    c = spec.ceilings
    for dtype, value in c.peak_gflops.items():
        rows.append((f"peak matmul {dtype}", f"{value:.1f} GFLOP/s ({c.matmul_size}^2, best of "
                                             f"{c.repeats})"))
    for kernel, value in c.bandwidth_gbs.items():
        rows.append((f"bandwidth {kernel}", f"{value:.1f} GB/s ({c.stream_bytes // 2**20} MiB "
                                            "arrays)"))
    for dtype in c.peak_gflops:
        rows.append((f"ridge point {dtype}", f"{spec.ridge_point(dtype):.2f} FLOP/byte"))
    for what, value in rows:
        table.add_row(what, value)
    console = _console()
    console.print(table)
    for note in spec.notes:
        console.print(f"[dim]note: {note}")
    return 0


# ---------------------------------------------------------------- flops


def _layer_for_flops(args):
    """(description, model, inputs) for `flops LAYER`, built from the real layer classes."""
    from tinytorch.core import nn, randn

    batch = args.batch_size
    size = _sizes(args.input_size, "--input-size")
    if args.layer == "linear":
        if len(size) != 1 or args.output_size is None:
            raise UsageError("flops linear: give --input-size IN and --output-size OUT")
        model = nn.Linear(size[0], args.output_size)
        return f"Linear({size[0]}, {args.output_size})", model, (randn(batch, size[0]),)
    if args.layer == "conv2d":
        if len(size) != 3 or args.output_size is None:
            raise UsageError("flops conv2d: give --input-size C,H,W and --output-size "
                             "OUT_CHANNELS")
        vision = require("tinytorch.vision", "tito performance flops conv2d")
        model = vision.Conv2d(size[0], args.output_size, args.kernel_size, stride=args.stride,
                              padding=args.padding)
        return (f"Conv2d({size[0]}, {args.output_size}, kernel_size={args.kernel_size}, "
                f"stride={args.stride}, padding={args.padding}) on {size[1]}x{size[2]}",
                model, (randn(batch, *size),))
    if args.layer == "attention":
        if len(size) != 2:
            raise UsageError("flops attention: give --input-size SEQ_LEN,D_MODEL")

        T, d = size
        if d % args.heads:
            raise UsageError(f"flops attention: d_model {d} is not divisible by --heads "
                             f"{args.heads}")
        qkv = [randn(batch, args.heads, T, d // args.heads, requires_grad=True)
               for _ in range(3)]
        return (f"causal self-attention, {args.heads} heads, T={T}, d_model={d}",
                _Attention(), tuple(qkv))
    built = build_model(args.layer, args.batch_size)
    return built.description, built.model, built.inputs


class _Attention:
    """A callable wrapper so attention can be counted like a model (no parameters)."""

    def __call__(self, q, k, v):
        from .memory import reference_attention

        return reference_attention(q, k, v)


def _flops(args) -> int:
    from .flops import FLOPsCounter
    from .hardware import get_hardware_spec

    description, model, inputs = _layer_for_flops(args)
    module = model if hasattr(model, "named_modules") else None
    counter = FLOPsCounter(module)
    with counter:
        output = model(*inputs)
        if args.backward:
            output.sum().backward()
    spec = get_hardware_spec(quick=True)
    ridge = spec.ridge_point("float32")
    forward = counter.total("forward")
    result = {"layer": description, "batch_size": args.batch_size,
              "forward": forward.to_dict(), "backward": counter.total("backward").to_dict(),
              "ridge_point_float32": ridge,
              "bound": "compute-bound" if forward.intensity >= ridge else "memory-bound",
              "by_op": counter.to_dict()["by_op"], "unknown_ops": sorted(counter.unknown_ops)}
    if args.json:
        _emit_json(result)
        return 0
    console = _console()
    console.print(f"[bold]{description}[/], batch {args.batch_size}")
    console.print(f"  forward FLOPs:        {forward.flops:,} "
                  f"(matmul/conv {forward.matmul_flops:,})")
    if args.backward:
        console.print(f"  backward FLOPs:       {counter.total_flops('backward'):,}")
    console.print(f"  bytes moved (fwd):    {forward.bytes:,}")
    console.print(f"  arithmetic intensity: {forward.intensity:.3f} FLOP/byte")
    colour = "red" if result["bound"] == "memory-bound" else "green"
    console.print(f"  [{colour}]{result['bound']}[/] (ridge point of this machine, measured "
                  f"quickly: {ridge:.2f} FLOP/byte)")
    console.print(counter)
    return 0


# ---------------------------------------------------------------- profiles and rooflines


def _profile_model(name: str, args):
    from .profiler import ModelProfiler

    built = build_model(name, args.batch_size)
    profiler = ModelProfiler(built.model, name=name, warmup=args.warmup, repeats=args.repeats)
    return profiler.profile(*built.inputs, loss_fn=built.loss_fn)


def _roofline_for(profiles, quick: bool):
    from .hardware import get_hardware_spec
    from .roofline import RooflineModel

    roof = RooflineModel.from_hardware(get_hardware_spec(quick=quick))
    for profile in profiles:
        roof.add_profile(profile)
    return roof


def _write_profiles(profiles, path: Path | None, quick: bool) -> dict:
    """Save to --output by type: JSON/CSV export, or a roofline plot (PNG/SVG)."""
    from .profiler import profiles_to_csv

    if path is None:
        return {}
    suffix = path.suffix.lower()
    if suffix in PLOTS:
        roof = _roofline_for(profiles, quick)
        roof.plot(path)
        return {"plot": str(path), "roofline": roof.to_dict()}
    if suffix == ".json":
        atomic_write_text(path, json.dumps([p.to_dict() for p in profiles], indent=2) + "\n")
    elif len(profiles) == 1:
        profiles[0].to_csv(path)
    else:
        profiles_to_csv(profiles, path)
    return {"export": str(path)}


def _profile(args) -> int:
    path = _check_output(args.output, PLOTS + EXPORTS, "profile")
    profile = _profile_model(args.model, args)
    if path is not None and path.suffix.lower() in PLOTS:  # the per-layer time chart
        profile.plot(path)
        written = {"plot": str(path)}
    else:
        written = _write_profiles([profile], path, args.quick)
    if args.json:
        _emit_json({"profile": profile.to_dict(), **written})
        return 0
    console = _console()
    console.print(profile)
    _print_written(console, written)
    return 0


def _compare(args) -> int:
    from .profiler import compare_profiles

    path = _check_output(args.output, PLOTS + EXPORTS, "compare")
    profiles = [_profile_model(name, args) for name in args.models]
    written = _write_profiles(profiles, path, args.quick)
    if args.json:
        _emit_json({"profiles": [p.to_dict() for p in profiles], **written})
        return 0
    console = _console()
    console.print(compare_profiles(profiles))
    _print_written(console, written)
    return 0


def _cifar10(args) -> int:
    require("tinytorch.vision", "tito performance cifar10")
    args.models = list(CIFAR10_DESIGNS)
    return _compare(args)


def _roofline(args) -> int:
    path = _check_output(args.output, PLOTS, "roofline")
    profiles = [_profile_model(name, args) for name in args.model]
    roof = _roofline_for(profiles, args.quick)
    if path is not None:
        roof.plot(path)
    if args.json:
        _emit_json({**roof.to_dict(), "plot": str(path) if path else None})
        return 0
    console = _console()
    table = Table(title=f"Roofline: peak {roof.peak_gflops:.1f} GFLOP/s, bandwidth "
                        f"{roof.bandwidth_gbs:.1f} GB/s, ridge {roof.ridge_point:.2f} FLOP/B",
                  title_justify="left")
    for column in ("layer", "FLOP/B", "GFLOP/s", "roof", "bound", "recommendation"):
        table.add_column(column)
    for p in roof.points:
        table.add_row(p.name, f"{p.intensity:.2f}", f"{p.achieved_gflops:.2f}",
                      f"{p.attainable_gflops:.1f}", p.bound, p.recommendation)
    console.print(table)
    _print_written(console, {"plot": str(path)} if path else {})
    return 0


def _gpt(args) -> int:
    from .memory import attention_memory, growth_exponent
    from .models import gpt_builder
    from .profiler import ModelProfiler

    language = require("tinytorch.language", "tito performance gpt")
    path = _check_output(args.output, PLOTS + EXPORTS, "gpt")
    model, inputs, loss_fn = gpt_builder(args.vocab_size, args.d_model, args.heads,
                                         args.layers, args.seq_len)(args.batch_size)
    profile = ModelProfiler(model, name="TinyGPT", warmup=args.warmup,
                            repeats=args.repeats).profile(*inputs, loss_fn=loss_fn)
    written = _write_profiles([profile], path, args.quick)
    lengths = _sizes(args.seq_lens, "--seq-lens")

    def attend(q, k, v):
        return language.scaled_dot_product_attention(q, k, v, is_causal=True)

    rows = attention_memory(lengths, args.d_model, args.heads, args.batch_size, attend)
    exponent = growth_exponent(rows) if len(rows) > 1 else None
    if args.json:
        _emit_json({"profile": profile.to_dict(), "attention_memory": [vars(r) for r in rows],
                    "attention_memory_exponent": exponent, **written})
        return 0
    console = _console()
    console.print(profile)
    _print_attention_memory(console, rows, exponent,
                            "Attention memory vs sequence length (measured)")
    _print_written(console, written)
    return 0


# ---------------------------------------------------------------- kernels and memory


def _kernels(args) -> int:
    from .kernels.report import kernel_report, render, to_dicts

    results = kernel_report(quick=args.quick, repeats=args.repeats, groups=args.group)
    if args.json:
        _emit_json(to_dicts(results))
        return 0
    _console().print(render(results))
    return 0


def _memory(args) -> int:
    from tinytorch.core import optim

    from .memory import attention_memory, growth_exponent, training_step_memory

    built = build_model(args.model, args.batch_size)
    params = list(built.model.parameters())
    optimizer = optim.Adam(params) if args.optimizer == "adam" else optim.SGD(params, lr=0.01,
                                                                             momentum=0.9)
    step = training_step_memory(built.model, optimizer, built.loss_fn, *built.inputs)
    rows = attention_memory(_sizes(args.seq_lens, "--seq-lens"))
    exponent = growth_exponent(rows) if len(rows) > 1 else None
    if args.json:
        _emit_json({"model": args.model, "optimizer": args.optimizer,
                    "training_step": step.to_dict(),
                    "attention_memory": [vars(r) for r in rows],
                    "attention_memory_exponent": exponent})
        return 0
    console = _console()
    console.print(f"[bold]{built.description}[/], batch {built.inputs[0].shape[0]}, "
                  f"{args.optimizer}")
    console.print(step)
    _print_attention_memory(console, rows, exponent, "Attention (core ops, d_model 64, 4 heads) "
                            "memory vs sequence length")
    return 0


def _print_attention_memory(console: Console, rows, exponent: float | None, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("seq len", "scores matrix", "saved for backward", "peak fwd+bwd"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(str(r.seq_len), f"{r.scores_bytes:,}", f"{r.saved_bytes:,}",
                      f"{r.peak_bytes:,}")
    console.print(table)
    if exponent is not None:
        console.print(f"saved memory grows as seq_len^{exponent:.2f}")


def _print_written(console: Console, written: dict) -> None:
    for key in ("plot", "export"):
        if written.get(key):
            console.print(f"[green]wrote {written[key]}")


# ---------------------------------------------------------------- registration


def _handle_errors(command):
    def handler(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (MissingPackageError, UsageError) as error:
            # markup=False: the message contains "[models]", which rich would eat as a tag
            Console(stderr=True, soft_wrap=True).print(str(error), style="red", markup=False,
                                                       highlight=False)
            return 2
    return handler


def _common(parser: argparse.ArgumentParser, timing: bool = False) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--quick", action="store_true",
                        help="quick hardware measurement (small arrays, few repeats)")
    if timing:
        parser.add_argument("--batch-size", type=int, default=None,
                            help="batch size (default: the model's own)")
        parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
        parser.add_argument("--repeats", type=int, default=5, help="timed steps (median)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `performance` and its sub-commands to tito (entry point `tinytorch.cli`)."""
    parser = subparsers.add_parser(
        "performance", help="hardware ceilings, FLOPs, roofline, profiles, kernels, memory",
        allow_abbrev=False)
    commands = parser.add_subparsers(dest="performance_command", metavar="COMMAND")
    commands.required = True
    models = sorted(MODELS)

    def add(name: str, help: str, func, timing: bool = False) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, allow_abbrev=False)
        _common(sub, timing)
        sub.set_defaults(func=_handle_errors(func))
        return sub

    add("hardware", "CPU facts and measured peak GFLOP/s, bandwidth, ridge point", _hardware)

    flops = add("flops", "FLOPs, bytes and intensity of one layer (or a named model)", _flops)
    flops.add_argument("layer", choices=["linear", "conv2d", "attention", *models])
    flops.add_argument("--input-size", default="784",
                       help="linear: IN; conv2d: C,H,W; attention: SEQ_LEN,D_MODEL")
    flops.add_argument("--output-size", type=int, help="linear: OUT; conv2d: out channels")
    flops.add_argument("--kernel-size", type=int, default=3)
    flops.add_argument("--stride", type=int, default=1)
    flops.add_argument("--padding", type=int, default=0)
    flops.add_argument("--heads", type=int, default=4, help="attention heads")
    flops.add_argument("--batch-size", type=int, default=1)
    flops.add_argument("--backward", action="store_true", help="count the backward pass too")

    roofline = add("roofline", "profile models and place their layers on the roofline",
                   _roofline, timing=True)
    roofline.add_argument("--model", nargs="+", default=["mlp"], choices=models)
    roofline.add_argument("--output", help="plot file (.png or .svg)")

    profile = add("profile", "per-layer time, FLOPs, parameters and memory of a model",
                  _profile, timing=True)
    profile.add_argument("--model", default="mlp", choices=models)
    profile.add_argument("--output", help=".json/.csv export or .png/.svg chart of each "
                         "layer's forward and backward time")

    cifar = add("cifar10", "profile three CIFAR-10 CNN designs side by side (needs "
                "tinytorch-vision)", _cifar10, timing=True)
    cifar.add_argument("--output", help=".json/.csv export or .png/.svg roofline plot")

    gpt = add("gpt", "profile TinyGPT and its attention memory (needs tinytorch-language)",
              _gpt, timing=True)
    gpt.set_defaults(batch_size=4)
    for option, default in (("--vocab-size", 65), ("--d-model", 64), ("--heads", 4),
                            ("--layers", 2), ("--seq-len", 64)):
        gpt.add_argument(option, type=int, default=default)
    gpt.add_argument("--seq-lens", default="64,128,256",
                     help="sequence lengths for the attention memory table")
    gpt.add_argument("--output", help=".json/.csv export or .png/.svg roofline plot")

    compare = add("compare", "profile several models and compare them", _compare,
                  timing=True)
    compare.add_argument("models", nargs="+", choices=models, metavar="MODEL",
                         help=f"models to compare: {', '.join(models)}")
    compare.add_argument("--output", help=".json/.csv export or .png/.svg roofline plot")

    kernels = add("kernels", "the same operation written several ways: measured speedups",
                  _kernels)
    kernels.add_argument("--repeats", type=int, default=None)
    kernels.add_argument("--group", nargs="+", default=None,
                         help="only groups starting with these words (matmul, conv2d, ...)")

    memory = add("memory", "training-step memory by category; attention memory vs length",
                 _memory)
    memory.add_argument("--model", default="mlp", choices=models)
    memory.add_argument("--batch-size", type=int, default=None)
    memory.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    memory.add_argument("--seq-lens", default="64,128,256")
