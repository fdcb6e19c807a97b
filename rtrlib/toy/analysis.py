"""Measured quantities read off the tables of the toy experiments (chapters 3 to 5).

- :func:`learning_times`: when each feature is learned, from a sweep's feature table (ch. 3);
- :func:`effective_width`: the linear width whose optimum matches a given mixture loss (ch. 3);
- :func:`measured_critical_width`: the width from which the rare task is learned (ch. 4);
- :func:`common_pull`: the common tasks' frequency-weighted gradient norm over training (ch. 4);
- :func:`retention_summary`: how much of each burst a model keeps until the next (ch. 5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rtrlib.params import require_float
from rtrlib.theory.utility import optimal_total_loss

__all__ = ["learning_times", "effective_width", "measured_critical_width", "common_pull",
           "retention_summary"]


def learning_times(features: pd.DataFrame, width: int, threshold: float = 0.5) -> pd.DataFrame:
    """Each feature's learning time in the models of ``width``: the first step at which its
    loss with the model's readout falls below ``threshold * lambda``, interpolated linearly in
    log-step between the two logged steps around the crossing (0 if it starts below, ``inf``
    if it never gets there).

    ``features`` is a sweep's per-feature table (:func:`rtrlib.toy.run_sweep_full`). Returns
    one row per (seed, feature) with its task, j, pi, utility and ``time``.
    """
    require_float("threshold", threshold, 0.0, 1.0, lo_open=True)
    d = features[features.width == width]
    rows = []
    for (s, f), g in d.groupby(["seed", "feature"]):
        g = g.sort_values("step")
        frac = (g.feature_loss / g.lam).to_numpy()
        st = g.step.to_numpy().astype(float)
        below = np.nonzero(frac <= threshold)[0]
        if len(below) == 0:
            t = np.inf
        elif below[0] == 0:
            t = 0.0
        else:
            i = below[0]
            x0, x1 = np.log(max(st[i - 1], 1.0)), np.log(st[i])
            w = (frac[i - 1] - threshold) / (frac[i - 1] - frac[i])
            t = float(np.exp(x0 + w * (x1 - x0)))
        rows.append({"seed": s, "feature": f, "task": g.task.iloc[0], "j": g.j.iloc[0],
                     "pi": g.pi.iloc[0], "utility": g.utility.iloc[0], "time": t})
    return pd.DataFrame(rows)


def effective_width(loss: float, pi, spectra) -> int:
    """The smallest width whose optimal linear encoder has mixture loss at most ``loss``
    (Theorem 3's :func:`~rtrlib.theory.utility.optimal_total_loss`); the total number of
    features if none does. How wide a linear model a trained model is worth."""
    n_features = sum(len(s) for s in spectra)
    for n in range(n_features + 1):
        if optimal_total_loss(pi, spectra, n) <= loss + 1e-12:
            return n
    return n_features


def measured_critical_width(df: pd.DataFrame, rare: int, threshold: float = 0.5) -> float:
    """The smallest width from which on every larger width learned the rare task (final
    residual relative to its variance below ``threshold``, averaged over seeds); NaN if even the
    widest failed. ``df`` is :func:`rtrlib.toy.run_interference`'s table."""
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


def common_pull(df: pd.DataFrame, rare: int) -> pd.DataFrame:
    """The common tasks' pull on the encoder, ``sum_{k != r} pi_k ||grad_U l_k||_F``, per
    (width, step), averaged over seeds, from :func:`rtrlib.toy.run_interference`'s table;
    ``relative`` is each value over that width's peak."""
    common = df[df["task"] != rare]
    weighted = (common["pi"] * common["grad_norm"]).rename("pull")
    pull = (pd.concat([common[["width", "seed", "step"]], weighted], axis=1)
            .groupby(["width", "seed", "step"])["pull"].sum()
            .groupby(["width", "step"]).mean().reset_index())
    pull["relative"] = pull["pull"] / pull.groupby("width")["pull"].transform("max")
    return pull


def retention_summary(df: pd.DataFrame, tail: float = 0.5, min_peak: float = 0.05
                      ) -> pd.DataFrame:
    """Per (width, gap, seed) of :func:`rtrlib.toy.run_retention`'s table, over the last
    ``tail`` of training:

    ``retained`` the mean over complete burst cycles of (signal just before the next burst) /
    (peak signal in the cycle), NaN where the peak stays below ``min_peak`` (nothing was
    encoded); ``peak`` the mean cycle peak; ``mean_signal``, ``mean_rare_loss`` and
    ``mean_common_loss`` the time averages.
    """
    require_float("tail", tail, 0.0, 1.0, lo_open=True)
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
