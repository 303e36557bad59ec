"""The student's workspace: their own copy of TinyTorch, with the exercises still to write.

    tito workspace init DIR --phases 1 2      # core (+ vision for phase 2), all exercises stubbed
    tito workspace export DIR 03_activations.ipynb   # the notebook's solution cells -> DIR's files
    tito workspace activate DIR               # `import tinytorch.core` is now DIR's code
    tito workspace status DIR                 # which exercises are still stubs

What it teaches: a framework you build yourself is a folder of files, not a notebook.
`init` copies the package source of the chosen phases into DIR/src (the same layout as
the repository: DIR/src/tinytorch/core/...), and replaces every marked solution region
by a stub that raises `NotImplementedError` naming the function, the module that teaches
it and a hint. The reference code never enters the workspace: no region body, no
`__pycache__` (compiled bytecode would carry it). The markers stay, so a student may
write straight into the files as well as through the notebooks.

`export` copies a notebook's solution cells into the files: each cell is one top-level
definition of one file (see source.py) and replaces that definition there.

`activate` writes a `.pth` file into the current environment's site-packages whose one
line puts DIR/src first on sys.path at interpreter start (before the installed library),
so every `python`, `jupyter` kernel and `tito milestones run` of that environment runs
the student's code. `deactivate` removes it; `PYTHONPATH=DIR/src` does the same for one
command.

What the workspace writes is checked when read back: `workspace.json` (its phases and
packages) carries a SHA-256 (tinytorch.core.serialization.write_json) and the `.pth`
file a SHA-256 of its one code line in a comment, both written atomically; a damaged one
is refused with its name and the safe way out (`workspace.json` is re-derived from src/
once deleted; `tito workspace deactivate` removes a damaged `.pth`). Exported cells
replace the student's files atomically, so a crash never leaves half a file of theirs.

Systems lesson: Python finds `tinytorch.core` by walking sys.path in order; a namespace
package (`tinytorch`) merges every folder of that name, but a regular package
(`tinytorch.core`, which has an `__init__.py`) is taken from the first folder that has it.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import shutil
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from tinytorch.core.atomic import atomic_open
from tinytorch.core.serialization import SerializationError, read_json, write_json

from . import source as src
from .syllabus import PHASES, CourseModule, region_owner

PACKAGE_OF_PHASE = {1: ("core",), 2: ("core", "vision"), 3: ("core", "language"),
                    4: ("core", "perf", "mlops")}
PTH_NAME = "00-tinytorch-workspace.pth"  # sorts before the installed packages' .pth files
REFERENCE_ENV = "TINYTORCH_REFERENCE"  # set: an activated workspace is not put on sys.path
MARKER = "workspace.json"  # {"phases": [...], "packages": [...]}, checksummed
OLD_MARKER = "workspace.txt"  # workspaces made before the checksummed marker
PTH_HEADER = "# tinytorch workspace, sha256 of the next line: "
STUB_TAG = "is not written yet"


class WorkspaceError(Exception):
    """A workspace cannot be made, exported into or activated."""


# ---------------------------------------------------------------- stubs


def stub_message(module: str, qualname: str) -> str:
    """What the stub of a region raises: the function, its file, the module that teaches it
    and the hint."""
    owner = region_owner(f"{module}:{qualname}")
    where = f"{module.replace('.', '/')}.py"
    if owner is None:
        return f"{qualname} ({where}) {STUB_TAG}"
    hint = owner.hints.get(f"{module}:{qualname}", "")
    return (f"{qualname} ({where}) {STUB_TAG}: module {owner.id} ({owner.title}) "
            f"teaches it." + (f" Hint: {hint}" if hint else ""))


def stub_lines(region: src.Region) -> list[str]:
    return ["# YOUR CODE HERE",
            f"raise NotImplementedError({stub_message(region.module, region.qualname)!r})"]


def explain_stub(text: str) -> str:
    """Feedback that starts 'Q (file.py) is not written yet' (a bare nbgrader stub) gets
    the module that teaches it and the hint."""
    if STUB_TAG not in text or "teaches it" in text:
        return text
    head, _, rest = text.partition(f" {STUB_TAG}")
    qualname, _, where = head.partition(" (")
    module = where.rstrip(")").removesuffix(".py").replace("/", ".")
    return stub_message(module, qualname) + rest


def render_file(module: str, keep) -> str:
    """The whole source file of `module` with every region not kept by `keep(region)`
    replaced by its stub; the BEGIN/END markers stay."""
    source = src.load(module)
    out, skip_until = [], 0
    for number, line in enumerate(source.lines, start=1):
        if number <= skip_until:
            continue
        region = next((r for r in source.regions if r.begin == number), None)
        if region is None:
            out.append(line)
            continue
        out.append(line)  # the BEGIN marker
        if keep(region):
            out.extend(source.lines[region.begin: region.end - 1])
        else:
            out.extend(region.indent + stub for stub in stub_lines(region))
        out.append(source.lines[region.end - 1])
        skip_until = region.end
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- making a workspace


def package_root(package: str) -> Path:
    """The folder of the installed reference package `tinytorch.<package>`."""
    spec = importlib.util.find_spec(f"tinytorch.{package}")
    if spec is None or not spec.submodule_search_locations:
        raise WorkspaceError(f"tinytorch.{package} is not installed (pip install "
                             f"tinytorch-{package})")
    return Path(list(spec.submodule_search_locations)[0])


def packages_for(phases) -> list[str]:
    chosen: list[str] = []
    for phase in phases:
        if int(phase) not in PACKAGE_OF_PHASE:
            raise WorkspaceError(f"unknown phase {phase!r}; phases are "
                                 f"{', '.join(str(p.number) for p in PHASES)}")
        chosen += [p for p in PACKAGE_OF_PHASE[int(phase)] if p not in chosen]
    return chosen


def write_packages(dest: Path, packages: list[str], keep=lambda region: False) -> list[Path]:
    """Copy the reference packages into dest/tinytorch/<package>, stubbing every region
    that `keep` does not keep. Returns the files written."""
    written = []
    for package in packages:
        root = package_root(package)
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if "__pycache__" in relative.parts or path.suffix in (".pyc", ".pyo") \
                    or path.is_dir():
                continue
            target = dest / "tinytorch" / package / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".py":
                dotted = ".".join(("tinytorch", package, *relative.with_suffix("").parts))
                dotted = dotted.removesuffix(".__init__")
                text = path.read_text(encoding="utf-8")
                if src.BEGIN in text:
                    text = render_file(dotted, keep)
                target.write_text(text, encoding="utf-8")
            else:
                shutil.copyfile(path, target)
            written.append(target)
    return written


def init(directory: str | os.PathLike, phases=(1,), force: bool = False) -> Path:
    """A fresh workspace in `directory` for `phases`: DIR/src/tinytorch/<package>/..."""
    directory = Path(directory).expanduser().resolve()
    if (directory / "src").exists() and not force:
        raise WorkspaceError(f"{directory} already has a workspace (src/); pass --force to "
                             "overwrite it (your code there would be lost)")
    packages = packages_for(phases)
    if (directory / "src").exists():
        shutil.rmtree(directory / "src")
    write_packages(directory / "src", packages)
    write_json(directory / MARKER, {"phases": sorted({int(p) for p in phases}),
                                    "packages": packages})
    return directory


def workspace_info(directory: str | os.PathLike) -> dict:
    """The workspace's recorded phases and packages, checked against its checksum.

    A missing record (deleted because it was damaged, or a workspace made before it
    existed) is re-derived from the packages present in src/ and written again."""
    directory = Path(directory).expanduser().resolve()
    marker = directory / MARKER
    if not marker.is_file():
        src_dir = source_dir(directory)
        packages = sorted(p.name for p in (src_dir / "tinytorch").iterdir()
                          if (p / "__init__.py").is_file())
        phases = [p.number for p in PHASES if set(PACKAGE_OF_PHASE[p.number]) <= set(packages)]
        write_json(marker, {"phases": phases, "packages": packages})
        (directory / OLD_MARKER).unlink(missing_ok=True)
    try:
        info = read_json(marker)
    except SerializationError as exc:
        raise WorkspaceError(f"{exc}; delete {marker} and run `tito workspace status "
                             f"{directory}`: it is rebuilt from the packages in src/ (your "
                             "code is not touched)") from None
    if not (isinstance(info.get("phases"), list) and isinstance(info.get("packages"), list)):
        raise WorkspaceError(f"{marker}: expected 'phases' and 'packages' lists, got "
                             f"{sorted(info)}")
    return info


def in_use() -> Path | None:
    """The workspace this process imports `tinytorch.core` from, if it is one."""
    try:
        root = package_root("core")
    except WorkspaceError:
        return None
    folder = root.parents[2] if len(root.parents) > 2 else root
    return folder if any((folder / m).is_file() for m in (MARKER, OLD_MARKER)) else None


def reference_environment() -> dict:
    """os.environ for a process that imports the installed library, not a workspace."""
    env = dict(os.environ, **{REFERENCE_ENV: "1"})
    active = in_use()
    if active is not None and env.get("PYTHONPATH"):
        keep = [p for p in env["PYTHONPATH"].split(os.pathsep)
                if p and not Path(p).resolve().is_relative_to(active.resolve())]
        env["PYTHONPATH"] = os.pathsep.join(keep)
    return env


def source_dir(directory: str | os.PathLike) -> Path:
    folder = Path(directory).expanduser().resolve() / "src"
    if not (folder / "tinytorch" / "core" / "__init__.py").is_file():
        raise WorkspaceError(f"{Path(directory)} is not a TinyTorch workspace (no "
                             "src/tinytorch/core); make one with `tito workspace init`")
    return folder


def module_file(src_dir: Path, module: str) -> Path:
    parts = module.split(".")
    package = src_dir.joinpath(*parts)
    return package / "__init__.py" if package.is_dir() else package.with_suffix(".py")


# ---------------------------------------------------------------- exporting cells


@dataclass
class ExportNote:
    unit: str
    message: str


def solution_cells(path: str | os.PathLike, module: CourseModule) -> dict[str, str]:
    """{unit name: code} of the definitions a submission file gives for `module`'s units."""
    from .grader import read_cells  # the submission reader lives with the grader

    return solution_cells_of(read_cells(path), module)


