"""The dry run of a profile: every chapter with the profile's parameters, little work, on CPU.

``python -m rtrlib.book build --profile gpu --dry-run`` executes every chapter with papermill as
a real build would, with the profile's parameters unchanged (so every parameter is validated and
every shape, grid and code path is taken), but:

- on the CPU (the profile's device is recorded as the *target*; :class:`rtrlib.runtime.DryRun`);
- with the dry-run setting in every kernel's environment, which the training loops read
  (:mod:`rtrlib.dry`: a couple of updates on a small batch, then the last step; the largest
  OLMo rungs on the meta device);
- with its own store (``<build>/cache``, emptied first) and its own executed notebooks
  (``<build>/executed``; default ``_build/dry-run``): nothing it computes can be read as a
  real result, nothing real is reused;
- matplotlib's non-interactive ``agg`` backend: every figure is built, none is drawn
  (data from two updates can be degenerate, e.g. a log axis of zeros), and the kernel-free
  explorers (:func:`rtrlib.widgets.kernel_free`) build every frame without drawing it;
- a chapter that reads corpus files (``corpus_source: files``) with none given gets a small
  generated JSON-lines corpus in a temporary folder, with repetition allowed (said in the
  output).

Each chapter's time and its kernel's peak resident memory (``VmHWM``, polled while it runs) are
printed and written to ``<build>/dry-run.json``, with the largest of them as
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` reports it at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from rtrlib.book.errors import BookError
from rtrlib.book.execute import ChapterRun, _environment, execute_chapter
from rtrlib.book.profiles import chapter_parameters, load_profiles, toc_chapters
from rtrlib.costs import H100, Work, estimate, summarise_work
from rtrlib.params import ParameterError
from rtrlib.runtime import DryRun

__all__ = ["synthetic_corpus", "dry_parameters", "run_dry"]


def synthetic_corpus(folder: Path, n_docs: int = 400, words_per_doc: int = 400,
                     seed: int = 0) -> Path:
    """A JSON-lines corpus (Dolma's format: one ``{"text": ...}`` per line) of made-up words
    drawn with Zipf frequencies, enough text to train a byte-level BPE of a few thousand
    merges; returns its path."""
    rng = np.random.default_rng(seed)
    syll = [a + b for a in "bcdfghjklmnprstvwz" for b in ("a", "e", "i", "o", "u", "ou", "ai")]
    vocab = ["".join(rng.choice(syll, size=rng.integers(1, 5))) for _ in range(6000)]
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "synthetic.jsonl"
    with path.open("w") as fh:
        for _ in range(n_docs):
            words = rng.choice(len(vocab), size=words_per_doc, p=p)
            fh.write(json.dumps({"text": " ".join(vocab[w] for w in words) + "."}) + "\n")
    return path


def dry_parameters(params: dict[str, Any], corpus: Path) -> tuple[dict[str, Any], str | None]:
    """A chapter's parameters for the dry run: the device is the CPU; a chapter asking for
    corpus files with none given reads ``corpus``, repetition allowed. Returns the parameters
    and a note when the corpus was substituted."""
    out = {**params, "device": "cpu"}
    note = None
    if out.get("corpus_source") == "files" and not out.get("corpus_paths"):
        out["corpus_paths"] = [str(corpus)]
        out["corpus_allow_repeat"] = True
        note = (f"corpus_paths is empty in the profile: reading a generated corpus "
                f"({corpus.name}, {corpus.stat().st_size / 1e6:.1f} MB) with "
                f"corpus_allow_repeat = True")
    return out, note


class _PeakMemory:
    """The peak resident memory of this process's children (the chapter's kernel), polled
    from ``/proc/<pid>/status`` (``VmHWM``: the high-water mark, so a poll misses nothing
    that happened before it) while a chapter runs."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval, self.peak_kib = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _children(self) -> list[int]:
        me, out = str(os.getpid()), []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError):
                if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                    out.append(int(stat.parent.name))
        return out

    def _poll(self) -> None:
        while not self._stop.is_set():
            for pid in self._children():
                with contextlib.suppress(OSError, ValueError, StopIteration):
                    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
                    hwm = next(ln for ln in lines if ln.startswith("VmHWM:"))
                    self.peak_kib = max(self.peak_kib, int(hwm.split()[1]))
            self._stop.wait(self.interval)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _run_chapter(chapter: str, params: dict[str, Any], out_dir: Path, root: Path,
                 kernel: str | None, cell_timeout: int | None, env: dict[str, str]
                 ) -> tuple[ChapterRun, float]:
    """Execute one chapter; its run and its kernel's peak resident memory (GiB)."""
    t0 = time.perf_counter()
    with _PeakMemory() as mem:
        try:
            with _environment(env):
                run = execute_chapter(chapter, params, out_dir, force=True, root=root,
                                      kernel=kernel, cell_timeout=cell_timeout)
        except BookError as exc:  # e.g. a parameter the chapter does not define
            run = ChapterRun(chapter, "failed", time.perf_counter() - t0, error=str(exc))
    return run, mem.peak_kib / 2**20


