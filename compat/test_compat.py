"""Each program in programs/ is run twice: with torch, and with only its imports switched
to TinyTorch (by the README's table). Their printed output must agree: the same text, and
every number equal to float32 rounding (rtol/atol below, or a program's own
`# compat: rtol=..., atol=...` line).
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from switch import _is_torch_import, import_table, switch_imports

HERE = Path(__file__).resolve().parent
PROGRAMS = sorted((HERE / "programs").glob("*.py"))
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan")
DEFAULT_TOLERANCE = {"rtol": 2e-4, "atol": 1e-5}

# Run a program as __main__ and prove afterwards that the TinyTorch run never imported torch.
RUNNER = """
import runpy, sys
runpy.run_path(sys.argv[1], run_name="__main__")
if sys.argv[2] == "tinytorch" and any(m == "torch" or m.startswith("torch.") for m in sys.modules):
    raise SystemExit("the TinyTorch run imported torch")
"""


def run(path: Path, flavour: str) -> str:
    done = subprocess.run([sys.executable, "-c", RUNNER, str(path), flavour], cwd=path.parent,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise AssertionError(f"{flavour} run of {path.name} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def tolerance(source: str) -> dict:
    found = re.search(r"#\s*compat:\s*(.+)", source)
    if not found:
        return DEFAULT_TOLERANCE
    return {k.strip(): float(v) for k, v in (kv.split("=") for kv in found.group(1).split(","))}


def compare(theirs: str, mine: str, rtol: float, atol: float) -> int:
    """Same words, numbers within tolerance; returns how many numbers were compared."""
    assert NUMBER.split(theirs) == NUMBER.split(mine), (
        f"the outputs differ in their text:\n--- torch\n{theirs}\n--- tinytorch\n{mine}")
    a = np.array([float(x) for x in NUMBER.findall(theirs)])
    b = np.array([float(x) for x in NUMBER.findall(mine)])
    np.testing.assert_allclose(b, a, rtol=rtol, atol=atol,
                               err_msg=f"--- torch\n{theirs}\n--- tinytorch\n{mine}")
    return len(a)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_program_gives_the_same_output_with_torch_and_tinytorch(program, tmp_path):
    source = program.read_text(encoding="utf-8")
    switched = tmp_path / f"{program.stem}_tinytorch.py"
    switched.write_text(switch_imports(source), encoding="utf-8")
    original = tmp_path / program.name
    original.write_text(source, encoding="utf-8")
    theirs, mine = run(original, "torch"), run(switched, "tinytorch")
    # a second torch run must print the same: the program takes nothing from torch's own
    # random generator (weights and data come from numpy), so both frameworks start equal
    assert run(original, "torch") == theirs, f"{program.name} is not deterministic in torch"
    assert "loss" in theirs.lower(), f"{program.name} printed no loss:\n{theirs}"
    assert compare(theirs, mine, **tolerance(source)) >= 5


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_only_import_lines_change(program):
    source = program.read_text(encoding="utf-8").splitlines()
    switched = switch_imports("\n".join(source)).splitlines()
    assert len(source) == len(switched)
    changed = [a for a, b in zip(source, switched) if a != b]
    assert changed and all(_is_torch_import(line) for line in changed)


def bound_names(import_line: str) -> list[str]:
    """The names an import statement binds (`import a.b` binds a; `as x` binds x)."""
    names = []
    for node in ast.parse(import_line).body:
        for alias in node.names:
            names.append(alias.asname or alias.name.split(".")[0])
    return sorted(names)


def test_readme_table_rows_are_what_the_switch_does():
    table = import_table()
    for pytorch_line, tinytorch_line in table.items():
        assert switch_imports(pytorch_line, table) == tinytorch_line


def test_readme_table_rows_are_valid_imports():
    table = import_table()
    assert table["import torch"] == "import tinytorch.core as torch"
    for pytorch_line, tinytorch_line in table.items():
        assert _is_torch_import(pytorch_line), pytorch_line
        scope: dict = {}
        exec(tinytorch_line, scope)  # every right-hand side really imports
        names = sorted(n for n in scope if not n.startswith("__"))
        assert names == bound_names(pytorch_line) == bound_names(tinytorch_line), (
            f"{tinytorch_line!r} binds {names}, torch's line binds "
            f"{bound_names(pytorch_line)}")


def test_the_core_package_readme_has_the_same_table():
    core_readme = HERE.parent / "packages" / "tinytorch-core" / "README.md"
    core_rows = import_table(core_readme)
    assert core_rows == {k: v for k, v in import_table().items() if "torchvision" not in k}


def test_an_unmapped_import_is_refused():
    with pytest.raises(KeyError, match="not in the README's mapping table"):
        switch_imports("import torch.distributed as dist\n")
    with pytest.raises(KeyError, match="not in the README's mapping table"):
        switch_imports("from torch.distributions import Normal\n")
    assert importlib.import_module("tinytorch.core").nn is not None
