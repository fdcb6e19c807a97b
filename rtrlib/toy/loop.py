"""The resumable training loop the toy experiments share.

Each experiment keeps what it measures in one ``state`` dict, passes its run config
(:class:`rtrlib.toy.config.ToyRunConfig`: ``steps``, ``checkpoint_every``, ``progress``) and
supplies two callbacks: ``observe(step)``, called before every update and once more after the
last, and ``advance()``, which takes one update (by default :meth:`Trainer.train_step`). The
loop adds the rest: a checkpoint of the trainer and the state every ``checkpoint_every``
updates, resuming from it, a progress bar, wall-clock time summed over sessions, and ``stop_at``
(end the session after that many updates with a checkpoint written, which is how tests imitate
a killed job). A checkpoint is always taken before ``observe`` of its step, so a resumed run
observes every step exactly once. In a dry run (:mod:`rtrlib.dry`) the loop takes a couple of
updates and then skips to the last few hundred, which it takes and observes as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rtrlib.costs import Work
from rtrlib.dry import log_work, skip_to, toy_tail
from rtrlib.store import CHECKPOINT_SUFFIX, Store
from rtrlib.toy.engine import Trainer

__all__ = ["run_loop"]


def run_loop(trainer: Trainer, state: dict[str, Any], config: Any, *, store: Store, key: str,
             observe: Callable[[int], None] | None = None,
             advance: Callable[[], None] | None = None, stop_at: int | None = None,
             desc: str = "training") -> float | None:
    """Train ``trainer`` to ``config.steps`` updates, checkpointing every
    ``config.checkpoint_every`` under ``key + CHECKPOINT_SUFFIX`` and resuming from it; a
    progress bar when ``config.progress``.

    ``state`` is filled in place from the checkpoint and saved with it. Returns the seconds
    spent over all sessions, or None when the session ended at ``stop_at`` before the end.
    """
    steps, checkpoint_every = config.steps, config.checkpoint_every
    checkpoint_key = key + CHECKPOINT_SUFFIX
    elapsed = 0.0
    saved = store.load(checkpoint_key)
    if saved is not None:
        trainer.load_state_dict(saved["trainer"])
        state.update(saved["state"])
        elapsed = saved["seconds"]
    t0 = time.perf_counter()

    def checkpoint() -> None:
        store.save(checkpoint_key, {"trainer": trainer.state_dict(), "state": state,
                                    "seconds": elapsed + time.perf_counter() - t0})

    if saved is None:  # a dry run records what the real run would do (rtrlib.costs)
        size = sum(p.numel() for p in trainer.models.parameters())
        log_work(Work(kind="toy", flops=6.0 * trainer.batch_size * size * steps, steps=steps,
                      label=desc))
    step_once = advance or trainer.train_step
    bar = None
    if config.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=trainer.step, desc=desc, leave=False)
    try:
        while True:
            if stop_at is not None and stop_at <= trainer.step < steps:
                checkpoint()
                return None
            if observe is not None:
                observe(trainer.step)
            if trainer.step >= steps:
                break
            step_once()
            trainer.step = skip_to(trainer.step, steps, toy_tail())
            if bar is not None:
                bar.update(1)
            if trainer.step % checkpoint_every == 0 and trainer.step < steps:
                checkpoint()
    finally:
        if bar is not None:
            bar.close()
    return elapsed + time.perf_counter() - t0
