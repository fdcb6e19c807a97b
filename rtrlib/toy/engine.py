"""The training engine: online SGD/Adam on a :class:`~rtrlib.toy.models.ModelBatch`.

One :class:`Trainer` owns the models, the optimizer and one data generator per seed stream.
Every step it asks the schedule for the tasks of a fresh batch, samples it, and updates every model
at once (the per-model losses are summed; their parameters are disjoint, and SGD and Adam act
elementwise, so each model trains exactly as it would alone). Its state, including the generators,
round-trips through :meth:`Trainer.state_dict`, so a resumed run continues bit for bit.

Building blocks for other experiments (e.g. injection schedules and gradient decompositions):
``next_batch()`` draws the next batch without training; ``gradients(batch, sample_weight)``
returns the per-model gradients of a (weighted) batch loss without updating; ``update(batch)``
takes one optimizer step on a batch; ``task_losses()`` / ``feature_presence()`` are exact
population measurements; ``population_gradient(task)`` is the exact gradient of ``l_task``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from rtrlib.params import (
    ParameterError,
    require_choice,
    require_device,
    require_float,
    require_int,
)
from rtrlib.store import KeyedConfig
from rtrlib.toy.mixture import MixtureBatch, TaskMixture
from rtrlib.toy.models import ModelBatch, derive_seed
from rtrlib.toy.schedules import IIDSchedule, Schedule

__all__ = ["OptimConfig", "Trainer", "OPTIMIZERS", "LR_SCHEDULES"]

OPTIMIZERS = ("sgd", "adam")
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class OptimConfig(KeyedConfig):
    """Optimizer settings. ``lr_schedule='cosine'`` decays over the run's steps to
    ``final_lr_fraction * lr``."""

    optimizer: str = field(default="sgd", metadata={"choices": OPTIMIZERS})
    lr: float = 0.5
    momentum: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    lr_schedule: str = field(default="constant", metadata={"choices": LR_SCHEDULES})
    final_lr_fraction: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.betas, list):
            object.__setattr__(self, "betas", tuple(self.betas))
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_float("lr", self.lr, 0.0, lo_open=True)
        require_float("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        if len(self.betas) != 2:
            raise ParameterError("betas", self.betas, "two numbers in [0, 1)")
        for b in self.betas:
            require_float("betas", b, 0.0, 1.0, hi_open=True)
        require_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        require_float("final_lr_fraction", self.final_lr_fraction, 0.0, 1.0)

    def lr_at(self, step: int, steps: int) -> float:
        """The learning rate of update ``step`` in a run of ``steps`` updates."""
        if self.lr_schedule == "constant":
            return self.lr
        frac = min(step / steps, 1.0)
        lo = self.final_lr_fraction
        return self.lr * (lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * frac)))

    def build(self, params: list[torch.Tensor]) -> torch.optim.Optimizer:
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum)
        return torch.optim.Adam(params, lr=self.lr, betas=tuple(self.betas))


class Trainer:
    """Online training of a :class:`ModelBatch` on a :class:`TaskMixture` for ``steps`` updates
    (the horizon of the learning-rate schedule); ``trainer.step`` counts the updates taken."""

    def __init__(self, mixture: TaskMixture, models: ModelBatch, optim: OptimConfig, *,
                 batch_size: int, steps: int, schedule: Schedule | None = None,
                 device: str | torch.device = "cpu") -> None:
        require_int("batch_size", batch_size, 1)
        require_int("steps", steps, 1)
        require_device("device", str(device))
        self.mixture, self.models, self.optim_config = mixture, models, optim
        self.batch_size, self.steps = batch_size, steps
        self.device = torch.device(device)
        self.schedule = schedule or IIDSchedule(tuple(float(p) for p in mixture.pi))
        self.tensors = mixture.tensors(self.device, models.U.dtype)
        self.optimizer = optim.build(models.parameters())
        self.generators = [torch.Generator(self.device).manual_seed(derive_seed(seed, 0, 2))
                           for seed in models.seeds]
        self.step = 0

    # ---- data ---------------------------------------------------------------------------------
    def next_batch(self) -> MixtureBatch:
        """The next batch of the stream (advances the generators, not the step counter)."""
        tasks = self.schedule.tasks(self.step, self.batch_size, self.generators, self.device)
        return self.mixture.sample(tasks, self.generators, self.tensors)

    # ---- gradients and updates -----------------------------------------------------------------
    def gradients(self, batch: MixtureBatch, sample_weight: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradients (dU, dA) of every model's (weighted) batch loss; no update."""
        loss = self.models.batch_loss(batch, sample_weight)
        gU, gA = torch.autograd.grad(loss.sum(), self.models.parameters())
        return gU, gA

    def update(self, batch: MixtureBatch) -> torch.Tensor:
        """One optimizer step on ``batch``; returns the per-model batch losses (S, W)."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.optim_config.lr_at(self.step, self.steps)
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.models.batch_loss(batch)
        loss.sum().backward()
        self.optimizer.step()
        self.step += 1
        return loss.detach()

    def train_step(self) -> torch.Tensor:
        """``update(next_batch())``."""
        return self.update(self.next_batch())

    # ---- exact measurements ------------------------------------------------------------------
    @torch.no_grad()
    def task_losses(self) -> torch.Tensor:
        """Exact population per-task loss l_k (S, W, K), noise excluded."""
        return self.models.task_losses(self.tensors, self.mixture.n_tasks,
                                       self.mixture.background_variance)

    def feature_presence(self, features: torch.Tensor | None = None) -> torch.Tensor:
        """Presence of every feature (or of ``features``) in every model (S, W, F), float64."""
        return self.models.feature_presence(self.tensors, self.mixture.background_variance,
                                            features)

    def population_gradient(self, task: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact gradient (dU, dA) of each model's population loss l_task (the reference G_r)."""
        losses = self.models.task_losses(self.tensors, self.mixture.n_tasks,
                                         self.mixture.background_variance)
        gU, gA = torch.autograd.grad(losses[..., task].sum(), self.models.parameters())
        return gU, gA

    # ---- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "models": self.models.state_dict(),
            "optimizer": _to_cpu(self.optimizer.state_dict()),
            "generators": [g.get_state() for g in self.generators],
        }

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.models.load_state_dict(state["models"])
        self.optimizer.load_state_dict(state["optimizer"])
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    return obj
