"""Chapter 5's experiment: matched-frequency injection of a rare task (retention).

The toy twin of the paper's OLMo runs. The rare task of a
:class:`~rtrlib.toy.config.RareMixtureConfig` is withheld from the i.i.d. stream and injected in
bursts (:meth:`~rtrlib.toy.schedules.BurstSchedule.matched`): with gap ``G`` (in steps) and
``n = per_batch`` rare samples per batch on average, a burst of ``G * n`` rare samples fills the
first rows of every ``G``-th batch. Its global frequency over the injection window is therefore
exactly ``n / batch_size`` for every gap: only the spacing changes. All gaps and seeds run as one
tensor program (one stream per (gap, seed), every width in each stream; a seed shares its
initial weights across gaps).

``run_retention(config)`` returns one row per (width, seed, gap, logged step): the rare task's
signal in the representation (mean presence of its features), its loss, and at measured steps the
cosine between the batch gradient of the encoder and the rare task's reference gradient ``G_r``,
split into the rare samples (``g_t``) and the others (``g_nt``). Cached through
:mod:`rtrlib.store`, checkpointed, resumable; command line
``python -m rtrlib.toy retention --help``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from rtrlib.params import ParameterError, require_int, require_ints
from rtrlib.store import Store, config_key, run_resumable
from rtrlib.toy.config import ADAM, ModelBatchConfig, RareTaskExperiment, ToyRunConfig
from rtrlib.toy.engine import OptimConfig
from rtrlib.toy.gradients import encoder_gradient_split
from rtrlib.toy.loop import run_loop
from rtrlib.toy.mixture import TaskMixture
from rtrlib.toy.schedules import BurstSchedule

__all__ = ["RetentionConfig", "run_retention", "retention_key"]


@dataclass(frozen=True)
class RetentionConfig(RareTaskExperiment):
    """A matched-frequency injection experiment (widths x seeds x gaps): ``per_batch`` rare
    samples per batch on average (global frequency ``per_batch / batch_size``), injected every
    ``gap`` steps from step ``warmup`` on. Rows are logged every ``log_every`` steps (and around
    every burst), the gradient split every ``grad_every`` steps (and at every burst)."""

    per_batch: int = 1
    gaps: tuple[int, ...] = (1, 8, 32, 128)
    warmup: int = 0
    models: ModelBatchConfig = ModelBatchConfig(widths=(8, 16, 24, 28, 32, 40))
    optim: OptimConfig = ADAM
    run: ToyRunConfig = ToyRunConfig(steps=2048, batch_size=256)
    log_every: int = 4
    grad_every: int = 16

    def __post_init__(self) -> None:
        if isinstance(self.gaps, list):
            object.__setattr__(self, "gaps", tuple(self.gaps))
        batch, steps = self.run.batch_size, self.run.steps
        require_int("per_batch", self.per_batch, 1, batch)
        require_ints("gaps", self.gaps, 1, batch // self.per_batch)
        if len(set(self.gaps)) != len(self.gaps):
            raise ParameterError("gaps", self.gaps, "distinct gaps")
        require_int("warmup", self.warmup, 0, steps - 1)
        for g in self.gaps:
            if (steps - self.warmup) % g:
                raise ParameterError("steps", steps,
                                     f"warmup + a multiple of every gap (gap {g} does not "
                                     f"divide {steps - self.warmup})")
        require_int("log_every", self.log_every, 1)
        require_int("grad_every", self.grad_every, 1)

    @property
    def rare_frequency(self) -> float:
        """The rare task's global frequency over the injection window: ``n / B``."""
        return self.per_batch / self.run.batch_size

    @property
    def streams(self) -> tuple[tuple[int, int], ...]:
        """(gap, seed) of every stream, gap-major."""
        return tuple((g, s) for g in self.gaps for s in self.run.seeds)

    def stream_seeds(self) -> tuple[int, ...]:
        return tuple(s for _, s in self.streams)

    def schedule(self, mixture: TaskMixture) -> BurstSchedule:
        return BurstSchedule.matched(tuple(float(p) for p in mixture.pi), self.rare,
                                     gaps=tuple(g for g, _ in self.streams),
                                     rates=(self.per_batch,), warmup=self.warmup)


def retention_key(config: RetentionConfig) -> str:
    return config_key("toy-retention", config.keyed())


def _log_steps(config: RetentionConfig) -> set[int]:
    """Steps whose state is logged: every ``log_every``-th step, and for every stream with a gap
    above 1 each burst step and the step before each burst (the end of a cycle)."""
    steps = config.run.steps
    out = set(range(0, steps, config.log_every)) | {steps - 1}
    for g in config.gaps:
        if g > 1:
            out |= set(range(config.warmup, steps, g))
            out |= set(range(config.warmup + g - 1, steps, g))
    return out


