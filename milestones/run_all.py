"""Run every installed milestone in order and summarise the results (a checkout shortcut).

    python milestones/run_all.py [--quick] [--no-download]
    # the same as: tito milestones run all [--quick] [--no-download]

Each milestone ships with the package that owns it and runs as its own subprocess
(tinytorch.core.milestones.catalog); this script exits non-zero if any milestone failed.
"""

import sys

from tinytorch.core.cli import main

if __name__ == "__main__":
    sys.exit(main(["milestones", "run", "all", *sys.argv[1:]]))
