"""Generated pages: the execution report, the claim ledger and the instructors' guide, rendered
as markdown from the executed notebooks and put where ``book/*.md`` holds their marks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rtrlib.book.execute import META, ChapterRun
from rtrlib.claims import claims_in_notebook
from rtrlib.claims.ledger import ledger_rows, render_ledger
from rtrlib.claims.registry import entry_commits

__all__ = ["collect_ledger", "edition_marks", "exercise_difficulties", "fill_marks",
           "fmt_seconds", "pdf_name", "render_execution_report", "render_instructors_guide",
           "sci"]

REPORT_MARK = "<!-- rtrlib:execution-report -->"
LEDGER_MARK = "<!-- rtrlib:claim-ledger -->"
GUIDE_MARK = "<!-- rtrlib:instructors-guide -->"
SOLUTIONS_MARK = "<!-- rtrlib:solutions -->"
PDF_MARK = "<!-- rtrlib:book-pdf -->"
DIFFICULTY_MARK = "<!-- rtrlib:difficulty-legend -->"


def fmt_seconds(s: float | None) -> str:
    """A duration for a reader: 'under a second', '12.3 s', '4.5 min' or '31.5 h'."""
    if s is None:
        return "n/a"
    if s < 1:
        return "under a second"
    if s < 90:
        return f"{s:.1f} s"
    return f"{s / 60:.1f} min" if s < 90 * 60 else f"{s / 3600:.1f} h"


def sci(x: float) -> str:
    """A number for MathJax: ``3.4e+18`` -> ``$3.4 \\times 10^{18}$``."""
    text = f"{float(x):.2g}"
    if "e" not in text:
        return f"${text}$"
    mantissa, exponent = text.split("e")
    return f"${mantissa} \\times 10^{{{int(exponent)}}}$"


def pdf_name(edition: str) -> str:
    """The file name of an edition's whole-book PDF."""
    return "rtr-book.pdf" if edition == "full" else f"rtr-book-{edition}.pdf"


def edition_marks(edition: str, pdf: str | None) -> dict[str, str]:
    """The edition-dependent sentences of the front matter: where the solutions are (true in
    the edition being built) and where the whole-book PDF is (``pdf``: its file name in the HTML
    root, None when ``make pdf`` has not written it)."""
    if edition == "student":
        solutions = ("This is the *student edition*: every solution is removed, from the pages, "
                     "the search index and the downloadable notebooks and sources. The full "
                     "edition (`make book`) shows each solution in a dropdown below its "
                     "exercise.")
        command = "`python -m rtrlib.book pdf --edition student`"
    else:
        solutions = ("In this edition each exercise's solution folds into a dropdown below it; "
                     "the *student edition* (`make student`) is the same book with every "
                     "solution removed.")
        command = "`make pdf`"
    if pdf:
        book_pdf = (f'The whole book is also one PDF, <a href="../{pdf}">{pdf}</a>, printed '
                    f"from these pages by {command}.")
    else:
        book_pdf = (f"{command} prints the whole book, these pages in order, into one PDF "
                    f"(`_build/pdf/{pdf_name(edition)}`) and links it here.")
    return {SOLUTIONS_MARK: solutions, PDF_MARK: book_pdf, DIFFICULTY_MARK: _legend()}


def _legend() -> str:
    from rtrlib.book.numbering import DIFFICULTY, stars

    return "\n".join(f"- {stars(k)} **difficulty {k}**, {v}" for k, v in DIFFICULTY.items())


_EXERCISE = re.compile(r"^(?::{3,}|`{3,})\{exercise\}[^\n]*\n((?:[ \t]*:[\w-]+:.*\n)*)", re.M)


def exercise_difficulties(nb: Any) -> list[int | None]:
    """The difficulty (``:class: difficulty-N``) of each exercise of a chapter, in order."""
    from rtrlib.book.numbering import difficulty_of

    found: list[int | None] = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for m in _EXERCISE.finditer(cell.source):
            classes = re.findall(r"^[ \t]*:class:(.*)$", m.group(1), re.M)
            found.append(difficulty_of(" ".join(classes).split()))
    return found


def render_execution_report(notebooks: dict[str, Any], runs: dict[str, ChapterRun],
                            profile: str) -> str:
    """The markdown table of the execution report."""
    rows = ["| chapter | profile | device | wall time | status | executed at | git commit |",
            "|---|---|---|---|---|---|---|"]
    vers: dict[str, str] = {}
    for chapter, nb in notebooks.items():
        meta = nb.metadata.get(META, {}) if nb is not None else {}
        run = runs.get(chapter)
        status = meta.get("status", "missing")
        if run and run.status == "stale":
            status = "stale (not re-run in this build)"
        elif run and run.status == "cached":
            status = "ok (cached)"
        name = f"{{doc}}`{chapter} <../chapters/{chapter}>`" if nb is not None else chapter
        info = meta.get("device_info") or {}
        device = meta.get("device", "-")
        if info:
            device += " (" + ", ".join(f"{k} {v}" for k, v in info.items()) + ")"
        rows.append(f"| {name} | {meta.get('profile', '-')} "
                    f"| {device} | {fmt_seconds(meta.get('wall_time_s'))} "
                    f"| {status} | {meta.get('executed_at', '-')} "
                    f"| `{meta.get('git_commit', '-')}` |")
        vers = vers or meta.get("versions", {})
    total = sum((nb.metadata.get(META, {}).get("wall_time_s") or 0) for nb in notebooks.values()
                if nb is not None)
    lines = [f"Profile of this build: **{profile}**. Total execution time of the chapters: "
             f"**{fmt_seconds(total)}**.", "", *rows, ""]
    if vers:
        lines += ["Software versions (recorded when the chapters ran):", "",
                  "| package | version |", "|---|---|",
                  *[f"| {k} | {v} |" for k, v in vers.items()], ""]
    return "\n".join(lines)


