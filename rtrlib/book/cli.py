"""The runner's command line: ``build`` and ``pdf`` (options derived from :class:`BuildConfig`
with :mod:`rtrlib.cli`), ``audit`` and ``list``. Every user-facing error is one line and exit
status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rtrlib.book.errors import BookError, unknown_value
from rtrlib.book.pipeline import BuildConfig, run_build
from rtrlib.book.profiles import load_profiles, toc_chapters
from rtrlib.cli import add_config_options, config_from_args

__all__ = ["main"]

PROG = "python -m rtrlib.book"
DESCRIPTION = "The book runner: execute every chapter with papermill, then build the HTML " \
              "with Jupyter Book."


class _Parser(argparse.ArgumentParser):
    """argparse whose refusal of a value outside ``choices`` is the runner's one-line
    :class:`BookError` ("unknown profile 'x'; valid profiles: ..."), the same message
    :class:`BuildConfig` gives from Python. (:mod:`rtrlib.cli` has no hook for this.)"""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            raise unknown_value(action.dest, value, [str(c) for c in action.choices])


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute the chapters and render the HTML book",
                       description="Execute the chapters (reusing unchanged ones) and render "
                                   "the HTML to _build/html or _build/student/html.")
    add_config_options(b, BuildConfig)
    p = sub.add_parser("pdf", help="build the book and print it into one PDF",
                       description="Build the book (as `build`), print every page with "
                                   "headless Chromium into _build/pdf/rtr-book.pdf (student "
                                   "edition: rtr-book-student.pdf), then render the HTML "
                                   "again so that it links the PDF.")
    add_config_options(p, BuildConfig)
    a = sub.add_parser("audit", help="audit a built book in headless Chromium",
                       description="Every page of a built HTML book: axe-core accessibility "
                                   "violations, console errors, requests leaving the machine, "
                                   "content wider than its column.")
    a.add_argument("html", nargs="+", help="built HTML folders (e.g. _build/html)")
    sub.add_parser("list", help="list the chapters and the profiles")
    return parser


def _audit(folders: Sequence[str]) -> int:
    from rtrlib.book.audit import audit_book, summarise

    status = 0
    for folder in folders:
        audits = audit_book(Path(folder))
        print(f"== {folder}\n{summarise(audits)}")
        status |= any(a.problems() for a in audits)
    return status


def _list() -> int:
    from rtrlib.costs import H100, profile_estimates

    profiles = load_profiles()
    print("chapters:", " ".join(toc_chapters()))
    for name, prof in profiles.items():
        print(f"profile {name} (device {prof['device']}): {prof.get('description', '')}")
        if prof["device"] != "cuda":
            continue
        est = profile_estimates(name)
        if est is None:
            print(f"  GPU cost: no recorded work (run `{PROG} build --profile {name} "
                  "--dry-run`)")
            continue
        per, total, _ = est
        for chapter, e in per.items():
            print(f"  {chapter}: {e.text()}")
        print(f"  total: {total.text()}")
    print(f"GPU costs are estimates, not measurements: {H100.describe()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "list":
            return _list()
        if args.command == "audit":
            return _audit(args.html)
        if args.command == "pdf":
            from rtrlib.book.pdf import make_pdf

            return make_pdf(config_from_args(args, BuildConfig))
        return run_build(config_from_args(args, BuildConfig))
    except BookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
