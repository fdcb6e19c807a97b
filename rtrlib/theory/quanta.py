"""The quantization model of neural scaling (Michaud et al. 2023), as chapter 1 uses it.

Data exercise discrete skills, *quanta* ``k = 1, 2, ...``, used with Zipf frequencies
``p_k = k^-s / zeta(s)``. A model of ``N`` parameters has room for ``n(N) = floor(N / c)``
quanta; it learns the most frequent quanta it has room for (and, with finite data, has seen
often enough), and every quantum it has not learned costs its frequency in loss. The reducible
loss is then the tail mass ``sum_{k > n} p_k ~ n^-(s-1)``, so ``s = 1 + alpha`` reproduces the
power law ``L_inf(N) - L0 ~ N^-alpha`` of :mod:`rtrlib.theory.power_law`.

Closed forms (:func:`zipf_frequency`, :func:`zipf_tail_mass`, :func:`quanta_capacity`,
:func:`quanta_data_limit`, :func:`quanta_loss`) and one sampled experiment
(:class:`QuantaSweepConfig`, :func:`run_quanta_sweep`: draw ``D`` quantum uses and see which
quanta models of given capacities learn). Plain numpy and ``scipy.special.zeta``; every refused
parameter raises :class:`rtrlib.params.ParameterError` naming it and its allowed range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import zeta

from rtrlib.params import ParameterError, require_float
from rtrlib.theory.arrays import (
    as_output,
    count,
    exponent,
    nonneg_array,
    positive_array,
    positive_number,
)

__all__ = [
    "QuantaSweepConfig",
    "learned_from_counts",
    "quanta_capacity",
    "quanta_data_limit",
    "quanta_learned",
    "quanta_loss",
    "run_quanta_sweep",
    "sample_quanta_counts",
    "unlearned_mass",
    "zipf_exponent_for",
    "zipf_frequency",
    "zipf_mass_between",
    "zipf_tail_mass",
]


def _zipf_s(s: Any) -> float:
    v = require_float("s", s, 1.0, None, lo_open=True)
    if not np.isfinite(v):
        raise ParameterError("s", s, "a finite number > 1")
    return v


def _ranks_after(name: str, value: Any) -> np.ndarray:
    """Counts ``n >= 0`` of leading quanta (integers, ``inf`` allowed)."""
    nn = nonneg_array(name, value, allow_inf=True)
    if np.any(np.isfinite(nn) & (nn != np.floor(nn))):
        raise ParameterError(name, value, "integer counts >= 0 (inf allowed)")
    return nn


# ---------------------------------------------------------------------------------------------
# the Zipf law of quanta


def zipf_exponent_for(alpha: float) -> float:
    """The Zipf exponent ``s = 1 + alpha`` whose tail mass falls as ``n^-alpha``."""
    return 1.0 + exponent("alpha", alpha)


def zipf_frequency(k: Any, s: float) -> float | np.ndarray:
    """``p_k = k^-s / zeta(s)`` for ranks ``k >= 1`` of an infinite Zipf law (sums to 1)."""
    s = _zipf_s(s)
    kk = positive_array("k", k)
    if np.any(kk < 1) or np.any(kk != np.floor(kk)):
        raise ParameterError("k", k, "integer ranks >= 1")
    return as_output(kk ** -s / zeta(s))


def _tail(nn: np.ndarray, s: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(nn), 0.0,
                        zeta(s, np.where(np.isinf(nn), 1.0, nn) + 1.0) / zeta(s))


def zipf_tail_mass(n: Any, s: float) -> float | np.ndarray:
    """``sum_{k > n} p_k = zeta(s, n + 1) / zeta(s)``: the share of uses of quanta ranked
    after ``n`` (1 at ``n = 0``, falls as ``n^(1-s) / ((s-1) zeta(s))`` for large ``n``)."""
    s = _zipf_s(s)
    return as_output(_tail(_ranks_after("n", n), s))


def zipf_mass_between(n_lo: Any, n_hi: Any, s: float) -> float | np.ndarray:
    """``sum_{n_lo < k <= n_hi} p_k``: the share of uses of quanta ranked in ``(n_lo, n_hi]``."""
    lo = nonneg_array("n_lo", n_lo, allow_inf=True)
    hi = nonneg_array("n_hi", n_hi, allow_inf=True)
    if np.any(hi < lo):
        raise ParameterError("n_hi", n_hi, "counts >= n_lo")
    return as_output(np.asarray(zipf_tail_mass(lo, s)) - np.asarray(zipf_tail_mass(hi, s)))


# ---------------------------------------------------------------------------------------------
# capacity, data and loss


def quanta_capacity(n_params: Any, params_per_quantum: float) -> float | np.ndarray:
    """``n(N) = floor(N / c)``: how many quanta ``N`` parameters can hold (Michaud et al.'s
    assumption of a fixed parameter cost ``c`` per quantum)."""
    n = positive_array("n_params", n_params)
    c = positive_number("params_per_quantum", params_per_quantum)
    return as_output(np.floor(n / c))


def quanta_data_limit(n_tokens: Any, s: float, min_count: float = 1.0) -> float | np.ndarray:
    """The number of leading quanta seen at least ``min_count`` times *in expectation* among
    ``n_tokens`` uses: ``floor((D / (min_count zeta(s)))^(1/s))`` (``inf`` for ``D = inf``)."""
    s = _zipf_s(s)
    d = nonneg_array("n_tokens", n_tokens, allow_inf=True)
    m = positive_number("min_count", min_count)
    with np.errstate(over="ignore"):
        out = np.where(np.isinf(d), np.inf, np.floor((d / (m * zeta(s))) ** (1.0 / s)))
    return as_output(out)


def quanta_learned(n_params: Any, params_per_quantum: float, s: float,
                   n_tokens: Any = np.inf, min_count: float = 1.0) -> float | np.ndarray:
    """Quanta learned: the first ``min(n(N), n_data(D))`` (capacity- or data-limited)."""
    cap = np.asarray(quanta_capacity(n_params, params_per_quantum))
    dat = np.asarray(quanta_data_limit(n_tokens, s, min_count))
    return as_output(np.minimum(cap, dat))


def quanta_loss(n_learned: Any, s: float, loss_per_quantum: float = 1.0) -> float | np.ndarray:
    """Reducible loss when the first ``n`` quanta are learned: each unlearned quantum costs its
    frequency times ``loss_per_quantum``; the loss falls as ``n^-(s-1)``."""
    s = _zipf_s(s)
    n = _ranks_after("n_learned", n_learned)
    dl = positive_number("loss_per_quantum", loss_per_quantum)
    return as_output(dl * _tail(n, s))


# ---------------------------------------------------------------------------------------------
# sampled quanta


def sample_quanta_counts(n_tokens: int, n_quanta: int, s: float,
                         rng: np.random.Generator | int = 0) -> np.ndarray:
    """How often each of the first ``n_quanta`` quanta occurs among ``n_tokens`` Zipf draws
    (draws of rarer quanta are dropped). Deterministic for an integer seed."""
    d = count("n_tokens", n_tokens, 0)
    k = count("n_quanta", n_quanta, 1)
    s = _zipf_s(s)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(
        count("rng", rng, 0))
    p = np.asarray(zipf_frequency(np.arange(1, k + 1), s))
    p_all = np.append(p, max(0.0, 1.0 - p.sum()))
    return gen.multinomial(d, p_all / p_all.sum())[:k]


def learned_from_counts(counts: Any, capacity: float, min_count: int = 1) -> np.ndarray:
    """Boolean mask of learned quanta: rank within capacity and seen ``>= min_count`` times."""
    allowed = "a non-empty 1-d array of integer counts >= 0"
    try:
        c = np.asarray(counts, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("counts", counts, allowed) from None
    if c.ndim != 1 or c.size == 0 or not np.all(np.isfinite(c)) or np.any(c < 0) \
            or np.any(c != np.floor(c)):
        raise ParameterError("counts", counts, allowed)
    cap = require_float("capacity", capacity, 0.0, None)
    m = count("min_count", min_count, 1)
    ranks = np.arange(1, c.size + 1)
    return (ranks <= cap) & (c >= m)


def unlearned_mass(learned: Any, s: float) -> float:
    """Reducible loss of a model that has learned the quanta marked in ``learned`` (a boolean
    mask over ranks ``1..len(learned)``): ``1 - sum_{k learned} p_k``. Quanta beyond the mask
    count as unlearned."""
    mask = np.asarray(learned)
    if mask.dtype != bool or mask.ndim != 1 or mask.size == 0:
        raise ParameterError("learned", learned, "a non-empty 1-d boolean mask over ranks")
    p = np.asarray(zipf_frequency(np.arange(1, mask.size + 1), s))
    return 1.0 - float(p[mask].sum())


@dataclasses.dataclass(frozen=True)
class QuantaSweepConfig:
    """Draw ``D`` quantum uses for a grid of budgets ``D`` and see which quanta models of given
    capacities learn (a quantum is learned once seen ``min_count`` times, if there is room).

    The budgets are ``data_points`` sizes spaced geometrically from ``D_full / budget_span[0]``
    to ``D_full * budget_span[1]`` (rounded down, duplicates dropped), where
    ``D_full = min_count / p_K`` is the budget at which quantum ``K``, the last the largest model
    has room for, is expected ``min_count`` times. Only the first ``n_ranks`` ranks are sampled
    (default ``2 K``): no model can learn rarer ones. One generator, seeded with ``seed``, draws
    every budget in turn; all models see the same draws.
    """

    s: float
    capacities: Mapping[str, int]  # model name -> quanta it has room for
    min_count: int = 1
    data_points: int = 12
    budget_span: tuple[float, float] = (1e4, 30.0)
    n_ranks: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        _zipf_s(self.s)
        if not isinstance(self.capacities, Mapping) or not self.capacities:
            raise ParameterError("capacities", self.capacities,
                                 "a non-empty mapping of model name -> capacity")
        caps = {}
        for name, cap in self.capacities.items():
            if not isinstance(name, str):
                raise ParameterError("capacities", self.capacities, "model names as strings")
            caps[name] = count(f"capacities[{name!r}]", cap, 0)
        if max(caps.values()) < 1:
            raise ParameterError("capacities", self.capacities, "at least one capacity >= 1")
        object.__setattr__(self, "capacities", caps)
        count("min_count", self.min_count, 1)
        count("data_points", self.data_points, 2)
        span = self.budget_span
        if not isinstance(span, (tuple, list)) or len(span) != 2:
            raise ParameterError("budget_span", span, "a pair (divisor, multiplier) of D_full")
        below = positive_number("budget_span[0]", span[0])
        above = positive_number("budget_span[1]", span[1])
        if below * above <= 1.0:
            raise ParameterError("budget_span", span, "a pair with budget_span[0] * "
                                 "budget_span[1] > 1 (an increasing range of budgets)")
        object.__setattr__(self, "budget_span", tuple(span))
        if self.n_ranks is not None and count("n_ranks", self.n_ranks, 1) < self.largest:
            raise ParameterError("n_ranks", self.n_ranks,
                                 f"an integer >= the largest capacity {self.largest}")
        count("seed", self.seed, 0)

    @property
    def largest(self) -> int:
        """``K``: the largest capacity."""
        return max(self.capacities.values())

    @property
    def ranks(self) -> int:
        """How many leading ranks are sampled."""
        return 2 * self.largest if self.n_ranks is None else int(self.n_ranks)

    def full_budget(self) -> float:
        """``D_full = min_count / p_K``."""
        return self.min_count * zipf_frequency(self.largest, self.s) ** -1

    def token_budgets(self) -> np.ndarray:
        """The data budgets ``D`` of the sweep (integers, increasing)."""
        d_full = self.full_budget()
        below, above = self.budget_span
        return np.unique(np.geomspace(d_full / below, d_full * above, self.data_points)
                         .astype(np.int64))


def run_quanta_sweep(config: QuantaSweepConfig) -> pd.DataFrame:
    """One row per budget and model: ``tokens, model, capacity, learned`` (quanta learned) and
    ``reducible_loss`` (:func:`unlearned_mass` of what it learned), budgets in increasing order
    and models in the order of ``config.capacities``."""
    if not isinstance(config, QuantaSweepConfig):
        raise ParameterError("config", config, "a QuantaSweepConfig")
    rng = np.random.default_rng(config.seed)
    rows = []
    for n_tokens in config.token_budgets():
        counts = sample_quanta_counts(int(n_tokens), config.ranks, config.s, rng)
        for name, cap in config.capacities.items():
            learned = learned_from_counts(counts, cap, config.min_count)
            rows.append({"tokens": int(n_tokens), "model": name, "capacity": cap,
                         "learned": int(learned.sum()),
                         "reducible_loss": unlearned_mass(learned, config.s)})
    return pd.DataFrame(rows)
