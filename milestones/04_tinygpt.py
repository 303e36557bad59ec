"""Milestone 04, TinyGPT, a checkout shortcut: it ships with tinytorch-language
as tinytorch.language.milestones.tinygpt.

    python milestones/04_tinygpt.py [options]
    # the same as: tito milestones run tinygpt [options]
"""

import sys

from tinytorch.language.milestones.tinygpt import main

if __name__ == "__main__":
    sys.exit(main())
