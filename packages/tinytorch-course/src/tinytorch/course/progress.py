"""Progress: which modules a student's workspace passes, and which milestones that unlocks.

What it teaches: progress is derived, never stored. A student's workspace is a folder of
notebooks named like the generated ones (`03_activations.ipynb`, or a `.py` file of the
same stem); each found notebook is graded on the spot, so the status cannot disagree with
`tito grade`. A phase's milestone is unlocked when every module of the phase passes.

Systems lesson: grading 18 notebooks means 18 fresh interpreters (~0.5 s each): cheap
enough to recompute every time, so there is no cache to go stale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .grader import DEFAULT_TIMEOUT, GradingError, Report, grade
from .grading import max_score, tests_for
from .syllabus import MODULES, PHASES, CourseModule, Phase
from .workspace import STUB_TAG, WorkspaceError


@dataclass
class ModuleStatus:
    module: CourseModule
    submission: Path | None
    report: Report | None
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.report is not None and self.report.passed

    @property
    def state(self) -> str:
        if not self.module.available:
            return "package not installed"
        if not tests_for(self.module.id):
            return "no notebook yet"
        if self.submission is None:
            return "not started"
        if self.report is None:
            return f"error: {self.note}"
        if self.passed:
            return "passed"
        if self.started:
            return f"in progress ({self.tests_passed}/{len(self.report.tests)})"
        return "not started"

    @property
    def tests_passed(self) -> int:
        return 0 if self.report is None else sum(t.passed for t in self.report.tests)

    @property
    def started(self) -> bool:
        """Some test passes, or fails for another reason than an unwritten exercise (the
        module's own: a stub of a later module met on the way does not count)."""
        if self.report is None:
            return False
        own = f"module {self.module.id} ("
        return any(t.passed or not (STUB_TAG in t.feedback and own in t.feedback)
                   for t in self.report.tests)

    def to_json(self) -> dict:
        return {"module": self.module.id, "stem": self.module.stem, "state": self.state,
                "submission": None if self.submission is None else str(self.submission),
                "score": None if self.report is None else self.report.score,
                "max_score": max_score(self.module.id) if tests_for(self.module.id) else 0,
                "tests_passed": self.tests_passed,
                "tests": 0 if self.report is None else len(self.report.tests),
                "passed": self.passed}


def find_submission(workspace: Path, module: CourseModule) -> Path | None:
    for suffix in (".ipynb", ".py"):
        for candidate in (workspace / f"{module.stem}{suffix}",
                          workspace / module.stem / f"{module.stem}{suffix}"):
            if candidate.is_file():
                return candidate
    return None


def workspace_status(workspace: str | os.PathLike, timeout: float = DEFAULT_TIMEOUT
                     ) -> list[ModuleStatus]:
    """Grade every module found in `workspace`: a student workspace (`tito workspace
    init`: its files, for every module of its packages) or a folder of notebooks."""
    workspace = Path(workspace)
    student_src = workspace / "src" / "tinytorch"
    statuses = []
    for module in MODULES:
        if student_src.is_dir():
            short = module.package.removeprefix("tinytorch-")
            submission = workspace if (student_src / short).is_dir() and module.available \
                else None
        else:
            submission = find_submission(workspace, module) if module.available else None
        report, note = None, ""
        if submission is not None and tests_for(module.id):
            try:
                if student_src.is_dir():
                    report = grade(module.id, workspace_dir=workspace, timeout=timeout)
                else:
                    report = grade(module.id, submission, timeout=timeout)
            except (GradingError, WorkspaceError) as exc:
                note = str(exc)
        statuses.append(ModuleStatus(module, submission, report, note))
    return statuses


def unlocked(phase: Phase, statuses: list[ModuleStatus]) -> bool:
    by_number = {s.module.number: s for s in statuses}
    return all(by_number[n].passed for n in phase.modules)


def phase_rows(statuses: list[ModuleStatus] | None = None) -> list[dict]:
    rows = []
    for phase in PHASES:
        rows.append({"phase": phase.number, "name": phase.name,
                     "modules": [f"{n:02d}" for n in phase.modules],
                     "milestone": phase.milestone, "milestone_name": phase.milestone_name,
                     "question": phase.question,
                     "unlocked": None if statuses is None else unlocked(phase, statuses)})
    return rows
