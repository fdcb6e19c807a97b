"""Staging the tree Jupyter Book renders (configuration, ``book/`` pages with their generated
tables, executed chapters; solutions removed in the student edition) and rendering it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from rtrlib.book.editions import strip_solutions
from rtrlib.book.errors import BookError
from rtrlib.book.execute import ChapterRun
from rtrlib.book.pages import collect_ledger, edition_marks, fill_marks, pdf_name
from rtrlib.book.profiles import ROOT
from rtrlib.book.takeaway import Repository, launch_config, portable_notebook, portable_source

__all__ = ["EXTRA", "render_html", "stage"]

EXTRA = "_extra"  # copied as is into the HTML root (html_extra_path): chapter sources, the PDF


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write only when the bytes differ, so Sphinx's incremental build stays incremental."""
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _stage_config(stage_dir: Path, notebooks: dict[str, Any], edition: str, root: Path,
                  repo: Repository, pdf: str | None) -> None:
    """``_config.yml`` (student edition: solutions hidden, title marked; launch buttons only
    with a repository; the extra files and the PDF) and ``_toc.yml`` without the chapters that
    have no executed notebook."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    if edition == "student":
        sphinx_config["hide_solutions"] = True
        config["title"] = f"{config.get('title', '')} (student edition)"
    launch_config(config, repo)
    sphinx_config["html_extra_path"] = [EXTRA]
    sphinx_config["rtr_book_pdf"] = pdf or ""
    config["exclude_patterns"] = [*config.get("exclude_patterns", []), EXTRA]
    _write_if_changed(stage_dir / "_config.yml", yaml.safe_dump(config, sort_keys=False).encode())

    toc_text = (root / "_toc.yml").read_text()
    for chapter in [c for c, nb in notebooks.items() if nb is None]:
        toc_text = re.sub(rf"^\s*- file: chapters/{chapter}\s*\n", "", toc_text, flags=re.M)
    _write_if_changed(stage_dir / "_toc.yml", toc_text.encode())


def stage(notebooks: dict[str, Any], runs: dict[str, ChapterRun], stage_dir: Path,
          profile: str, edition: str, root: Path = ROOT) -> None:
    """Assemble the tree Jupyter Book renders."""
    import nbformat

    (stage_dir / "chapters").mkdir(parents=True, exist_ok=True)
    repo = Repository.from_config(yaml.safe_load((root / "_config.yml").read_text()) or {})
    built_pdf = stage_dir.parent.parent / "pdf" / pdf_name(edition)
    pdf = pdf_name(edition) if built_pdf.exists() else None
    _stage_config(stage_dir, notebooks, edition, root, repo, pdf)
    marks = edition_marks(edition, pdf)

    gpu_dir = stage_dir.parent.parent / "executed" / "gpu"
    gpu_nbs = {c: json.loads(p.read_text()) for c in notebooks
               if (p := gpu_dir / f"{c}.ipynb").exists()}
    rows, ledger = collect_ledger(notebooks, profile, root)
    _write_if_changed(stage_dir / "_static" / "claims.json",
                      json.dumps(rows, indent=1, allow_nan=False, default=str).encode())
    wanted: set[Path] = {Path("_static") / "claims.json"}
    for src in (root / "book").rglob("*"):  # front and back matter
        if src.is_dir():
            continue
        rel = src.relative_to(root)
        if rel.parts[1] == "_static":  # the book's static files: on every page (Jupyter Book)
            rel = Path(*rel.parts[1:])
        wanted.add(rel)
        data = src.read_bytes()
        if src.suffix == ".md":
            text = fill_marks(data.decode(), notebooks, runs, profile, gpu_nbs, ledger, marks)
            if edition == "student":
                text = strip_solutions(text)
            data = text.encode()
        _write_if_changed(stage_dir / rel, data)

    for chapter, nb in notebooks.items():
        if nb is None:
            continue
        nb = portable_notebook(nbformat.from_dict(json.loads(json.dumps(nb))), repo)  # a copy
        source = portable_source((root / "chapters" / f"{chapter}.md").read_text())
        if edition == "student":
            source = strip_solutions(source)
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = strip_solutions(cell.source)
        for rel, data in ((Path("chapters") / f"{chapter}.ipynb", nbformat.writes(nb).encode()),
                          (Path(EXTRA) / "chapters" / f"{chapter}.md", source.encode())):
            wanted.add(rel)
            _write_if_changed(stage_dir / rel, data)
    if pdf:
        wanted.add(Path(EXTRA) / pdf)
        _write_if_changed(stage_dir / EXTRA / pdf, built_pdf.read_bytes())

    # drop staged pages and files that no longer exist in the source
    for old in [*(stage_dir / "book").rglob("*"), *(stage_dir / "chapters").glob("*"),
                *(stage_dir / EXTRA).rglob("*"), *(stage_dir / "_static").rglob("*")]:
        if old.is_file() and old.relative_to(stage_dir) not in wanted:
            old.unlink()


def render_html(stage_dir: Path, out_html: Path) -> None:
    """Run ``jupyter-book build`` on the staged tree (warnings are errors) and copy the HTML."""
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(stage_dir),
           "--builder", "html", "--warningiserror", "--nitpick", "--keep-going", "--quiet"]
    # Sphinx loads the book's extension (rtrlib.book.sphinx_ext) from this rtrlib
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    proc = subprocess.run(cmd, text=True, capture_output=True, env=env)
    if proc.returncode != 0:
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        problems = [ln for ln in lines if re.search(r"WARNING|ERROR|[Ee]rror:", ln)
                    and not ln.startswith(" ")]
        shown = "\n".join(problems[:40] or lines[-40:])
        raise BookError(f"jupyter-book build failed (exit {proc.returncode}):\n{shown}")
    built = stage_dir / "_build" / "html"
    if out_html.exists():
        shutil.rmtree(out_html)
    shutil.copytree(built, out_html)
