"""Page faults per training step: freed memory given back to the OS vs kept for reuse.

    python benchmarks/bench_allocator.py [--quick] [--json] [--repeats N]

Milestone 04's TinyGPT step and milestone 03's CNN step, each run in fresh child
processes with TINYTORCH_KEEP_FREED_MEMORY=0 (glibc's default policy: large blocks come
from mmap and go back on free) and =1 (what `import tinytorch.core` does: blocks up to
32 MB stay in malloc's heap, tinytorch.core.allocator), alternated, three processes
each by default. Each child warms up, then times its steps and reads the page faults and
kernel (system) time of those steps from getrusage.

Reported: median step time, minor page faults and kernel time per step of each setting;
the ratio of step times is the check (it should not be below 1: keeping memory must not
make a step slower).

Systems lesson: a page fault on this 2-core VM costs ~5-10 us of kernel time, so 5,000
of them per step are tens of milliseconds that no profile of Python code shows.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from harness import Check, Report, Row, emit, parse_args

WORKLOADS = ("TinyGPT", "CNN")
SETTINGS = {"given back (glibc default)": "0", "kept (tinytorch.core default)": "1"}


def child(workload: str, steps: int) -> dict:
    """In a fresh process: warm up, then time `steps` steps of `workload`."""
    from tinytorch.core import allocator

    if workload == "TinyGPT":
        from bench_language import BATCH, CONTEXT, VOCAB, tinytorch_training

        rng = np.random.default_rng(0)
        ids = rng.integers(0, VOCAB, (BATCH, CONTEXT))
        _, step = tinytorch_training(ids, rng.integers(0, VOCAB, (BATCH, CONTEXT)))
    else:
        from bench_milestone_cnn import batch_of_images, tinytorch_step_fn

        _, step = tinytorch_step_fn(*batch_of_images())
    for _ in range(3):
        step()
    before, times = resource.getrusage(resource.RUSAGE_SELF), []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"kept": allocator.keeping_freed_memory(), "step_s": statistics.median(times),
            "faults": (after.ru_minflt - before.ru_minflt) / steps,
            "system_s": (after.ru_stime - before.ru_stime) / steps}


def run_child(workload: str, setting: str, steps: int) -> dict:
    env = {**os.environ, "TINYTORCH_KEEP_FREED_MEMORY": setting}
    done = subprocess.run([sys.executable, __file__, "--child", workload, str(steps)],
                          capture_output=True, text=True, check=True, timeout=900, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]))))
        return 0
    args = parse_args(__doc__.splitlines()[0], argv)
    processes = 1 if args.quick else 3
    steps = {"TinyGPT": 5 if args.quick else 30, "CNN": 3 if args.quick else 10}
    report = Report("allocator", "Page faults per training step: freed memory given back "
                    "vs kept (tinytorch.core.allocator)",
                    config={"processes per setting": processes, "steps per process": steps})
    for workload in WORKLOADS:
        runs = {label: [] for label in SETTINGS}
        for _ in range(processes):  # alternated: both settings see the same machine
            for label, setting in SETTINGS.items():
                runs[label].append(run_child(workload, setting, steps[workload]))
        medians = {}
        for label, found in runs.items():
            times = [r["step_s"] * 1e3 for r in found]
            medians[label] = statistics.median(times)
            faults = statistics.median(r["faults"] for r in found)
            system = statistics.median(r["system_s"] * 1e3 for r in found)
            report.rows.append(Row(f"{workload}, freed memory {label}", medians[label],
                                   min(times), max(times), "ms/step",
                                   f"{faults:,.0f} page faults and {system:.1f} ms of kernel "
                                   f"time per step; allocator kept memory: "
                                   f"{found[0]['kept']}"))
        given, kept = (medians[label] for label in SETTINGS)
        report.checks.append(Check(f"{workload} step time, given back / kept", ">= 1x "
                                   "(reported)", f"{given / kept:.2f}x", None))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
