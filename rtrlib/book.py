"""The book runner: execute every chapter with papermill, then build the HTML with Jupyter Book.

Usage (``python -m rtrlib.book --help``)::

    python -m rtrlib.book build [--profile smoke|cpu|gpu] [--chapters 01_power_law ...]
                                [--device cpu|cuda] [--edition full|student]
    python -m rtrlib.book list

Pipeline:

1. Each chapter listed in ``_toc.yml`` (a MyST text notebook under ``chapters/``) is converted
   with jupytext, executed with papermill with the profile's parameters injected, and written to
   ``_build/executed/<profile>/<chapter>.ipynb``. The notebook's metadata records the execution
   (profile, device, parameters, wall time, status, versions, git commit) and a key over the
   chapter source, its parameters and the rtrlib code: a chapter whose key has not changed is not
   executed again.
2. The configuration, the front and back matter and the executed notebooks are staged into
   ``_build/stage/<profile>-<edition>/``; the execution report and the claim ledger are generated
   there from the notebooks' metadata and outputs; the student edition has every solution removed.
3. ``jupyter-book build`` renders the staged tree (execution off, warnings as errors) and the HTML
   is copied to ``_build/html`` (full edition) or ``_build/student/html``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import yaml

from rtrlib import __version__
from rtrlib.claims import claims_in_notebook
from rtrlib.store import code_version

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("smoke", "cpu", "gpu")
DEVICES = ("cpu", "cuda")
EDITIONS = ("full", "student")
KERNEL = "rtr-book"
META = "rtrlib"
REPORT_MARK = "<!-- rtrlib:execution-report -->"
LEDGER_MARK = "<!-- rtrlib:claim-ledger -->"
GUIDE_MARK = "<!-- rtrlib:instructors-guide -->"
GPU_FLOPS_ASSUMED = 30e12  # sustained FLOP/s assumed for GPU estimates (one modern data-centre GPU)
TRACKED_VERSIONS = ("torch", "numpy", "sympy", "pandas", "papermill", "jupyter-book",
                    "ai2-olmo-core")


class BookError(Exception):
    """A user-facing error of the runner (printed as one line, exit status 2)."""


@dataclasses.dataclass
class ChapterRun:
    """What happened to one chapter in this build."""

    chapter: str
    status: str  # "ok", "cached", "failed", "stale", "missing"
    wall_time_s: float | None = None
    error: str | None = None
    notebook: Path | None = None


# --------------------------------------------------------------------------------------------
# Table of contents and profiles


def toc_chapters(root: Path = ROOT) -> list[str]:
    """Chapter names (``NN_name``) listed in ``_toc.yml``, in book order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            f = node.get("file")
            if isinstance(f, str) and f.startswith("chapters/"):
                found.append(Path(f).stem)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    return found


def load_profiles(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """The profiles file, validated: each profile has a device and per-chapter overrides."""
    path = root / "chapters" / "profiles.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    if set(data) != set(PROFILES):
        raise BookError(f"{path.name}: profiles must be exactly {', '.join(PROFILES)}; "
                        f"found {', '.join(sorted(data)) or 'none'}")
    for name, prof in data.items():
        if not isinstance(prof, dict):
            raise BookError(f"{path.name}: profile {name!r} must be a mapping")
        if prof.get("device") not in DEVICES:
            raise BookError(f"{path.name}: profile {name!r} has device {prof.get('device')!r}; "
                            f"valid devices: {', '.join(DEVICES)}")
        chapters = prof.get("chapters") or {}
        if not isinstance(chapters, dict) or any(
                not isinstance(v, dict) for v in chapters.values() if v is not None):
            raise BookError(f"{path.name}: profile {name!r}: 'chapters' must map chapter names "
                            "to parameter mappings")
        prof["chapters"] = {k: dict(v or {}) for k, v in chapters.items()}
        timeout = prof.get("cell_timeout")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                    or timeout < 1):
            raise BookError(f"{path.name}: profile {name!r}: cell_timeout must be a positive "
                            f"number of seconds (or absent); found {timeout!r}")
    return data


