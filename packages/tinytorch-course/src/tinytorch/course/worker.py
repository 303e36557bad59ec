"""The grading child process: `python -m tinytorch.course.worker MODULE CELLS OUT SUBMISSION`.

Reads the student's cells (JSON), runs them and the module's tests (grader.grade_cells),
and writes the report as JSON to OUT. Kept tiny so that everything it does is in grader.py.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from .grader import Cell, grade_cells


def main(argv: list[str]) -> int:
    module_id, cells_file, out_file, submission = argv
    cells = [Cell(**c) for c in json.loads(Path(cells_file).read_text(encoding="utf-8"))]
    report = grade_cells(module_id, cells, submission)
    Path(out_file).write_text(json.dumps(asdict(report)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
