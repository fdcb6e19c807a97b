"""Training batches from the background stream, with task instances injected.

A batch is a pure function of (seed, step): ``batch_size`` windows of ``seq_len + 1`` tokens at
random offsets of the stream. Injection overwrites the first four tokens of a chosen sequence with
TOK1 TOK2 LABEL EOD, the instance drawn uniformly from the task's TRAIN split (never its test
split). Two schedules:

- i.i.d. (``gap = 0``): every sequence carries an instance with probability ``frequency *
  seq_len``, independently;
- bursts (``gap = n >= 1``): every ``n``-th batch carries ``round(n * r)`` instances, where
  ``r = frequency * seq_len * batch_size`` is the mean number per batch; the global frequency
  is matched across gaps.

``frequency`` is in instances per training token (the paper's unit).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rtrlib.lm.tasks import Task
from rtrlib.params import ParameterError, require_float, require_int

__all__ = ["InjectionSchedule", "TokenBatch", "background_batch", "plan_injection",
           "make_token_batch", "INSTANCE_LEN"]

INSTANCE_LEN = 4  # TOK1 TOK2 LABEL EOD


@dataclasses.dataclass(frozen=True)
class InjectionSchedule:
    """When task instances enter the stream: ``frequency`` instances per training token, and
    ``gap`` (0 = i.i.d., n = a burst every n batches at the same global frequency)."""

    frequency: float = 1e-3
    gap: int = 0

    def __post_init__(self) -> None:
        require_float("frequency", self.frequency, 0.0, 1.0 / INSTANCE_LEN)
        require_int("gap", self.gap, 0)

    def per_sequence(self, seq_len: int) -> float:
        return self.frequency * seq_len

    def per_batch(self, seq_len: int, batch_size: int) -> float:
        """Mean number of injected instances per batch."""
        return self.frequency * seq_len * batch_size

    def burst_size(self, seq_len: int, batch_size: int) -> int:
        return int(round(self.gap * self.per_batch(seq_len, batch_size)))

    def validate_for(self, seq_len: int, batch_size: int) -> None:
        """Refuse a schedule that does not fit batches of ``batch_size`` x ``seq_len``."""
        if self.per_sequence(seq_len) > 1.0:
            raise ParameterError("frequency", self.frequency,
                                 f"<= 1/seq_len = {1 / seq_len:.3g} (one instance per sequence)")
        if self.gap > 0 and self.burst_size(seq_len, batch_size) > batch_size:
            raise ParameterError("gap", self.gap, f"gap * instances per batch <= batch_size "
                                 f"({batch_size}); here {self.burst_size(seq_len, batch_size)}")


@dataclasses.dataclass(frozen=True)
class TokenBatch:
    """One training batch: ``tokens`` (B, L+1); ``task_mask`` (B, L) marks the predictions of
    task tokens (targets TOK2, LABEL, EOD of an injected instance); ``instances`` the injected
    rows of the train split, ``rows`` the batch rows that carry them."""

    tokens: np.ndarray
    task_mask: np.ndarray
    rows: np.ndarray
    instances: np.ndarray

    @property
    def n_injected(self) -> int:
        return len(self.rows)


def background_batch(stream: np.ndarray, step: int, batch_size: int, seq_len: int,
                     seed: int) -> np.ndarray:
    """``batch_size`` random windows of ``seq_len + 1`` tokens (deterministic in seed, step)."""
    rng = np.random.default_rng([seed, step, 0])
    starts = rng.integers(0, len(stream) - seq_len - 1, size=batch_size)
    return np.stack([stream[s: s + seq_len + 1] for s in starts]).astype(np.int64)


def plan_injection(schedule: InjectionSchedule, step: int, batch_size: int, seq_len: int,
                   n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of batch ``step`` carry an instance, and which train instances (indices)."""
    rng = np.random.default_rng([seed, step, 1])
    if schedule.frequency == 0:
        rows = np.zeros(0, dtype=np.int64)
    elif schedule.gap == 0:
        rows = np.flatnonzero(rng.random(batch_size) < schedule.per_sequence(seq_len))
    elif step % schedule.gap == 0:
        rows = np.sort(rng.choice(batch_size, size=schedule.burst_size(seq_len, batch_size),
                                  replace=False))
    else:
        rows = np.zeros(0, dtype=np.int64)
    return rows, rng.integers(0, n_train, size=len(rows))


def make_token_batch(stream: np.ndarray, task: Task, schedule: InjectionSchedule, step: int,
                     batch_size: int, seq_len: int, seed: int, eod_id: int = 0) -> TokenBatch:
    """The training batch of ``step``: background windows, train instances injected."""
    tokens = background_batch(stream, step, batch_size, seq_len, seed)
    rows, idx = plan_injection(schedule, step, batch_size, seq_len, len(task.train), seed)
    instances = task.train[idx]
    mask = np.zeros((batch_size, seq_len), dtype=bool)
    if len(rows):
        tokens[rows, :3] = instances
        tokens[rows, 3] = eod_id
        mask[rows, :3] = True
    return TokenBatch(tokens=tokens, task_mask=mask, rows=rows, instances=instances)
