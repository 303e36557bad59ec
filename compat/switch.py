"""Turn a PyTorch program into a TinyTorch program by changing only its import lines.

The mapping is the table "Switching a PyTorch program to TinyTorch" in the repository's
README.md, read from there, so the README documents exactly what this suite runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TABLE_TITLE = "## Switching a PyTorch program to TinyTorch"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`[^|]*\|")


def import_table(readme: Path = README) -> dict[str, str]:
    """PyTorch import line -> TinyTorch import line, from the README's table."""
    text = readme.read_text(encoding="utf-8")
    if TABLE_TITLE not in text:
        raise AssertionError(f"{readme} has no section {TABLE_TITLE!r}")
    section = text.split(TABLE_TITLE, 1)[1].split("\n## ", 1)[0]
    rows = dict(m.groups() for line in section.splitlines() if (m := _ROW.match(line)))
    if not rows:
        raise AssertionError(f"{readme}: the section {TABLE_TITLE!r} has no import table")
    return rows


def _is_torch_import(line: str) -> bool:
    return bool(re.match(r"\s*(import|from)\s+(torch|torchvision)\b", line))


def _modules(line: str) -> list[str]:
    """The modules an import line names, in order."""
    node = ast.parse(line.strip()).body[0]
    if isinstance(node, ast.ImportFrom):
        return [node.module]
    return [alias.name for alias in node.names]


def module_map(table: dict[str, str]) -> dict[str, str]:
    """torch module -> TinyTorch module, read off the table's rows."""
    mapping = {}
    for pytorch_line, tinytorch_line in table.items():
        theirs, ours = _modules(pytorch_line), _modules(tinytorch_line)
        if "." in theirs[0] and ours == ["tinytorch.core"]:  # `import torch.utils.data`
            continue
        mapping.update(zip(theirs, ours))
    return mapping


def switch_line(line: str, mapping: dict[str, str]) -> str:
    """One torch/torchvision import statement, rewritten to the TinyTorch modules."""
    node = ast.parse(line.strip()).body[0]
    if isinstance(node, ast.ImportFrom):
        if node.module not in mapping:
            raise KeyError(f"import line {line.strip()!r} is not in the README's mapping table")
        names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
        return f"from {mapping[node.module]} import {names}"
    parts = []
    for alias in node.names:
        top = alias.name.split(".")[0]
        if alias.asname is None:  # `import torch.utils.data` binds `torch`: import the root
            if top not in mapping:
                raise KeyError(f"import line {line.strip()!r} is not in the README's mapping "
                               "table")
            parts.append(f"import {mapping[top]} as {top}")
        elif alias.name in mapping:
            parts.append(f"import {mapping[alias.name]} as {alias.asname}")
        else:
            raise KeyError(f"import line {line.strip()!r} is not in the README's mapping table")
    return "; ".join(parts)


def switch_imports(source: str, table: dict[str, str] | None = None) -> str:
    """The same program with every torch/torchvision import line replaced, by the table's
    module mapping. Any other line is left exactly as it is; an import of a module the
    table does not cover is an error (so the README's table grows with what programs use).
    """
    mapping = module_map(import_table() if table is None else table)
    out = []
    for line in source.splitlines(keepends=True):
        if _is_torch_import(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + switch_line(line, mapping) + ("\n" if line.endswith("\n") else ""))
        else:
            out.append(line)
    return "".join(out)
