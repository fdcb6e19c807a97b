"""Staging the tree Jupyter Book renders (configuration, ``book/`` pages with their generated
tables, executed chapters; solutions removed in the student edition) and rendering it."""

from __future__ import annotations

import json
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
from rtrlib.book.pages import collect_ledger, fill_marks
from rtrlib.book.profiles import ROOT

__all__ = ["render_html", "stage"]


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write only when the bytes differ, so Sphinx's incremental build stays incremental."""
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _stage_config(stage_dir: Path, notebooks: dict[str, Any], edition: str, root: Path) -> None:
    """``_config.yml`` (student edition: solutions hidden, title marked) and ``_toc.yml``
    without the chapters that have no executed notebook."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    if edition == "student":
        config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
        config["title"] = f"{config.get('title', '')} (student edition)"
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
    _stage_config(stage_dir, notebooks, edition, root)

    gpu_dir = stage_dir.parent.parent / "executed" / "gpu"
    gpu_nbs = {c: json.loads(p.read_text()) for c in notebooks
               if (p := gpu_dir / f"{c}.ipynb").exists()}
    rows, ledger = collect_ledger(notebooks, profile, root)
    _write_if_changed(stage_dir / "_static" / "claims.json",
                      json.dumps(rows, indent=1, allow_nan=False, default=str).encode())
    wanted: set[Path] = set()
    for src in (root / "book").rglob("*"):  # front and back matter
        if src.is_dir():
            continue
        rel = src.relative_to(root)
        wanted.add(rel)
        data = src.read_bytes()
        if src.suffix == ".md":
            text = fill_marks(data.decode(), notebooks, runs, profile, gpu_nbs, ledger)
            if edition == "student":
                text = strip_solutions(text)
            data = text.encode()
        _write_if_changed(stage_dir / rel, data)

    for chapter, nb in notebooks.items():
        if nb is None:
            continue
        nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # deep copy
        if edition == "student":
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = strip_solutions(cell.source)
        rel = Path("chapters") / f"{chapter}.ipynb"
        wanted.add(rel)
        _write_if_changed(stage_dir / rel, nbformat.writes(nb).encode())

    # drop staged pages that no longer exist in the source
    for old in list((stage_dir / "book").rglob("*")) + list((stage_dir / "chapters").glob("*")):
        if old.is_file() and old.relative_to(stage_dir) not in wanted:
            old.unlink()


def render_html(stage_dir: Path, out_html: Path) -> None:
    """Run ``jupyter-book build`` on the staged tree (warnings are errors) and copy the HTML."""
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(stage_dir),
           "--builder", "html", "--warningiserror", "--nitpick", "--keep-going", "--quiet"]
    proc = subprocess.run(cmd, text=True, capture_output=True)
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
