"""The teaching sections of a module page: one lesson per exercise, and the measurements.

What it teaches: a notebook that teaches is still a build artefact. Two sections of a
module page (curriculum/modules/NN_name.md) are cut out of the page's prose and placed
where they are needed:

    ## Exercises, one by one
    ### `Add.forward`, `Sub.forward`        <- the exercises (qualified names) it explains
    What it computes and why ...
    #### Derivation                          <- every backward has one
    ...
    ```python
    # a worked example on a tiny input, plain numpy: what your code must produce
    ```

    ## Measure it yourself
    What to measure, the magnitude to expect on a laptop ...
    ```python
    from tinytorch.perf import benchmark    # the course's ruler, allowed in every module
    ```

A lesson's prose becomes a locked markdown cell just above the exercise's solution cell,
each fenced ```python block a locked code cell (a worked example the student runs before
writing code); the measurement section becomes the notebook's "measure it yourself" cells.

Systems lesson: keep the text and the code it explains in one reviewed file, and check
the link between them mechanically (a lesson naming an exercise the module does not have
is a build error, not a silently missing cell).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

EXERCISES = "Exercises, one by one"
MEASURE = "Measure it yourself"
DERIVATION = "#### Derivation"
_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class Block:
    kind: str  # "markdown" or "code"
    source: str


@dataclass
class Lesson:
    names: tuple[str, ...]  # the exercises' qualified names, as in the heading
    blocks: list[Block] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(b.source for b in self.blocks if b.kind == "markdown")

    @property
    def examples(self) -> list[str]:
        return [b.source for b in self.blocks if b.kind == "code"]

    @property
    def has_derivation(self) -> bool:
        return any(b.kind == "markdown" and DERIVATION in b.source for b in self.blocks)


@dataclass
class Teaching:
    prose: str  # the page without the two teaching sections
    lessons: list[Lesson]
    measure: list[Block]


def _sections(page: str, level: int) -> list[tuple[str, str]]:
    """[(heading line or "", body)] split at headings of exactly `level` #s."""
    marker = "#" * level + " "
    parts, heading, body = [], "", []
    in_fence = False
    for line in page.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith(marker):
            parts.append((heading, "\n".join(body)))
            heading, body = line, []
        else:
            body.append(line)
    parts.append((heading, "\n".join(body)))
    return parts


def blocks(text: str) -> list[Block]:
    """Markdown and fenced ```python code, in order (empty markdown dropped)."""
    out, position = [], 0
    for match in _FENCE.finditer(text):
        before = text[position:match.start()].strip()
        if before:
            out.append(Block("markdown", before))
        out.append(Block("code", match.group(1).rstrip() + "\n"))
        position = match.end()
    rest = text[position:].strip()
    if rest:
        out.append(Block("markdown", rest))
    return out


def parse(page: str) -> Teaching:
    """Split a module page into its prose, its lessons and its measurement section."""
    kept, lessons, measure = [], [], []
    for heading, body in _sections(page, 2):
        title = heading[3:].strip()
        if title == EXERCISES:
            for sub_heading, sub_body in _sections(body, 3)[1:]:
                names = tuple(re.findall(r"`([^`]+)`", sub_heading))
                if not names:
                    raise ValueError(f"lesson heading {sub_heading!r} names no exercise "
                                     "(expected `Qualified.name` in backticks)")
                lessons.append(Lesson(names, blocks(sub_body)))
        elif title == MEASURE:
            measure = blocks(body)
        else:
            kept.append(f"{heading}\n{body}" if heading else body)
    prose = "\n".join(kept).strip() + "\n"
    return Teaching(re.sub(r"\n{3,}", "\n\n", prose), lessons, measure)
