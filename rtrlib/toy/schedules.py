"""Task schedules: which task each sample of a step's batch belongs to.

A schedule is any object with ``tasks(step, batch_size, generators, device) -> LongTensor (S, B)``
(one row per seed stream, drawn with that stream's generator only). The engine calls it once per
step, then :meth:`rtrlib.toy.mixture.TaskMixture.sample` draws inputs and targets for those tasks.

- :class:`IIDSchedule`: every sample's task drawn i.i.d. from ``pi`` (the default stream).
- :class:`MaskedSchedule`: i.i.d. from ``pi`` restricted to the tasks a per-step mask allows.
- :class:`BurstSchedule`: one task withheld, then injected as a burst of ``bursts[s]`` samples
  every ``gaps[s]`` steps in stream ``s`` (its long-run frequency is ``bursts / (gaps * B)``);
  the rest of every batch is drawn from ``pi`` without that task. With ``bursts = rate * gap``
  (:meth:`BurstSchedule.matched`) the frequency is ``rate / B`` whatever the gap: the
  matched-frequency schedule of the retention and levers experiments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from rtrlib.params import ParameterError, require_int, require_ints

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
            raise ParameterError("allowed", f"the mask at step {step}",
                                 "a mask that keeps a task of positive frequency")
        p = p / p.sum()
        return torch.stack([draw_tasks(p, batch_size, g, device) for g in generators])


@dataclass(frozen=True)
class BurstSchedule:
    """Task ``task`` withheld, then ``bursts[s]`` samples of it every ``gaps[s]`` steps.

    ``gaps`` and ``bursts`` hold one value per seed stream, or a single value shared by every
    stream. Before ``warmup`` the task is withheld; bursts fall on steps ``warmup``,
    ``warmup + gap``, ... and occupy the first rows of the batch. All other rows are drawn from
    ``pi`` with ``task`` removed and renormalised.
    """

    pi: tuple[float, ...]
    task: int
    gaps: tuple[int, ...]
    bursts: tuple[int, ...]
    warmup: int = 0

    def __post_init__(self) -> None:
        require_int("task", self.task, 0, len(self.pi) - 1)
        gaps = require_ints("gaps", tuple(self.gaps), 1)
        bursts = require_ints("bursts", tuple(self.bursts), 0)
        if len(gaps) != len(bursts) and 1 not in (len(gaps), len(bursts)):
            raise ParameterError("bursts", bursts, f"one value, or one per gap ({len(gaps)})")
        require_int("warmup", self.warmup, 0)
        object.__setattr__(self, "gaps", gaps)
        object.__setattr__(self, "bursts", bursts)

    @classmethod
    def matched(cls, pi: tuple[float, ...], task: int, gaps: tuple[int, ...],
                rates: tuple[int, ...], warmup: int = 0) -> BurstSchedule:
        """``rates[s] * gaps[s]`` samples every ``gaps[s]`` steps: on average ``rates[s]`` per
        batch, whatever the gap (matched frequency)."""
        n = max(len(gaps), len(rates))
        g = gaps * n if len(gaps) == 1 else gaps
        r = rates * n if len(rates) == 1 else rates
        bursts = tuple(rate * gap for rate, gap in zip(r, g, strict=True))
        return cls(pi=pi, task=task, gaps=tuple(g), bursts=bursts, warmup=warmup)

    def _of(self, values: tuple[int, ...], stream: int) -> int:
        return values[0] if len(values) == 1 else values[stream]

    def frequency(self, batch_size: int, stream: int = 0) -> float:
        """The task's long-run frequency in stream ``stream``."""
        return self._of(self.bursts, stream) / (self._of(self.gaps, stream) * batch_size)

    def burst_size(self, step: int, stream: int = 0) -> int:
        """How many samples of the task stream ``stream`` gets at ``step``."""
        gap = self._of(self.gaps, stream)
        if step < self.warmup or (step - self.warmup) % gap:
            return 0
        return self._of(self.bursts, stream)

    def tasks(self, step, batch_size, generators, device):
        p = np.asarray(self.pi, dtype=np.float64).copy()
        p[self.task] = 0.0
        p /= p.sum()
        rows = []
        for s, g in enumerate(generators):
            n = self.burst_size(step, s)
            if n > batch_size:
                raise ParameterError("bursts", self.bursts, f"at most the batch size {batch_size}")
            head = torch.full((n,), self.task, dtype=torch.long, device=device)
            rows.append(torch.cat([head, draw_tasks(p, batch_size - n, g, device)]))
        return torch.stack(rows)
