"""`tito info`: what is installed, and what numpy will compute with.

What it teaches: the first thing to check when a result differs between two machines is
the environment: package versions, the Python, and above all the BLAS library numpy was
built against, because every matmul in TinyTorch ends up there.

Systems lesson: BLAS threads. OpenBLAS and MKL start one thread per CPU unless told
otherwise (OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, OMP_NUM_THREADS). A fair speed
comparison with PyTorch must give both the same number of threads, which is why the
benchmarks read `blas_info()["threads"]` before calling `torch.set_num_threads`.

Systems lesson: BLAS kernels. numpy's wheels ship one OpenBLAS for every x86 CPU
(DYNAMIC_ARCH) that picks a kernel family when it loads, from the CPU model, unless the
variable OPENBLAS_CORETYPE names one. Some machines pin an older family on purpose (older
OpenBLAS builds crashed or computed wrong results on new CPUs). The pin costs speed: on
the development machine (AVX-512, 2 cores) a (2048 x 576) @ (576 x 128) float32 product
ran at 110-190 GFLOP/s with the AVX2 'Haswell' kernel the machine pins, and at ~350 with
the AVX-512 'SkylakeX' kernel that OpenBLAS 0.3.31 picks there by itself. PyTorch's MKL
and oneDNN ignore that variable, so a speed comparison must say which kernel numpy ran.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import re
import sys
from importlib import metadata

import numpy as np
from rich.console import Console
from rich.table import Table

# The variables each BLAS reads for its thread count, in the order it reads them.
_THREAD_ENV_VARS = {
    "openblas": ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"),
    "mkl": ("MKL_NUM_THREADS", "OMP_NUM_THREADS"),
    "blis": ("BLIS_NUM_THREADS", "OMP_NUM_THREADS"),
}
_GENERIC_THREAD_ENV_VARS = ("OMP_NUM_THREADS",)


def usable_cpu_count() -> int:
    """CPUs this process may run on (its affinity mask), which can be fewer than the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def tinytorch_distributions() -> list[dict]:
    """Installed distributions named tinytorch or tinytorch-*, with their versions."""
    found = {}
    for dist in metadata.distributions():
        name = re.sub(r"[-_.]+", "-", dist.metadata.get("Name") or "").lower()
        if (name == "tinytorch" or name.startswith("tinytorch-")) and name not in found:
            found[name] = dist.version
    return [{"name": name, "version": found[name]} for name in sorted(found)]


def blas_info() -> dict:
    """numpy's BLAS library, its version, and the number of threads it uses (with the source)."""
    config = np.show_config(mode="dicts") or {}
    blas = config.get("Build Dependencies", {}).get("blas", {})
    name = str(blas.get("name", "unknown"))
    threads, source = _blas_threads(name, str(blas.get("openblas configuration", "")))
    kernel = openblas_kernel()
    pinned = os.environ.get("OPENBLAS_CORETYPE", "").strip()
    return {
        "name": name,
        "version": str(blas.get("version", "unknown")),
        "threads": threads,
        "threads_source": source,
        "kernel": kernel or "unknown",
        "kernel_source": ("not OpenBLAS, or not found" if kernel is None else
                          f"pinned by OPENBLAS_CORETYPE={pinned}" if pinned else
                          "chosen by OpenBLAS for this CPU"),
    }


_CORENAME_FUNCTIONS = ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                       "openblas_get_corename64_", "openblas_get_corename")


def openblas_kernel() -> str | None:
    """The kernel family ('Haswell', 'SkylakeX', ...) of the OpenBLAS loaded in this
    process, asked through its own `openblas_get_corename`; None for another BLAS."""
    for path in _loaded_libraries():
        if "openblas" not in os.path.basename(path).lower():
            continue
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for function_name in _CORENAME_FUNCTIONS:
            function = getattr(library, function_name, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                return function().decode().strip()
    return None


def _loaded_libraries() -> list[str]:
    """Paths of the shared libraries mapped into this process (Linux; [] elsewhere)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if ".so" in line}
    except OSError:
        return []
    return sorted(path for path in paths if path.startswith("/"))


def _blas_threads(blas_name: str, openblas_config: str) -> tuple[int, str]:
    measured = _threads_from_threadpoolctl()
    if measured is not None:
        return measured, "threadpoolctl (measured in this process)"
    family = next((key for key in _THREAD_ENV_VARS if key in blas_name.lower()), None)
    for var in _THREAD_ENV_VARS.get(family, _GENERIC_THREAD_ENV_VARS):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value), f"environment variable {var}"
    threads = usable_cpu_count()
    cap = re.search(r"MAX_THREADS=(\d+)", openblas_config)
    if cap:
        threads = min(threads, int(cap.group(1)))
    return threads, "default: one per usable CPU, no thread variable set"


def _threads_from_threadpoolctl() -> int | None:
    try:
        from threadpoolctl import threadpool_info  # optional: used only if installed
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else None


def collect_info() -> dict:
    """Everything `tito info` reports, as plain JSON-serialisable data."""
    from .. import __version__ as core_version

    core_path = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {
        "tinytorch": {
            "distributions": tinytorch_distributions(),
            "core_version": core_version,
            "core_path": core_path,
        },
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": {"system": platform.platform(), "machine": platform.machine()},
        "cpu": {"count": os.cpu_count(), "usable": usable_cpu_count()},
        "numpy": {"version": np.__version__, "blas": blas_info()},
    }


def render(info: dict, console: Console) -> None:
    table = Table(title="TinyTorch environment", show_header=False, title_justify="left")
    table.add_column("what", style="bold cyan")
    table.add_column("value")
    dists = info["tinytorch"]["distributions"]
    for dist in dists:
        table.add_row(dist["name"], dist["version"])
    if not dists:
        table.add_row("tinytorch-*", "[yellow]no distribution installed (running from source)")
    table.add_row("tinytorch.core", f"{info['tinytorch']['core_version']} from "
                  f"{info['tinytorch']['core_path']}")
    py = info["python"]
    table.add_row("python", f"{py['version']} ({py['implementation']}) {py['executable']}")
    table.add_row("platform", f"{info['platform']['system']} ({info['platform']['machine']})")
    table.add_row("CPUs", f"{info['cpu']['count']} ({info['cpu']['usable']} usable)")
    table.add_row("numpy", info["numpy"]["version"])
    blas = info["numpy"]["blas"]
    table.add_row("BLAS", f"{blas['name']} {blas['version']}")
    table.add_row("BLAS threads", f"{blas['threads']} [dim]({blas['threads_source']})")
    table.add_row("BLAS kernel", f"{blas['kernel']} [dim]({blas['kernel_source']})")
    console.print(table)


def run(args: argparse.Namespace) -> int:
    info = collect_info()
    if args.json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
    else:
        render(info, Console())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="installed TinyTorch packages, Python, CPUs, numpy and its BLAS",
        allow_abbrev=False,
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(func=run)
