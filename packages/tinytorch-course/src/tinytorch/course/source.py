"""Read the library's own source and cut it into notebook cells.

What it teaches: a course built *from* the library it teaches cannot drift away from it.
A notebook cell is one top-level definition (class, function or constant) copied from a
package file. The parts a student writes are marked in that file with comment lines

    # BEGIN SOLUTION
    ...reference code...
    # END SOLUTION

(invisible to library users: comments change nothing at run time). For the student's
notebook each region becomes a stub that raises `NotImplementedError` with a hint; for
the instructor's notebook the markers stay, which is exactly nbgrader's source format.

Two rewrites make a cell run on its own in a notebook:
- package-relative imports (`from ..autograd import Function`) become absolute imports of
  the installed library (`from tinytorch.core.autograd import Function`), and only the
  names the cells use are imported;
- a reference through a module alias to something the notebook itself defines
  (`init.kaiming_uniform_` when the notebook defines `kaiming_uniform_`) becomes a
  reference to the notebook's definition, so the student's code calls the student's code.

Systems lesson: `ast` gives every node its exact line and column span, so the cells are
cut from the original text with its comments intact, not regenerated from the tree.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import textwrap
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
BUILTIN_NAMES = frozenset(dir(builtins)) | {"__name__", "__file__", "__class__"}


class SourceError(Exception):
    """The package source does not match what the syllabus expects."""


@dataclass(frozen=True)
class Region:
    """A marked solution region: the lines strictly between the two marker lines."""

    module: str  # python module, e.g. "tinytorch.core.ops.pointwise"
    qualname: str  # enclosing function, e.g. "ReLU.forward"
    begin: int  # 1-based line number of the BEGIN marker
    end: int  # 1-based line number of the END marker
    indent: str

    @property
    def key(self) -> str:
        return f"{self.module}:{self.qualname}"


@dataclass
class ModuleSource:
    """One parsed package file: its text, top-level definitions, imports and regions."""

    module: str
    path: Path
    lines: list[str]
    tree: ast.Module
    definitions: dict[str, ast.stmt] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    regions: list[Region] = field(default_factory=list)

    def segment(self, name: str) -> tuple[int, int]:
        """(first, last) 1-based line numbers of a top-level definition, decorators included."""
        node = self.definitions.get(name)
        if node is None:
            raise SourceError(f"{self.module} ({self.path}) has no top-level definition "
                              f"named {name!r}")
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        last = node.end_lineno
        # a region closing after the definition's last statement belongs to it
        last = max([last] + [r.end for r in self.regions if first <= r.begin <= last])
        return first, last


@cache
def load(module: str) -> ModuleSource:
    """Parse the installed source file of `module` (cached)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise SourceError(f"cannot find the Python source of {module}; is its package "
                          "installed?")
    path = Path(spec.origin)
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    source = ModuleSource(module, path, text.splitlines(), tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in tree.body:
        for name in _defined_names(node):
            source.definitions.setdefault(name, node)
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.partition(".")[0]
                target = alias.name if alias.asname else alias.name.partition(".")[0]
                source.imports[local] = (target, None)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = _absolute(node.module, node.level, package)
            for alias in node.names:
                source.imports[alias.asname or alias.name] = (base, alias.name)
    source.regions = _find_regions(source)
    return source


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        names = []
        for target in node.targets:
            elts = target.elts if isinstance(target, ast.Tuple) else [target]
            names.extend(e.id for e in elts if isinstance(e, ast.Name))
        return names
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _absolute(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{module}" if module else base


def _find_regions(source: ModuleSource) -> list[Region]:
    functions = []  # (first, last, qualname)

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    functions.append((child.lineno, child.end_lineno, qualname))
                visit(child, qualname + ".")

    visit(source.tree, "")
    regions, open_line = [], None
    for number, line in enumerate(source.lines, start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if open_line is not None:
                raise SourceError(f"{source.path}:{number}: nested {BEGIN} (the one on line "
                                  f"{open_line} is not closed)")
            open_line = number
        elif stripped == END:
            if open_line is None:
                raise SourceError(f"{source.path}:{number}: {END} without a {BEGIN}")
            # the END marker may follow the function's last statement, so only BEGIN counts
            enclosing = [f for f in functions if f[0] < open_line <= f[1]]
            if not enclosing:
                raise SourceError(f"{source.path}:{open_line}: a solution region must be "
                                  "inside a function")
            qualname = min(enclosing, key=lambda f: f[1] - f[0])[2]
            marker = source.lines[open_line - 1]
            indent = marker[: len(marker) - len(marker.lstrip())]
            regions.append(Region(source.module, qualname, open_line, number, indent))
            open_line = None
    if open_line is not None:
        raise SourceError(f"{source.path}:{open_line}: {BEGIN} is never closed")
    return regions


# ---------------------------------------------------------------- cells


@dataclass(frozen=True)
class Unit:
    """One top-level definition of a package file that becomes one notebook cell."""

    module: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.module}.{self.name}"

    def obj(self):
        return getattr(importlib.import_module(self.module), self.name)


def is_private(name: str) -> bool:
    """`_helper` and `_CONSTANT` are private; `__init__`-style dunders are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_helpers(unit: Unit) -> list[str]:
    """The private top-level definitions of `unit`'s own file that its code reads, in the
    order they are defined there."""
    source = load(unit.module)
    first, last = source.segment(unit.name)
    code = textwrap.dedent("\n".join(source.lines[first - 1:last]))
    used = [name for name in free_names(code) if is_private(name)
            and name in source.definitions and name not in source.imports]
    return sorted(used, key=lambda name: source.definitions[name].lineno)


def with_helpers(units) -> tuple[Unit, ...]:
    """`units` in order, each preceded by the private helpers of its file that it needs
    (recursively, each once), so that the syllabus names only the public definitions a
    module teaches and a notebook still imports no private name of the file it copies."""
    cells: list[Unit] = []
    seen: set[Unit] = set()

    def add(unit: Unit) -> None:
        if unit in seen:
            return
        seen.add(unit)
        for name in _private_helpers(unit):
            add(Unit(unit.module, name))
        cells.append(unit)

    for unit in units:
        add(unit)
    return tuple(cells)


def unit_regions(unit: Unit) -> list[Region]:
    source = load(unit.module)
    first, last = source.segment(unit.name)
    return [r for r in source.regions if first <= r.begin <= last]


def render(unit: Unit, region_mode, rewrites: dict[int, str]) -> str:
    """The cell text of `unit`.

    `region_mode(region)` returns "keep" (reference code, markers dropped), ("markers",
    lines before the BEGIN marker) (reference code between the markers: nbgrader's source
    format) or a list of stub lines.
    `rewrites` maps id(object) -> notebook name for alias references to rewrite.
    """
    source = load(unit.module)
    first, last = source.segment(unit.name)
    lines = _rewrite_aliases(source, first, last, rewrites)
    out, skip_until = [], 0
    for number in range(first, last + 1):
        if number <= skip_until:
            continue
        region = next((r for r in source.regions if r.begin == number), None)
        if region is None:
            out.append(lines[number - first])
            continue
        mode = region_mode(region)
        body = lines[region.begin - first + 1: region.end - first]
        if mode == "keep":
            out.extend(body)
        elif isinstance(mode, tuple) and mode[0] == "markers":
            out.extend(region.indent + line for line in mode[1])
            out.extend([lines[region.begin - first], *body, lines[region.end - first]])
        else:
            out.extend(region.indent + stub for stub in mode)
        skip_until = region.end
    return "\n".join(out).rstrip() + "\n"


def _rewrite_aliases(source: ModuleSource, first: int, last: int,
                     rewrites: dict[int, str]) -> list[str]:
    """Lines first..last with `alias.attr` replaced where attr is defined by the notebook."""
    lines = list(source.lines[first - 1: last])
    edits = []  # (line, col_start, col_end, text)
    for node in ast.walk(source.tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        if not first <= node.lineno <= last or node.lineno != node.end_lineno:
            continue
        imported = source.imports.get(node.value.id)
        target = None if imported is None else _resolve_alias(imported)
        if target is None or not hasattr(target, node.attr):
            continue
        new_name = rewrites.get(id(getattr(target, node.attr)))
        if new_name is not None:
            edits.append((node.lineno, node.col_offset, node.end_col_offset, new_name))
    for line, start, end, text in sorted(edits, reverse=True):
        row = lines[line - first]
        lines[line - first] = row[:start] + text + row[end:]
    return lines


def _resolve_alias(imported: tuple[str, str | None]):
    """The module object an import binds, or None if it binds something else."""
    base, name = imported
    try:
        module = importlib.import_module(base)
    except ImportError:
        return None
    if name is None:
        return module
    value = getattr(module, name, None)
    return value if isinstance(value, type(importlib)) else None


# ---------------------------------------------------------------- free names and imports


def free_names(code: str) -> set[str]:
    """Names a piece of code reads but never binds (over-approximates locals as bound)."""
    tree = ast.parse(code)
    # notebooks start with `from __future__ import annotations`: annotations are never
    # evaluated, so the names in them need no import
    annotations = set()
    for node in ast.walk(tree):
        for note in _annotations(node):
            annotations.update(id(n) for n in ast.walk(note))
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if id(node) in annotations:
            continue
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound - BUILTIN_NAMES


def _annotations(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [node.returns] if node.returns is not None else []
    if isinstance(node, ast.arg):
        return [node.annotation] if node.annotation is not None else []
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    return []


@dataclass(frozen=True)
class Import:
    """`import module as alias` (name None) or `from module import name as alias`."""

    module: str
    name: str | None
    alias: str

    def statement(self) -> str:
        if self.name is None:
            if self.alias == self.module.partition(".")[0] and "." not in self.module:
                return f"import {self.module}"
            return f"import {self.module} as {self.alias}"
        suffix = "" if self.alias == self.name else f" as {self.alias}"
        return f"from {self.module} import {self.name}{suffix}"


def required_imports(units: list[Unit], codes: list[str]) -> list[Import]:
    """The imports that the cells `codes` (rendered from `units`) need, deduplicated.

    A free name is looked up among the imports of the unit's own source file; failing
    that, it is a top-level helper of that file and is imported from it.
    """
    defined = {u.name for u in units}
    for unit in units:  # `a, b = ...` defines b too
        defined.update(_defined_names(load(unit.module).definitions[unit.name]))
    found: dict[str, Import] = {}
    for unit, code in zip(units, codes):
        source = load(unit.module)
        for name in sorted(free_names(code) - defined):
            if name in source.imports:
                module, attr = source.imports[name]
                imp = Import(module, attr, name)
            elif name in source.definitions:
                imp = Import(unit.module, name, name)
            else:
                raise SourceError(f"{unit.key}: cannot tell where the name {name!r} comes "
                                  f"from (not imported or defined in {source.path})")
            previous = found.setdefault(name, imp)
            if previous != imp:
                raise SourceError(f"the name {name!r} means {previous.statement()!r} in one "
                                  f"cell and {imp.statement()!r} in another")
    return sorted(found.values(), key=lambda i: (i.module.startswith("tinytorch"), i.module,
                                                 i.name or "", i.alias))


def import_block(imports: list[Import]) -> str:
    """Import statements, one `from module import a, b` line per module, stdlib first."""
    lines, grouped = [], {}
    for imp in imports:
        if imp.name is None:
            lines.append(imp.statement())
        else:
            spec = imp.name if imp.alias == imp.name else f"{imp.name} as {imp.alias}"
            grouped.setdefault(imp.module, []).append(spec)
    plain = lines
    froms = [f"from {module} import {', '.join(names)}" for module, names in grouped.items()]
    third = [s for s in plain + froms if not s.split()[1].startswith("tinytorch")]
    ours = [s for s in plain + froms if s.split()[1].startswith("tinytorch")]
    return "\n".join(third) + ("\n\n" if third and ours else "") + "\n".join(ours)
