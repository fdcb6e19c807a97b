"""Chapter 3's null model, and the metrics that test Theorem 3 against it.

The **frequency-order null model** learns whole tasks in decreasing order of frequency
``pi_k`` (ties by task index), and a task's features in decreasing order of variance
``lambda_{k,j}``: it ignores utility. A width-N null model holds the first N features of that
order. Theorem 3 says a width-N model holds the N features of largest *utility*
``u = pi * lambda`` instead; the two agree wherever frequency alone decides, so a test of the
theorem must look where they disagree.

- :func:`frequency_order`: each feature's rank in the null's order;
- :func:`frequency_order_loss`: the null's per-task loss at width N;
- :func:`disagreement_pairs`: per (width, task), Theorem 3's band of optimal losses, the null's
  loss, and whether the two are told apart by more than twice the tolerance;
- :func:`minimiser_match`: per seed, on those pairs, how often the trained loss matches the
  theorem and how often it matches the null;
- :func:`order_correlations`: per seed, rank correlations of learning speed with utility, with
  frequency alone and with the null's order;
- :func:`null_times`: the same learning times, handed out in the null's order (the control);
- :func:`gap_advantage`: per seed, the smallest advantage of utility over the null's order
  across the non-zero complexity gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from rtrlib.params import ParameterError, require_float
from rtrlib.theory.utility import optimal_loss_range, utilities

__all__ = ["frequency_order", "frequency_order_loss", "disagreement_pairs", "minimiser_match",
           "order_correlations", "null_times", "gap_advantage"]


def frequency_order(pi, spectra) -> np.ndarray:
    """Rank (1 = first) of every feature (flattened task by task) in the null's order: tasks
    by decreasing frequency (stable), within a task by decreasing variance (stable)."""
    u, task, j = utilities(pi, spectra)
    lam = np.concatenate([np.atleast_1d(np.asarray(s, dtype=float)) for s in spectra])
    pi = np.asarray(pi, dtype=float)
    order = np.lexsort((j, -lam, task, -pi[task]))   # last key is the primary one
    rank = np.empty(len(u), dtype=int)
    rank[order] = np.arange(1, len(u) + 1)
    return rank


def frequency_order_loss(pi, spectra, width: int) -> np.ndarray:
    """Each task's loss (the sum of the variances it leaves out) when a width-``width`` model
    holds the first ``width`` features of the null's order: (K,)."""
    if int(width) != width or width < 0:
        raise ParameterError("width", width, "a non-negative integer")
    _, task, _ = utilities(pi, spectra)
    lam = np.concatenate([np.atleast_1d(np.asarray(s, dtype=float)) for s in spectra])
    kept = frequency_order(pi, spectra) <= int(width)
    return np.bincount(task[~kept], weights=lam[~kept], minlength=len(pi))


def disagreement_pairs(pi, spectra, widths: Sequence[int], tolerance: float,
                       tie_rtol: float = 0.0) -> pd.DataFrame:
    """One row per (width, task): Theorem 3's range of optimal losses ``lo``..``hi``
    (:func:`~rtrlib.theory.utility.optimal_loss_range`, exact ties only when ``tie_rtol`` is
    0), the null's loss ``null``, the task's ``variance``, and ``disagree``: the null's loss lies
    more than ``2 * tolerance * variance`` outside ``[lo, hi]``, so that no loss is within
    ``tolerance * variance`` of both predictions."""
    tolerance = require_float("tolerance", tolerance, 0.0, 1.0, lo_open=True)
    require_float("tie_rtol", tie_rtol, 0.0, 1.0)
    variance = np.array([float(np.sum(s)) for s in spectra])
    rows = []
    for w in widths:
        lo, hi = optimal_loss_range(pi, spectra, int(w), tie_rtol)
        null = frequency_order_loss(pi, spectra, int(w))
        outside = np.maximum(lo - null, null - hi)
        rows.append(pd.DataFrame({"width": int(w), "task": np.arange(len(variance)), "lo": lo,
                                  "hi": hi, "null": null, "variance": variance,
                                  "disagree": outside > 2 * tolerance * variance}))
    return pd.concat(rows, ignore_index=True)


