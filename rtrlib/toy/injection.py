"""Matched-frequency injection of a rare task (retention): the toy twin of the paper's OLMo runs.

The rare task (the last task of :func:`rtrlib.toy.interference.rare_mixture`) is withheld from the
i.i.d. stream and injected in bursts: with gap ``G`` (in steps) and ``n`` rare samples per batch
on average, a burst of ``G * n`` rare samples fills the first rows of every ``G``-th batch. Its
global frequency over the injection window is therefore exactly ``n / batch_size`` for every gap:
only the spacing changes. All gaps and seeds run as one tensor program (one stream per
(gap, seed), every width in each stream; a seed shares its initial weights across gaps).

``run_injection(config)`` returns one row per (width, seed, gap, step): the rare task's signal in
the representation (mean presence of its features), its loss, and at measured steps the cosine
between the batch gradient of the encoder and the rare task's reference gradient ``G_r``, split
into the rare samples (``g_t``) and the others (``g_nt``). Cached through :mod:`rtrlib.store`,
checkpointed, resumable; command line ``python -m rtrlib.toy.injection --help``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from rtrlib.cli import parse_config_command
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
from rtrlib.toy.engine import OPTIMIZERS, OptimConfig, Trainer
from rtrlib.toy.interference import RareTaskMixture, gradient_split, presence
from rtrlib.toy.loop import run_loop
from rtrlib.toy.mixture import MixtureConfig, TaskMixture
from rtrlib.toy.models import ModelBatch
from rtrlib.toy.schedules import draw_tasks

__all__ = ["InjectionConfig", "MatchedFrequencySchedule", "run_injection", "retention_summary",
           "injection_key", "main"]



@dataclass(frozen=True)
class MatchedFrequencySchedule:
    """Rare task ``task`` withheld, then ``gap * per_batch`` samples every ``gap`` steps.

    ``gaps[s]`` is the gap of stream ``s``. Before ``warmup`` the rare task is withheld; bursts
    fall on steps ``warmup, warmup + gap, ...`` and occupy the first rows of the batch. Other rows
    are i.i.d. from ``pi`` without the rare task.
    """

    pi: tuple[float, ...]
    task: int
    gaps: tuple[int, ...]
    per_batch: int
    warmup: int = 0

    def burst_size(self, step: int, stream: int) -> int:
        g = self.gaps[stream]
        if step < self.warmup or (step - self.warmup) % g:
            return 0
        return g * self.per_batch

    def tasks(self, step, batch_size, generators, device):
        p = np.asarray(self.pi, dtype=np.float64).copy()
        p[self.task] = 0.0
        p /= p.sum()
        rows = []
        for s, g in enumerate(generators):
            n = self.burst_size(step, s)
            if n > batch_size:
                raise ParameterError("gaps", self.gaps, f"gap x per_batch <= batch {batch_size}")
            head = torch.full((n,), self.task, dtype=torch.long, device=device)
            rows.append(torch.cat([head, draw_tasks(p, batch_size - n, g, device)]))
        return torch.stack(rows)


@dataclass(frozen=True)
class InjectionConfig(RareTaskMixture, KeyedConfig):
    """A matched-frequency injection experiment (widths x seeds x gaps) on a
    :class:`~rtrlib.toy.interference.RareTaskMixture`."""

    # the schedule: global rare frequency per_batch / batch_size, whatever the gap
    batch_size: int = 256
    per_batch: int = 1
    gaps: tuple[int, ...] = (1, 8, 32, 128)
    warmup: int = 0
    steps: int = 2048
    # the models and optimizer
    widths: tuple[int, ...] = (8, 16, 24, 28, 32, 40)
    seeds: tuple[int, ...] = (0,)
    init_scale: float = 0.1
    optimizer: str = "adam"
    lr: float = 0.01
    device: str = "cpu"
    # measurement
    log_every: int = 4
    grad_every: int = 16
    checkpoint_every: int = 512
    progress: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("widths", "seeds", "gaps"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate_mixture()
        require_int("batch_size", self.batch_size, 1)
        require_int("per_batch", self.per_batch, 1, self.batch_size)
        require_ints("gaps", self.gaps, 1, self.batch_size // self.per_batch)
        if len(set(self.gaps)) != len(self.gaps):
            raise ParameterError("gaps", self.gaps, "distinct gaps")
        require_int("steps", self.steps, 1)
        require_int("warmup", self.warmup, 0, self.steps - 1)
        for g in self.gaps:
            if (self.steps - self.warmup) % g:
                raise ParameterError("steps", self.steps,
                                     f"warmup + a multiple of every gap (gap {g} does not "
                                     f"divide {self.steps - self.warmup})")
        self.mixture_config()
        require_ints("widths", self.widths, 1)
        require_ints("seeds", self.seeds, 0, 2**31 - 1)
        if len(set(self.seeds)) != len(self.seeds):
            raise ParameterError("seeds", self.seeds, "distinct seeds")
        require_float("init_scale", self.init_scale, 0.0, lo_open=True)
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_float("lr", self.lr, 0.0, lo_open=True)
        require_device("device", self.device)
        require_int("log_every", self.log_every, 1)
        require_int("grad_every", self.grad_every, 1)
        require_int("checkpoint_every", self.checkpoint_every, 1)

    # ---- derived --------------------------------------------------------------------------
    @property
    def rare_frequency(self) -> float:
        """The rare task's global frequency over the injection window: ``n / B``."""
        return self.per_batch / self.batch_size

    @property
    def streams(self) -> tuple[tuple[int, int], ...]:
        """(gap, seed) of every stream, gap-major."""
        return tuple((g, s) for g in self.gaps for s in self.seeds)

    def mixture_config(self) -> MixtureConfig:
        return self.rare_mixture_at(self.rare_frequency)

    def schedule(self, mixture: TaskMixture) -> MatchedFrequencySchedule:
        return MatchedFrequencySchedule(pi=tuple(float(p) for p in mixture.pi), task=self.rare,
                                        gaps=tuple(g for g, _ in self.streams),
                                        per_batch=self.per_batch, warmup=self.warmup)

    def build(self, mixture: TaskMixture | None = None) -> Trainer:
        """The trainer: one stream per (gap, seed); a seed's streams share initial weights."""
        mixture = mixture or self.mixture_config().build()
        models = ModelBatch.init(mixture, self.widths, [s for _, s in self.streams],
                                 init_scale=self.init_scale, device=self.device)
        optim = OptimConfig(optimizer=self.optimizer, lr=self.lr, steps=self.steps)
        return Trainer(mixture, models, optim, batch_size=self.batch_size,
                       schedule=self.schedule(mixture), device=self.device)


