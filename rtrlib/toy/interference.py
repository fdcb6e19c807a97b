"""Chapter 4's experiment: Theorem 4 and the critical width, measured in training runs.

``run_interference(config)`` trains a width x seed batch on the i.i.d. stream of a
:class:`~rtrlib.toy.config.RareMixtureConfig` (the rare task at ``rare_frequency``) and logs, at
log-spaced steps and per task, the loss with the current readouts, the residual with the best
readouts, and the norm of the task's exact population gradient on the encoder; for the rare task
also the split of that step's batch gradient into the rare samples' part and everyone else's
(:func:`~rtrlib.toy.gradients.encoder_gradient_split`). Cached through :mod:`rtrlib.store`,
checkpointed and resumable; command line ``python -m rtrlib.toy interference --help``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from rtrlib.params import require_float, require_int
from rtrlib.store import Store, config_key, run_resumable
from rtrlib.toy.config import ModelBatchConfig, RareTaskExperiment, ToyRunConfig
from rtrlib.toy.engine import OptimConfig
from rtrlib.toy.gradients import encoder_gradient_split, task_gradient_norms
from rtrlib.toy.loop import run_loop
from rtrlib.toy.mixture import MixtureBatch

__all__ = ["InterferenceConfig", "run_interference", "interference_key", "interference_steps"]


@dataclass(frozen=True)
class InterferenceConfig(RareTaskExperiment):
    """Widths x seeds trained with SGD on the i.i.d. stream, the rare task at
    ``rare_frequency``, measured at ``n_logs`` log-spaced steps."""

    rare_frequency: float = 1 / 256
    models: ModelBatchConfig = ModelBatchConfig(widths=(8, 16, 24, 26, 28, 30, 32, 40))
    optim: OptimConfig = OptimConfig(optimizer="sgd", lr=0.4)
    run: ToyRunConfig = ToyRunConfig(steps=3072, batch_size=256)
    n_logs: int = 24

    def __post_init__(self) -> None:
        require_float("rare_frequency", self.rare_frequency, 0.0, 1.0, lo_open=True,
                      hi_open=True)
        require_int("n_logs", self.n_logs, 1)


def interference_key(config: InterferenceConfig) -> str:
    return config_key("toy-interference", config.keyed())


def interference_steps(steps: int, n_logs: int) -> set[int]:
    """The measured steps: ``n_logs`` log-spaced steps, and always 0 and ``steps``."""
    pts = np.unique(np.round(np.geomspace(1, steps, n_logs)).astype(int))
    return set(pts.tolist()) | {0, steps}


def _train(config: InterferenceConfig, store: Store, key: str,
           stop_at: int | None = None) -> pd.DataFrame | None:
    mixture = config.mixture_config().build()
    trainer = config.build(mixture)
    K, rare = mixture.n_tasks, config.rare
    ftask = torch.as_tensor(mixture.feature_task)
    lam = trainer.tensors["lam"].double().cpu()
    logs = interference_steps(config.run.steps, config.n_logs)
    seeds, widths = config.run.seeds, config.models.widths
    S, W = len(seeds), len(widths)
    state: dict = {"chunks": []}

    def record(step: int, batch: MixtureBatch | None) -> None:
        """Measure every model before update ``step`` (the split on that step's batch)."""
        with torch.no_grad():
            losses = trainer.task_losses().double().cpu()                   # (S, W, K)
        pres = trainer.feature_presence().cpu()                             # (S, W, F)
        resid = torch.zeros(S, W, K, dtype=torch.float64).index_add(2, ftask, lam * (1 - pres))
        gnorm = task_gradient_norms(trainer).cpu()
        split = encoder_gradient_split(trainer, batch, rare) if batch is not None else None
        for k in range(K):
            row = {
                "step": np.full(S * W, step),
                "seed": np.repeat(seeds, W),
                "width": np.tile(widths, S),
                "task": np.full(S * W, k),
                "task_loss": losses[..., k].numpy().ravel(),
                "residual": resid[..., k].numpy().ravel(),
                "grad_norm": gnorm[..., k].numpy().ravel(),
            }
            for name in ("cos", "cos_task", "cos_other"):
                row[name] = split[name].cpu().numpy().ravel() if (split is not None and
                                                                    k == rare) \
                    else np.full(S * W, np.nan)
            state["chunks"].append(row)

    def advance() -> None:
        step, batch = trainer.step, trainer.next_batch()
        if step in logs:
            record(step, batch)
        trainer.update(batch)

    def observe(step: int) -> None:
        if step == config.run.steps:
            record(step, None)

    seconds = run_loop(trainer, state, config.run, store=store, key=key, observe=observe,
                       advance=advance, stop_at=stop_at, desc="interference")
    if seconds is None:
        return None
    chunks = state["chunks"]
    df = pd.DataFrame({c: np.concatenate([ch[c] for ch in chunks]) for c in chunks[0]})
    df["pi"] = mixture.pi[df["task"].to_numpy()]
    df["variance"] = mixture.task_variance()[df["task"].to_numpy()]
    df["rare"] = df["task"] == rare
    df.attrs["seconds"] = seconds
    return df[["width", "seed", "task", "pi", "rare", "step", "task_loss", "residual",
               "grad_norm", "variance", "cos", "cos_task", "cos_other"]]


def run_interference(config: InterferenceConfig, *, store: Store | None = None,
                     refresh: bool = False, _stop_at: int | None = None) -> pd.DataFrame:
    """Run (or load) the experiment: one row per (logged step, seed, width, task) with
    ``task_loss`` (current readouts), ``residual`` (best readouts,
    ``sum_j lambda_j (1 - presence_j)``), ``grad_norm`` (exact population gradient of ``l_k``
    on the encoder), ``variance``; for the rare task's rows also the gradient split of the
    step's batch (``cos``, ``cos_task``, ``cos_other``; NaN at the last step, which has no
    batch)."""
    if not isinstance(config, InterferenceConfig):
        raise TypeError("run_interference expects an InterferenceConfig")
    return run_resumable(interference_key(config),
                         lambda st, key: _train(config, st, key, stop_at=_stop_at),
                         store=store, refresh=refresh)  # None only when a test simulates a kill
