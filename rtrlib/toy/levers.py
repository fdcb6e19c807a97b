"""Three levers for getting a rare task learned, compared at equal training compute.

The mixture is a :class:`~rtrlib.toy.config.RareMixtureConfig`: ``n_common`` Zipf tasks and one
rare task (the last) with a single strong feature. A *setting* is a triple (width ``N``, rare rate
``r``, gap ``G``): every ``G``-th step opens with a burst of ``r * G`` rare samples, all other
rows are drawn from the common tasks, so the rare task's global frequency is ``r / B`` whatever
the gap. Starting from a baseline setting ``(N0, r0, G0)`` the three levers are

(a) **widen**: ``N > N0`` at ``(r0, G0)``;
(b) **raise the frequency**: ``r > r0`` at ``(N0, G0)``;
(c) **replay more often**: ``G < G0`` at ``(N0, r0)`` (same global frequency, shorter gaps).

The grid of every (rate, gap, seed) stream times every width is trained as one tensor program
(each stream has its own schedule, every width sits in every stream, a seed's models start from
the same weights in every stream). A model has **learned** the rare task at step ``t`` when its
rare-task loss with its current readout, as a fraction of the task's variance, is below
``threshold`` at every step from ``t`` to ``t + hold`` (``hold`` spans several of the longest gaps,
so an update-forget cycle, which dips below after each burst and climbs back, does not count; a
brief spike long after the task was held does not undo it). Its **compute-to-learn** is ``t``
times the training FLOPs of one step, ``6 B N (D + F)`` (forward and backward through the
encoder, D x N, and the readouts, N x F; width enters linearly). Models that have not learned
within the run are censored: their compute-to-learn is only known to exceed the run's compute.

``run_levers_grid(config)`` returns one row per (width, rate, gap, seed) with the steps and
FLOPs to learn; :func:`rtrlib.toy.lever_costs.lever_table` turns it into one row per (lever,
setting) relative to a baseline; ``run_levers(config)`` does both for every baseline width in
``config.base_widths``. Results are cached through :mod:`rtrlib.store` and checkpointed, so a
killed run resumes. Command line: ``python -m rtrlib.toy levers --help``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from rtrlib.params import ParameterError, require_float, require_int, require_ints
from rtrlib.store import Store, config_key, run_resumable
from rtrlib.toy.config import ADAM, ModelBatchConfig, RareTaskExperiment, ToyRunConfig
from rtrlib.toy.engine import OptimConfig
from rtrlib.toy.lever_costs import lever_table
from rtrlib.toy.loop import run_loop
from rtrlib.toy.mixture import MixtureConfig, TaskMixture
from rtrlib.toy.schedules import BurstSchedule

__all__ = ["LeversConfig", "flops_per_step", "run_levers_grid", "run_levers", "levers_key"]


@dataclass(frozen=True)
class LeversConfig(RareTaskExperiment):
    """The grid of settings and the baseline the levers start from.

    ``rates`` are rare samples per batch on average (global frequency ``rate / batch_size``);
    ``base_rate``, ``base_gap`` and each of ``base_widths`` must be in their grids. A model has
    learned the rare task once its relative loss stays below ``threshold`` for ``hold`` steps
    (checked every ``log_every`` steps; loss traces kept every ``trace_every``).
    """

    NOT_KEYED = ("base_widths",)  # the baselines only re-slice the grid

    rates: tuple[int, ...] = (1, 2, 4, 8)
    gaps: tuple[int, ...] = (1, 4, 16)
    base_widths: tuple[int, ...] = (8, 16, 24, 32)
    base_rate: int = 1
    base_gap: int = 16
    models: ModelBatchConfig = ModelBatchConfig(widths=(8, 12, 16, 24, 32, 48))
    optim: OptimConfig = ADAM
    run: ToyRunConfig = ToyRunConfig(steps=2048, batch_size=256, seeds=(0, 1, 2))
    threshold: float = 0.25
    hold: int = 256
    log_every: int = 1
    trace_every: int = 16

    def __post_init__(self) -> None:
        for name in ("rates", "gaps", "base_widths"):
            v = getattr(self, name)
            if isinstance(v, list):
                object.__setattr__(self, name, tuple(v))
            vals = require_ints(name, getattr(self, name), 1)
            if len(set(vals)) != len(vals):
                raise ParameterError(name, vals, "distinct values")
        batch, steps, widths = self.run.batch_size, self.run.steps, self.models.widths
        if max(self.rates) * max(self.gaps) > batch // 2:
            raise ParameterError("rates", self.rates,
                                 f"rates with rate x gap <= batch_size / 2 = "
                                 f"{batch // 2} for every gap {self.gaps}")
        if self.base_rate not in self.rates:
            raise ParameterError("base_rate", self.base_rate, f"one of rates {self.rates}")
        if self.base_gap not in self.gaps:
            raise ParameterError("base_gap", self.base_gap, f"one of gaps {self.gaps}")
        if any(w not in widths for w in self.base_widths):
            raise ParameterError("base_widths", self.base_widths,
                                 f"widths taken from widths {widths}")
        if any(steps % g for g in self.gaps):
            raise ParameterError("steps", steps, f"a multiple of every gap {self.gaps}")
        require_float("threshold", self.threshold, 0.0, 1.0, lo_open=True, hi_open=True)
        require_int("hold", self.hold, 2 * max(self.gaps), steps)
        require_int("log_every", self.log_every, 1, steps)
        require_int("trace_every", self.trace_every, 1, steps)

    # ---- derived --------------------------------------------------------------------------
    @property
    def streams(self) -> tuple[tuple[int, int, int], ...]:
        """(rate, gap, seed) of every stream, rate-major."""
        return tuple((r, g, s) for r in self.rates for g in self.gaps for s in self.run.seeds)

    def stream_seeds(self) -> tuple[int, ...]:
        return tuple(s for _, _, s in self.streams)

    def frequency(self, rate: int) -> float:
        return rate / self.run.batch_size

    @property
    def rare_frequency(self) -> float:
        """The baseline's rare frequency ``base_rate / batch_size``."""
        return self.frequency(self.base_rate)

    def mixture_config(self, rate: int | None = None) -> MixtureConfig:
        """The mixture with the rare task at ``rate`` (default ``base_rate``); the common tasks
        are the same at every rate, and every stream draws them with the rare task removed."""
        return self.mixture.with_frequency(self.frequency(self.base_rate if rate is None
                                                          else rate))

    def critical_width(self, rate: int | None = None) -> int:
        """Proposition 6's critical width with the rare task at ``rate`` (default
        ``base_rate``)."""
        return self.mixture.critical_width(self.frequency(self.base_rate if rate is None
                                                          else rate))

    def schedule(self, mixture: TaskMixture) -> BurstSchedule:
        return BurstSchedule.matched(tuple(float(p) for p in mixture.pi), self.rare,
                                     gaps=tuple(g for _, g, _ in self.streams),
                                     rates=tuple(r for r, _, _ in self.streams))

    def total_flops(self) -> float:
        """Training FLOPs of the whole grid (every stream and width, all steps)."""
        m = self.mixture_config().build()
        per = sum(flops_per_step(w, self.run.batch_size, m.input_dim, m.n_features)
                  for w in self.models.widths)
        return float(per * len(self.streams) * self.run.steps)


