"""Release engineering of the repository (not part of any distribution users install):
sibling version ranges, version bumps, building and publishing with hatch, install checks.

    python -m tools.release check-ranges --repo .
    python -m tools.release bump tinytorch-core minor --repo .     # `hatch version minor`
    python -m tools.release build --dist dist/ --repo .            # `hatch build` per package
    python -m tools.release publish --dist dist/ --repo .          # `hatch publish` + checks

Run from the repository root by `nox -s build`, `nox -s bump` and `nox -s publish`, which
install what it needs (hatch, pypiserver, passlib, packaging).
"""

from .ranges import RangeProblem, check_sibling_ranges, read_packages

__all__ = ["RangeProblem", "check_sibling_ranges", "read_packages"]