def solution_cells_of(cells, module: CourseModule) -> dict[str, str]:
    """{unit name: code} from a submission's cells.

    A notebook's solution cells are matched by their nbgrader grade_id (the unit name);
    any other code cell, and each `# %%` chunk of a .py file, counts for the units it
    defines at top level (the last definition wins, as when a notebook runs top to
    bottom)."""
    names = {u.name for u in module.units}
    by_id: dict[str, str] = {}
    defined: dict[str, str] = {}
    for cell in cells:
        if cell.grade_id in names:
            by_id[cell.grade_id] = cell.source
            continue
        if cell.grade_id is not None:  # a provided (locked) cell: the file has it already
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for name in {n for node in tree.body for n in src._defined_names(node)} & names:
            defined[name] = cell.source
    return {**defined, **by_id}


def export_code(src_dir: Path, module: CourseModule, codes: dict[str, str]
                ) -> list[ExportNote]:
    """Replace each unit's top-level definition in the workspace files by `codes[unit]`."""
    notes = []
    units = {u.name: u for u in module.units}
    by_file: dict[str, list[tuple[src.Unit, str]]] = {}
    for name, code in codes.items():
        by_file.setdefault(units[name].module, []).append((units[name], code))
    for dotted, edits in by_file.items():
        path = module_file(src_dir, dotted)
        if not path.is_file():
            notes.append(ExportNote(edits[0][0].name, f"{path} is not in the workspace"))
            continue
        text = path.read_text(encoding="utf-8")
        for unit, code in edits:
            text, note = _replace_definition(text, unit, code, units, dotted)
            if note:
                notes.append(ExportNote(unit.name, note))
        with atomic_open(path, "w", encoding="utf-8") as stream:  # the student's own code
            stream.write(normalize_stubs(text, dotted))
    return notes