def flops_per_step(width: int, batch_size: int, input_dim: int, n_features: int) -> float:
    """Training FLOPs of one step of one model: ``6 B N (D + F)``."""
    return 6.0 * batch_size * width * (input_dim + n_features)


def levers_key(config: LeversConfig) -> str:
    return config_key("toy-levers", config.keyed())


# ---- training -------------------------------------------------------------------------------
def _train(config: LeversConfig, store: Store, key: str,
           stop_at: int | None = None) -> dict | None:
    mixture = config.mixture_config().build()
    trainer = config.build(mixture)
    rare = config.rare
    var = torch.as_tensor(mixture.task_variance())
    common = torch.arange(mixture.n_tasks) != rare
    w_common = torch.as_tensor(mixture.pi[common.numpy()] / mixture.pi[common.numpy()].sum())
    S, W = len(config.streams), len(config.models.widths)
    # start of the current run of measurements below threshold (-1: above now), and the step
    # at which the first run long enough to count (``hold`` steps) began (-1: not yet)
    state: dict = {"run_start": torch.full((S, W), -1, dtype=torch.long),
                   "learned_at": torch.full((S, W), -1, dtype=torch.long), "trace": []}

    def observe(step: int) -> None:  # models have taken `step` updates
        if not (step % config.log_every == 0 or step == config.run.steps):
            return
        with torch.no_grad():
            losses = trainer.task_losses().double().cpu() / var               # (S, W, K)
        rare_loss, common_loss = losses[..., rare], losses[..., common] @ w_common
        below = rare_loss < config.threshold
        run_start, learned_at = state["run_start"], state["learned_at"]
        run_start = torch.where(below, torch.where(run_start < 0,
                                                   torch.full_like(run_start, step),
                                                   run_start),
                                torch.full_like(run_start, -1))
        held = below & (step - run_start >= config.hold) & (learned_at < 0)
        state["run_start"], state["learned_at"] = run_start, torch.where(held, run_start,
                                                                         learned_at)
        if step % config.trace_every == 0 or step == config.run.steps:
            state["trace"].append({"step": step, "rare_loss": rare_loss.numpy().copy(),
                                   "common_loss": common_loss.numpy().copy()})

    seconds = run_loop(trainer, state, config.run, store=store, key=key, observe=observe,
                       stop_at=stop_at, desc="levers")
    if seconds is None:
        return None
    return {"learned_at": state["learned_at"].numpy(), "trace": state["trace"],
            "seconds": seconds}


