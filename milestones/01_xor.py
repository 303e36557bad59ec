"""Milestone 01, XOR, a checkout shortcut: it ships with tinytorch-core
as tinytorch.core.milestones.xor.

    python milestones/01_xor.py [options]
    # the same as: tito milestones run xor [options]
"""

import sys

from tinytorch.core.milestones.xor import main

if __name__ == "__main__":
    sys.exit(main())