def injection_key(config: InjectionConfig) -> str:
    return config_key("toy-injection", config.keyed())


def _log_steps(config: InjectionConfig) -> set[int]:
    """Steps whose state is logged: every ``log_every``-th step, and for every stream with a gap
    above 1 each burst step and the step before each burst (the end of a cycle)."""
    out = set(range(0, config.steps, config.log_every)) | {config.steps - 1}
    for g in config.gaps:
        if g > 1:
            out |= set(range(config.warmup, config.steps, g))
            out |= set(range(config.warmup + g - 1, config.steps, g))
    return out


def _grad_steps(config: InjectionConfig) -> set[int]:
    """Steps whose batch is decomposed: every ``grad_every``-th step, every burst step of a
    stream with gap > 1, and the step halfway between its bursts."""
    out = set(range(0, config.steps, config.grad_every))
    for g in config.gaps:
        if g > 1:
            out |= set(range(config.warmup, config.steps, g))
            out |= set(range(config.warmup + g // 2, config.steps, g))
    return out


def _train(config: InjectionConfig, store: Store, key: str,
           stop_at: int | None = None) -> pd.DataFrame | None:
    mixture = config.mixture_config().build()
    trainer = config.build(mixture)
    t = trainer.tensors
    rare = config.rare
    feats = torch.as_tensor(np.where(mixture.feature_task == rare)[0])
    var = mixture.task_variance()
    common = np.arange(mixture.n_tasks) != rare
    w_common = torch.as_tensor(mixture.pi[common] / mixture.pi[common].sum())
    grads_at = _grad_steps(config)
    log_at = _log_steps(config)
    S, W = len(config.streams), len(config.widths)
    gaps = np.repeat([g for g, _ in config.streams], W)
    seeds = np.repeat([s for _, s in config.streams], W)
    widths = np.tile(config.widths, S)
    # rare samples seen so far, per stream
    state: dict = {"chunks": [], "seen": np.zeros(S, dtype=np.int64)}

    def advance() -> None:
        step = trainer.step
        batch = trainer.next_batch()
        n_rare = (batch.task == rare).sum(1).cpu().numpy()               # (S,)
        state["seen"] = state["seen"] + n_rare
        split = gradient_split(trainer, batch, rare) if step in grads_at else None
        trainer.update(batch)
        if step in log_at or split is not None:
            with torch.no_grad():
                losses = trainer.task_losses().double().cpu()            # (S, W, K)
            sig = presence(trainer.models, t, feats).mean(-1).cpu()      # (S, W)
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

    seconds = run_loop(trainer, state, config, store=store, key=key, advance=advance,
                       stop_at=stop_at, desc="injection")
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


def run_injection(config: InjectionConfig, *, store: Store | None = None,
                  refresh: bool = False, _stop_at: int | None = None) -> pd.DataFrame:
    """Run (or load) a matched-frequency injection experiment; one row per (width, seed, gap,
    logged step). Rows describe the model after that step's update; the gradient columns are
    measured on that step's batch before the update (NaN where not measured)."""
    if not isinstance(config, InjectionConfig):
        raise TypeError("run_injection expects an InjectionConfig")
    return run_resumable(injection_key(config),
                         lambda st, key: _train(config, st, key, stop_at=_stop_at),
                         store=store, refresh=refresh)  # None only when a test simulates a kill


def retention_summary(df: pd.DataFrame, tail: float = 0.5, min_peak: float = 0.05
                      ) -> pd.DataFrame:
    """Per (width, gap, seed), over the last ``tail`` of training:

    ``retained`` the mean over burst cycles of (signal just before the next burst) / (peak
    signal in the cycle), NaN where the peak stays below ``min_peak`` (nothing was encoded);
    ``mean_signal`` and ``mean_rare_loss`` the time averages; ``peak`` the mean cycle peak.
    """
    start = df["step"].max() * (1 - tail)
    d = df[(df["step"] >= start) & (df["cycle"] >= 0)]
    cyc = d.sort_values("step").groupby(["width", "gap", "seed", "cycle"]).agg(
        peak=("rare_signal", "max"), end=("rare_signal", "last"),
        last=("since_burst", "max"))
    # only complete cycles: logged up to the step before the next burst
    cyc = cyc[cyc["last"] == cyc.index.get_level_values("gap") - 1]
    cyc["retained"] = np.where(cyc["peak"] >= min_peak, cyc["end"] / cyc["peak"].clip(1e-12),
                               np.nan)
    per = cyc.groupby(["width", "gap", "seed"]).agg(retained=("retained", "mean"),
                                                    peak=("peak", "mean"))
    avg = d.groupby(["width", "gap", "seed"]).agg(mean_signal=("rare_signal", "mean"),
                                                  mean_rare_loss=("rare_loss", "mean"),
                                                  mean_common_loss=("common_loss", "mean"))
    return per.join(avg, how="outer").reset_index()


# ---- command line ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``python -m rtrlib.toy.injection [--widths ...] [--gaps ...] --out FILE.csv``."""
    parsed = parse_config_command(argv, InjectionConfig, prog="python -m rtrlib.toy.injection",
                                  description="Matched-frequency injection of a rare task.",
                                  out="injection.csv")
    if parsed is None:
        return 2
    cfg, a = parsed
    df = run_injection(cfg, refresh=a.refresh)
    df.to_csv(a.out, index=False)
    print(retention_summary(df).groupby(["width", "gap"])[["retained", "mean_signal",
                                                           "mean_rare_loss"]].mean().round(3))
    print(f"wrote {len(df)} rows to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
