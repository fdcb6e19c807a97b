"""Chapter 5's registered metrics, one number per seed, read off :func:`run_retention`'s table.

- :func:`burst_cycles`: the rare task's signal and loss per burst cycle (or per window of a
  given length, for a stream without such bursts);
- :func:`forget_fraction`: the update-forget cycle, detected: the share of cycles in which a
  burst lifts the rare signal above a threshold and the model has lost more than half of it
  before the next burst;
- :func:`accumulation_ratio`: whether bursts build on each other: the rare loss reached right
  after the bursts late in training over the same early in training;
- :func:`gap_effect`: how much a larger gap raises the rare loss at equal global frequency, at
  every given width; with ``between="seeds"`` the control, two independent streams with equal
  gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rtrlib.params import ParameterError, require_float, require_int

__all__ = ["burst_cycles", "forget_fraction", "accumulation_ratio", "gap_effect"]


def burst_cycles(df: pd.DataFrame, gap: int, window: int | None = None, tail: float = 1.0
                 ) -> pd.DataFrame:
    """Per (width, seed, cycle) of the streams with ``gap``: the ``peak`` rare signal, the
    signal at its ``end`` (the last logged step before the next cycle), the lowest rare loss
    ``loss_min`` and the ``first`` signal.

    Cycles are windows of ``window`` steps (default ``gap``: from one burst to the next) counted
    from the first burst; only complete windows (logged up to their last step) in the last
    ``tail`` of training are kept.
    """
    require_int("gap", gap, 1)
    window = require_int("window", gap if window is None else window, 1)
    require_float("tail", tail, 0.0, 1.0, lo_open=True)
    d = df[(df["gap"] == gap) & (df["cycle"] >= 0)]
    if d.empty:
        raise ParameterError("gap", gap, "a gap of the table: " + str(sorted(df["gap"].unique())))
    rel = d["cycle"] * d["gap"] + d["since_burst"]          # steps since the first burst
    d = d.assign(rel=rel, win=rel // window).sort_values("step")
    cyc = d.groupby(["width", "seed", "win"]).agg(
        first=("rare_signal", "first"), peak=("rare_signal", "max"),
        end=("rare_signal", "last"), loss_min=("rare_loss", "min"), last=("rel", "max"),
        start=("step", "min"))
    cyc = cyc[cyc["last"] == (cyc.index.get_level_values("win") + 1) * window - 1]
    start = df["step"].max() * (1 - tail)
    cyc = cyc[cyc["start"] >= start]
    return cyc.drop(columns=["last"]).reset_index().rename(columns={"win": "cycle"})


def forget_fraction(df: pd.DataFrame, widths: Sequence[int], gap: int,
                    window: int | None = None, threshold: float = 0.2, tail: float = 0.5
                    ) -> pd.Series:
    """Per seed, the fraction of the cycles of the models of ``widths`` (pooled) in which the
    rare signal peaks at ``threshold`` or more and ends below half its peak: encoded, then lost.
    Cycles as in :func:`burst_cycles` (``window`` steps, in the last ``tail`` of training); NaN
    for a seed without complete cycles."""
    require_float("threshold", threshold, 0.0, 1.0, lo_open=True)
    cyc = burst_cycles(df, gap, window, tail)
    cyc = cyc[cyc["width"].isin(list(widths))]
    hit = (cyc["peak"] >= threshold) & (cyc["end"] < 0.5 * cyc["peak"])
    out = hit.groupby(cyc["seed"]).mean()
    seeds = sorted(df["seed"].unique())
    return out.reindex(seeds).rename("forget_fraction")


def accumulation_ratio(df: pd.DataFrame, width: int, gap: int, part: float = 0.25
                       ) -> pd.Series:
    """Per seed, in the model of ``width`` at ``gap``: the mean over the last ``part`` of the
    burst cycles of the lowest rare loss in the cycle (reached just after its burst), divided by
    the same over the first ``part`` of the cycles. Below 1 when each burst builds on the last;
    about 1 when every burst starts from scratch."""
    require_float("part", part, 0.0, 0.5, lo_open=True)
    cyc = burst_cycles(df, gap)
    cyc = cyc[cyc["width"] == width]
    out = {}
    for s, g in cyc.groupby("seed"):
        lm = g.sort_values("cycle")["loss_min"].to_numpy()
        k = max(1, int(round(part * len(lm))))
        out[int(s)] = float(lm[-k:].mean() / lm[:k].mean()) if len(lm) >= 2 else np.nan
    return pd.Series(out, name="accumulation_ratio").reindex(sorted(df["seed"].unique()))


def gap_effect(df: pd.DataFrame, widths: Sequence[int], gap_hi: int, gap_lo: int,
               tail: float = 0.5, between: str = "gaps") -> pd.Series:
    """Per seed, the smallest over ``widths`` of the rise in the mean rare loss (relative to its
    variance, over the last ``tail`` of training) from gap ``gap_lo`` to gap ``gap_hi``.

    ``between="seeds"`` is the equal-gap control: the same difference between two independent
    streams at gap ``gap_lo`` (the next seed of the table, cyclically, against this one), i.e.
    what seed-to-seed noise alone produces."""
    require_float("tail", tail, 0.0, 1.0, lo_open=True)
    if between not in ("gaps", "seeds"):
        raise ParameterError("between", between, "'gaps' or 'seeds'")
    d = df[(df["step"] >= df["step"].max() * (1 - tail)) & df["width"].isin(list(widths))]
    loss = d.groupby(["gap", "width", "seed"])["rare_loss"].mean()
    seeds = sorted(df["seed"].unique())
    out = {}
    for i, s in enumerate(seeds):
        if between == "gaps":
            hi, lo = loss.loc[gap_hi].xs(s, level="seed"), loss.loc[gap_lo].xs(s, level="seed")
        else:
            other = seeds[(i + 1) % len(seeds)]
            hi = loss.loc[gap_lo].xs(other, level="seed")
            lo = loss.loc[gap_lo].xs(s, level="seed")
        out[s] = float((hi - lo).min()) if len(hi) else np.nan
    return pd.Series(out, name="gap_effect")
