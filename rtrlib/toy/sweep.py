"""Width x seed sweeps of the toy model: one validated config in, tidy tables out.

``run_sweep(config)`` trains every (width, seed) model of ``config`` together and returns one
row per (logged step, seed, width, task) with the exact population loss ``task_loss`` next to the
theory's optimum ``optimal_loss`` (:func:`rtrlib.theory.utility.optimal_task_loss`).
``run_sweep_full`` also returns the per-feature presence table. Results are cached through
:mod:`rtrlib.store`; while a sweep runs it checkpoints its full training state (weights,
optimizer, random generators, rows logged so far) every ``checkpoint_every`` steps, so a killed
sweep resumes where it stopped and produces the same numbers as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from rtrlib.codec import storable
from rtrlib.params import require_choice, require_int
from rtrlib.store import Store, config_key, run_resumable
from rtrlib.theory.utility import optimal_task_loss
from rtrlib.toy.config import ToyExperiment, ToyRunConfig
from rtrlib.toy.engine import OptimConfig, Trainer
from rtrlib.toy.loop import run_loop
from rtrlib.toy.mixture import MixtureConfig, TaskMixture

__all__ = ["SweepConfig", "SweepResult", "run_sweep", "run_sweep_full", "log_steps",
           "sweep_key", "SGD_COSINE"]

SGD_COSINE = OptimConfig(optimizer="sgd", lr=0.5, lr_schedule="cosine")
"""The sweep's default optimizer: SGD with a cosine decay to zero."""


@dataclass(frozen=True)
class SweepConfig(ToyExperiment):
    """A width x seed sweep on the i.i.d. stream of a :class:`MixtureConfig`, and what to log:
    ``n_logs`` measurement steps (``log_spacing`` log or linear), per-feature presence when
    ``record_presence``."""

    mixture: MixtureConfig = MixtureConfig()
    optim: OptimConfig = SGD_COSINE
    run: ToyRunConfig = ToyRunConfig(steps=2000, batch_size=512, checkpoint_every=500)
    n_logs: int = 20
    log_spacing: str = field(default="log", metadata={"choices": ("log", "linear")})
    record_presence: bool = True

    def __post_init__(self) -> None:
        require_int("n_logs", self.n_logs, 1)
        require_choice("log_spacing", self.log_spacing, ("log", "linear"))

    def mixture_config(self) -> MixtureConfig:
        return self.mixture


@storable
@dataclass
class SweepResult:
    """``tasks``: one row per (step, seed, width, task); ``features``: per feature (or None).

    ``features`` has the feature's ``presence`` (fraction decodable from h, scale-free) and its
    exact population ``feature_loss`` with the model's actual readout (``lam`` when nothing is
    learned, 0 when learned perfectly).
    """

    tasks: pd.DataFrame
    features: pd.DataFrame | None
    seconds: float


def log_steps(steps: int, n_logs: int, spacing: str = "log") -> np.ndarray:
    """The steps at which a sweep measures: always 0 and ``steps``."""
    pts = np.geomspace(1, steps, n_logs) if spacing == "log" else np.linspace(0, steps, n_logs + 1)
    return np.unique(np.concatenate([[0], np.round(pts).astype(int), [steps]]))


def sweep_key(config: SweepConfig) -> str:
    return config_key("toy-sweep", config.keyed())


