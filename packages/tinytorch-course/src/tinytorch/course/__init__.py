"""tinytorch.course: the TinyTorch curriculum as code.

    from tinytorch.course import MODULES, build_notebook, grade
    nb = build_notebook("03")                       # the student notebook of module 03
    report = grade("03", "03_activations.ipynb")    # run the student's code, score it

Command line (through tito's plugin entry points):

    tito notebooks build [--out DIR] [--instructor] [MODULE ...]
    tito grade MODULE NOTEBOOK_OR_FILE [--json]
    tito module list | status [--workspace DIR] [--json]
"""

from .__about__ import __version__
from .grader import Report, grade
from .notebooks import build_all, build_notebook, write_notebook
from .syllabus import MODULES, PHASES, CourseModule, Phase, get

__all__ = ["MODULES", "PHASES", "CourseModule", "Phase", "Report", "__version__", "build_all",
           "build_notebook", "get", "grade", "write_notebook"]
