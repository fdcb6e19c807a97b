"""Chapter 4's registered metrics, one number per seed, read off :func:`run_interference`'s table.

- :func:`residual_law`: Theorem 4 as a fitted relation: the log-log slope of a common task's
  encoder-gradient norm against its residual while the task is being learned, one intercept per
  model (the bound's constant ``2 sqrt(lambda_{k,1}) / sigma_min`` is shared by every common task
  of a model when all have ``lambda_{k,1} = 1``); with ``partner=True`` the control, each
  gradient paired with another learned task's residual at the same steps;
- :func:`fade_steps` and :func:`fade_correlation`: Corollary 5: when the frequency-weighted pull
  of the common tasks falls below a fixed fraction of its peak, and the rank correlation of that
  step with width over the widths below the feature count;
- :func:`critical_widths`: Proposition 6 per seed (the narrowest width from which every wider one
  learned the rare task), and :func:`frequency_only_critical_width`, the prediction of a learner
  that takes whole tasks in frequency order (the control).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rtrlib.params import require_float, require_int
from rtrlib.toy.analysis import measured_critical_width

__all__ = ["residual_law", "fit_slope", "fade_steps", "fade_correlation", "rank_correlation",
           "critical_widths", "frequency_only_critical_width"]


def fit_slope(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of ``y`` on ``x`` with one intercept per group, and its R^2 within
    groups; (NaN, NaN) when ``x`` does not vary within any group."""
    frame = pd.DataFrame({"x": x, "y": y, "g": groups})
    dx = frame["x"] - frame.groupby("g")["x"].transform("mean")
    dy = frame["y"] - frame.groupby("g")["y"].transform("mean")
    sxx = float((dx * dx).sum())
    if not sxx > 0:
        return float("nan"), float("nan")
    b = float((dx * dy).sum()) / sxx
    syy = float((dy * dy).sum())
    r2 = 1.0 - float(((dy - b * dx) ** 2).sum()) / syy if syy > 0 else float("nan")
    return b, r2


