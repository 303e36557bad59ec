"""The no-forward-references check: module N's notebook uses only what modules < N teach.

What it teaches: checking a dependency rule mechanically. Every `tinytorch` import in a
notebook's code cells, and every `alias.attribute` reached through an imported module,
is resolved to the object it names and looked up in the syllabus's OWNERSHIP table (which
module introduces it; 0 = provided scaffolding). Anything introduced at module N or later
is a forward reference. The grading harness (`tinytorch.course`) is not course content
and is exempt, and so is tinytorch.perf's measurement API (INSTRUMENTS): the course's
ruler, which the "measure it yourself" cells of every module use.

Systems lesson: resolve names to objects, not strings. `from tinytorch.core.ops import
ReLU` and `from tinytorch.core.ops.pointwise import ReLU` are the same class; its
canonical name (`__module__` + `__qualname__`) is what ownership is keyed on.
"""

from __future__ import annotations

import ast
import importlib
from types import ModuleType

from .grader import is_test_cell
from .syllabus import get, owner

EXEMPT = ("tinytorch.course",)

# The course's instruments: tinytorch.perf's measurement API is a ruler the course hands
# out, not something a student writes before module 16, so every module's "measure it
# yourself" cells may use it. Only these names: the kernels (module 16), the roofline and
# the median's confidence interval (module 17) stay forward references before their modules.
INSTRUMENTS = frozenset({
    "tinytorch.perf.benchmark.benchmark",
    "tinytorch.perf.benchmark.compare",
    "tinytorch.perf.benchmark.compare_many",
    "tinytorch.perf.flops.FLOPsCounter",
    "tinytorch.perf.flops.count_flops",
    "tinytorch.perf.profiler.ModelProfiler",
    "tinytorch.perf.memory.training_step_memory",
    "tinytorch.perf.memory.attention_memory",
    "tinytorch.perf.hardware.get_hardware_spec",
})


def canonical_name(obj, module: str, name: str) -> str:
    if isinstance(obj, type) or callable(obj) and hasattr(obj, "__qualname__"):
        return f"{obj.__module__}.{obj.__qualname__}"
    return f"{module}.{name}"


def _ours(module: str) -> bool:
    return (module == "tinytorch" or module.startswith("tinytorch.")) and \
        not module.startswith(EXEMPT)


def check_code(code: str, number: int) -> list[str]:
    """Problems (forward or unknown references) in `code` for course module `number`."""
    problems, aliases = [], {}  # alias -> module path
    tree = ast.parse(code)

    def check(dotted: str, shown: str) -> None:
        if dotted in INSTRUMENTS:
            return
        introduced = owner(dotted)
        if introduced is None:
            problems.append(f"{shown}: not in the syllabus's OWNERSHIP table")
        elif introduced >= number:
            problems.append(f"{shown}: introduced in module {introduced:02d}, not before "
                            f"module {number:02d}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name):
                    aliases[alias.asname or alias.name] = alias.name
                    if alias.asname is None:
                        problems.append(f"import {alias.name}: use 'import ... as' or 'from'")
        elif isinstance(node, ast.ImportFrom) and node.module and _ours(node.module):
            if node.level:
                problems.append(f"relative import in a notebook: from {'.' * node.level}"
                                f"{node.module}")
                continue
            parent = importlib.import_module(node.module)
            for alias in node.names:
                obj = getattr(parent, alias.name)
                if isinstance(obj, ModuleType):
                    aliases[alias.asname or alias.name] = obj.__name__
                else:
                    check(canonical_name(obj, node.module, alias.name),
                          f"from {node.module} import {alias.name}")
    used_as_value = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in aliases:
            module = aliases[node.value.id]
            obj = getattr(importlib.import_module(module), node.attr, None)
            if isinstance(obj, ModuleType):
                check(obj.__name__, f"{node.value.id}.{node.attr}")
            else:
                check(canonical_name(obj, module, node.attr), f"{node.value.id}.{node.attr}")
            used_as_value.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in aliases and id(node) not in used_as_value \
                and isinstance(node.ctx, ast.Load):
            check(aliases[node.id], f"the module {aliases[node.id]} used as a whole")
    return problems


def check_notebook(notebook, module_id) -> list[str]:
    """Problems in a generated notebook's code cells (test cells excluded)."""
    module = get(module_id)
    code = "\n\n".join(c.source for c in notebook.cells
                       if c.cell_type == "code" and not is_test_cell(c))
    return check_code(code, module.number)