def _print_estimates(work: dict[str, list[dict]], gpus: int, path: Path) -> None:
    """The cost of the real runs the dry run recorded (an estimate; :mod:`rtrlib.costs`)."""
    per = {ch: [Work(**w) for w in ws] for ch, ws in work.items()}
    print(f"estimated GPU time of the real runs (an estimate, not measured; "
          f"{H100.describe()}):", file=sys.stderr)
    for ch, works in per.items():
        print(f"  {ch}: {estimate(works, chapters=1).text()}", file=sys.stderr)
    total = estimate([w for ws in per.values() for w in ws], chapters=len(per), gpus=gpus)
    print(f"  total: {total.text()}\n  recorded in {path} (commit it as "
          f"chapters/work/{path.stem.removeprefix('work-')}.json to update the estimates "
          f"`list` and the guide quote)", file=sys.stderr)


def run_dry(profile: str, root: Path, build_dir: Path, *, chapters: tuple[str, ...] = (),
            target_device: str | None = None, kernel: str | None = None) -> int:
    """Dry-run ``profile`` (see the module docstring); prints one line per chapter (status,
    seconds, peak memory) and writes ``<build_dir>/dry-run.json``. Returns the exit status
    (1 when a chapter failed)."""
    from rtrlib.book.pipeline import enforce_registry

    profiles = load_profiles(root)
    selected = list(chapters) or toc_chapters(root)
    dry = DryRun(target_device=target_device or profiles[profile]["device"])
    cache = build_dir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    # figures are built but not drawn: two updates give data a real run never has (a log axis
    # of values that are all zero), and drawing it would fail where the real run does not
    # one BLAS thread: numpy's small SVDs (the probes) beside torch's threads on two cores
    # were measured 40x slower with two
    env = {"RTRLIB_CACHE": str(cache), "MPLBACKEND": "agg", "OPENBLAS_NUM_THREADS": "1"}
    work_dir = build_dir / "work"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    out_dir = build_dir / "executed" / profile
    print(f"dry run of profile {profile!r} (target device {dry.target_device}, run on cpu): "
          f"{dry.steps} updates per run on batches of at most {dry.batch_size} rows (toy) or "
          f"{dry.lm_rows} sequences (OLMo); store {cache}", file=sys.stderr)
    runs: dict[str, ChapterRun] = {}
    work: dict[str, list[dict]] = {}
    report: dict[str, Any] = {"profile": profile, "target_device": dry.target_device,
                              "chapters": {}}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rtr-dry-corpus-") as tmp:
        corpus = synthetic_corpus(Path(tmp))
        for chapter in selected:
            params, note = dry_parameters(
                chapter_parameters(profiles, profile, chapter, "cpu"), corpus)
            if note:
                print(f"  {chapter}: {note}", file=sys.stderr)
            log = work_dir / f"{chapter}.jsonl"
            chapter_env = {**env, **dataclasses.replace(dry, work_log=str(log)).environment()}
            run, peak = _run_chapter(chapter, params, out_dir, root, kernel,
                                     profiles[profile].get("cell_timeout"), chapter_env)
            works = [Work(**json.loads(ln)) for ln in log.read_text().splitlines()] \
                if log.exists() else []
            work[chapter] = [w.as_dict() for w in summarise_work(works)]
            runs[chapter] = run
            report["chapters"][chapter] = {"status": run.status, "seconds": run.wall_time_s,
                                           "peak_rss_gib": peak, "corpus_note": note,
                                           "error": run.error}
            print(f"  {chapter}: {run.status} in {run.wall_time_s:.1f} s, peak memory "
                  f"{peak:.2f} GiB", file=sys.stderr)
    try:
        enforce_registry(runs, profile, root)
    except ParameterError as exc:  # the real build would stop here too
        print(f"error: dry run: the claim registry is invalid: {exc}", file=sys.stderr)
        report["registry_error"] = str(exc)
    total = time.perf_counter() - t_all
    peak_all = max((c["peak_rss_gib"] for c in report["chapters"].values()), default=0.0)
    # the largest resident set of any kernel this process started and waited for
    rusage = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    report["rusage_children_maxrss_gib"] = rusage
    report.update(seconds=total, peak_rss_gib=peak_all)
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "dry-run.json").write_text(json.dumps(report, indent=1))
    gpus = int(profiles[profile].get("gpus", 1))
    work_file = build_dir / f"work-{profile}.json"
    work_file.write_text(json.dumps({"profile": profile, "gpus": gpus, "chapters": work},
                                    indent=1, sort_keys=True) + "\n")
    _print_estimates(work, gpus, work_file)
    failed = [r for r in runs.values() if r.status == "failed"]
    for r in failed:
        print(f"error: dry run: chapter {r.chapter} failed in {r.error}\n"
              f"       executed notebook kept at {r.notebook}", file=sys.stderr)
    print(f"dry run of {profile!r}: {len(runs) - len(failed)}/{len(runs)} chapters ok in "
          f"{total:.0f} s, peak memory {max(peak_all, rusage):.2f} GiB (getrusage of the "
          f"kernels: {rusage:.2f} GiB)", file=sys.stderr)
    return 1 if failed or "registry_error" in report else 0