def _decay_phase(d: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows of each series from the logged step of its largest gradient on."""
    peak = d.loc[d.groupby(keys)["grad_norm"].idxmax(), keys + ["step"]]
    d = d.merge(peak.rename(columns={"step": "peak_step"}), on=keys)
    return d[d["step"] >= d["peak_step"]]


def residual_law(df: pd.DataFrame, rare: int, n_features: int, *, learned: float = 0.05,
                 floor: float = 1e-6, partner: bool = False) -> pd.DataFrame:
    """Per seed, the fitted exponent ``b`` of ``||grad_U l_k|| ~ c_N * residual_k^b``.

    The points: every logged step from a series' gradient peak on (the task is being learned),
    of every common task that a model narrower than ``n_features`` ends with residual below
    ``learned`` of its variance; residuals below ``floor`` of the variance (float noise) are left
    out. One intercept per model (width). Theorem 4 predicts ``b = 1/2`` (its bound
    ``2 sqrt(lambda_{k,1} l_k) / sigma_min`` is tight once a task is nearly learned).

    ``partner=True`` is the control: each task's gradient against the residual of the next
    learned common task of the same model (cyclically in task order) at the same steps, on the
    same points (models with a single learned common task are left out of both fits). Returns
    one row per seed: ``slope``, ``r2`` (within models), ``points``, ``series``; NaN where a
    seed has no such points.
    """
    require_float("learned", learned, 0.0, 1.0, lo_open=True)
    require_float("floor", floor, 0.0, 1.0)
    require_int("n_features", n_features, 1)
    keys = ["seed", "width", "task"]
    d = df[(df["task"] != rare) & (df["width"] < n_features) & (df["step"] > 0)]
    last = d[d["step"] == d["step"].max()]
    done = last[last["residual"] < learned * last["variance"]][keys]
    d = d.merge(done, on=keys)
    pairs = []
    for (s, w), g in done.groupby(["seed", "width"]):
        tasks = sorted(g["task"])
        if len(tasks) < 2:  # no other learned task to pair with: the model is left out
            continue
        pairs += [(s, w, t, tasks[(i + 1) % len(tasks)]) for i, t in enumerate(tasks)]
    pairs = pd.DataFrame(pairs, columns=keys + ["partner"])
    other = d[keys + ["step", "residual"]].rename(columns={"task": "partner",
                                                           "residual": "partner_residual"})
    d = d.merge(pairs, on=keys).merge(other, on=["seed", "width", "partner", "step"])
    d = _decay_phase(d, keys) if len(d) else d
    ok = ((d["residual"] > floor * d["variance"]) & (d["partner_residual"] > floor * d["variance"])
          & (d["grad_norm"] > 0)) if len(d) else np.zeros(0, bool)
    d = d[ok]
    rows = []
    for s in sorted(df["seed"].unique()):
        g = d[d["seed"] == s]
        x = g["partner_residual" if partner else "residual"].to_numpy(float)
        slope, r2 = (fit_slope(np.log(x), np.log(g["grad_norm"].to_numpy(float)),
                               g["width"].to_numpy()) if len(g) > 2 else (np.nan, np.nan))
        rows.append({"seed": int(s), "slope": slope, "r2": r2, "points": len(g),
                     "series": g.groupby(["width", "task"]).ngroups if len(g) else 0})
    return pd.DataFrame(rows)


def fade_steps(df: pd.DataFrame, rare: int, fraction: float = 0.25, smooth: int = 3
               ) -> pd.DataFrame:
    """When each model's common tasks stop pulling on the encoder.

    The pull is ``sum_{k != r} pi_k ||grad_U l_k||_F`` per (seed, width, logged step), smoothed by
    a running median over ``smooth`` consecutive logged steps; its fade step is the first logged
    step after its peak at which it is below ``fraction`` of that peak (``inf`` if it never
    is). Returns one row per (seed, width): ``peak``, ``final`` (last value / peak), ``fade``.
    """
    require_float("fraction", fraction, 0.0, 1.0, lo_open=True, hi_open=True)
    require_int("smooth", smooth, 1)
    common = df[df["task"] != rare]
    pull = ((common["pi"] * common["grad_norm"]).groupby(
        [common["seed"], common["width"], common["step"]]).sum().rename("pull").reset_index())
    rows = []
    for (s, w), g in pull.groupby(["seed", "width"]):
        g = g.sort_values("step")
        v = g["pull"].rolling(smooth, center=True, min_periods=1).median().to_numpy()
        steps = g["step"].to_numpy()
        i = int(np.argmax(v))
        below = np.nonzero(v[i + 1:] < fraction * v[i])[0]
        rows.append({"seed": int(s), "width": int(w), "peak": float(v[i]),
                     "final": float(v[-1] / v[i]) if v[i] > 0 else float("nan"),
                     "fade": float(steps[i + 1 + below[0]]) if len(below) else float("inf")})
    return pd.DataFrame(rows)


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation with average ranks for ties (``inf`` ranks last); 0 when
    either variable is constant (no monotone trend), NaN with fewer than two points."""
    xs, ys = pd.Series(np.asarray(x, float)), pd.Series(np.asarray(y, float))
    if len(xs) < 2:
        return float("nan")
    rx, ry = xs.rank(), ys.rank()
    if rx.nunique() < 2 or ry.nunique() < 2:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def fade_correlation(df: pd.DataFrame, rare: int, n_features: int, fraction: float = 0.25,
                     smooth: int = 3) -> pd.DataFrame:
    """Per seed, the rank correlation of width with the fade step (:func:`fade_steps`) over the
    widths below ``n_features``: Corollary 5 predicts it negative (wider models stop pulling
    sooner). Returns ``seed``, ``rho``, ``widths`` and the fade steps ``fades``."""
    f = fade_steps(df, rare, fraction, smooth)
    f = f[f["width"] < n_features]
    rows = []
    for s, g in f.groupby("seed"):
        g = g.sort_values("width")
        rows.append({"seed": int(s), "rho": rank_correlation(g["width"], g["fade"]),
                     "widths": g["width"].tolist(), "fades": g["fade"].tolist()})
    return pd.DataFrame(rows)


def critical_widths(df: pd.DataFrame, rare: int, threshold: float = 0.5) -> pd.Series:
    """Per seed, the measured critical width (:func:`measured_critical_width` on that seed's
    models alone); NaN where even the widest model failed."""
    return pd.Series({int(s): measured_critical_width(g, rare, threshold)
                      for s, g in df.groupby("seed")}, name="critical_width")


def frequency_only_critical_width(pi: Sequence[float], spectra: Sequence[Sequence[float]],
                                  rare: int) -> int:
    """The critical width of a learner that takes whole tasks in frequency order (spectra
    ignored): one more than the number of features of every other task at least as frequent as
    ``rare`` (ties counted against it, as in Proposition 6)."""
    pi = np.asarray(pi, dtype=float)
    require_int("rare", rare, 0, len(pi) - 1)
    return 1 + sum(len(spectra[k]) for k in range(len(pi)) if k != rare and pi[k] >= pi[rare])
