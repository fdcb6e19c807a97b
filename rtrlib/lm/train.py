"""Training one OLMo run to the end, resumably, with its evaluations recorded.

:func:`train_run` returns an :class:`OLMoRunResult` through :func:`rtrlib.store.run_resumable`:
a finished run is loaded from the store; an unfinished one resumes from its checkpoint (the
trainer's state and the records so far, saved every ``checkpoint_every`` updates under the
run's key + ``-checkpoint``). Every batch is a pure function of (seed, step), so a resumed run
is bit-identical to an uninterrupted one. The loop itself::

    record(0)
    while trainer.step < steps:
        loss, split = trainer.train_step(analyse=...)   # batch, forward, backward, AdamW
        every eval_every (and around bursts): record(step)  # accuracy, loss, probes
        every checkpoint_every: checkpoint()

A run that needs more tokens than its corpus holds is refused before it trains
(:func:`rtrlib.lm.tokens.check_token_budget`), unless the corpus config allows repetition.

Under ``torchrun`` (an initialised process group) the same loop runs data-parallel: every rank
trains and evaluates, rank 0 alone writes to the store.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

from rtrlib.codec import storable
from rtrlib.dry import log_work, skip_to
from rtrlib.lm.config import OLMoRunConfig
from rtrlib.lm.evaluation import evaluate_task
from rtrlib.lm.models import param_counts
from rtrlib.lm.probes import probe_scores
from rtrlib.lm.tokenizer import TokenData, load_token_data
from rtrlib.lm.tokens import check_token_budget
from rtrlib.lm.trainer import OLMoTrainer, dist_info
from rtrlib.store import CHECKPOINT_SUFFIX, Store, config_key, run_resumable

__all__ = ["OLMoRunResult", "train_run", "run_key"]


@storable
@dataclasses.dataclass
class OLMoRunResult:
    """A finished run: ``history`` one row per evaluation, ``grads`` one row per analysed
    step, ``meta`` the config, parameter counts, corpus provenance, timings and versions."""

    history: pd.DataFrame
    grads: pd.DataFrame
    meta: dict


class _RankZeroWrites(Store):
    """The store as a rank other than 0 sees it: it reads, and leaves writing to rank 0."""

    def save(self, key: str, obj: Any):
        return self.path(key)

    def delete(self, key: str) -> None:
        pass


def run_key(cfg: OLMoRunConfig) -> str:
    """The store key of a run (its checkpoint is this key + ``-checkpoint``)."""
    return config_key("lm-run", cfg.keyed())


def train_run(cfg: OLMoRunConfig, data: TokenData | Callable[[], TokenData] | None = None,
              store: Store | None = None, *, progress: bool = True, refresh: bool = False,
              stop_at: int | None = None) -> OLMoRunResult | None:
    """Train (or load, or resume) one run.

    ``data`` is the token stream, or a function returning it (called only when the run has
    to train); by default it is loaded through the store. ``refresh`` discards a stored result
    and checkpoint. ``stop_at`` ends the session at that step with a checkpoint written and
    returns None (how tests imitate a killed job).
    """
    store = store or Store()
    rank, world = dist_info()
    if rank:
        store = _RankZeroWrites(store.root)

    def load() -> TokenData:
        if data is None:
            return load_token_data(cfg.data.tokenizer, store)
        return data() if callable(data) else data

    return run_resumable(run_key(cfg), lambda st, key: _train(cfg, load(), st, key, world,
                                                               progress, stop_at),
                         store=store, refresh=refresh)


def saved_step(store: Store, key: str) -> int:
    """Whether a checkpoint of ``key`` exists (1) or the run starts afresh (0)."""
    return int(store.path(key + CHECKPOINT_SUFFIX).exists())


def _barrier(world: int) -> None:
    if world > 1:
        torch.distributed.barrier()


def _train(cfg: OLMoRunConfig, data: TokenData, store: Store, key: str, world: int,
           progress: bool, stop_at: int | None) -> OLMoRunResult | None:
    _barrier(world)  # rank 0 has discarded a stale checkpoint before anyone reads it
    check_token_budget(data, cfg.steps * cfg.tokens_per_step,
                       allow_repeat=cfg.data.tokenizer.corpus.allow_repeat)
    trainer = cfg.build(data, world)
    if saved_step(store, key) == 0:
        log_work(cfg.work(data.vocab_size))  # a dry run records what the real run would do
    control = cfg.task.build_control(data.vocab_size)  # never injected
    state: dict[str, Any] = {"history": [], "grads": [], "lm_losses": [],
                             "train_seconds": 0.0, "grad_seconds": 0.0, "eval_seconds": 0.0}
    saved = store.load(key + CHECKPOINT_SUFFIX)
    if saved is not None:
        trainer.load_state_dict(saved["trainer"])
        state.update(saved["state"])

    def record() -> None:
        t0 = time.perf_counter()
        losses = state["lm_losses"]
        row = {"step": trainer.step, "tokens": trainer.step * cfg.tokens_per_step,
               "instances": trainer.injected,
               "lm_loss": float(np.mean(losses)) if losses else float("nan")}
        row.update(evaluate_task(trainer.model, trainer.task, cfg.device))
        ctrl = evaluate_task(trainer.model, control, cfg.device, splits=("test",))
        row.update({f"ctrl_{k}": v for k, v in ctrl.items()})
        row.update(probe_scores(trainer.model, trainer.task, cfg.evaluation.probe_pcs,
                                cfg.device, control_seed=cfg.seed))
        state["history"].append(row)
        losses.clear()
        state["eval_seconds"] += time.perf_counter() - t0

    def checkpoint() -> None:
        store.save(key + CHECKPOINT_SUFFIX, {"trainer": trainer.state_dict(), "state": state})
        _barrier(world)

    gap = cfg.injection.gap

    def around_burst(step: int) -> bool:
        """Just before a burst (step % gap == 0) and just after it (step % gap == 1)."""
        return 2 <= cfg.evaluation.burst_evals <= gap and step % gap in (0, 1)

    if saved is None:
        record()
    trainer.model.train()
    grad_every, steps = cfg.evaluation.grad_every, cfg.steps
    bar = _progress_bar(cfg, trainer.step, progress and trainer.rank == 0)
    try:
        while trainer.step < steps:
            if stop_at is not None and trainer.step >= stop_at:
                checkpoint()
                return None
            t0 = time.perf_counter()
            analyse = grad_every > 0 and trainer.step % grad_every == 0
            loss, split = trainer.train_step(analyse)
            trainer.step = skip_to(trainer.step, steps)  # a dry run: the last step next
            state["lm_losses"].append(loss)
            state["train_seconds"] += time.perf_counter() - t0
            if split is not None:
                state["grads"].append(split)
                state["grad_seconds"] += time.perf_counter() - t0
            if bar is not None:
                bar.update(1)
            if trainer.step % cfg.evaluation.eval_every == 0 or trainer.step == steps \
                    or around_burst(trainer.step):
                record()
            if trainer.step % cfg.checkpoint_every == 0 and trainer.step < steps:
                checkpoint()
    finally:
        if bar is not None:
            bar.close()
    return OLMoRunResult(history=pd.DataFrame(state["history"]),
                         grads=pd.DataFrame(state["grads"]),
                         meta=_meta(cfg, trainer, state, world))


def _progress_bar(cfg: OLMoRunConfig, start: int, show: bool):
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=cfg.steps, initial=start, leave=False, mininterval=1.0,
                desc=f"{cfg.task.kind} {cfg.size} f={cfg.injection.frequency:.2g} "
                     f"gap={cfg.injection.gap}")


def _meta(cfg: OLMoRunConfig, trainer: OLMoTrainer, state: dict, world: int) -> dict:
    try:
        from importlib.metadata import version

        olmo_core = version("ai2-olmo-core")
    except Exception:  # pragma: no cover
        olmo_core = "unknown"
    return {"config": dataclasses.asdict(cfg), **param_counts(cfg.size, trainer.data.vocab_size),
            "vocab_size": trainer.data.vocab_size, "corpus": trainer.data.corpus_meta,
            "task_tokens": trainer.task.tokens.tolist(),
            "train_seconds": state["train_seconds"], "grad_seconds": state["grad_seconds"],
            "eval_seconds": state["eval_seconds"],
            "world_size": world, "torch": torch.__version__, "olmo_core": olmo_core}
