"""Milestones: the end-to-end proofs, each shipped by the package that owns it.

    tito milestones list                 # what is installed
    tito milestones run xor              # one milestone, in a fresh interpreter
    tito milestones run all --quick      # every installed milestone, then a summary table

A milestone is a module with a `main(argv) -> exit code` that checks claims and exits 0
only when they hold. Each package registers its own under the entry point group
`tinytorch.milestones` (name `NN_name`, value the module), so an installed package brings
its milestone with it and no repository checkout is needed: core ships 01 XOR, vision 03
CIFAR-10, language 04 TinyGPT, mlops 05 optimized inference.

`catalog` finds and runs them; `support` holds what the scripts share (the data options,
one clear message when data is missing, the claims table).
"""

from .catalog import ENTRY_POINT_GROUP, EXIT_NO_DATA, Milestone, discover, resolve, run, run_all

__all__ = ["ENTRY_POINT_GROUP", "EXIT_NO_DATA", "Milestone", "discover", "resolve", "run",
           "run_all"]
