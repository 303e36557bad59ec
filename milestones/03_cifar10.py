"""Milestone 03, CIFAR-10, a checkout shortcut: it ships with tinytorch-vision
as tinytorch.vision.milestones.cifar10.

    python milestones/03_cifar10.py [options]
    # the same as: tito milestones run cifar10 [options]
"""

import sys

from tinytorch.vision.milestones.cifar10 import main

if __name__ == "__main__":
    sys.exit(main())