def _grid_frame(config: LeversConfig, raw: dict) -> pd.DataFrame:
    mixture = config.mixture_config().build()
    batch = config.run.batch_size
    S, W = len(config.streams), len(config.models.widths)
    rates = np.repeat([r for r, _, _ in config.streams], W)
    gaps = np.repeat([g for _, g, _ in config.streams], W)
    seeds = np.repeat([s for _, _, s in config.streams], W)
    widths = np.tile(config.models.widths, S)
    last = raw["trace"][-1]
    final_rare = last["rare_loss"].ravel()
    at = raw["learned_at"].ravel()
    learned = at >= 0
    steps_to_learn = np.where(learned, at, np.nan).astype(float)
    fps = np.array([flops_per_step(int(w), batch, mixture.input_dim, mixture.n_features)
                    for w in widths])
    nc = {r: config.critical_width(r) for r in config.rates}
    df = pd.DataFrame({
        "width": widths, "rate": rates, "frequency": rates / batch, "gap": gaps,
        "seed": seeds, "learned": learned, "steps_to_learn": steps_to_learn,
        "flops_per_step": fps, "flops_to_learn": steps_to_learn * fps,
        "flops_run": fps * config.run.steps, "final_rare_loss": final_rare,
        "held_to_end": final_rare < config.threshold,
        "final_common_loss": last["common_loss"].ravel(),
        "critical_width": [nc[r] for r in rates],
    })
    df["predicted_learnable"] = df["width"] >= df["critical_width"]
    df.attrs["seconds"] = raw["seconds"]
    return df


def _trace_frame(config: LeversConfig, raw: dict) -> pd.DataFrame:
    S, W = len(config.streams), len(config.models.widths)
    cols = {"rate": np.repeat([r for r, _, _ in config.streams], W),
            "gap": np.repeat([g for _, g, _ in config.streams], W),
            "seed": np.repeat([s for _, _, s in config.streams], W),
            "width": np.tile(config.models.widths, S)}
    parts = [pd.DataFrame({**cols, "step": t["step"], "rare_loss": t["rare_loss"].ravel(),
                           "common_loss": t["common_loss"].ravel()}) for t in raw["trace"]]
    return pd.concat(parts, ignore_index=True)


def _run_raw(config: LeversConfig, store: Store | None, refresh: bool,
             _stop_at: int | None = None) -> dict | None:
    if not isinstance(config, LeversConfig):
        raise TypeError("expected a LeversConfig")
    return run_resumable(levers_key(config),
                         lambda st, key: _train(config, st, key, stop_at=_stop_at),
                         store=store, refresh=refresh)


def run_levers_grid(config: LeversConfig, *, store: Store | None = None, refresh: bool = False,
                    trace: bool = False, _stop_at: int | None = None):
    """One row per (width, rate, gap, seed): learned?, steps and FLOPs to learn
    (``steps_to_learn`` is the start of the first stretch of ``hold`` steps below threshold),
    ``held_to_end``, final losses (rare and frequency-weighted common, both relative to the
    task variance), the predicted critical width at that rate. With ``trace=True`` also
    returns the loss trajectories (every ``trace_every`` steps) as a second DataFrame."""
    raw = _run_raw(config, store, refresh, _stop_at)
    if raw is None:
        return None
    grid = _grid_frame(config, raw)
    return (grid, _trace_frame(config, raw)) if trace else grid


def run_levers(config: LeversConfig, *, store: Store | None = None,
               refresh: bool = False) -> pd.DataFrame:
    """Compute-to-learn per lever and setting, for every baseline width in ``base_widths``
    (:func:`rtrlib.toy.lever_costs.lever_table` of :func:`run_levers_grid`)."""
    grid = run_levers_grid(config, store=store, refresh=refresh)
    return pd.concat([lever_table(grid, config, w) for w in config.base_widths],
                     ignore_index=True)
