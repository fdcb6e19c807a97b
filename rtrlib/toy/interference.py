"""Measuring interference in the toy model: Theorem 4 and the critical width, from training runs.

Building blocks (used by :mod:`rtrlib.toy.injection` too):

- :func:`rare_mixture` a mixture of ``n_common`` Zipf tasks plus one rare task (the last) with a
  given global frequency, as a :class:`~rtrlib.toy.mixture.MixtureConfig`;
- :func:`presence` the presence of chosen features in every model (eigendecomposition based, so
  it also works for models wider than the number of features);
- :func:`encoder_cosine` per-model cosines between two encoder gradients;
- :func:`gradient_split` the batch gradient of the encoder split into the rare task's samples
  (``g_t``) and everyone else's (``g_nt``), each compared with the reference gradient ``G_r``;
- :func:`task_gradient_norms` the norm of every task's exact population gradient.

The experiment :func:`run_interference` trains a width x seed batch on the i.i.d. stream and logs,
per task, the loss (the residual), its optimal-readout residual and its gradient norm, plus the
gradient split for the rare task: the data behind Theorem 4's chapter. Cached through
:mod:`rtrlib.store`; command line ``python -m rtrlib.toy.interference --help``.
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
from rtrlib.store import KeyedConfig, Store, config_key
from rtrlib.theory import interference as theory
from rtrlib.toy.engine import OPTIMIZERS, OptimConfig, Trainer
from rtrlib.toy.mixture import Batch, MixtureConfig, TaskMixture, zipf_frequencies
from rtrlib.toy.models import ModelBatch

__all__ = [
    "rare_mixture",
    "presence",
    "encoder_cosine",
    "gradient_split",
    "task_gradient_norms",
    "InterferenceConfig",
    "run_interference",
    "measured_critical_width",
    "predicted_critical_width",
]



# ---- the mixture ---------------------------------------------------------------------------
def rare_mixture(n_common: int, features_per_task: int, zipf_exponent: float,
                 spectrum_decay: float, rare_frequency: float, rare_lambda: float,
                 rare_features: int = 1, mixture_seed: int = 0) -> MixtureConfig:
    """``n_common`` Zipf tasks (spectra ``j^-decay``) sharing ``1 - f`` of the stream, and one
    rare task (index ``n_common``) with frequency ``f`` and spectrum ``rare_lambda * j^-decay``."""
    require_int("n_common", n_common, 1)
    require_int("features_per_task", features_per_task, 1)
    require_float("rare_frequency", rare_frequency, 0.0, 1.0, lo_open=True, hi_open=True)
    require_float("rare_lambda", rare_lambda, 0.0, lo_open=True)
    require_int("rare_features", rare_features, 1)
    pi = zipf_frequencies(n_common, zipf_exponent) * (1.0 - rare_frequency)
    pi = tuple(float(p) for p in pi) + (float(rare_frequency),)
    common = tuple(float(x) for x in np.arange(1, features_per_task + 1) ** -float(spectrum_decay))
    rare = tuple(float(rare_lambda * x) for x in
                 np.arange(1, rare_features + 1) ** -float(spectrum_decay))
    return MixtureConfig(n_tasks=n_common + 1, pi=pi, spectra=(common,) * n_common + (rare,),
                         mixture_seed=mixture_seed)


@dataclass(frozen=True)
class RareTaskMixture:
    """The mixture fields the rare-task experiments share: ``n_common`` Zipf tasks with
    ``features_per_task`` features each, plus one rare task (index ``n_common``) whose spectrum
    is scaled by ``rare_lambda``; its frequency is set by each experiment (:func:`rare_mixture`).
    """

    n_common: int = 8
    features_per_task: int = 4
    zipf_exponent: float = 1.0
    spectrum_decay: float = 1.0
    rare_lambda: float = 4.0
    rare_features: int = 1
    mixture_seed: int = 0

    @property
    def rare(self) -> int:
        """Index of the rare task."""
        return self.n_common

    def validate_mixture(self) -> None:
        """One clear error for a mixture field out of range (configs call it on construction)."""
        require_int("n_common", self.n_common, 1, 1024)
        require_int("features_per_task", self.features_per_task, 1, 1024)
        require_float("zipf_exponent", self.zipf_exponent, 0.0, 20.0)
        require_float("spectrum_decay", self.spectrum_decay, 0.0, 50.0)
        require_float("rare_lambda", self.rare_lambda, 0.0, 1e6, lo_open=True)
        require_int("rare_features", self.rare_features, 1, 1024)
        require_int("mixture_seed", self.mixture_seed, 0, 2**31 - 1)

    def rare_mixture_at(self, rare_frequency: float) -> MixtureConfig:
        return rare_mixture(self.n_common, self.features_per_task, self.zipf_exponent,
                            self.spectrum_decay, rare_frequency, self.rare_lambda,
                            self.rare_features, self.mixture_seed)


def predicted_critical_width(mixture: TaskMixture, rare: int) -> int:
    """Proposition 6 (reconstruction) for this mixture: :func:`rtrlib.theory.critical_width`."""
    return theory.critical_width(mixture.pi, mixture.spectra, rare)


# ---- measurements ---------------------------------------------------------------------------
@torch.no_grad()
def presence(models: ModelBatch, tensors: dict[str, torch.Tensor], features: torch.Tensor,
             background: float = 0.0, rtol: float = 1e-7) -> torch.Tensor:
    """Presence of ``features`` in every linear model, (S, W, len(features)) in [0, 1].

    The fraction of the variance of ``b_f^T x`` linearly decodable from ``h = U^T x``:
    ``lambda_f b_f^T U (U^T Sigma U)^+ U^T b_f``, with the pseudo-inverse taken by an
    eigendecomposition (directions below ``rtol`` of the largest eigenvalue are dropped), so
    models wider than the number of features are handled.
    """
    if models.activation != "linear":
        raise ValueError("presence() is defined here for linear encoders only")
    basis, lam = tensors["basis"].double(), tensors["lam"].double()
    sigma = (basis * lam) @ basis.T
    if background > 0:
        sigma = sigma + background * (torch.eye(basis.shape[0], dtype=sigma.dtype,
                                                device=sigma.device) - basis @ basis.T)
    idx = features.to(basis.device)
    bf, lf = basis[:, idx], lam[idx]
    out = []
    for w in range(len(models.widths)):
        Uw = models.U[:, :, models.segment(w)].double()
        K = Uw.transpose(1, 2) @ sigma @ Uw
        ev, V = torch.linalg.eigh(K)
        keep = ev > rtol * ev.amax(-1, keepdim=True).clamp_min(1e-300)
        inv = torch.where(keep, 1.0 / ev.clamp_min(1e-300), torch.zeros_like(ev))
        c = lf.view(1, -1, 1) * (bf.T @ Uw)                          # (S, f, N)
        proj = c @ V
        out.append((proj ** 2 * inv.unsqueeze(1)).sum(-1) / lf.clamp_min(1e-300))
    return torch.stack(out, dim=1).clamp(0.0, 1.0)


def _segment_dots(models: ModelBatch, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-model inner products of two encoder tensors (S, D, NT): (S, W)."""
    return torch.stack([(x * y).sum(dim=(1, 2)) for x, y in
                        zip(models.split(a, 2), models.split(b, 2), strict=True)], dim=1)


