"""Testing the sizing rule by training: random mixtures, widths around the critical width.

The family (:class:`FamilyConfig`), which no other chapter uses: K tasks (K uniform in
``[min_tasks, max_tasks]``) with frequencies drawn uniformly from the simplex (flat Dirichlet), each
task with ``m_k`` features (uniform in ``[min_features, max_features]``) and a *geometric*
spectrum ``lambda_{k,j} = rho_k^(j-1)`` with its ratio ``rho_k`` uniform in ``[min_ratio,
max_ratio]``. The target is the rarest task. Mixtures are drawn from ``draw_seed`` alone.

For each mixture the rule predicts the target learned at width N iff ``N >= N_c`` (Proposition 6,
:func:`rtrlib.sizing.critical_width`); the control, a frequency-only rule that ignores the spectra,
iff N reaches one more than the number of features of the tasks at least as frequent as the
target (:func:`frequency_only_width`). The toy engine trains every mixture at the widths
``N_c + offsets``; the target counts as **learned** when its trained loss has fallen by at least
``learned_share`` of its top feature's variance. Per training seed, the metric is the agreement
rate between prediction and outcome over all (mixture, width) pairs.

Command line: ``python -m rtrlib.sizing.validation --n-mixtures 64 --training.steps 4000
--out validation.csv`` (every field of :class:`ValidationConfig` is an option).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rtrlib.params import (
    ParameterError,
    require_choice,
    require_device,
    require_float,
    require_int,
    require_ints,
)
from rtrlib.sizing.compute import critical_width
from rtrlib.sizing.mixture import SizingMixture, make_mixture
from rtrlib.store import KeyedConfig

__all__ = ["FamilyConfig", "TrainingConfig", "ValidationConfig", "agreement_by_seed",
           "bootstrap_agreement", "draw_mixtures", "frequency_only_width", "predictions",
           "run_validation", "train_target_losses", "training_flops"]


@dataclass(frozen=True)
class FamilyConfig(KeyedConfig):
    """Random mixtures: flat-Dirichlet frequencies, geometric spectra, the rarest task as target."""

    min_tasks: int = 4
    max_tasks: int = 7
    min_features: int = 2
    max_features: int = 5
    min_ratio: float = 0.3
    max_ratio: float = 0.8

    def __post_init__(self) -> None:
        require_int("min_tasks", self.min_tasks, 2, 64)
        require_int("max_tasks", self.max_tasks, self.min_tasks, 64)
        require_int("min_features", self.min_features, 1, 64)
        require_int("max_features", self.max_features, self.min_features, 64)
        require_float("min_ratio", self.min_ratio, 0.0, 1.0, lo_open=True)
        require_float("max_ratio", self.max_ratio, self.min_ratio, 1.0)

    def draw(self, rng: np.random.Generator) -> tuple[SizingMixture, int]:
        """One mixture and its target task (the rarest)."""
        K = int(rng.integers(self.min_tasks, self.max_tasks + 1))
        pi = rng.dirichlet(np.ones(K))
        m = rng.integers(self.min_features, self.max_features + 1, size=K)
        rho = rng.uniform(self.min_ratio, self.max_ratio, size=K)
        spectra = [[float(r ** j) for j in range(int(mk))] for mk, r in zip(m, rho, strict=True)]
        mixture = make_mixture([float(p) for p in pi], spectra)
        return mixture, int(np.argmin(mixture.frequencies))


@dataclass(frozen=True)
class TrainingConfig(KeyedConfig):
    """How the toy engine trains (online SGD, cosine-decayed, from a small initialisation)."""

    steps: int = 2000
    batch_size: int = 256
    lr: float = 1.0
    final_lr_fraction: float = 0.1
    init_scale: float = 0.1
    activation: str = field(default="linear", metadata={"choices": ("linear", "relu")})
    n_logs: int = 8

    def __post_init__(self) -> None:
        require_int("steps", self.steps, 1)
        require_int("batch_size", self.batch_size, 1)
        require_float("lr", self.lr, 0.0, 10.0, lo_open=True)
        require_float("final_lr_fraction", self.final_lr_fraction, 0.0, 1.0)
        require_float("init_scale", self.init_scale, 0.0, lo_open=True)
        require_choice("activation", self.activation, ("linear", "relu"))
        require_int("n_logs", self.n_logs, 1, 1000)


@dataclass(frozen=True)
class ValidationConfig(KeyedConfig):
    """The whole test: which mixtures, which widths, how to train, what counts as learned."""

    family: FamilyConfig = FamilyConfig()
    training: TrainingConfig = TrainingConfig()
    n_mixtures: int = 8
    draw_seed: int = 0
    seeds: tuple[int, ...] = (0, 1, 2)
    offsets: tuple[int, ...] = (-2, -1, 0, 1, 2)
    width_scales: tuple[int, ...] = (1,)
    learned_share: float = 0.5
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("seeds", "offsets", "width_scales"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        require_int("n_mixtures", self.n_mixtures, 1, 10_000)
        require_int("draw_seed", self.draw_seed, 0, 2**31 - 1)
        require_ints("seeds", self.seeds, 0, 2**31 - 1)
        if len(set(self.seeds)) != len(self.seeds):
            raise ParameterError("seeds", self.seeds, "distinct seeds")
        require_ints("offsets", self.offsets, -1000, 1000)
        if len(set(self.offsets)) != len(self.offsets) or not (
                min(self.offsets) < 0 <= max(self.offsets)):
            raise ParameterError("offsets", self.offsets, "distinct offsets from N_c, at least "
                                 "one below 0 and one at or above 0")
        require_ints("width_scales", self.width_scales, 1, 64)
        require_float("learned_share", self.learned_share, 0.0, 1.0, lo_open=True, hi_open=True)
        require_device("device", self.device)


def draw_mixtures(family: FamilyConfig, n: int, draw_seed: int
                  ) -> list[tuple[SizingMixture, int]]:
    """``n`` mixtures of the family and their targets, from ``draw_seed`` alone."""
    rng = np.random.default_rng(np.random.SeedSequence([int(draw_seed), 14]))
    return [family.draw(rng) for _ in range(n)]


def frequency_only_width(mixture: SizingMixture, task: int) -> int:
    """The control's critical width: tasks are learned whole in frequency order, so ``task``
    gets a first feature once every task at least as frequent is fully represented (the
    spectra are ignored; ties counted against ``task``, as Proposition 6 does)."""
    pi = mixture.frequencies
    return 1 + sum(m for k, m in enumerate(mixture.feature_counts)
                   if k != task and pi[k] >= pi[task])


def predictions(mixtures: list[tuple[SizingMixture, int]], offsets: tuple[int, ...],
                scales: tuple[int, ...] = (1,)) -> pd.DataFrame:
    """One row per (mixture, width): the widths ``s N_c + offsets`` for each scale s (at least
    1) with the rule's and the control's prediction of whether the target is learned."""
    rows = []
    for i, (mix, target) in enumerate(mixtures):
        nc, nf = critical_width(mix, target), frequency_only_width(mix, target)
        spec = mix.spectra[target]
        for width in sorted({max(1, s * nc + o) for s in scales for o in offsets}):
            rows.append({"mixture": i, "target": target, "n_tasks": mix.n_tasks,
                         "n_features": mix.n_features, "pi_target": mix.frequencies[target],
                         "lam_top": max(spec), "variance": sum(spec), "width": width,
                         "offset": width - nc, "n_c": nc, "n_c_freq": nf,
                         "predicted": width >= nc, "control": width >= nf})
    return pd.DataFrame(rows)


def train_target_losses(mixture: SizingMixture, target: int, widths: tuple[int, ...],
                        seeds: tuple[int, ...], training: TrainingConfig, device: str = "cpu"
                        ) -> pd.DataFrame:
    """The target's exact population loss over training (columns seed, width, step, loss).

    The one place where this module calls the toy engine (:func:`rtrlib.toy.run_sweep`, cached
    and resumable); all widths and seeds of a mixture train as one tensor program.
    """
    from rtrlib.toy import (
        ModelBatchConfig,
        OptimConfig,
        SweepConfig,
        ToyRunConfig,
        run_sweep,
    )
    from rtrlib.toy.mixture import MixtureConfig

    cfg = SweepConfig(
        mixture=MixtureConfig(n_tasks=mixture.n_tasks, pi=mixture.frequencies,
                              spectra=mixture.spectra),
        models=ModelBatchConfig(widths=tuple(widths), activation=training.activation,
                                init_scale=training.init_scale),
        optim=OptimConfig(optimizer="sgd", lr=training.lr, lr_schedule="cosine",
                          final_lr_fraction=training.final_lr_fraction),
        run=ToyRunConfig(steps=training.steps, batch_size=training.batch_size,
                         seeds=tuple(seeds), device=device, checkpoint_every=training.steps),
        n_logs=training.n_logs, record_presence=False)
    df = run_sweep(cfg)
    d = df[df["task"] == target]
    return d[["seed", "width", "step", "task_loss"]].rename(columns={"task_loss": "loss"})


def run_validation(config: ValidationConfig) -> pd.DataFrame:
    """Predictions and trained outcomes: one row per (mixture, width, seed, logged step), with
    ``learned`` (the trained outcome), ``agree`` (rule) and ``control_agree``."""
    mixtures = draw_mixtures(config.family, config.n_mixtures, config.draw_seed)
    pred = predictions(mixtures, config.offsets, config.width_scales)
    parts = []
    for i, (mix, target) in enumerate(mixtures):
        widths = tuple(pred.loc[pred["mixture"] == i, "width"])
        losses = train_target_losses(mix, target, widths, config.seeds, config.training,
                                     config.device)
        parts.append(losses.assign(mixture=i))
    out = pred.merge(pd.concat(parts, ignore_index=True), on=["mixture", "width"])
    out["learned"] = out["loss"] <= out["variance"] - config.learned_share * out["lam_top"]
    out["agree"] = out["learned"] == out["predicted"]
    out["control_agree"] = out["learned"] == out["control"]
    return out.sort_values(["mixture", "width", "seed", "step"]).reset_index(drop=True)


def training_flops(config: ValidationConfig) -> float:
    """Training FLOPs of :func:`run_validation`: ``6 B N (D + F)`` per model and step (forward
    and backward through encoder and readouts, D = F input dimensions), summed over mixtures,
    widths and seeds."""
    mixtures = draw_mixtures(config.family, config.n_mixtures, config.draw_seed)
    pred = predictions(mixtures, config.offsets, config.width_scales)
    t = config.training
    per_step = 6.0 * t.batch_size * pred["width"] * 2 * pred["n_features"]
    return float(per_step.sum() * t.steps * len(config.seeds))


def agreement_by_seed(table: pd.DataFrame, step: int | None = None) -> pd.DataFrame:
    """Per seed, the agreement rate of the rule and of the control at ``step`` (default: the
    last logged step)."""
    step = int(table["step"].max()) if step is None else int(step)
    d = table[table["step"] == step]
    return d.groupby("seed")[["agree", "control_agree"]].mean()


def bootstrap_agreement(table: pd.DataFrame, column: str = "agree", n_boot: int = 2000,
                        seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the agreement rate, resampling mixtures (final step, all
    seeds pooled): how much the rate depends on which mixtures were drawn."""
    d = table[table["step"] == table["step"].max()]
    per = d.groupby("mixture")[column].agg(["sum", "count"])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(per), size=(n_boot, len(per)))
    s, c = per["sum"].to_numpy()[idx].sum(1), per["count"].to_numpy()[idx].sum(1)
    lo, hi = np.percentile(s / c, [2.5, 97.5])
    return float(lo), float(hi)


def main(argv: list[str] | None = None) -> int:
    """Run the validation and write its table; print the agreement per seed."""
    from rtrlib.cli import add_config_options, config_from_args
    from rtrlib.runtime import configure_threads

    p = argparse.ArgumentParser(prog="python -m rtrlib.sizing.validation",
                                description="Test the sizing rule by training (chapter 8).")
    add_config_options(p, ValidationConfig)
    p.add_argument("--out", default="sizing_validation.csv", help="CSV to write")
    args = p.parse_args(argv)
    try:
        config = config_from_args(args, ValidationConfig)
    except ParameterError as exc:
        print(f"{p.prog}: {exc}", file=sys.stderr)
        return 2
    configure_threads()
    table = run_validation(config)
    table.to_csv(args.out, index=False)
    print(agreement_by_seed(table).to_string())
    print(f"wrote {args.out} ({len(table)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
