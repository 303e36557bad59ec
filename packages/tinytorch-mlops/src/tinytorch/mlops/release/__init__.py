"""Release engineering: sibling version ranges, publishing to an index, install checks.

    python -m tinytorch.mlops.release check-ranges --repo .
    python -m tinytorch.mlops.release publish --dist dist/ --repo .

`publish` needs the `release` extra (pypiserver, passlib, twine) and imports it lazily.
"""

from .ranges import RangeProblem, check_sibling_ranges, read_packages

__all__ = ["RangeProblem", "check_sibling_ranges", "read_packages"]
