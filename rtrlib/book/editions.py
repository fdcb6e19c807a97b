"""The two editions: ``full`` (solutions in dropdowns) and ``student`` (every sphinx-exercise
solution removed). The same parser finds solutions for the tests that execute their code."""

from __future__ import annotations

import dataclasses
import re
import textwrap

__all__ = ["EDITIONS", "Solution", "find_solutions", "python_blocks", "strip_solutions"]

EDITIONS = ("full", "student")

_OPEN = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>solution(?:-start)?)\}")
_END = re.compile(r"^(?P<fence>:{3,}|`{3,})\{solution-end\}")
_PYTHON = re.compile(r"^(?P<fence>`{3,})\s*python3?\s*$")


@dataclasses.dataclass(frozen=True)
class Solution:
    """One solution in MyST text: the exercise label it answers and its lines
    ``[first, stop)`` (fences included)."""

    label: str
    first: int
    stop: int
    text: str


def find_solutions(text: str) -> list[Solution]:
    """Every sphinx-exercise solution in ``text``: the fenced form (``:::{solution} label``,
    nested directives allowed) and the ``{solution-start}`` ... ``{solution-end}`` form."""
    found: list[Solution] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        opening = lines[i].lstrip()
        m = _OPEN.match(opening)
        if not m:
            i += 1
            continue
        first, fence = i, m.group("fence")
        label = opening[m.end():].strip() or f"line {first + 1}"
        if m.group("name") == "solution-start":
            i += 1
            while i < len(lines) and not _END.match(lines[i].lstrip()):
                i += 1
        i += 1  # past the opening line (or the solution-end opening line)
        while i < len(lines) and lines[i].strip() != fence:
            i += 1
        i = min(i + 1, len(lines))  # past the closing fence
        found.append(Solution(label, first, i, "".join(lines[first:i])))
    return found


def strip_solutions(text: str) -> str:
    """Remove every sphinx-exercise solution (fenced or start/end form) from MyST text."""
    lines = text.splitlines(keepends=True)
    for sol in reversed(find_solutions(text)):
        del lines[sol.first:sol.stop]
    return "".join(lines)


def python_blocks(text: str) -> list[str]:
    """The code of every fenced ```` ```python ```` block in ``text``, in order."""
    blocks: list[str] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        m = _PYTHON.match(lines[i].strip())
        i += 1
        if not m:
            continue
        start = i
        while i < len(lines) and lines[i].strip() != m.group("fence"):
            i += 1
        blocks.append(textwrap.dedent("".join(lines[start:i])))
        i += 1
    return blocks