def encoder_cosine(models: ModelBatch, a: torch.Tensor, b: torch.Tensor,
                   eps: float = 1e-30) -> torch.Tensor:
    """Cosine between two encoder gradients, per model (S, W); NaN where either vanishes."""
    a, b = a.double(), b.double()
    ab = _segment_dots(models, a, b)
    na = _segment_dots(models, a, a).sqrt()
    nb = _segment_dots(models, b, b).sqrt()
    cos = ab / (na * nb).clamp_min(eps)
    return torch.where((na > eps) & (nb > eps), cos, torch.full_like(cos, float("nan")))


def encoder_norm(models: ModelBatch, a: torch.Tensor) -> torch.Tensor:
    """Frobenius norm of an encoder tensor, per model (S, W)."""
    a = a.double()
    return _segment_dots(models, a, a).sqrt()


def gradient_split(trainer: Trainer, batch: Batch, task: int) -> dict[str, torch.Tensor]:
    """The toy twin of OLMo's g = g_t + g_nt, on the encoder, against ``G_r``.

    ``g_t`` is the gradient of the batch loss restricted to ``task``'s samples, ``g_nt`` that of
    all other samples (both divided by the batch size, so ``g = g_t + g_nt``); ``G_r`` is the
    exact population gradient of ``l_task``. Returns per-model (S, W) tensors ``cos`` (g vs
    G_r), ``cos_task`` (g_t vs G_r), ``cos_other`` (g_nt vs G_r), ``norm``, ``norm_task``,
    ``norm_other`` and ``norm_ref``; cosines are NaN where a gradient vanishes (e.g. no sample of
    the task in the batch).
    """
    is_task = (batch.task == task).to(trainer.models.U.dtype)
    g_t, _ = trainer.gradients(batch, is_task)
    g_nt, _ = trainer.gradients(batch, 1.0 - is_task)
    g_ref, _ = trainer.population_gradient(task)
    m = trainer.models
    g = g_t + g_nt
    return {
        "cos": encoder_cosine(m, g, g_ref),
        "cos_task": encoder_cosine(m, g_t, g_ref),
        "cos_other": encoder_cosine(m, g_nt, g_ref),
        "norm": encoder_norm(m, g),
        "norm_task": encoder_norm(m, g_t),
        "norm_other": encoder_norm(m, g_nt),
        "norm_ref": encoder_norm(m, g_ref),
    }