def minimiser_match(final: pd.DataFrame, pairs: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Per seed, over the (width, task) pairs where theorem and null disagree
    (:func:`disagreement_pairs`): ``theorem`` the fraction whose trained ``task_loss`` lies
    within ``tolerance * variance`` of Theorem 3's range, ``null`` the fraction within
    ``tolerance * variance`` of the null's loss (the control), and ``pairs`` their number.

    ``final`` holds one row per (seed, width, task) with ``task_loss`` (a sweep's last step).
    The two fractions cannot add up to more than one. NaN when no pair disagrees."""
    tolerance = require_float("tolerance", tolerance, 0.0, 1.0, lo_open=True)
    d = final[["seed", "width", "task", "task_loss"]].merge(
        pairs[pairs["disagree"]], on=["width", "task"], how="inner")
    slack = tolerance * d["variance"]
    d = d.assign(theorem=(d["task_loss"] >= d["lo"] - slack) & (d["task_loss"] <= d["hi"] + slack),
                 null=(d["task_loss"] - d["null"]).abs() <= slack)
    out = d.groupby("seed").agg(pairs=("task", "size"), theorem=("theorem", "mean"),
                                null=("null", "mean"))
    seeds = sorted(final["seed"].unique())
    return out.reindex(seeds).astype({"theorem": float, "null": float})


def _rho(predictor: np.ndarray, time: np.ndarray) -> float:
    """Spearman correlation of a predictor with learning *speed* (earlier = faster)."""
    if np.ptp(predictor) == 0 or np.all(time == time[0]):
        return float("nan")
    return float(spearmanr(predictor, -time).statistic)


def order_correlations(times: pd.DataFrame, pi, spectra) -> pd.DataFrame:
    """Per seed, from :func:`rtrlib.toy.learning_times` (features never learned count as
    last): Spearman correlations of learning speed with ``utility`` (Theorem 3), with the
    task's frequency alone (``frequency``, tied within a task) and with the null's order
    (``null_order``: frequency, then variance within a task), and ``advantage`` =
    ``utility - null_order``."""
    rank = frequency_order(pi, spectra)
    rows = []
    for s, g in times.groupby("seed"):
        t = g["time"].to_numpy(dtype=float)
        f = g["feature"].to_numpy()
        r_u = _rho(g["utility"].to_numpy(dtype=float), t)
        r_n = _rho(-rank[f].astype(float), t)
        rows.append({"seed": s, "utility": r_u, "frequency": _rho(g["pi"].to_numpy(float), t),
                     "null_order": r_n, "advantage": r_u - r_n})
    return pd.DataFrame(rows).set_index("seed")


def null_times(times: pd.DataFrame, pi, spectra) -> pd.DataFrame:
    """The control's learning times: per seed, the same set of times handed out in the null's
    order (the feature first in that order gets the earliest time)."""
    rank = frequency_order(pi, spectra)
    out = []
    for _, g in times.groupby("seed"):
        g = g.copy()
        sorted_times = np.sort(g["time"].to_numpy(dtype=float))
        pos = np.argsort(np.argsort(rank[g["feature"].to_numpy()], kind="stable"), kind="stable")
        g["time"] = sorted_times[pos]
        out.append(g)
    return pd.concat(out)


def gap_advantage(table: pd.DataFrame) -> pd.Series:
    """Per seed, the smallest ``advantage`` over the non-zero complexity gaps of a table with
    columns ``gap``, ``seed``, ``advantage`` (one row per gap and seed)."""
    d = table[table["gap"] > 0]
    if d.empty:
        raise ParameterError("table.gap", sorted(table["gap"].unique()),
                             "at least one non-zero complexity gap")
    return d.groupby("seed")["advantage"].agg(lambda a: float(np.min(a.to_numpy())))
