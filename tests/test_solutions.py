"""Exercise solutions are executed: every sphinx-exercise solution in a chapter that holds a
fenced ```` ```python ```` block runs, as one program, in a fresh interpreter from ``chapters/``
(the parser is the one the student edition strips solutions with). Solutions are meant to be
self-contained: they import what they need and use small sizes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rtrlib.book import ROOT, find_solutions, python_blocks, strip_solutions, toc_chapters

pytestmark = pytest.mark.slow
TIMEOUT_S = 240  # per solution

def _solutions_with_code() -> list:
    params = []
    for chapter in toc_chapters():
        text = (ROOT / "chapters" / f"{chapter}.md").read_text()
        for sol in find_solutions(text):
            blocks = python_blocks(sol.text)
            if not blocks:
                continue
            params.append(pytest.param(chapter, sol.label, "\n".join(blocks),
                                       id=f"{chapter}:{sol.label}"))
    return params


SOLUTIONS = _solutions_with_code()


def test_solutions_with_code_are_found() -> None:
    assert len(SOLUTIONS) >= len(toc_chapters())
    assert {p.values[0] for p in SOLUTIONS} == set(toc_chapters()), \
        "every chapter has at least one solution with code"


@pytest.mark.parametrize("chapter, label, code", SOLUTIONS)
def test_solution_runs(chapter: str, label: str, code: str, tmp_path: Path) -> None:
    env = {**os.environ, "RTRLIB_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "2",
           "OMP_WAIT_POLICY": "PASSIVE", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "chapters", env=env,
                              text=True, capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"solution {label} of {chapter} ran over {TIMEOUT_S} s")
    assert proc.returncode == 0, \
        f"solution {label} of {chapter} failed:\n{proc.stderr[-3000:]}"


@pytest.mark.parametrize("chapter", toc_chapters())
def test_student_edition_strips_every_solution(chapter: str) -> None:
    text = (ROOT / "chapters" / f"{chapter}.md").read_text()
    assert find_solutions(text)
    stripped = strip_solutions(text)
    assert "{solution" not in stripped
    for sol in find_solutions(text):
        for code in python_blocks(sol.text):
            assert code not in stripped