def _replace_definition(text: str, unit: src.Unit, code: str, units: dict[str, src.Unit],
                        dotted: str) -> tuple[str, str]:
    try:
        cell_tree = ast.parse(code)
    except SyntaxError as exc:
        return text, (f"the cell of {unit.name} is not valid Python (line {exc.lineno}: "
                      f"{exc.msg}); the file keeps its previous {unit.name}")
    if unit.name not in {n for node in cell_tree.body for n in src._defined_names(node)}:
        return text, (f"the cell of {unit.name} no longer defines {unit.name}; the file keeps "
                      "its previous version")
    lines = text.splitlines()
    tree = ast.parse(text)
    node = next((n for n in tree.body if unit.name in src._defined_names(n)), None)
    if node is None:
        return text, f"{dotted} has no definition named {unit.name}"
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    last = node.end_lineno
    while last < len(lines) and lines[last].strip() == src.END:  # a trailing END marker
        last += 1
    body = code.rstrip("\n").splitlines()
    body += _imports_for(code, tree, units, dotted)
    lines[first - 1: last] = body
    return "\n".join(lines) + "\n", ""


def _imports_for(code: str, file_tree: ast.Module, units: dict[str, src.Unit],
                 dotted: str) -> list[str]:
    """Notebook cells call other cells' definitions by bare name (`kaiming_uniform_`
    where the file says `init.kaiming_uniform_`): import those the file does not bind.
    The imports go after the definition, at module level, where they are looked up at
    call time only, so they never create an import cycle at load time."""
    bound = set()
    for node in file_tree.body:
        bound.update(src._defined_names(node))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).partition(".")[0] for a in node.names)
    needed = sorted(name for name in src.free_names(code) - bound
                    if name in units and units[name].module != dotted)
    return [f"from {units[name].module} import {name}  # noqa: E402  (tito export)"
            for name in needed]


def export_notebook(directory: str | os.PathLike, module: CourseModule,
                    path: str | os.PathLike) -> list[ExportNote]:
    """Copy the solution cells of a submission (notebook or .py) for `module` into the
    workspace at `directory`."""
    return export_code(source_dir(directory), module, solution_cells(path, module))