def chapter_parameters(profiles: dict[str, dict[str, Any]], profile: str, chapter: str,
                       device: str | None = None) -> dict[str, Any]:
    """The parameters papermill injects into ``chapter`` under ``profile``."""
    prof = profiles[profile]
    params = {"profile": profile, "device": device or prof["device"]}
    params.update(prof["chapters"].get(chapter, {}))
    if device:
        params["device"] = device
    return params


def check_parameter_names(nb: Any, chapter: str, params: dict[str, Any]) -> None:
    """Refuse parameters that the chapter's ``parameters`` cell does not define."""
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise BookError(f"chapter {chapter}: needs exactly one cell tagged 'parameters' "
                        f"(found {len(cells)})")
    defined = set(re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", cells[0].source, re.M))
    unknown = sorted(set(params) - defined)
    if unknown:
        raise BookError(f"chapter {chapter}: profile sets unknown parameter(s) "
                        f"{', '.join(unknown)}; the parameters cell defines "
                        f"{', '.join(sorted(defined))}")


# --------------------------------------------------------------------------------------------
# Execution


def versions() -> dict[str, str]:
    """Versions of Python, rtrlib and the packages the report tracks."""
    out = {"python": platform.python_version(), "rtrlib": __version__}
    for pkg in TRACKED_VERSIONS:
        try:
            out[pkg] = importlib_metadata.version(pkg)
        except importlib_metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_commit(root: Path = ROOT) -> str:
    """The short commit of the working tree, with ``+dirty`` when it has changes."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, text=True, capture_output=True, check=True).stdout
        return sha + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def execution_key(source: str, params: dict[str, Any]) -> str:
    """What a cached execution depends on: chapter text, parameters, rtrlib code."""
    blob = json.dumps({"source": source, "params": params, "code": code_version()},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if KERNEL in specs:
        return KERNEL
    print(f"warning: Jupyter kernel {KERNEL!r} is not registered (run `make setup`); "
          "using 'python3'", file=sys.stderr)
    return "python3"


def _read_nb(path: Path) -> Any:
    import nbformat

    return nbformat.read(path, as_version=4)


def _write_nb(nb: Any, path: Path) -> None:
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)


def _describe_failure(exc: Exception, nb_path: Path) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        first = next((ln for ln in exc.source.splitlines() if ln.strip()), "")
        return (f"cell {exc.cell_index} (In [{exc.exec_count}], starting {first[:60]!r}): "
                f"{exc.ename}: {exc.evalue}")
    return f"{type(exc).__name__}: {exc}"


def execute_chapter(chapter: str, params: dict[str, Any], out_dir: Path, *,
                    force: bool = False, root: Path = ROOT, kernel: str | None = None,
                    progress: bool = False, cell_timeout: int | None = None) -> ChapterRun:
    """Execute one chapter with papermill (or reuse its cached execution)."""
    import jupytext
    import papermill as pm

    src_path = root / "chapters" / f"{chapter}.md"
    if not src_path.exists():
        raise BookError(f"chapter {chapter}: source {src_path.relative_to(root)} is missing")
    source = src_path.read_text()
    nb = jupytext.reads(source, fmt="md:myst")
    check_parameter_names(nb, chapter, params)
    key = execution_key(source, params)
    out_path = out_dir / f"{chapter}.ipynb"

    if not force and out_path.exists():
        try:
            meta = _read_nb(out_path).metadata.get(META, {})
        except Exception:  # unreadable: execute again
            meta = {}
        if meta.get("exec_key") == key and meta.get("status") == "ok":
            return ChapterRun(chapter, "cached", meta.get("wall_time_s"), None, out_path)

    out_dir.mkdir(parents=True, exist_ok=True)
    in_path = out_dir / f".{chapter}.input.ipynb"
    _write_nb(nb, in_path)
    env_backup = dict(os.environ)
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no busy-waiting on shared cores
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(root), *filter(None, [env_backup.get("PYTHONPATH")])])
    os.environ["RTRLIB_BOOK_PROFILE"] = params["profile"]
    start = time.perf_counter()
    error: str | None = None
    try:
        pm.execute_notebook(str(in_path), str(out_path), parameters=params,
                            kernel_name=kernel or _kernel_name(), cwd=str(root / "chapters"),
                            progress_bar=progress, log_output=False,
                            execution_timeout=cell_timeout)
        status = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, then the build fails
        status, error = "failed", _describe_failure(exc, out_path)
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
        in_path.unlink(missing_ok=True)
    wall = time.perf_counter() - start

    if out_path.exists():
        done = _read_nb(out_path)
        for cell in done.cells:
            tags = cell.metadata.setdefault("tags", [])
            if "injected-parameters" in tags and "remove-cell" not in tags:
                tags.append("remove-cell")
        done.metadata[META] = {
            "chapter": chapter, "profile": params["profile"], "device": params["device"],
            "params": params, "exec_key": key, "status": status, "error": error,
            "wall_time_s": round(wall, 2), "versions": versions(), "git_commit": git_commit(root),
            "executed_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        done.metadata.pop("papermill", None)
        for cell in done.cells:
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
        _write_nb(done, out_path)
    return ChapterRun(chapter, status, wall, error, out_path if out_path.exists() else None)


# --------------------------------------------------------------------------------------------
# Staging


_OPEN = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>solution(?:-start)?)\}")
_END = re.compile(r"^(?P<fence>:{3,}|`{3,})\{solution-end\}")


def strip_solutions(text: str) -> str:
    """Remove every sphinx-exercise solution (fenced or start/end form) from MyST text."""
    out: list[str] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i].lstrip())
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence = m.group("fence")
        if m.group("name") == "solution-start":
            i += 1
            while i < len(lines) and not _END.match(lines[i].lstrip()):
                i += 1
        i += 1  # skip past the closing fence (or the solution-end opening line)
        while i < len(lines) and lines[i].strip() != fence:
            i += 1
        i += 1
    return "".join(out)


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write only when the bytes differ, so Sphinx's incremental build stays incremental."""
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "n/a"
    if s < 1:
        return "under a second"
    return f"{s:.1f} s" if s < 90 else f"{s / 60:.1f} min"


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
        rows.append(f"| {name} | {meta.get('profile', '-')} "
                    f"| {meta.get('device', '-')} | {_fmt_seconds(meta.get('wall_time_s'))} "
                    f"| {status} | {meta.get('executed_at', '-')} "
                    f"| `{meta.get('git_commit', '-')}` |")
        vers = vers or meta.get("versions", {})
    total = sum((nb.metadata.get(META, {}).get("wall_time_s") or 0) for nb in notebooks.values()
                if nb is not None)
    lines = [f"Profile of this build: **{profile}**. Total execution time of the chapters: "
             f"**{_fmt_seconds(total)}**.", "", *rows, ""]
    if vers:
        lines += ["Software versions (recorded when the chapters ran):", "",
                  "| package | version |", "|---|---|",
                  *[f"| {k} | {v} |" for k, v in vers.items()], ""]
    return "\n".join(lines)


def render_claim_ledger(notebooks: dict[str, Any]) -> str:
    """The markdown table of the claim ledger, collected from the executed notebooks."""
    rows = ["| chapter | claim | the paper | this run | criterion | verdict |",
            "|---|---|---|---|---|---|"]
    n = n_ok = 0
    for chapter, nb in notebooks.items():
        if nb is None:
            continue
        for claim in claims_in_notebook(nb):
            n += 1
            n_ok += bool(claim["reproduced"])
            cells = [str(claim[k]).replace("|", "\\|").replace("\n", " ")
                     for k in ("name", "paper", "measured", "criterion")]
            verdict = "reproduced" if claim["reproduced"] else "**not reproduced**"
            rows.append(f"| {{doc}}`{chapter} <../chapters/{chapter}>` | "
                        + " | ".join(cells) + f" | {verdict} |")
    if n == 0:
        return "No chapter in this build recorded a claim.\n"
    return (f"This build checked **{n}** claims; **{n_ok}** reproduced at this profile's scale, "
            f"**{n - n_ok}** did not.\n\n" + "\n".join(rows) + "\n")


def _chapter_title(nb: Any) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^# (.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return "untitled"


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
        if gpu_meta.get("status") == "ok" and gpu_meta.get("device", "").startswith("cuda"):
            gpu = f"{_fmt_seconds(gpu_meta.get('wall_time_s'))} (measured, gpu profile)"
        elif teach.get("gpu_flop"):
            secs = float(teach["gpu_flop"]) / GPU_FLOPS_ASSUMED
            gpu = (f"at least {_fmt_seconds(secs)} (an estimate, not measured: the gpu "
                   f"profile's {float(teach['gpu_flop']):.2g} training FLOP at an assumed "
                   f"{GPU_FLOPS_ASSUMED / 1e12:.0f} TFLOP/s; per-step overheads, which "
                   "dominate small models, are not counted)")
        else:
            gpu = "not measured; no FLOP count stated"
        objectives = teach.get("objectives") or ["not stated"]
        prereq = teach.get("prerequisites") or ["none beyond the previous chapters"]
        out += [f"### {_chapter_title(nb)}", "",
                f"{{doc}}`Open the chapter <../chapters/{chapter}>` · source "
                f"`chapters/{chapter}.md`", "",
                "**Learning objectives**", "", *[f"- {o}" for o in objectives], "",
                "**Prerequisites**", "", *[f"- {p}" for p in prereq], "",
                f"- **Time to teach:** {teach.get('teach_minutes', 'not stated')} minutes",
                f"- **Run time on CPU:** {_fmt_seconds(meta.get('wall_time_s'))} "
                f"({meta.get('profile', '?')} profile, device {meta.get('device', '?')}, "
                "this build)",
                f"- **Run time on a GPU:** {gpu}",
                f"- **For a class exercise, change:** "
                f"{teach.get('class_exercise', 'the parameters in the first code cell')}", ""]
    return "\n".join(out) if out else "No chapter was executed in this build.\n"


def stage(notebooks: dict[str, Any], runs: dict[str, ChapterRun], stage_dir: Path,
          profile: str, edition: str, root: Path = ROOT) -> None:
    """Assemble the tree Jupyter Book renders."""
    import nbformat

    (stage_dir / "chapters").mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((root / "_config.yml").read_text())
    if edition == "student":
        config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
        config["title"] = f"{config.get('title', '')} (student edition)"
    _write_if_changed(stage_dir / "_config.yml", yaml.safe_dump(config, sort_keys=False).encode())

    toc_text = (root / "_toc.yml").read_text()
    missing = [c for c, nb in notebooks.items() if nb is None]
    for chapter in missing:
        toc_text = re.sub(rf"^\s*- file: chapters/{chapter}\s*\n", "", toc_text, flags=re.M)
    _write_if_changed(stage_dir / "_toc.yml", toc_text.encode())

    # front and back matter
    wanted: set[Path] = set()
    for src in (root / "book").rglob("*"):
        if src.is_dir():
            continue
        rel = src.relative_to(root)
        wanted.add(rel)
        data = src.read_bytes()
        if src.suffix == ".md":
            text = data.decode()
            if REPORT_MARK in text:
                text = text.replace(REPORT_MARK,
                                    render_execution_report(notebooks, runs, profile))
            if LEDGER_MARK in text:
                text = text.replace(LEDGER_MARK, render_claim_ledger(notebooks))
            if GUIDE_MARK in text:
                gpu_dir = stage_dir.parent.parent / "executed" / "gpu"
                gpu_nbs = {c: json.loads(p.read_text()) for c in notebooks
                           if (p := gpu_dir / f"{c}.ipynb").exists()}
                text = text.replace(GUIDE_MARK, render_instructors_guide(notebooks, gpu_nbs))
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


# --------------------------------------------------------------------------------------------
# The build


def build(profile: str = "cpu", chapters: Sequence[str] | None = None, device: str | None = None,
          edition: str = "full", build_dir: Path | None = None, force: bool = False,
          html: bool = True, root: Path = ROOT, kernel: str | None = None) -> int:
    """Execute the chapters and render the book; returns the process exit status."""
    if profile not in PROFILES:
        raise BookError(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}")
    if device is not None and device not in DEVICES:
        raise BookError(f"unknown device {device!r}; valid devices: {', '.join(DEVICES)}")
    if edition not in EDITIONS:
        raise BookError(f"unknown edition {edition!r}; valid editions: {', '.join(EDITIONS)}")
    all_chapters = toc_chapters(root)
    selected = list(chapters) if chapters else all_chapters
    unknown = [c for c in selected if c not in all_chapters]
    if unknown:
        raise BookError(f"unknown chapter {unknown[0]!r}; valid chapters: "
                        f"{', '.join(all_chapters)}")
    profiles = load_profiles(root)
    build_dir = build_dir or root / "_build"
    exec_dir = build_dir / "executed" / profile

    from tqdm.auto import tqdm

    runs: dict[str, ChapterRun] = {}
    bar = tqdm(selected, desc=f"chapters ({profile})", unit="chapter", file=sys.stderr)
    for chapter in bar:
        bar.set_postfix_str(chapter)
        params = chapter_parameters(profiles, profile, chapter, device)
        run = execute_chapter(chapter, params, exec_dir, force=force or bool(chapters),
                              root=root, kernel=kernel,
                              cell_timeout=profiles[profile].get("cell_timeout"))
        runs[chapter] = run
        tqdm.write(f"  {chapter}: {run.status} ({_fmt_seconds(run.wall_time_s)})",
                   file=sys.stderr)
    bar.close()
    for chapter in all_chapters:
        if chapter not in runs:
            path = exec_dir / f"{chapter}.ipynb"
            runs[chapter] = ChapterRun(chapter, "stale" if path.exists() else "missing",
                                       notebook=path if path.exists() else None)

    failed = [r for r in runs.values() if r.status == "failed"]
    for r in failed:
        print(f"error: chapter {r.chapter} failed in {r.error}\n"
              f"       executed notebook kept at {r.notebook}", file=sys.stderr)
    if failed:
        return 1
    missing = [c for c, r in runs.items() if r.status == "missing"]
    if missing:
        print(f"warning: not executed yet, left out of the HTML: {', '.join(missing)} "
              f"(run without --chapters to execute them)", file=sys.stderr)
    if not html:
        return 0

    notebooks = {c: (_read_nb(r.notebook) if r.notebook else None) for c, r in runs.items()}
    stage_dir = build_dir / "stage" / f"{profile}-{edition}"
    stage(notebooks, runs, stage_dir, profile, edition, root)
    out_html = build_dir / ("html" if edition == "full" else "student/html")
    t0 = time.perf_counter()
    render_html(stage_dir, out_html)
    print(f"HTML ({edition} edition, profile {profile}) written to {out_html} "
          f"in {_fmt_seconds(time.perf_counter() - t0)}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rtrlib.book", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute the chapters and render the HTML book")
    b.add_argument("--profile", default="cpu", help="parameter profile: smoke, cpu (default), gpu")
    b.add_argument("--chapters", nargs="+", metavar="CHAPTER",
                   help="execute only these chapters (e.g. 01_power_law); others are reused")
    b.add_argument("--device", default=None, help="override the profile's device: cpu or cuda")
    b.add_argument("--edition", default="full",
                   help="full (solutions in dropdowns, default) or student (no solutions)")
    b.add_argument("--build-dir", type=Path, default=None, help="output directory (_build)")
    b.add_argument("--force", action="store_true", help="execute even when cached")
    b.add_argument("--no-html", action="store_true", help="execute only, do not render HTML")
    sub.add_parser("list", help="list the chapters and the profiles")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            profiles = load_profiles()
            print("chapters:", " ".join(toc_chapters()))
            for name, prof in profiles.items():
                print(f"profile {name} (device {prof['device']}): {prof.get('description', '')}")
            return 0
        return build(args.profile, args.chapters, args.device, args.edition, args.build_dir,
                     args.force, not args.no_html)
    except BookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