def _measure(trainer: Trainer, config: SweepConfig, mixture: TaskMixture,
             optimal: np.ndarray) -> tuple[dict, dict | None]:
    """Exact per-task losses (and presences) of every model at the current step, as columns."""
    losses = trainer.task_losses().double().cpu().numpy()          # (S, W, K)
    S, W, K = losses.shape
    seeds = np.array(config.run.seeds)[:, None, None]
    widths = np.array(config.models.widths)[None, :, None]
    tasks = np.arange(K)[None, None, :]
    shape = (S, W, K)
    rows = {
        "step": np.full(S * W * K, trainer.step),
        "seed": np.broadcast_to(seeds, shape).ravel(),
        "width": np.broadcast_to(widths, shape).ravel(),
        "task": np.broadcast_to(tasks, shape).ravel(),
        "task_loss": losses.ravel(),
        "optimal_loss": np.broadcast_to(optimal[None], shape).ravel(),
    }
    feats = None
    if config.record_presence:
        pres = trainer.feature_presence().cpu().numpy()              # (S, W, F)
        with torch.no_grad():
            floss = trainer.models.feature_losses(trainer.tensors,
                                                  mixture.background_variance)
        floss = floss.double().cpu().numpy()
        F = pres.shape[-1]
        fshape = (S, W, F)
        feats = {
            "step": np.full(S * W * F, trainer.step),
            "seed": np.broadcast_to(seeds, fshape).ravel(),
            "width": np.broadcast_to(widths, fshape).ravel(),
            "feature": np.broadcast_to(np.arange(F)[None, None], fshape).ravel(),
            "presence": pres.ravel(),
            "feature_loss": floss.ravel(),
        }
    return rows, feats


def _frames(config: SweepConfig, mixture: TaskMixture, chunks: list[dict],
            fchunks: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    tasks = pd.DataFrame({k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]})
    tasks["pi"] = mixture.pi[tasks["task"].to_numpy()]
    var = mixture.task_variance()
    tasks["variance"] = var[tasks["task"].to_numpy()]
    tasks = tasks[["width", "seed", "task", "pi", "step", "task_loss", "optimal_loss",
                   "variance"]]
    feats = None
    if fchunks:
        feats = pd.DataFrame({k: np.concatenate([c[k] for c in fchunks]) for k in fchunks[0]})
        info = mixture.features_frame().set_index("feature")
        f = feats["feature"].to_numpy()
        for col in ("task", "j", "pi", "lam", "utility", "rank"):
            feats[col] = info[col].to_numpy()[f]
        feats = feats[["width", "seed", "feature", "task", "j", "pi", "lam", "utility", "rank",
                       "step", "presence", "feature_loss"]]
    return tasks, feats


def _train(config: SweepConfig, store: Store, key: str, stop_at: int | None = None
           ) -> SweepResult | None:
    """Train (resuming from a checkpoint if one exists); None if stopped at ``stop_at``."""
    mixture = config.mixture.build()
    trainer = config.build(mixture)
    optimal = np.stack([optimal_task_loss(mixture.pi, mixture.spectra, w)
                        for w in config.models.widths])               # (W, K)
    logs = set(log_steps(config.run.steps, config.n_logs, config.log_spacing).tolist())
    state: dict = {"chunks": [], "fchunks": []}

    def observe(step: int) -> None:
        if step in logs:
            rows, feats = _measure(trainer, config, mixture, optimal)
            state["chunks"].append(rows)
            if feats is not None:
                state["fchunks"].append(feats)

    seconds = run_loop(trainer, state, config.run, store=store, key=key, observe=observe,
                       stop_at=stop_at, desc="toy sweep")
    if seconds is None:
        return None
    tasks, feats = _frames(config, mixture, state["chunks"], state["fchunks"])
    result = SweepResult(tasks=tasks, features=feats, seconds=seconds)
    return result


def run_sweep_full(config: SweepConfig, *, store: Store | None = None,
                   refresh: bool = False, _stop_at: int | None = None) -> SweepResult:
    """Run (or load) a sweep: per-task losses and per-feature presence over training."""
    if not isinstance(config, SweepConfig):
        raise TypeError("run_sweep expects a SweepConfig")
    return run_resumable(sweep_key(config),
                         lambda st, key: _train(config, st, key, stop_at=_stop_at),
                         store=store, refresh=refresh)  # None only when a test simulates a kill


def run_sweep(config: SweepConfig, *, store: Store | None = None,
              refresh: bool = False) -> pd.DataFrame:
    """Tidy per-task table: width, seed, task, pi, step, task_loss, optimal_loss, variance."""
    return run_sweep_full(config, store=store, refresh=refresh).tasks
