"""Versions and artifacts with hatch: `hatch version` bumps, `hatch build` builds.

    bump(repo, "tinytorch-core", "minor")   # hatch version minor, then the sibling check
    build_all(repo, dist)                   # hatch build -t wheel -t sdist, every package

What it teaches: the version lives in one place per package (`__about__.py`, read by
hatchling through `[tool.hatch.version]`); `hatch version minor` edits that line, so no
script of ours parses or rewrites versions. After a bump, the sibling ranges are checked
again: a bump that a sibling's range excludes must be answered by widening that range in
the same commit.
"""

from __future__ import annotations

from pathlib import Path

from .publish import PublishError, log, run
from .ranges import check_sibling_ranges, normalize, read_packages

PARTS = ("major", "minor", "micro", "patch", "fix", "a", "b", "rc", "post", "dev", "release")


def _package_dir(repo: Path, package: str) -> Path:
    packages = read_packages(repo)
    name = normalize(package)
    if name not in packages:
        raise PublishError(f"no package {package!r} in {repo / 'packages'}; known: "
                           f"{', '.join(packages)}")
    return packages[name].path


def bump(repo: Path, package: str, part: str) -> list[str]:
    """`hatch version PART` in the package's folder; returns the sibling-range problems the
    new version causes (empty when every range still admits it)."""
    if part not in PARTS and not part[:1].isdigit():
        raise PublishError(f"bump: {part!r} is not a version or a part ({', '.join(PARTS)})")
    output = run(["hatch", "version", part], f"hatch version {part}",
                 cwd=_package_dir(repo, package))
    log(output.strip())
    return [str(problem) for problem in check_sibling_ranges(repo, require_range=True)]


def build_all(repo: Path, dist: Path) -> list[Path]:
    """Wheel and sdist of every package into `dist` with `hatch build`."""
    dist = Path(dist).resolve()
    dist.mkdir(parents=True, exist_ok=True)
    for package in read_packages(repo).values():
        run(["hatch", "build", "--target", "wheel", "--target", "sdist", str(dist)],
            f"hatch build {package.name}", cwd=package.path)
    built = sorted(p for p in dist.iterdir() if p.name.endswith((".whl", ".tar.gz")))
    log(f"built {len(built)} files into {dist}")
    return built