def _grad_steps(config: RetentionConfig) -> set[int]:
    """Steps whose batch is decomposed: every ``grad_every``-th step, every burst step of a
    stream with gap > 1, and the step halfway between its bursts."""
    steps = config.run.steps
    out = set(range(0, steps, config.grad_every))
    for g in config.gaps:
        if g > 1:
            out |= set(range(config.warmup, steps, g))
            out |= set(range(config.warmup + g // 2, steps, g))
    return out


def _train(config: RetentionConfig, store: Store, key: str,
           stop_at: int | None = None) -> pd.DataFrame | None:
    mixture = config.mixture_config().build()
    trainer = config.build(mixture)
    rare = config.rare
    feats = torch.as_tensor(np.where(mixture.feature_task == rare)[0])
    var = mixture.task_variance()
    common = np.arange(mixture.n_tasks) != rare
    w_common = torch.as_tensor(mixture.pi[common] / mixture.pi[common].sum())
    grads_at, log_at = _grad_steps(config), _log_steps(config)
    S, W = len(config.streams), len(config.models.widths)
    gaps = np.repeat([g for g, _ in config.streams], W)
    seeds = np.repeat([s for _, s in config.streams], W)
    widths = np.tile(config.models.widths, S)
    # rare samples seen so far, per stream
    state: dict = {"chunks": [], "seen": np.zeros(S, dtype=np.int64)}

    def advance() -> None:
        step = trainer.step
        batch = trainer.next_batch()
        n_rare = (batch.task == rare).sum(1).cpu().numpy()               # (S,)
        state["seen"] = state["seen"] + n_rare
        split = encoder_gradient_split(trainer, batch, rare) if step in grads_at else None
        trainer.update(batch)
        if step in log_at or split is not None:
            with torch.no_grad():
                losses = trainer.task_losses().double().cpu()            # (S, W, K)
            sig = trainer.feature_presence(feats).mean(-1).cpu()         # (S, W)
            row = {
                "step": np.full(S * W, step),
                "gap": gaps, "seed": seeds, "width": widths,
                "n_rare": np.repeat(n_rare, W),
                "rare_seen": np.repeat(state["seen"], W),
                "rare_signal": sig.numpy().ravel(),
                "rare_loss": (losses[..., rare] / var[rare]).numpy().ravel(),
                "common_loss": ((losses[..., common] / torch.as_tensor(var[common]))
                                @ w_common).numpy().ravel(),
            }
            for name, col in (("cos", "grad_cos"), ("cos_task", "grad_cos_rare"),
                              ("cos_other", "grad_cos_other"),
                              ("norm_other", "grad_norm_other")):
                row[col] = split[name].cpu().numpy().ravel() if split is not None \
                    else np.full(S * W, np.nan)
            state["chunks"].append(row)

    seconds = run_loop(trainer, state, config.run, store=store, key=key, advance=advance,
                       stop_at=stop_at, desc="retention")
    if seconds is None:
        return None
    chunks = state["chunks"]
    df = pd.DataFrame({c: np.concatenate([ch[c] for ch in chunks]) for c in chunks[0]})
    df["burst"] = df["n_rare"] > 0
    # steps since the last burst start of the row's stream (-1 before the first burst)
    rel = df["step"].to_numpy() - config.warmup
    g = df["gap"].to_numpy()
    df["since_burst"] = np.where(rel >= 0, rel % g, -1)
    df["cycle"] = np.where(rel >= 0, rel // g, -1)
    df.attrs["seconds"] = seconds
    return df[["width", "seed", "gap", "step", "cycle", "since_burst", "burst", "n_rare",
               "rare_seen", "rare_loss", "rare_signal", "common_loss", "grad_cos", "grad_cos_rare",
               "grad_cos_other", "grad_norm_other"]]


def run_retention(config: RetentionConfig, *, store: Store | None = None,
                  refresh: bool = False, _stop_at: int | None = None) -> pd.DataFrame:
    """Run (or load) a matched-frequency injection experiment; one row per (width, seed, gap,
    logged step). Rows describe the model after that step's update; the gradient columns are
    measured on that step's batch before the update (NaN where not measured)."""
    if not isinstance(config, RetentionConfig):
        raise TypeError("run_retention expects a RetentionConfig")
    return run_resumable(retention_key(config),
                         lambda st, key: _train(config, st, key, stop_at=_stop_at),
                         store=store, refresh=refresh)  # None only when a test simulates a kill
