"""`python -m tinytorch.core.cli ...` is the same as `tito ...`."""

from .main import main

raise SystemExit(main())
