"""Three levers for getting a rare task learned, compared at equal training compute.

The mixture is :func:`rtrlib.toy.interference.rare_mixture`: ``n_common`` Zipf tasks and one rare
task (the last) with a single strong feature. A *setting* is a triple (width ``N``, rare rate
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
FLOPs to learn; ``lever_table(grid, config, base_width)`` turns it into one row per (lever,
setting) relative to a baseline; ``run_levers(config)`` does both for every baseline width in
``config.base_widths``. Results are cached through :mod:`rtrlib.store` and checkpointed, so a
killed run resumes. Command line: ``python -m rtrlib.toy.levers --help``.
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
from rtrlib.theory.utility import critical_width
from rtrlib.toy.engine import OPTIMIZERS, OptimConfig, Trainer
from rtrlib.toy.interference import RareTaskMixture
from rtrlib.toy.loop import run_loop
from rtrlib.toy.mixture import MixtureConfig, TaskMixture
from rtrlib.toy.models import ModelBatch
from rtrlib.toy.schedules import draw_tasks

__all__ = ["LEVERS", "LeversConfig", "RateGapSchedule", "flops_per_step", "run_levers_grid",
           "lever_table", "run_levers", "cheapest_levers", "levers_key", "main"]

LEVERS = ("widen", "raise frequency", "replay more often")



@dataclass(frozen=True)
class RateGapSchedule:
    """Per stream ``s``: ``rates[s] * gaps[s]`` rare samples every ``gaps[s]`` steps.

    Bursts fall on steps ``0, G, 2G, ...`` and fill the first rows of the batch; all other rows
    are i.i.d. from ``pi`` with the rare task removed (the common tasks' Zipf law).
    """

    pi: tuple[float, ...]
    task: int
    rates: tuple[int, ...]
    gaps: tuple[int, ...]

    def burst_size(self, step: int, stream: int) -> int:
        g = self.gaps[stream]
        return 0 if step % g else self.rates[stream] * g

    def tasks(self, step, batch_size, generators, device):
        p = np.asarray(self.pi, dtype=np.float64).copy()
        p[self.task] = 0.0
        p /= p.sum()
        rows = []
        for s, gen in enumerate(generators):
            n = self.burst_size(step, s)
            if n > batch_size:
                raise ParameterError("rates", self.rates,
                                     f"rate x gap <= batch size {batch_size}")
            head = torch.full((n,), self.task, dtype=torch.long, device=device)
            rows.append(torch.cat([head, draw_tasks(p, batch_size - n, gen, device)]))
        return torch.stack(rows)


@dataclass(frozen=True)
class LeversConfig(RareTaskMixture, KeyedConfig):
    """The grid of settings and the baseline the levers start from, on a
    :class:`~rtrlib.toy.interference.RareTaskMixture`.

    ``rates`` are rare samples per batch on average (global frequency ``rate / batch_size``);
    ``base_rate``, ``base_gap`` and each of ``base_widths`` must be in their grids.
    """

    NOT_KEYED = ("checkpoint_every", "progress", "base_widths")  # baselines only re-slice the grid

    # the grid
    widths: tuple[int, ...] = (8, 12, 16, 24, 32, 48)
    rates: tuple[int, ...] = (1, 2, 4, 8)
    gaps: tuple[int, ...] = (1, 4, 16)
    seeds: tuple[int, ...] = (0, 1, 2)
    # the baseline
    base_widths: tuple[int, ...] = (8, 16, 24, 32)
    base_rate: int = 1
    base_gap: int = 16
    # training
    batch_size: int = 256
    steps: int = 2048
    optimizer: str = "adam"
    lr: float = 0.01
    init_scale: float = 0.1
    device: str = "cpu"
    # what "learned" means, and how often it is checked
    threshold: float = 0.25
    hold: int = 256
    log_every: int = 1
    trace_every: int = 16
    checkpoint_every: int = 512
    progress: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("widths", "rates", "gaps", "seeds", "base_widths"):
            v = getattr(self, name)
            if isinstance(v, list):
                object.__setattr__(self, name, tuple(v))
        self.validate_mixture()
        require_int("batch_size", self.batch_size, 2, 1 << 20)
        for name in ("widths", "rates", "gaps", "seeds", "base_widths"):
            vals = require_ints(name, getattr(self, name), 0 if name == "seeds" else 1)
            if len(set(vals)) != len(vals):
                raise ParameterError(name, vals, "distinct values")
        if max(self.rates) * max(self.gaps) > self.batch_size // 2:
            raise ParameterError("rates", self.rates,
                                 f"rates with rate x gap <= batch_size / 2 = "
                                 f"{self.batch_size // 2} for every gap {self.gaps}")
        if self.base_rate not in self.rates:
            raise ParameterError("base_rate", self.base_rate, f"one of rates {self.rates}")
        if self.base_gap not in self.gaps:
            raise ParameterError("base_gap", self.base_gap, f"one of gaps {self.gaps}")
        for w in self.base_widths:
            if w not in self.widths:
                raise ParameterError("base_widths", self.base_widths,
                                     f"widths taken from widths {self.widths}")
        require_int("steps", self.steps, 1, 100_000_000)
        for g in self.gaps:
            if self.steps % g:
                raise ParameterError("steps", self.steps, f"a multiple of every gap {self.gaps}")
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_float("lr", self.lr, 0.0, 10.0, lo_open=True)
        require_float("init_scale", self.init_scale, 0.0, 10.0, lo_open=True)
        require_device("device", self.device)
        require_float("threshold", self.threshold, 0.0, 1.0, lo_open=True, hi_open=True)
        require_int("hold", self.hold, 2 * max(self.gaps), self.steps)
        require_int("log_every", self.log_every, 1, self.steps)
        require_int("trace_every", self.trace_every, 1, self.steps)
        require_int("checkpoint_every", self.checkpoint_every, 1)

    # ---- derived --------------------------------------------------------------------------
    @property
    def streams(self) -> tuple[tuple[int, int, int], ...]:
        """(rate, gap, seed) of every stream, rate-major."""
        return tuple((r, g, s) for r in self.rates for g in self.gaps for s in self.seeds)

    def frequency(self, rate: int) -> float:
        return rate / self.batch_size

    def mixture_config(self, rate: int | None = None) -> MixtureConfig:
        """The mixture with the rare task at ``rate`` (default ``base_rate``)."""
        rate = self.base_rate if rate is None else rate
        return self.rare_mixture_at(self.frequency(rate))

    def schedule(self, mixture: TaskMixture) -> RateGapSchedule:
        return RateGapSchedule(pi=tuple(float(p) for p in mixture.pi), task=self.rare,
                               rates=tuple(r for r, _, _ in self.streams),
                               gaps=tuple(g for _, g, _ in self.streams))

    def build(self, mixture: TaskMixture | None = None) -> Trainer:
        mixture = mixture or self.mixture_config().build()
        models = ModelBatch.init(mixture, self.widths, [s for _, _, s in self.streams],
                                 init_scale=self.init_scale, device=self.device)
        optim = OptimConfig(optimizer=self.optimizer, lr=self.lr, steps=self.steps)
        return Trainer(mixture, models, optim, batch_size=self.batch_size,
                       schedule=self.schedule(mixture), device=self.device)

    def predicted_critical_width(self, rate: int | None = None) -> int:
        """Smallest width whose optimum holds the rare feature (utility ranking)."""
        m = self.mixture_config(rate).build()
        return critical_width(m.pi, m.spectra, self.rare)

    def total_flops(self) -> float:
        """Training FLOPs of the whole grid (every stream and width, all steps)."""
        m = self.mixture_config().build()
        per = sum(flops_per_step(w, self.batch_size, m.input_dim, m.n_features)
                  for w in self.widths)
        return float(per * len(self.streams) * self.steps)


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
    S, W = len(config.streams), len(config.widths)
    # start of the current run of measurements below threshold (-1: above now), and the step
    # at which the first run long enough to count (``hold`` steps) began (-1: not yet)
    state: dict = {"run_start": torch.full((S, W), -1, dtype=torch.long),
                   "learned_at": torch.full((S, W), -1, dtype=torch.long), "trace": []}

    def observe(step: int) -> None:  # models have taken `step` updates
        if not (step % config.log_every == 0 or step == config.steps):
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
        if step % config.trace_every == 0 or step == config.steps:
            state["trace"].append({"step": step, "rare_loss": rare_loss.numpy().copy(),
                                   "common_loss": common_loss.numpy().copy()})

    seconds = run_loop(trainer, state, config, store=store, key=key, observe=observe,
                       stop_at=stop_at, desc="levers")
    if seconds is None:
        return None
    return {"learned_at": state["learned_at"].numpy(), "trace": state["trace"],
            "seconds": seconds}


def _grid_frame(config: LeversConfig, raw: dict) -> pd.DataFrame:
    mixture = config.mixture_config().build()
    S, W = len(config.streams), len(config.widths)
    rates = np.repeat([r for r, _, _ in config.streams], W)
    gaps = np.repeat([g for _, g, _ in config.streams], W)
    seeds = np.repeat([s for _, _, s in config.streams], W)
    widths = np.tile(config.widths, S)
    last = raw["trace"][-1]
    final_rare = last["rare_loss"].ravel()
    at = raw["learned_at"].ravel()
    learned = at >= 0
    steps_to_learn = np.where(learned, at, np.nan).astype(float)
    fps = np.array([flops_per_step(int(w), config.batch_size, mixture.input_dim,
                                   mixture.n_features) for w in widths])
    nc = {r: config.predicted_critical_width(r) for r in config.rates}
    df = pd.DataFrame({
        "width": widths, "rate": rates, "frequency": rates / config.batch_size, "gap": gaps,
        "seed": seeds, "learned": learned, "steps_to_learn": steps_to_learn,
        "flops_per_step": fps, "flops_to_learn": steps_to_learn * fps,
        "flops_run": fps * config.steps, "final_rare_loss": final_rare,
        "held_to_end": final_rare < config.threshold,
        "final_common_loss": last["common_loss"].ravel(),
        "critical_width": [nc[r] for r in rates],
    })
    df["predicted_learnable"] = df["width"] >= df["critical_width"]
    df.attrs["seconds"] = raw["seconds"]
    return df


def _trace_frame(config: LeversConfig, raw: dict) -> pd.DataFrame:
    S, W = len(config.streams), len(config.widths)
    cols = {"rate": np.repeat([r for r, _, _ in config.streams], W),
            "gap": np.repeat([g for _, g, _ in config.streams], W),
            "seed": np.repeat([s for _, _, s in config.streams], W),
            "width": np.tile(config.widths, S)}
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


def _seed_mean(grid: pd.DataFrame) -> pd.DataFrame:
    """Per setting over seeds: fraction learned, median steps and FLOPs to learn (a seed that
    did not learn counts as infinite, so the median is finite when most seeds learned), mean
    final losses."""
    def agg(g: pd.DataFrame) -> pd.Series:
        steps = np.where(g["learned"], g["steps_to_learn"], np.inf)
        med = float(np.sort(steps)[len(steps) // 2])      # the (upper) median
        fps = float(g["flops_per_step"].iloc[0])
        return pd.Series({
            "learned_fraction": float(g["learned"].mean()),
            "learned": bool(np.isfinite(med)),
            "steps_to_learn": med,
            "flops_to_learn": med * fps,
            "flops_per_step": fps,
            "flops_run": float(g["flops_run"].iloc[0]),
            "final_rare_loss": float(g["final_rare_loss"].mean()),
            "final_common_loss": float(g["final_common_loss"].mean()),
            "critical_width": int(g["critical_width"].iloc[0]),
            "predicted_learnable": bool(g["predicted_learnable"].iloc[0]),
        })
    return grid.groupby(["width", "rate", "gap"]).apply(agg, include_groups=False).reset_index()


def lever_table(grid: pd.DataFrame, config: LeversConfig, base_width: int) -> pd.DataFrame:
    """One row per (lever, setting) starting from (base_width, base_rate, base_gap).

    ``multiplier`` is the lever's strength relative to the baseline (width ratio, rate ratio,
    or gap shrink factor ``G0 / G``; 1 for the baseline itself, listed under every lever).
    ``flops_to_learn`` is the median over seeds (the upper median for an even count; a seed
    that did not learn counts as ``inf``);
    ``common_penalty`` is the final common loss minus the baseline's.
    """
    if base_width not in config.widths:
        raise ParameterError("base_width", base_width, f"one of widths {config.widths}")
    s = _seed_mean(grid)
    r0, g0 = config.base_rate, config.base_gap
    base = s[(s["width"] == base_width) & (s["rate"] == r0) & (s["gap"] == g0)].iloc[0]
    parts = []
    for lever, sel, mult in (
        ("widen", (s["rate"] == r0) & (s["gap"] == g0) & (s["width"] >= base_width),
         s["width"] / base_width),
        ("raise frequency", (s["width"] == base_width) & (s["gap"] == g0) & (s["rate"] >= r0),
         s["rate"] / r0),
        ("replay more often", (s["width"] == base_width) & (s["rate"] == r0) & (s["gap"] <= g0),
         g0 / s["gap"]),
    ):
        part = s[sel].copy()
        part.insert(0, "lever", lever)
        part.insert(1, "multiplier", mult[sel].to_numpy())
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "base_width", base_width)
    out["common_penalty"] = out["final_common_loss"] - base["final_common_loss"]
    out["relative_cost"] = out["flops_to_learn"] / out["flops_per_step"].min()
    return out.sort_values(["lever", "multiplier"]).reset_index(drop=True)


def run_levers(config: LeversConfig, *, store: Store | None = None,
               refresh: bool = False) -> pd.DataFrame:
    """Compute-to-learn per lever and setting, for every baseline width in ``base_widths``:
    columns base_width, lever, multiplier, width, rate, gap, learned, learned_fraction,
    steps_to_learn, flops_to_learn (median over seeds, inf if most did not learn), flops_per_step,
    flops_run, final_rare_loss, final_common_loss, common_penalty, critical_width,
    predicted_learnable."""
    grid = run_levers_grid(config, store=store, refresh=refresh)
    return pd.concat([lever_table(grid, config, w) for w in config.base_widths],
                     ignore_index=True)


def cheapest_levers(table: pd.DataFrame) -> pd.DataFrame:
    """Per baseline width and lever: the cheapest setting that learned the task (NaN FLOPs when
    no setting of the lever did), and which lever wins at each baseline width."""
    rows = []
    for (bw, lever), g in table.groupby(["base_width", "lever"], sort=False):
        ok = g[np.isfinite(g["flops_to_learn"])]
        if len(ok):
            best = ok.loc[ok["flops_to_learn"].idxmin()]
            rows.append({"base_width": bw, "lever": lever, "flops_to_learn":
                         float(best["flops_to_learn"]), "multiplier": float(best["multiplier"]),
                         "width": int(best["width"]), "rate": int(best["rate"]),
                         "gap": int(best["gap"]),
                         "common_penalty": float(best["common_penalty"])})
        else:
            rows.append({"base_width": bw, "lever": lever, "flops_to_learn": np.nan,
                         "multiplier": np.nan, "width": -1, "rate": -1, "gap": -1,
                         "common_penalty": np.nan})
    out = pd.DataFrame(rows)
    best = out.dropna(subset=["flops_to_learn"]).sort_values("flops_to_learn")
    winner = best.groupby("base_width")["lever"].first()
    out["cheapest"] = out.apply(lambda r: winner.get(r["base_width"]) == r["lever"], axis=1)
    return out


# ---- command line ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``python -m rtrlib.toy.levers [--widths ...] [--rates ...] [--gaps ...] --out FILE.csv``."""
    parsed = parse_config_command(argv, LeversConfig, prog="python -m rtrlib.toy.levers",
                                  description="Compute-to-learn a rare task: widen, raise "
                                              "its frequency, or replay it more often.",
                                  out="levers.csv")
    if parsed is None:
        return 2
    cfg, a = parsed
    table = run_levers(cfg, refresh=a.refresh)
    table.to_csv(a.out, index=False)
    with pd.option_context("display.width", 160):
        print(cheapest_levers(table))
    print(f"wrote {len(table)} rows to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
