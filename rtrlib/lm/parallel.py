"""Cells of a sweep trained side by side in worker processes, one CPU thread each.

Small OLMo models on a CPU are bound by per-operation overhead rather than arithmetic: a run
with one intra-op thread is about as fast as with two, so two runs in two processes do twice
the work in the same time. Every cell is trained with exactly one intra-op thread whether it
runs in a worker or in this process (:func:`single_thread`), so a cell's numbers do not depend
on how many workers trained the sweep. Workers start with ``spawn`` (safe with torch's thread
pools) and write their results to the shared store; the parent then loads them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm.auto import tqdm

from rtrlib.lm.config import OLMoRunConfig
from rtrlib.params import require_int

__all__ = ["single_thread", "train_cells"]


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the body with one torch intra-op thread, restoring the previous count after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _worker_init() -> None:
    from rtrlib.runtime import configure_threads

    configure_threads(1)


def _train_in_worker(cfg: OLMoRunConfig, store_root: str) -> str:
    from rtrlib.lm.train import run_key, train_run
    from rtrlib.store import Store

    train_run(cfg, None, Store(store_root), progress=False)
    return run_key(cfg)


def train_cells(runs: Sequence[OLMoRunConfig], store_root: Path, workers: int,
                prepare: Callable[[], object], progress: bool = True) -> None:
    """Train every run of ``runs`` not yet in the store at ``store_root``, ``workers`` at a
    time (each in its own process, one thread). ``prepare`` is called once first, in this
    process, when some run has to train (it caches the token stream for the workers)."""
    workers = require_int("workers", workers, 1, 64)
    from rtrlib.lm.train import run_key
    from rtrlib.store import Store

    store = Store(store_root)
    todo = [r for r in runs if not store.path(run_key(r)).exists()]
    if not todo or workers == 1:
        return  # nothing to train, or the caller trains in its own process
    prepare()
    # the largest models first, so the last cells to finish are short ones
    todo.sort(key=lambda r: -r.steps * r.tokens_per_step * _width(r))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx,
                             initializer=_worker_init) as pool:
        futures = [pool.submit(_train_in_worker, r, str(store.root)) for r in todo]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="training runs",
                        disable=not progress):
            fut.result()  # a failed run raises here, with the worker's traceback


def _width(cfg: OLMoRunConfig) -> int:
    from rtrlib.lm.models import get_spec

    spec = get_spec(cfg.size)
    return spec.d_model ** 2 * spec.n_layers
