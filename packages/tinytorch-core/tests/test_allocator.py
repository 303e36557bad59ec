"""tinytorch.core.allocator: freed memory is kept for reuse (no page faults per step),
unless TINYTORCH_KEEP_FREED_MEMORY=0; the effect is counted in page faults, not timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tinytorch.core import allocator

# allocate, touch and free an 8 MB array 20 times; page faults of rounds 2..20
FAULTS_AFTER_THE_FIRST_ROUND = """
import json, resource
import numpy as np
import tinytorch.core
from tinytorch.core import allocator
counts = []
for _ in range(20):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(2 * 1024 * 1024, dtype=np.float32)  # touched: every page is used
    del block
    counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"kept": allocator.keeping_freed_memory(), "faults": sum(counts[1:])}))
"""


def _faults(setting: str) -> dict:
    env = {**os.environ, allocator.ENV_VAR: setting}
    done = subprocess.run([sys.executable, "-c", FAULTS_AFTER_THE_FIRST_ROUND], env=env,
                          capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_freed_memory_is_reused_without_page_faults_unless_disabled():
    kept, given_back = _faults("1"), _faults("0")
    assert kept["kept"] is True and given_back["kept"] is False
    assert given_back["faults"] >= 19  # every round maps the memory again: >= 1 fault each
    assert kept["faults"] < 19  # the same 8 MB reused: (almost) no page faults at all
    assert kept["faults"] < given_back["faults"] / 4


def test_the_setting_is_checked_and_other_platforms_are_left_alone(monkeypatch):
    monkeypatch.setenv(allocator.ENV_VAR, "yes")
    with pytest.raises(ValueError, match="TINYTORCH_KEEP_FREED_MEMORY must be 0 or 1"):
        allocator.keep_freed_memory_unless_disabled()
    monkeypatch.setenv(allocator.ENV_VAR, "0")
    assert allocator.keep_freed_memory_unless_disabled() is False
    monkeypatch.setattr(allocator, "_state", {"kept": False})
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False and not allocator.keeping_freed_memory()
