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
from rtrlib.params import (
    ParameterError,
    require_choice,
    require_device,
    require_float,
    require_int,
    require_ints,
)
from rtrlib.store import (
    KeyedConfig,
    Store,
    config_key,
    run_resumable,
)
from rtrlib.theory.utility import optimal_task_loss
from rtrlib.toy.engine import LR_SCHEDULES, OPTIMIZERS, OptimConfig, Trainer
from rtrlib.toy.loop import run_loop
from rtrlib.toy.mixture import MixtureConfig, TaskMixture
from rtrlib.toy.models import ACTIVATIONS, ModelBatch

__all__ = ["SweepConfig", "SweepResult", "run_sweep", "run_sweep_full", "log_steps",
           "sweep_key"]

# fields that change how a sweep is run but not its numbers (left out of the cache key)


@dataclass(frozen=True)
class SweepConfig(KeyedConfig):
    """A width x seed sweep: the mixture, the models, the optimizer, and what to log."""

    # the task mixture
    n_tasks: int = 32
    zipf_exponent: float = 1.0
    n_features: int | tuple[int, ...] = 8
    spectrum_decay: float | tuple[float, ...] = 1.0
    input_dim: int | None = None
    pi: tuple[float, ...] | None = None
    spectra: tuple[tuple[float, ...], ...] | None = None
    label_noise: float = 0.0
    background_variance: float = 0.0
    mixture_seed: int = 0
    # the models
    widths: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256)
    seeds: tuple[int, ...] = (0,)
    activation: str = "linear"
    init_scale: float = 0.1
    # training
    steps: int = 2000
    batch_size: int = 512
    lr: float = 0.5
    optimizer: str = "sgd"
    momentum: float = 0.0
    lr_schedule: str = "cosine"
    final_lr_fraction: float = 0.0
    device: str = "cpu"
    # logging
    n_logs: int = 20
    log_spacing: str = "log"
    record_presence: bool = True
    checkpoint_every: int = 500
    progress: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("widths", "seeds", "n_features", "spectrum_decay", "pi"):
            v = getattr(self, name)
            if isinstance(v, list):
                object.__setattr__(self, name, tuple(v))
        self.mixture_config()  # validates the mixture fields
        require_ints("widths", self.widths, 1)
        require_ints("seeds", self.seeds, 0, 2**31 - 1)
        if len(set(self.seeds)) != len(self.seeds):
            raise ParameterError("seeds", self.seeds, "distinct seeds")
        require_choice("activation", self.activation, ACTIVATIONS)
        require_float("init_scale", self.init_scale, 0.0, lo_open=True)
        require_int("steps", self.steps, 1)
        require_int("batch_size", self.batch_size, 1)
        require_float("lr", self.lr, 0.0, lo_open=True)
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        require_device("device", self.device)
        require_int("n_logs", self.n_logs, 1)
        require_choice("log_spacing", self.log_spacing, ("log", "linear"))
        require_int("checkpoint_every", self.checkpoint_every, 1)
        self.optim_config()

    # ---- builders ---------------------------------------------------------------------------
    def mixture_config(self) -> MixtureConfig:
        return MixtureConfig(
            n_tasks=self.n_tasks, zipf_exponent=self.zipf_exponent, n_features=self.n_features,
            spectrum_decay=self.spectrum_decay, input_dim=self.input_dim, pi=self.pi,
            spectra=self.spectra, label_noise=self.label_noise,
            background_variance=self.background_variance, mixture_seed=self.mixture_seed)

    def optim_config(self) -> OptimConfig:
        return OptimConfig(optimizer=self.optimizer, lr=self.lr, momentum=self.momentum,
                           lr_schedule=self.lr_schedule,
                           final_lr_fraction=self.final_lr_fraction, steps=self.steps)

    def build(self, mixture: TaskMixture | None = None) -> Trainer:
        """The :class:`Trainer` for this sweep (models freshly initialised)."""
        mixture = mixture or self.mixture_config().build()
        models = ModelBatch.init(mixture, self.widths, self.seeds, activation=self.activation,
                                 init_scale=self.init_scale, device=self.device)
        return Trainer(mixture, models, self.optim_config(), batch_size=self.batch_size,
                       device=self.device)


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
    seeds = np.array(config.seeds)[:, None, None]
    widths = np.array(config.widths)[None, :, None]
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
        pres = trainer.feature_presence().double().cpu().numpy()    # (S, W, F)
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
    mixture = config.mixture_config().build()
    trainer = config.build(mixture)
    optimal = np.stack([optimal_task_loss(mixture.pi, mixture.spectra, w)
                        for w in config.widths])                      # (W, K)
    logs = set(log_steps(config.steps, config.n_logs, config.log_spacing).tolist())
    state: dict = {"chunks": [], "fchunks": []}

    def observe(step: int) -> None:
        if step in logs:
            rows, feats = _measure(trainer, config, mixture, optimal)
            state["chunks"].append(rows)
            if feats is not None:
                state["fchunks"].append(feats)

    seconds = run_loop(trainer, state, config, store=store, key=key, observe=observe,
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
