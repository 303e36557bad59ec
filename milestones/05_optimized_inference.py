"""Milestone 05, optimized inference, a checkout shortcut: it ships with tinytorch-mlops
as tinytorch.mlops.milestones.optimized_inference.

    python milestones/05_optimized_inference.py [options]
    # the same as: tito milestones run optimized_inference [options]
"""

import sys

from tinytorch.mlops.milestones.optimized_inference import main

if __name__ == "__main__":
    sys.exit(main())
