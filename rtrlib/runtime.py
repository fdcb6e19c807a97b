"""Thread settings, made in one place and only when asked.

The book runs on small machines (2 cores in CI) shared with other jobs. Two settings matter:

- ``OMP_WAIT_POLICY=PASSIVE``: OpenMP threads that busy-wait make throughput collapse when
  cores are shared (measured 10x slower); passive waiting costs nothing on an idle machine.
- the number of intra-op threads: ``$RTRLIB_THREADS`` if set, else ``$OMP_NUM_THREADS``, else
  the number of cores.

Environment variables only act before torch starts its thread pool, so the runner calls
:func:`thread_environment` for the kernels it starts, and chapters and command lines call
:func:`configure_threads` once, at the top. Importing rtrlib changes nothing.
"""

from __future__ import annotations

import os

__all__ = ["configure_threads", "thread_count", "thread_environment"]


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
