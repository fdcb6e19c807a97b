"""Chapter 7's registered claims, measured once per seed from a levers grid.

Each function takes :func:`rtrlib.toy.levers.run_levers_grid`'s table (one row per width, rate,
gap and seed) and returns one number per seed (a Series indexed by seed):

- :func:`replay_learned_fraction`: the share of replay-lever settings (base rate, gaps shorter
  than the base gap) that learned, at widths below, or at and above, the critical width;
- :func:`learnability_agreement`: the share of settings where "learned" agrees with a rule
  ``N >= N_c(rate)``, for any rule's critical widths (:func:`rule_critical_widths`);
- :func:`cheapest_lever_agreement`: the share of baseline widths at which the measured cheapest
  lever (:func:`lever_winners`) is the one :func:`~rtrlib.toy.lever_costs.predicted_cheapest`
  predicts from a rule's critical widths (:func:`lever_matches`, per baseline width).

The rules: ``"utility"`` (Proposition 6, the utility ranking), ``"frequency"`` (tasks learned
whole in frequency order, spectra ignored) and ``"width"`` (the rate ignored: the baseline's
critical width at every rate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rtrlib.params import ParameterError
from rtrlib.toy.lever_costs import cheapest_levers, lever_table, predicted_cheapest

if TYPE_CHECKING:
    from rtrlib.toy.levers import LeversConfig

__all__ = ["RULES", "frequency_only_critical_width", "rule_critical_widths",
           "replay_learned_fraction", "learnability_agreement", "lever_winners",
           "lever_matches", "cheapest_lever_agreement"]

RULES = ("utility", "frequency", "width")


def frequency_only_critical_width(config: LeversConfig, rate: int) -> int:
    """The frequency-only rule's critical width at ``rate``: tasks are learned whole in
    frequency order, so the rare task gets its first feature once every task at least as
    frequent is fully represented (spectra ignored; ties counted against the rare task)."""
    mixture = config.mixture_config(rate).build()
    pi, rare = mixture.pi, config.rare
    return 1 + sum(len(s) for k, s in enumerate(mixture.spectra)
                   if k != rare and pi[k] >= pi[rare])


def rule_critical_widths(config: LeversConfig, rule: str = "utility") -> dict[int, int]:
    """Every rate of the grid -> its critical width under ``rule`` (one of :data:`RULES`)."""
    if rule == "utility":
        return {r: config.critical_width(r) for r in config.rates}
    if rule == "frequency":
        return {r: frequency_only_critical_width(config, r) for r in config.rates}
    if rule == "width":
        nc0 = config.critical_width()
        return {r: nc0 for r in config.rates}
    raise ParameterError("rule", rule, "one of " + ", ".join(RULES))


def _per_seed(grid: pd.DataFrame, mask: pd.Series, what: str) -> pd.Series:
    sel = grid[mask]
    if sel.empty:
        raise ParameterError("grid", what, "a grid with at least one such setting")
    return sel.groupby("seed")["learned"].mean().astype(float)


def replay_learned_fraction(grid: pd.DataFrame, config: LeversConfig,
                            below: bool = True) -> pd.Series:
    """Per seed: the share of replay-lever settings (rate ``base_rate``, gap shorter than
    ``base_gap``) that learned the rare task, over the grid's widths below the critical width
    ``N_c(base_rate)`` (``below=True``), or at and above it (``below=False``)."""
    nc0 = config.critical_width()
    side = grid["width"] < nc0 if below else grid["width"] >= nc0
    mask = (grid["rate"] == config.base_rate) & (grid["gap"] < config.base_gap) & side
    return _per_seed(grid, mask, f"replay settings {'below' if below else 'at or above'} "
                                 f"N_c = {nc0}")


def learnability_agreement(grid: pd.DataFrame, critical_widths: dict[int, int]) -> pd.Series:
    """Per seed: the share of the grid's settings (width, rate, gap) at which whether the model
    learned the rare task agrees with the rule ``width >= critical_widths[rate]``."""
    nc = grid["rate"].map(critical_widths)
    if nc.isna().any():
        raise ParameterError("critical_widths", critical_widths, "a width for every rate")
    agree = (grid["learned"].astype(bool) == (grid["width"] >= nc)).astype(float)
    return agree.groupby(grid["seed"]).mean()


def lever_winners(grid: pd.DataFrame, config: LeversConfig) -> pd.DataFrame:
    """One row per (seed, baseline width): the cheapest lever measured on that seed alone
    (the least compute-to-learn among :func:`~rtrlib.toy.lever_costs.cheapest_levers`).
    ``measured`` names it; levers tied at the least compute (the baseline itself, listed under
    every lever, when it learns cheapest) are joined by " or "; ``"none learns"`` when no
    lever did."""
    rows = []
    for seed, g in grid.groupby("seed"):
        tables = pd.concat([lever_table(g, config, w) for w in config.base_widths],
                           ignore_index=True)
        best = cheapest_levers(tables)
        for n0 in sorted(config.base_widths):
            b = best[(best["base_width"] == n0) & best["flops_to_learn"].notna()]
            least = b["flops_to_learn"].min() if len(b) else float("nan")
            tied = sorted(b.loc[np.isclose(b["flops_to_learn"], least), "lever"])
            rows.append({"seed": int(seed), "N0": n0,
                         "measured": " or ".join(tied) if tied else "none learns"})
    return pd.DataFrame(rows)


def lever_matches(winners: pd.DataFrame, config: LeversConfig,
                  critical_widths: dict[int, int]) -> pd.Series:
    """Per row of :func:`lever_winners`: whether the measured cheapest lever (any of those
    tied) is among those :func:`~rtrlib.toy.lever_costs.predicted_cheapest` predicts from
    ``critical_widths``."""
    match = [bool(set(row.measured.split(" or "))
                  & predicted_cheapest(int(row.N0), critical_widths, config.base_rate))
             for row in winners.itertuples()]
    return pd.Series(match, index=winners.index, dtype=bool)


def cheapest_lever_agreement(winners: pd.DataFrame, config: LeversConfig,
                             critical_widths: dict[int, int]) -> pd.Series:
    """Per seed: the share of baseline widths at which the measured cheapest lever is a
    predicted one (:func:`lever_matches`)."""
    match = lever_matches(winners, config, critical_widths).astype(float)
    return match.groupby(winners["seed"]).mean()
