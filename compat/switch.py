"""Turn a PyTorch program into a TinyTorch program by changing only its import lines.

The mapping is the table "Switching a PyTorch program to TinyTorch" in the repository's
README.md, read from there, so the README documents exactly what this suite runs.
"""

from __future__ import annotations

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


def switch_imports(source: str, table: dict[str, str] | None = None) -> str:
    """The same program with every torch/torchvision import line replaced per the table.

    Any other line is left exactly as it is; an import the table does not cover is an
    error (so the README's table must grow with what the programs use).
    """
    table = import_table() if table is None else table
    out = []
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if _is_torch_import(line):
            if stripped not in table:
                raise KeyError(f"import line {stripped!r} is not in the README's mapping table")
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + table[stripped] + ("\n" if line.endswith("\n") else ""))
        else:
            out.append(line)
    return "".join(out)
