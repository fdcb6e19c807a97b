"""The build: execute the selected chapters, then stage and render the book."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rtrlib.book.editions import EDITIONS
from rtrlib.book.errors import unknown_value
from rtrlib.book.execute import ChapterRun, execute_chapter, read_notebook
from rtrlib.book.pages import fmt_seconds
from rtrlib.book.profiles import ROOT, chapter_parameters, load_profiles, toc_chapters
from rtrlib.book.stage import render_html, stage
from rtrlib.claims import claims_in_notebook
from rtrlib.claims.ledger import registry_problems
from rtrlib.claims.registry import load_registry, registry_path
from rtrlib.params import DEVICES, PROFILES

__all__ = ["BuildConfig", "build", "execute_book", "html_dir", "render_book", "run_build"]


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    """What to build. The command line's options are derived from these fields
    (:mod:`rtrlib.cli`); a value outside a closed set is refused with a one-line
    :class:`~rtrlib.book.errors.BookError` that lists the valid values."""

    profile: str = dataclasses.field(default="cpu", metadata={
        "choices": PROFILES, "help": "parameter profile (default cpu)"})
    chapters: tuple[str, ...] = dataclasses.field(default=(), metadata={
        "help": "execute only these chapters (e.g. 01_power_law); the others are reused"})
    device: str | None = dataclasses.field(default=None, metadata={
        "choices": DEVICES, "help": "override the profile's device"})
    edition: str = dataclasses.field(default="full", metadata={
        "choices": EDITIONS,
        "help": "full (solutions in dropdowns, default) or student (no solutions)"})
    build_dir: str | None = dataclasses.field(default=None, metadata={
        "help": "output directory (default _build)"})
    force: bool = dataclasses.field(default=False, metadata={
        "help": "execute even when cached"})
    html: bool = dataclasses.field(default=True, metadata={
        "help": "render the HTML (default; --no-html executes only)"})
    dry_run: bool = dataclasses.field(default=False, metadata={
        "help": "execute every chapter with the profile's parameters but a couple of steps "
                "on small batches, on CPU, into _build/dry-run (rtrlib.book.dryrun)"})

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise unknown_value("profile", self.profile, PROFILES)
        if self.device is not None and self.device not in DEVICES:
            raise unknown_value("device", self.device, DEVICES)
        if self.edition not in EDITIONS:
            raise unknown_value("edition", self.edition, EDITIONS)
        object.__setattr__(self, "chapters", tuple(self.chapters))


def build(profile: str = "cpu", chapters: Sequence[str] | None = None, device: str | None = None,
          edition: str = "full", build_dir: Path | str | None = None, force: bool = False,
          html: bool = True, root: Path = ROOT, kernel: str | None = None,
          dry_run: bool = False) -> int:
    """Execute the chapters and render the book; returns the process exit status."""
    config = BuildConfig(profile, tuple(chapters or ()), device, edition,
                         None if build_dir is None else str(build_dir), force, html, dry_run)
    return run_build(config, root, kernel)


def _execute(config: BuildConfig, selected: list[str], profiles: dict[str, Any],
             exec_dir: Path, root: Path, kernel: str | None) -> dict[str, ChapterRun]:
    """Execute (or reuse) each selected chapter, with a progress bar on stderr."""
    from tqdm.auto import tqdm

    runs: dict[str, ChapterRun] = {}
    bar = tqdm(selected, desc=f"chapters ({config.profile})", unit="chapter", file=sys.stderr)
    for chapter in bar:
        bar.set_postfix_str(chapter)
        params = chapter_parameters(profiles, config.profile, chapter, config.device)
        run = execute_chapter(chapter, params, exec_dir,
                              force=config.force or bool(config.chapters), root=root,
                              kernel=kernel,
                              cell_timeout=profiles[config.profile].get("cell_timeout"))
        runs[chapter] = run
        tqdm.write(f"  {chapter}: {run.status} ({fmt_seconds(run.wall_time_s)})",
                   file=sys.stderr)
    bar.close()
    return runs


def enforce_registry(runs: dict[str, ChapterRun], profile: str, root: Path) -> None:
    """Fail every executed chapter whose recorded claims differ from its registered ones."""
    path = registry_path(root)
    registry = load_registry(root) if path.exists() else {}
    for chapter, run in runs.items():
        if run.status not in ("ok", "cached") or not run.notebook:
            continue
        problems = registry_problems(chapter, claims_in_notebook(read_notebook(run.notebook)),
                                     registry, profile)
        if problems:
            run.status = "failed"
            run.error = f"its claims do not match {path.name}: " + "; ".join(problems)


def execute_book(config: BuildConfig, root: Path = ROOT,
                 kernel: str | None = None) -> dict[str, ChapterRun] | None:
    """Execute (or reuse) the chapters ``config`` selects; every chapter's run, or None when a
    chapter failed (reported on stderr)."""
    all_chapters = toc_chapters(root)
    selected = list(config.chapters) or all_chapters
    unknown = [c for c in selected if c not in all_chapters]
    if unknown:
        raise unknown_value("chapter", unknown[0], all_chapters)
    profiles = load_profiles(root)
    exec_dir = _build_dir(config, root) / "executed" / config.profile

    runs = _execute(config, selected, profiles, exec_dir, root, kernel)
    for chapter in all_chapters:
        if chapter not in runs:
            path = exec_dir / f"{chapter}.ipynb"
            runs[chapter] = ChapterRun(chapter, "stale" if path.exists() else "missing",
                                       notebook=path if path.exists() else None)

    enforce_registry(runs, config.profile, root)
    failed = [r for r in runs.values() if r.status == "failed"]
    for r in failed:
        print(f"error: chapter {r.chapter} failed in {r.error}\n"
              f"       executed notebook kept at {r.notebook}", file=sys.stderr)
    if failed:
        return None
    missing = [c for c, r in runs.items() if r.status == "missing"]
    if missing:
        print(f"warning: not executed yet, left out of the HTML: {', '.join(missing)} "
              f"(run without --chapters to execute them)", file=sys.stderr)
    return runs


def html_dir(config: BuildConfig, root: Path = ROOT) -> Path:
    """Where the edition's HTML goes: ``_build/html`` or ``_build/<edition>/html``."""
    build_dir = _build_dir(config, root)
    return build_dir / ("html" if config.edition == "full" else f"{config.edition}/html")