def task_gradient_norms(trainer: Trainer) -> torch.Tensor:
    """``||d l_k / d U||_F`` of every task's exact population loss, per model: (S, W, K)."""
    m = trainer.models
    losses = m.task_losses(trainer.tensors, trainer.mixture.n_tasks,
                           trainer.mixture.background_variance)
    out = []
    for k in range(trainer.mixture.n_tasks):
        (gU,) = torch.autograd.grad(losses[..., k].sum(), [m.U], retain_graph=True)
        out.append(encoder_norm(m, gU))
    return torch.stack(out, dim=-1)


# ---- the i.i.d. experiment of chapter 4 -------------------------------------------------------
@dataclass(frozen=True)
class InterferenceConfig(RareTaskMixture, KeyedConfig):
    """Widths x seeds trained on the i.i.d. stream of :func:`rare_mixture`, measured densely."""

    rare_frequency: float = 1 / 256
    widths: tuple[int, ...] = (8, 16, 24, 26, 28, 30, 32, 40)
    seeds: tuple[int, ...] = (0,)
    init_scale: float = 0.1
    steps: int = 3072
    batch_size: int = 256
    optimizer: str = "sgd"
    lr: float = 0.4
    n_logs: int = 24
    device: str = "cpu"
    progress: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("widths", "seeds"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate_mixture()
        self.mixture_config()
        require_ints("widths", self.widths, 1)
        require_ints("seeds", self.seeds, 0, 2**31 - 1)
        if len(set(self.seeds)) != len(self.seeds):
            raise ParameterError("seeds", self.seeds, "distinct seeds")
        require_float("init_scale", self.init_scale, 0.0, lo_open=True)
        require_int("steps", self.steps, 1)
        require_int("batch_size", self.batch_size, 1)
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_float("lr", self.lr, 0.0, lo_open=True)
        require_int("n_logs", self.n_logs, 1)
        require_device("device", self.device)

    def mixture_config(self) -> MixtureConfig:
        return self.rare_mixture_at(self.rare_frequency)

    def build(self, mixture: TaskMixture | None = None) -> Trainer:
        mixture = mixture or self.mixture_config().build()
        models = ModelBatch.init(mixture, self.widths, self.seeds, init_scale=self.init_scale,
                                 device=self.device)
        optim = OptimConfig(optimizer=self.optimizer, lr=self.lr, steps=self.steps)
        return Trainer(mixture, models, optim, batch_size=self.batch_size, device=self.device)


def _log_points(steps: int, n_logs: int) -> set[int]:
    pts = np.unique(np.round(np.geomspace(1, steps, n_logs)).astype(int))
    return set(pts.tolist()) | {0, steps}


def run_interference(config: InterferenceConfig, *, store: Store | None = None,
                     refresh: bool = False) -> pd.DataFrame:
    """One row per (logged step, seed, width, task): ``task_loss`` (current readouts),
    ``residual`` (best readouts, ``sum_j lambda_j (1 - presence_j)``), ``grad_norm`` (exact
    population gradient of ``l_k`` on the encoder), ``variance``; for the rare task's rows also
    the gradient split of the step's batch (``cos``, ``cos_task``, ``cos_other``)."""
    if not isinstance(config, InterferenceConfig):
        raise TypeError("run_interference expects an InterferenceConfig")
    store = store or Store()
    key = config_key("toy-interference", config.keyed())
    if not refresh:
        hit = store.load(key)
        if hit is not None:
            return hit
    df = _run_interference(config)
    store.save(key, df)
    return df


def _run_interference(config: InterferenceConfig) -> pd.DataFrame:
    mixture = config.mixture_config().build()
    trainer = config.build(mixture)
    t = trainer.tensors
    K, rare = mixture.n_tasks, config.rare
    all_feats = torch.arange(mixture.n_features)
    ftask = torch.as_tensor(mixture.feature_task)
    lam = t["lam"].double().cpu()
    logs = _log_points(config.steps, config.n_logs)
    S, W = len(config.seeds), len(config.widths)
    chunks = []
    bar = None
    if config.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, desc="interference", leave=False)
    for step in range(config.steps + 1):
        batch = trainer.next_batch() if step < config.steps else None
        if step in logs:
            with torch.no_grad():
                losses = trainer.task_losses().double().cpu()                   # (S, W, K)
            pres = presence(trainer.models, t, all_feats).cpu()                # (S, W, F)
            resid = torch.zeros(S, W, K, dtype=torch.float64).index_add(
                2, ftask, lam * (1.0 - pres))
            gnorm = task_gradient_norms(trainer).cpu()
            split = gradient_split(trainer, batch, rare) if batch is not None else None
            for k in range(K):
                row = {
                    "step": np.full(S * W, step),
                    "seed": np.repeat(config.seeds, W),
                    "width": np.tile(config.widths, S),
                    "task": np.full(S * W, k),
                    "task_loss": losses[..., k].numpy().ravel(),
                    "residual": resid[..., k].numpy().ravel(),
                    "grad_norm": gnorm[..., k].numpy().ravel(),
                }
                for name in ("cos", "cos_task", "cos_other"):
                    val = split[name].cpu().numpy().ravel() if (split is not None and k == rare) \
                        else np.full(S * W, np.nan)
                    row[name] = val
                chunks.append(row)
        if batch is not None:
            trainer.update(batch)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    df = pd.DataFrame({c: np.concatenate([ch[c] for ch in chunks]) for c in chunks[0]})
    df["pi"] = mixture.pi[df["task"].to_numpy()]
    df["variance"] = mixture.task_variance()[df["task"].to_numpy()]
    df["rare"] = df["task"] == rare
    return df[["width", "seed", "task", "pi", "rare", "step", "task_loss", "residual",
               "grad_norm", "variance", "cos", "cos_task", "cos_other"]]


