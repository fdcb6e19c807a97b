"""Thread settings, made in one place and only when asked.

The book runs on small machines (2 cores in CI) shared with other jobs. Two settings matter:

- ``OMP_WAIT_POLICY=PASSIVE``: OpenMP threads that busy-wait make throughput collapse when
  cores are shared (measured 10x slower); passive waiting costs nothing on an idle machine.
- the number of intra-op threads: ``$RTRLIB_THREADS`` if set, else ``$OMP_NUM_THREADS``, else
  the number of cores.

Environment variables only act before torch starts its thread pool, so the runner calls
:func:`thread_environment` for the kernels it starts, and chapters and command lines call
:func:`configure_threads` once, at the top. Importing rtrlib changes nothing.

The one other setting a kernel inherits is the *dry run* (``python -m rtrlib.book build
--dry-run``): ``$RTRLIB_DRY_RUN``, read only by :func:`dry_run`. The experiments apply it in one
place each (:mod:`rtrlib.dry`): the profile's shapes, a few steps of a small batch.
"""

from __future__ import annotations

import dataclasses
import json
import os

__all__ = ["DRY_RUN_ENV", "DryRun", "configure_threads", "dry_run", "dry_run_environment",
           "thread_count", "thread_environment"]

DRY_RUN_ENV = "RTRLIB_DRY_RUN"


@dataclasses.dataclass(frozen=True)
class DryRun:
    """The settings of a dry run.

    ``target_device``: the device the real run is meant for (a dry run on the CPU of a ``cuda``
    profile takes the code paths a GPU run takes: bf16 autocast, fused AdamW);
    ``work_log``: a JSON-lines file where every experiment appends the work its *real* run
    would do (:mod:`rtrlib.costs`), or None; ``max_step_params``: OLMo rungs with more
    parameters than this are built on the meta device for their full-size step (shapes, code
    paths, no memory) and take their numeric steps with one block; ``steps``: real updates
    per run before the loop skips to its last step; ``batch_size``: rows of a toy batch;
    ``toy_tail``: the last updates of a toy run that are taken too; ``lm_rows``: rows of an
    OLMo batch trained on; ``eval_rows``: task instances an OLMo evaluation reads."""

    target_device: str = "cpu"
    work_log: str | None = None
    max_step_params: int = 2_000_000
    steps: int = 2
    batch_size: int = 128
    toy_tail: int = 140
    lm_rows: int = 2
    eval_rows: int = 64

    def __post_init__(self) -> None:
        from rtrlib.params import require_choice, require_int

        require_choice("target_device", self.target_device.split(":")[0], ("cpu", "cuda"))
        require_int("max_step_params", self.max_step_params, 0)
        for name in ("steps", "batch_size", "toy_tail", "lm_rows", "eval_rows"):
            require_int(name, getattr(self, name), 1)

    def environment(self) -> dict[str, str]:
        """The variable that turns this dry run on in a child process."""
        return {DRY_RUN_ENV: json.dumps(dataclasses.asdict(self))}


def dry_run() -> DryRun | None:
    """The dry run this process is part of (``$RTRLIB_DRY_RUN``: ``1`` or the JSON of a
    :class:`DryRun`), or None for a real run."""
    raw = os.environ.get(DRY_RUN_ENV, "").strip()
    if raw in ("", "0"):
        return None
    if raw == "1":
        return DryRun()
    fields = {f.name for f in dataclasses.fields(DryRun)}
    return DryRun(**{k: v for k, v in json.loads(raw).items() if k in fields})


def dry_run_environment(dry: DryRun | None) -> dict[str, str]:
    """Environment for a child process: the dry run's variable, or an empty string (off)."""
    return dry.environment() if dry is not None else {DRY_RUN_ENV: ""}


def thread_count(threads: int | None = None) -> int:
    """The thread count to use: ``threads``, else ``$RTRLIB_THREADS``, else
    ``$OMP_NUM_THREADS``, else the number of cores."""
    from rtrlib.params import require_int

    if threads is None:
        env = os.environ.get("RTRLIB_THREADS") or os.environ.get("OMP_NUM_THREADS")
        threads = int(env) if env and env.isdigit() else (os.cpu_count() or 1)
    return require_int("threads", threads, 1, 4096)


def thread_environment(threads: int | None = None) -> dict[str, str]:
    """Environment variables for a child process (a papermill kernel, a torchrun worker)."""
    n = str(thread_count(threads))
    return {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", n),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}


def configure_threads(threads: int | None = None) -> int:
    """Apply the thread settings to this process (env for libraries not yet loaded, and
    ``torch.set_num_threads``); returns the number of threads."""
    os.environ.update(thread_environment(threads))
    n = thread_count(threads)
    import torch

    torch.set_num_threads(n)
    return n
