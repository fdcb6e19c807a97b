"""Closed forms of the paper's phenomenological power-law argument (its Section 2).

The loss of a model with ``N`` parameters trained on ``D`` tokens is taken to follow

    L(N, D) = L0 + A N^-alpha + B D^-beta                                   (Eq. 1)

Two derived curves matter:

- the *compute-optimal* loss ``L_C(N)``: the loss of an ``N``-parameter model trained with the
  token budget that minimises the loss at its compute ``C = 6 N D``. Taking Eq. 1 literally,
  ``L_C(N) - L0 = A (1 + alpha/beta) N^-alpha`` (same exponent as below, larger prefactor);
- the *infinite-data* loss ``L_inf(N) = L0 + A N^-alpha``.

The paper instead quotes an empirical compute-optimal exponent ``gamma ~ 0.34`` (so
``L_C(N) - L0 = A_C N^-gamma``); :class:`EmpiricalFrontier` holds that variant. Its prefactor
``A_C`` is not given by the paper; :func:`calibrated_prefactor` fixes it (this book's choice) by
matching the literal frontier at a reference size.

Definition 2 of the paper (learnable via model scaling) gives the threshold ``N_s*(eps)``: the
largest small model whose infinite-data loss still exceeds a large model's compute-optimal loss
by more than ``eps``. :func:`model_scaling_threshold` returns ``N_s*/N_l`` for the literal Eq. 1,
:func:`model_scaling_threshold_empirical` for the gamma variant.

The quanta model that reads this loss as unlearned rare skills is :mod:`rtrlib.theory.quanta`.

All functions are plain numpy, vectorised over array inputs, and raise
:class:`rtrlib.params.ParameterError` naming the offending parameter and its allowed range.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from rtrlib.params import ParameterError
from rtrlib.theory.arrays import (
    as_output,
    broadcast,
    exponent,
    nonneg_array,
    nonneg_number,
    positive_array,
    positive_number,
)

__all__ = [
    "ALPHA_PAPER",
    "BETA_PAPER",
    "GAMMA_PAPER",
    "PowerLawLoss",
    "EmpiricalFrontier",
    "compute_optimal_ratio",
    "model_scaling_threshold",
    "model_scaling_threshold_empirical",
    "calibrated_prefactor",
    "loss_gap_decomposition",
    "classify_pair",
]

#: Chinchilla's model-size exponent as quoted by the paper (Huang et al. 2026, Section 2).
ALPHA_PAPER = 0.46
#: Chinchilla's data exponent as quoted by the paper.
BETA_PAPER = 0.51
#: The empirical compute-optimal exponent quoted by the paper (an input, not derived from Eq. 1).
GAMMA_PAPER = 0.34


# ---------------------------------------------------------------------------------------------
# Eq. 1 and its compute-optimal frontier


@dataclasses.dataclass(frozen=True)
class PowerLawLoss:
    """Eq. 1, ``L(N, D) = L0 + A N^-alpha + B D^-beta``, with its derived curves.

    Defaults: the exponents the paper quotes for Chinchilla (alpha ~ 0.46, beta ~ 0.51); the
    prefactors ``A = B = 1`` and ``L0 = 0`` are neutral placeholders (the paper quotes none), so
    losses are *reducible* losses in units of ``A``. Ratios such as ``N_s*/N_l`` at ``eps = 0``
    do not depend on them.
    """

    alpha: float = ALPHA_PAPER
    beta: float = BETA_PAPER
    A: float = 1.0
    B: float = 1.0
    L0: float = 0.0

    def __post_init__(self) -> None:
        exponent("alpha", self.alpha)
        exponent("beta", self.beta)
        positive_number("A", self.A)
        positive_number("B", self.B)
        nonneg_number("L0", self.L0)

    # -- Eq. 1 ------------------------------------------------------------------------------
    def loss(self, n_params: Any, n_tokens: Any) -> float | np.ndarray:
        """``L(N, D)``; ``n_tokens`` may be ``inf`` (the infinite-data limit)."""
        n = positive_array("n_params", n_params)
        d = nonneg_array("n_tokens", n_tokens, allow_inf=True)
        if np.any(d == 0):
            raise ParameterError("n_tokens", n_tokens, "numbers > 0 (inf allowed)")
        broadcast(n_params=n, n_tokens=d)
        return as_output(self.L0 + self.A * n ** -self.alpha + self.B * d ** -self.beta)

    def infinite_data_loss(self, n_params: Any) -> float | np.ndarray:
        """``L_inf(N) = L0 + A N^-alpha``."""
        n = positive_array("n_params", n_params)
        return as_output(self.L0 + self.A * n ** -self.alpha)

    # -- the compute-optimal frontier under C = 6 N D -------------------------------------------
    def compute_optimal_tokens(self, n_params: Any) -> float | np.ndarray:
        """``D_opt(N) = (beta B / (alpha A))^(1/beta) N^(alpha/beta)``: the token budget at
        which ``N`` parameters is the loss-minimising size for its compute ``6 N D``."""
        n = positive_array("n_params", n_params)
        k = (self.beta * self.B / (self.alpha * self.A)) ** (1.0 / self.beta)
        return as_output(k * n ** (self.alpha / self.beta))

    def compute_optimal_params(self, compute: Any) -> float | np.ndarray:
        """``N_opt(C) = (alpha A / (beta B))^(1/(alpha+beta)) (C/6)^(beta/(alpha+beta))``."""
        c = positive_array("compute", compute)
        s = self.alpha + self.beta
        return as_output((self.alpha * self.A / (self.beta * self.B)) ** (1.0 / s)
                    * (c / 6.0) ** (self.beta / s))

    def compute_optimal_loss(self, n_params: Any) -> float | np.ndarray:
        """``L_C(N) = L0 + A (1 + alpha/beta) N^-alpha`` (Eq. 1 taken literally)."""
        n = positive_array("n_params", n_params)
        return as_output(self.L0 + self.A * compute_optimal_ratio(self.alpha, self.beta)
                    * n ** -self.alpha)

    def loss_at_compute(self, compute: Any) -> float | np.ndarray:
        """The minimum of Eq. 1 over ``N`` at fixed ``C = 6 N D``."""
        n = self.compute_optimal_params(compute)
        return self.compute_optimal_loss(n)

    def threshold(self, n_large: Any, eps: Any = 0.0) -> float | np.ndarray:
        """``N_s*(eps)`` in parameters (not a ratio) for this loss and large model ``N_l``."""
        n_l = positive_array("n_large", n_large)
        return as_output(n_l * model_scaling_threshold(self.alpha, self.beta, eps, A=self.A,
                                                  n_large=n_l))


def compute_optimal_ratio(alpha: float, beta: float) -> float:
    """``(L_C - L0) / (L_inf - L0) = 1 + alpha/beta`` at every ``N`` (Eq. 1 taken literally)."""
    alpha = exponent("alpha", alpha)
    beta = exponent("beta", beta)
    return 1.0 + alpha / beta


def model_scaling_threshold(alpha: float, beta: float, eps: Any = 0.0, *, A: float = 1.0,
                            n_large: Any = None) -> float | np.ndarray:
    """``N_s*/N_l`` of Definition 2 with Eq. 1 taken literally.

    ``N_s*`` solves ``L_inf(N_s) - L_C(N_l) = eps``; every smaller model stays more than ``eps``
    above the large model's compute-optimal loss even with unlimited data. For ``eps = 0`` the
    ratio is ``(1 + alpha/beta)^(-1/alpha)`` whatever ``N_l``; for ``eps > 0`` it also depends on
    ``A`` and ``n_large``:  ``((1 + alpha/beta) + eps N_l^alpha / A)^(-1/alpha)``.
    """
    alpha = exponent("alpha", alpha)
    beta = exponent("beta", beta)
    e = nonneg_array("eps", eps)
    r = compute_optimal_ratio(alpha, beta)
    if np.all(e == 0):
        shape = e.shape if n_large is None else \
            broadcast(eps=e, n_large=positive_array("n_large", n_large))
        return as_output(np.full(shape, r ** (-1.0 / alpha)))
    if n_large is None:
        raise ParameterError("n_large", None,
                             "a positive number when eps > 0 (the ratio then depends on N_l)")
    A = positive_number("A", A)
    n_l = positive_array("n_large", n_large)
    broadcast(eps=e, n_large=n_l)
    return as_output((r + e * n_l ** alpha / A) ** (-1.0 / alpha))


@dataclasses.dataclass(frozen=True)
class EmpiricalFrontier:
    """The paper's empirical compute-optimal loss, ``L_C(N) - L0 = A_C N^-gamma``.

    ``gamma`` (default 0.34, the paper's quoted value) is an empirical input; Eq. 1 on its own
    would give ``gamma = alpha``. The prefactor ``A_C`` is not quoted by the paper; see
    :func:`calibrated_prefactor` for the book's choice.
    """

    gamma: float = GAMMA_PAPER
    A_C: float = 1.0
    L0: float = 0.0

    def __post_init__(self) -> None:
        exponent("gamma", self.gamma)
        positive_number("A_C", self.A_C)
        nonneg_number("L0", self.L0)

    def compute_optimal_loss(self, n_params: Any) -> float | np.ndarray:
        n = positive_array("n_params", n_params)
        return as_output(self.L0 + self.A_C * n ** -self.gamma)

    def valid_from(self, law: PowerLawLoss) -> float:
        """The smallest size at which this frontier is still at or above ``law``'s ``L_inf``
        (a compute-optimal model cannot beat unlimited data). Needs ``gamma <= alpha``: then
        ``A_C N^-gamma >= A N^-alpha`` exactly for ``N >= (A / A_C)^(1 / (alpha - gamma))``."""
        if self.gamma > law.alpha:
            raise ParameterError("gamma", self.gamma, f"a number <= alpha = {law.alpha:g} "
                                 "(otherwise L_C falls below L_inf at large N)")
        if self.gamma == law.alpha:
            return 0.0 if self.A_C >= law.A else math.inf
        return (law.A / self.A_C) ** (1.0 / (law.alpha - self.gamma))

    @classmethod
    def calibrated(cls, law: PowerLawLoss, gamma: float = GAMMA_PAPER,
                   n_ref: float = 1e8) -> EmpiricalFrontier:
        """The gamma frontier that agrees with ``law``'s literal frontier at ``N = n_ref``."""
        return cls(gamma=gamma, A_C=calibrated_prefactor(law.alpha, law.beta, gamma, law.A,
                                                        n_ref), L0=law.L0)


def calibrated_prefactor(alpha: float, beta: float, gamma: float = GAMMA_PAPER, A: float = 1.0,
                         n_ref: float = 1e8) -> float:
    """``A_C = A (1 + alpha/beta) n_ref^(gamma - alpha)``: the empirical frontier then equals the
    literal one at ``N = n_ref`` (this book's choice; the paper gives no prefactor)."""
    gamma = exponent("gamma", gamma)
    A = positive_number("A", A)
    n_ref = positive_number("n_ref", n_ref)
    return A * compute_optimal_ratio(alpha, beta) * n_ref ** (gamma - alpha)


def model_scaling_threshold_empirical(alpha: float, gamma: float, n_large: Any, *,
                                      A: float = 1.0, A_C: float = 1.0,
                                      eps: Any = 0.0) -> float | np.ndarray:
    """``N_s*/N_l`` of Definition 2 when ``L_C(N) - L0 = A_C N^-gamma`` (empirical gamma).

    Solves ``A N_s^-alpha = A_C N_l^-gamma + eps``:
    ``N_s* = ((A_C N_l^-gamma + eps) / A)^(-1/alpha)``. At ``eps = 0`` the ratio is
    ``(A/A_C)^(1/alpha) N_l^(gamma/alpha - 1)``: it depends on ``N_l`` unless ``gamma = alpha``.
    """
    alpha = exponent("alpha", alpha)
    gamma = exponent("gamma", gamma)
    A = positive_number("A", A)
    A_C = positive_number("A_C", A_C)
    n_l = positive_array("n_large", n_large)
    e = nonneg_array("eps", eps)
    broadcast(n_large=n_l, eps=e)
    n_s = ((A_C * n_l ** -gamma + e) / A) ** (-1.0 / alpha)
    return as_output(n_s / n_l)


def _law(law: Any, frontier: Any) -> PowerLawLoss:
    """``law`` (default :class:`PowerLawLoss`), with both arguments type-checked."""
    law = PowerLawLoss() if law is None else law
    if not isinstance(law, PowerLawLoss):
        raise ParameterError("law", law, "a PowerLawLoss (or None for the default)")
    if frontier is not None and not isinstance(frontier, EmpiricalFrontier):
        raise ParameterError("frontier", frontier, "an EmpiricalFrontier or None")
    return law


def loss_gap_decomposition(n_small: Any, n_large: float, law: PowerLawLoss | None = None,
                           frontier: EmpiricalFrontier | None = None) -> pd.DataFrame:
    """Split ``L_C(N_s) - L_C(N_l)`` into the part more data recovers and the part only a
    larger model recovers (the paper's Figure 1 picture).

    - ``model_only = max(L_inf(N_s) - L_C(N_l), 0)``: left even with unlimited data;
    - ``data_recoverable = L_C(N_s) - max(L_inf(N_s), L_C(N_l))``.

    ``frontier`` replaces the literal ``L_C`` by the empirical gamma frontier. One row per
    ``n_small``; columns ``n_small, n_large, ratio, L_C_small, L_inf_small, L_C_large, gap,
    data_recoverable, model_only, model_only_fraction``.
    """
    law = _law(law, frontier)
    n_s = np.atleast_1d(positive_array("n_small", n_small))
    n_l = positive_number("n_large", n_large)
    if np.any(n_s >= n_l):
        raise ParameterError("n_small", n_small, f"numbers < n_large = {n_l:g}")
    if frontier is not None:
        lo = frontier.valid_from(law)
        if np.any(n_s < lo):
            raise ParameterError("n_small", n_small, f"sizes >= {lo:.3g}, where the empirical "
                                 "frontier is still above L_inf")
    lc = law.compute_optimal_loss if frontier is None else frontier.compute_optimal_loss
    lc_s = np.atleast_1d(lc(n_s))
    lc_l = float(lc(n_l))
    linf_s = np.atleast_1d(law.infinite_data_loss(n_s))
    gap = lc_s - lc_l
    model_only = np.maximum(linf_s - lc_l, 0.0)
    data_rec = lc_s - np.maximum(linf_s, lc_l)
    return pd.DataFrame({
        "n_small": n_s, "n_large": n_l, "ratio": n_s / n_l,
        "L_C_small": lc_s, "L_inf_small": linf_s, "L_C_large": lc_l,
        "gap": gap, "data_recoverable": data_rec, "model_only": model_only,
        "model_only_fraction": np.where(gap > 0, model_only / np.where(gap > 0, gap, 1.0), 0.0),
    })


def classify_pair(n_small: float, n_large: float, law: PowerLawLoss | None = None,
                  frontier: EmpiricalFrontier | None = None, eps: float = 0.0) -> str:
    """Which of the paper's definitions a pair ``N_s < N_l`` falls under.

    Returns ``"data"`` (Definition 1: the small model is only under-trained: its infinite-data
    loss already beats the large model's compute-optimal loss), ``"model"`` (Definition 2: its
    infinite-data loss stays more than ``eps`` above), or ``"neither"`` (no gap, or within eps).
    """
    law = _law(law, frontier)
    n_s = positive_number("n_small", n_small)
    n_l = positive_number("n_large", n_large)
    if n_s >= n_l:
        raise ParameterError("n_small", n_small, f"a number < n_large = {n_l:g}")
    eps = nonneg_number("eps", eps)
    lc = law.compute_optimal_loss if frontier is None else frontier.compute_optimal_loss
    gap_c = lc(n_s) - lc(n_l)
    gap_inf = law.infinite_data_loss(n_s) - lc(n_l)
    if gap_inf > eps:
        return "model"
    if gap_c > 0 and gap_inf < 0:
        return "data"
    return "neither"