def measured_critical_width(df: pd.DataFrame, rare: int, threshold: float = 0.5) -> float:
    """The smallest width from which on every larger width learned the rare task (final
    relative residual below ``threshold``, averaged over seeds); NaN if even the widest failed."""
    last = df[(df["task"] == rare) & (df["step"] == df["step"].max())]
    rel = (last.groupby("width")["residual"].mean() / last.groupby("width")["variance"].mean())
    learned = (rel < threshold).sort_index()
    widths = learned.index.to_numpy()
    ok = learned.to_numpy()
    if not ok[-1]:
        return float("nan")
    i = len(ok) - 1
    while i > 0 and ok[i - 1]:
        i -= 1
    return float(widths[i])


# ---- command line ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``python -m rtrlib.toy.interference [--widths ...] [--steps ...] --out FILE.csv``."""
    parsed = parse_config_command(argv, InterferenceConfig,
                                  prog="python -m rtrlib.toy.interference",
                                  description="Theorem 4 measurements on the i.i.d. stream.",
                                  out="interference.csv", refresh=False)
    if parsed is None:
        return 2
    cfg, a = parsed
    df = run_interference(cfg)
    df.to_csv(a.out, index=False)
    nc = predicted_critical_width(cfg.mixture_config().build(), cfg.rare)
    print(f"wrote {len(df)} rows to {a.out}; predicted critical width {nc}, measured "
          f"{measured_critical_width(df, cfg.rare)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