def _build_dir(config: BuildConfig, root: Path) -> Path:
    return Path(config.build_dir) if config.build_dir else root / "_build"


def render_book(config: BuildConfig, runs: dict[str, ChapterRun], root: Path = ROOT) -> Path:
    """Stage the executed chapters and render the edition's HTML; returns its directory."""
    notebooks = {c: (read_notebook(r.notebook) if r.notebook else None) for c, r in runs.items()}
    stage_dir = _build_dir(config, root) / "stage" / f"{config.profile}-{config.edition}"
    stage(notebooks, runs, stage_dir, config.profile, config.edition, root)
    out_html = html_dir(config, root)
    t0 = time.perf_counter()
    render_html(stage_dir, out_html)
    print(f"HTML ({config.edition} edition, profile {config.profile}) written to {out_html} "
          f"in {fmt_seconds(time.perf_counter() - t0)}", file=sys.stderr)
    return out_html


def run_build(config: BuildConfig, root: Path = ROOT, kernel: str | None = None) -> int:
    """Execute the chapters ``config`` selects and render the book from ``root``; returns the
    process exit status (1 when a chapter failed). A dry run executes only, into its own
    folder (default ``_build/dry-run``; :func:`rtrlib.book.dryrun.run_dry`)."""
    if config.dry_run:
        from rtrlib.book.dryrun import run_dry

        build_dir = Path(config.build_dir) if config.build_dir else root / "_build" / "dry-run"
        return run_dry(config.profile, root, build_dir, chapters=config.chapters,
                       target_device=config.device, kernel=kernel)
    runs = execute_book(config, root, kernel)
    if runs is None:
        return 1
    if config.html:
        render_book(config, runs, root)
    return 0
