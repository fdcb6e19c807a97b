"""Executing one chapter: jupytext -> papermill, with the execution record in the notebook's
metadata and a key that lets an unchanged chapter be reused."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import yaml

from rtrlib import __version__
from rtrlib.book.errors import BookError
from rtrlib.book.profiles import ROOT, check_parameter_names
from rtrlib.claims.registry import registry_path
from rtrlib.runtime import thread_environment
from rtrlib.store import code_version

__all__ = ["META", "ChapterRun", "execute_chapter", "execution_key", "git_commit",
           "kernel_environment", "read_notebook", "versions", "write_notebook"]

KERNEL = "rtr-book"
META = "rtrlib"  # the notebook metadata key of the execution record
TRACKED_VERSIONS = ("torch", "numpy", "sympy", "pandas", "papermill", "jupyter-book",
                    "ai2-olmo-core")


@dataclasses.dataclass
class ChapterRun:
    """What happened to one chapter in this build."""

    chapter: str
    status: str  # "ok", "cached", "failed", "stale", "missing"
    wall_time_s: float | None = None
    error: str | None = None
    notebook: Path | None = None


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


def execution_key(source: str, params: dict[str, Any], registry: str = "") -> str:
    """What a cached execution depends on: chapter text, parameters, rtrlib code, and the
    chapter's entries in the claim registry (a changed criterion re-runs the chapter)."""
    blob = json.dumps({"source": source, "params": params, "code": code_version(),
                       "registry": registry}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def kernel_environment(root: Path, profile: str, device: str = "cpu") -> dict[str, str]:
    """The variables a chapter's kernel gets on top of ours: thread settings
    (:func:`rtrlib.runtime.thread_environment`), the profile and device (claims record them),
    and a ``PYTHONPATH`` that puts the book's root and then this rtrlib first, so the kernel
    imports the code the key covers."""
    paths = [str(root), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**thread_environment(), "RTRLIB_BOOK_PROFILE": profile,
            "RTRLIB_BOOK_DEVICE": device,
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(p for p in paths if p))}


def device_info(device: str) -> dict[str, str]:
    """What the chapter ran on: for ``cuda`` the GPU's name, memory and driver (from
    ``nvidia-smi``), for ``cpu`` the processor, core count and memory."""
    if device.startswith("cuda"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                                  "--format=csv,noheader"], capture_output=True, text=True,
                                 check=True, timeout=30).stdout.strip().splitlines()[0]
            name, memory, driver = (x.strip() for x in out.split(","))
            return {"name": name, "memory": memory, "driver": driver}
        except (OSError, subprocess.SubprocessError, IndexError, ValueError):
            return {"name": "unknown GPU", "memory": "unknown", "driver": "unknown"}
    mem = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                  if ln.startswith("MemTotal:"))
        mem = f"{kb / 2**20:.0f} GiB"
    return {"name": platform.processor() or platform.machine(),
            "cores": str(os.cpu_count() or "unknown"), "memory": mem}


@contextlib.contextmanager
def _environment(extra: dict[str, str]) -> Iterator[None]:
    """Set ``extra`` in ``os.environ`` (which the kernel inherits) and restore it afterwards."""
    backup = dict(os.environ)
    os.environ.update(extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(backup)


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if KERNEL in specs:
        return KERNEL
    print(f"warning: Jupyter kernel {KERNEL!r} is not registered (run `make setup`); "
          "using 'python3'", file=sys.stderr)
    return "python3"


def read_notebook(path: Path) -> Any:
    """An ``.ipynb`` file as an nbformat notebook."""
    import nbformat

    return nbformat.read(path, as_version=4)


def write_notebook(nb: Any, path: Path) -> None:
    """Write ``nb`` to ``path`` atomically (temporary file, then rename)."""
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)


def _describe_failure(exc: Exception) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        first = next((ln for ln in exc.source.splitlines() if ln.strip()), "")
        return (f"cell {exc.cell_index} (In [{exc.exec_count}], starting {first[:60]!r}): "
                f"{exc.ename}: {exc.evalue}")
    return f"{type(exc).__name__}: {exc}"


def _record(out_path: Path, chapter: str, params: dict[str, Any], key: str, status: str,
            error: str | None, wall: float, root: Path) -> None:
    """Hide the injected parameters and store the execution record in the notebook."""
    done = read_notebook(out_path)
    for cell in done.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    done.metadata[META] = {
        "chapter": chapter, "profile": params["profile"], "device": params["device"],
        "params": params, "exec_key": key, "status": status, "error": error,
        "device_info": device_info(params["device"]),
        "wall_time_s": round(wall, 2), "versions": versions(), "git_commit": git_commit(root),
        "executed_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    done.metadata.pop("papermill", None)
    for cell in done.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    write_notebook(done, out_path)


def _registry_entries(root: Path, chapter: str) -> str:
    """The chapter's entries of ``chapters/claims.yaml``, as text ('' without a registry)."""
    path = registry_path(root)
    if not path.exists():
        return ""
    entries = yaml.safe_load(path.read_text()) or []
    return json.dumps([e for e in entries if isinstance(e, dict) and e.get("chapter") == chapter],
                      sort_keys=True, default=str)


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
    key = execution_key(source, params, _registry_entries(root, chapter))
    out_path = out_dir / f"{chapter}.ipynb"

    if not force and out_path.exists():
        try:
            meta = read_notebook(out_path).metadata.get(META, {})
        except Exception:  # unreadable: execute again
            meta = {}
        if meta.get("exec_key") == key and meta.get("status") == "ok":
            return ChapterRun(chapter, "cached", meta.get("wall_time_s"), None, out_path)

    out_dir.mkdir(parents=True, exist_ok=True)
    in_path = out_dir / f".{chapter}.input.ipynb"
    write_notebook(nb, in_path)
    start = time.perf_counter()
    error: str | None = None
    try:
        with _environment(kernel_environment(root, params["profile"], params["device"])):
            pm.execute_notebook(str(in_path), str(out_path), parameters=params,
                                kernel_name=kernel or _kernel_name(),
                                cwd=str(root / "chapters"), progress_bar=progress,
                                log_output=False, execution_timeout=cell_timeout)
        status = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, then the build fails
        status, error = "failed", _describe_failure(exc)
    finally:
        in_path.unlink(missing_ok=True)
    wall = time.perf_counter() - start

    if out_path.exists():
        _record(out_path, chapter, params, key, status, error, wall, root)
    return ChapterRun(chapter, status, wall, error, out_path if out_path.exists() else None)
