"""Task schedules: which task each sample of a step's batch belongs to.

A schedule is any object with ``tasks(step, batch_size, generators, device) -> LongTensor (S, B)``
(one row per seed stream, drawn with that stream's generator only). The engine calls it once per
step, then :meth:`rtrlib.toy.mixture.TaskMixture.sample` draws inputs and targets for those tasks.

- :class:`IIDSchedule`: every sample's task drawn i.i.d. from ``pi`` (the default stream).
- :class:`MaskedSchedule`: i.i.d. from ``pi`` restricted to the tasks a per-step mask allows.
- :class:`BurstSchedule`: one task withheld, then injected as a burst of ``burst`` samples every
  ``period`` steps (its long-run frequency is ``burst / (period * B)``); the rest of every batch
  is drawn from ``pi`` without that task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from rtrlib.params import ParameterError, require_int

__all__ = ["Schedule", "IIDSchedule", "MaskedSchedule", "BurstSchedule", "draw_tasks"]


class Schedule(Protocol):
    def tasks(self, step: int, batch_size: int, generators: list[torch.Generator],
              device: str | torch.device) -> torch.Tensor: ...


def draw_tasks(probs: np.ndarray, n: int, generator: torch.Generator,
               device: str | torch.device) -> torch.Tensor:
    """``n`` task ids drawn i.i.d. from ``probs`` with ``generator``."""
    p = torch.as_tensor(np.asarray(probs, dtype=np.float64), device=device)
    if n == 0:
        return torch.empty(0, dtype=torch.long, device=device)
    return torch.multinomial(p, n, replacement=True, generator=generator)


@dataclass(frozen=True)
class IIDSchedule:
    """Each sample's task drawn i.i.d. from ``pi``."""

    pi: tuple[float, ...]

    def tasks(self, step, batch_size, generators, device):
        return torch.stack([draw_tasks(np.asarray(self.pi), batch_size, g, device)
                            for g in generators])


@dataclass(frozen=True)
class MaskedSchedule:
    """I.i.d. from ``pi`` restricted to ``allowed(step)`` (a boolean array over tasks)."""

    pi: tuple[float, ...]
    allowed: Callable[[int], np.ndarray]

    def tasks(self, step, batch_size, generators, device):
        keep = np.asarray(self.allowed(step), dtype=bool)
        p = np.where(keep, np.asarray(self.pi), 0.0)
        if p.sum() <= 0:
            raise ValueError(f"schedule allows no task with positive frequency at step {step}")
        p = p / p.sum()
        return torch.stack([draw_tasks(p, batch_size, g, device) for g in generators])


@dataclass(frozen=True)
class BurstSchedule:
    """Task ``task`` withheld, then ``burst`` samples of it every ``period`` steps.

    Bursts happen at steps with ``step % period == phase``; they occupy the first ``burst`` rows
    of the batch. All other rows are drawn from ``pi`` with ``task`` removed and renormalised.
    """

    pi: tuple[float, ...]
    task: int
    period: int
    burst: int
    phase: int = 0

    def __post_init__(self) -> None:
        require_int("task", self.task, 0, len(self.pi) - 1)
        require_int("period", self.period, 1)
        require_int("burst", self.burst, 0)
        require_int("phase", self.phase, 0, self.period - 1)

    def frequency(self, batch_size: int) -> float:
        return self.burst / (self.period * batch_size)

    def is_burst(self, step: int) -> bool:
        return step % self.period == self.phase

    def tasks(self, step, batch_size, generators, device):
        if self.burst > batch_size:
            raise ParameterError("burst", self.burst, f"at most the batch size {batch_size}")
        p = np.asarray(self.pi, dtype=np.float64).copy()
        p[self.task] = 0.0
        p /= p.sum()
        n_burst = self.burst if self.is_burst(step) else 0
        rows = []
        for g in generators:
            rest = draw_tasks(p, batch_size - n_burst, g, device)
            head = torch.full((n_burst,), self.task, dtype=torch.long, device=device)
            rows.append(torch.cat([head, rest]))
        return torch.stack(rows)
