"""Independent versions: does every sibling dependency range admit the sibling in this repo?

    problems = check_sibling_ranges(Path("."))     # [] when the monorepo is consistent

What it teaches: each TinyTorch package is released on its own (its own version,
CHANGELOG and tag), so tinytorch-vision 0.3 must say which tinytorch-core releases it works
with, e.g. `tinytorch-core>=0.2,<0.3`. Two ways this goes wrong in a monorepo:
- **no range**: `tinytorch-core` alone accepts any future core, including one that breaks
  the API; a user's `pip install -U` then produces an install that fails at import time.
- **a range that excludes the repository's own sibling**: core was bumped to 0.3 but
  vision still says <0.3, so the packages tested together here cannot be installed together.
The check reads every packages/*/pyproject.toml (dependencies and extras) and the version
in each package's __about__.py.

Systems lesson: the same check, run before every release, is what keeps "works in CI"
and "installs from the index" the same statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Package:
    name: str
    version: Version
    path: Path
    requirements: tuple[tuple[str, Requirement], ...]  # (where, requirement)


@dataclass(frozen=True)
class RangeProblem:
    package: str
    where: str
    requirement: str
    sibling: str
    sibling_version: str
    reason: str

    def __str__(self) -> str:
        return (f"{self.package} {self.where}: '{self.requirement}' {self.reason} "
                f"({self.sibling} is {self.sibling_version} in this repository)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_packages(repo: Path) -> dict[str, Package]:
    """Every package under repo/packages: name, in-repo version, requirements."""
    found = {}
    for pyproject in sorted(Path(repo).glob("packages/*/pyproject.toml")):
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        project = data.get("project", {})
        name = normalize(project["name"])
        version = Version(project["version"]) if "version" in project else \
            _hatch_version(pyproject.parent, data)
        requirements = [("dependencies", r) for r in project.get("dependencies", [])]
        for extra, deps in project.get("optional-dependencies", {}).items():
            requirements += [(f"extra [{extra}]", r) for r in deps]
        parsed = []
        for where, text in requirements:
            try:
                parsed.append((where, Requirement(text)))
            except InvalidRequirement as exc:
                raise ValueError(f"{pyproject}: invalid requirement {text!r} in {where}: "
                                 f"{exc}") from None
        found[name] = Package(name, version, pyproject.parent, tuple(parsed))
    return found


def _hatch_version(folder: Path, data: dict) -> Version:
    path = data.get("tool", {}).get("hatch", {}).get("version", {}).get("path")
    if not path:
        raise ValueError(f"{folder}/pyproject.toml: no [project] version and no "
                         "[tool.hatch.version] path")
    match = re.search(r"""__version__\s*=\s*["']([^"']+)["']""",
                      (folder / path).read_text(encoding="utf-8"))
    if not match:
        raise ValueError(f"{folder / path}: no __version__ = '...' line")
    return Version(match.group(1))


def check_sibling_ranges(repo: Path, require_range: bool = True) -> list[RangeProblem]:
    """Problems with sibling requirements; [] means every range admits the in-repo version."""
    packages = read_packages(repo)
    problems = []
    for package in packages.values():
        for where, requirement in package.requirements:
            sibling = packages.get(normalize(requirement.name))
            if sibling is None:
                continue
            args = (package.name, where, str(requirement), sibling.name, str(sibling.version))
            if require_range and not str(requirement.specifier):
                problems.append(RangeProblem(*args, "has no version range; declare the "
                                             "compatible releases, e.g. "
                                             f"'{sibling.name}>={_floor(sibling.version)},"
                                             f"<{_next_breaking(sibling.version)}'"))
            elif not requirement.specifier.contains(sibling.version, prereleases=True):
                problems.append(RangeProblem(*args, "does not admit the sibling's version"))
    return problems


def _floor(version: Version) -> str:
    return f"{version.major}.{version.minor}.0"


def _next_breaking(version: Version) -> str:
    """Under 1.0 a minor bump may break the API (semver's 0.x rule); from 1.0 a major bump."""
    if version.major == 0:
        return f"0.{version.minor + 1}"
    return f"{version.major + 1}"