def collect_ledger(notebooks: dict[str, Any], profile: str, root: Path) -> tuple[list, str]:
    """The ledger rows of every recorded claim and check (``claims.json``) and the page body."""
    entries = [e for nb in notebooks.values() if nb is not None for e in claims_in_notebook(nb)]
    registered = [e for e in entries if "id" in e]
    rows = ledger_rows(registered, entry_commits(root) if registered else {})
    page = render_ledger(rows, profile) if rows else ""
    return rows, page or "No chapter in this build recorded a claim.\n"


def _chapter_title(nb: Any) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^# (.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return "untitled"


def _gpu_time(teach: dict[str, Any], gpu_meta: dict[str, Any], chapter: str = "") -> str:
    """The GPU run time: measured by a gpu build if there is one, else the estimate of
    :mod:`rtrlib.costs` (the gpu profile's recorded work, else the chapter's stated FLOPs)."""
    from rtrlib.costs import H100, Work, estimate, profile_estimates

    if gpu_meta.get("status") == "ok" and gpu_meta.get("device", "").startswith("cuda"):
        return f"{fmt_seconds(gpu_meta.get('wall_time_s'))} (measured, gpu profile)"
    recorded = profile_estimates("gpu")
    if recorded is not None and chapter in recorded[0]:
        e = recorded[0][chapter]
        return (f"about {fmt_seconds(e.seconds)} (an estimate, not measured: the gpu "
                f"profile's recorded work, {sci(e.flops)} FLOP, on {H100.describe()})")
    if teach.get("gpu_flop"):
        kind = "olmo" if chapter.startswith("06") else "toy"
        e = estimate([Work(kind=kind, flops=float(teach["gpu_flop"]))], chapters=1)
        return (f"at least {fmt_seconds(e.seconds)} (an estimate, not measured: the gpu "
                f"profile's {sci(teach['gpu_flop'])} training FLOP on {H100.describe()}; "
                "per-step overheads, which dominate small models, are not counted)")
    return "not measured; no FLOP count stated"


def _exercise_line(nb: Any) -> str:
    levels = exercise_difficulties(nb)
    if not levels:
        return "none"
    marked = [lv for lv in levels if lv is not None]
    if not marked:
        return f"{len(levels)}, not yet marked with a difficulty"
    counts = ", ".join(f"{marked.count(k)} of difficulty {k}" for k in sorted(set(marked)))
    rest = len(levels) - len(marked)
    return f"{len(levels)}: {counts}" + (f", {rest} not yet marked" if rest else "")


def render_instructors_guide(notebooks: dict[str, Any], gpu_notebooks: dict[str, Any]) -> str:
    """Per chapter: objectives, prerequisites, teaching time, measured run times, class ideas.

    Teaching facts come from each chapter's ``teaching:`` front matter; run times from the
    executed notebooks' records (this build, and a GPU build in the same tree if one exists).
    """
    out: list[str] = []
    for chapter, nb in notebooks.items():
        if nb is None:
            continue
        teach = nb.metadata.get("teaching", {})
        meta = nb.metadata.get(META, {})
        gpu_meta = (gpu_notebooks.get(chapter) or {}).get("metadata", {}).get(META, {})
        objectives = teach.get("objectives") or ["not stated"]
        prereq = teach.get("prerequisites") or ["none beyond the previous chapters"]
        out += [f"### {_chapter_title(nb)}", "",
                f"{{doc}}`Open the chapter <../chapters/{chapter}>` · source "
                f"`chapters/{chapter}.md`", "",
                "**Learning objectives**", "", *[f"- {o}" for o in objectives], "",
                "**Prerequisites**", "", *[f"- {p}" for p in prereq], "",
                f"- **Time to teach:** {teach.get('teach_minutes', 'not stated')} minutes",
                f"- **Run time on CPU:** {fmt_seconds(meta.get('wall_time_s'))} "
                f"({meta.get('profile', '?')} profile, device {meta.get('device', '?')}, "
                "this build)",
                f"- **Run time on a GPU:** {_gpu_time(teach, gpu_meta, chapter)}",
                f"- **For a class exercise, change:** "
                f"{teach.get('class_exercise', 'the parameters cell')}",
                f"- **Exercises:** {_exercise_line(nb)}", ""]
    return "\n".join(out) if out else "No chapter was executed in this build.\n"


def fill_marks(text: str, notebooks: dict[str, Any], runs: dict[str, ChapterRun],
               profile: str, gpu_notebooks: dict[str, Any], ledger: str,
               marks: dict[str, str] | None = None) -> str:
    """Replace the report, ledger and guide marks of a ``book/`` page by their tables
    (``ledger``: the page body from :func:`collect_ledger`) and any other mark in ``marks``
    (from :func:`edition_marks`) by its text."""
    for mark, replacement in (marks or {}).items():
        text = text.replace(mark, replacement)
    if REPORT_MARK in text:
        text = text.replace(REPORT_MARK, render_execution_report(notebooks, runs, profile))
    if LEDGER_MARK in text:
        text = text.replace(LEDGER_MARK, ledger)
    if GUIDE_MARK in text:
        text = text.replace(GUIDE_MARK, render_instructors_guide(notebooks, gpu_notebooks))
    return text