# ---------------------------------------------------------------- status


@dataclass(frozen=True)
class Stub:
    module: str  # python module
    qualname: str
    line: int
    course_module: str  # "06"


def stub_sites(text: str, module: str) -> list[tuple[str, int]]:
    """(qualname, line) of every `raise NotImplementedError` in a function that is a
    solution region of the syllabus: an exercise not written yet."""
    sites = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef) and \
                        region_owner(f"{module}:{qualname}") is not None:
                    sites.extend((qualname, n.lineno) for n in ast.walk(child)
                                 if isinstance(n, ast.Raise) and _raises_not_implemented(n))
                visit(child, qualname + ".")

    visit(ast.parse(text), "")
    return sites


def _raises_not_implemented(node: ast.Raise) -> bool:
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def normalize_stubs(text: str, module: str) -> str:
    """Rewrite every stub (nbgrader's bare `raise NotImplementedError()`, a notebook's
    'you write this in module NN') into the workspace's stub, which names the function,
    its module and the hint: the message a milestone run stops with."""
    lines = text.splitlines()
    for qualname, line in stub_sites(text, module):
        row = lines[line - 1]
        if not row.strip().startswith("raise NotImplementedError"):
            continue  # a multi-line or conditional raise: the student's own code
        indent = row[: len(row) - len(row.lstrip())]
        lines[line - 1] = f"{indent}raise NotImplementedError({stub_message(module, qualname)!r})"
    return "\n".join(lines) + "\n"


def unwritten(directory: str | os.PathLike) -> list[Stub]:
    """The exercises of the workspace that are still stubs, in file order."""
    folder = source_dir(directory)
    stubs = []
    for path in sorted(folder.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "NotImplementedError" not in text:
            continue
        dotted = ".".join(path.relative_to(folder).with_suffix("").parts).removesuffix(
            ".__init__")
        seen = set()
        for qualname, line in stub_sites(text, dotted):
            owner = region_owner(f"{dotted}:{qualname}")
            if qualname not in seen and owner is not None:
                seen.add(qualname)
                stubs.append(Stub(dotted, qualname, line, owner.id))
    return stubs


# ---------------------------------------------------------------- activation


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def activate(directory: str | os.PathLike, site_dir: str | os.PathLike | None = None) -> Path:
    """Make this environment import the workspace's code first; return the .pth file."""
    folder = source_dir(directory)
    site_dir = Path(site_dir) if site_dir is not None else site_packages()
    pth = site_dir / PTH_NAME
    # a .pth line that starts with `import` is executed at start-up: insert, not append;
    # with $TINYTORCH_REFERENCE set (the grader's own process) the library is the installed one
    line = (f"import os, sys; os.environ.get({REFERENCE_ENV!r}) or "
            f"sys.path.insert(0, {str(folder)!r})")
    with atomic_open(pth, "w", keep_suffix=False) as stream:  # a temp *.pth would be run
        stream.write(_pth_text(line))
    return pth


def _pth_text(line: str) -> str:
    """The .pth file: a comment holding the SHA-256 of the code line (site skips '#' lines)."""
    return f"{PTH_HEADER}{hashlib.sha256(line.encode()).hexdigest()}\n{line}\n"


def deactivate(site_dir: str | os.PathLike | None = None) -> bool:
    pth = (Path(site_dir) if site_dir is not None else site_packages()) / PTH_NAME
    if pth.is_file():
        pth.unlink()
        return True
    return False


def active_workspace(site_dir: str | os.PathLike | None = None) -> Path | None:
    pth = (Path(site_dir) if site_dir is not None else site_packages()) / PTH_NAME
    if not pth.is_file():
        return None
    data = pth.read_bytes()
    lines = data.split(b"\n")
    line = lines[1].decode("utf-8", errors="replace") if len(lines) == 3 else ""
    if data != _pth_text(line).encode("utf-8"):
        raise WorkspaceError(f"{pth} is damaged (its SHA-256 does not match: truncated or "
                             "edited); run `tito workspace deactivate` to remove it, then "
                             "`tito workspace activate DIR` again")
    return Path(ast.literal_eval(line.split("insert(0, ", 1)[1].rsplit(")", 1)[0])).parent


def environment(directory: str | os.PathLike) -> dict:
    """os.environ with the workspace first on PYTHONPATH (for one command)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(source_dir(directory)),
                                         *filter(None, [env.get("PYTHONPATH")])])
    return env


__all__ = ["ExportNote", "Stub", "WorkspaceError", "activate", "active_workspace",
           "deactivate", "environment", "export_code", "export_notebook", "init",
           "packages_for", "render_file", "solution_cells", "solution_cells_of",
           "source_dir", "unwritten", "workspace_info",
           "write_packages"]
