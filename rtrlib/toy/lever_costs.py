"""Compute-to-learn per lever: tables built from a levers grid (chapter 7's analysis).

- :func:`setting_summary`: one row per setting (width, rate, gap), the median over seeds;
- :func:`lever_table`: one row per (lever, setting) from a baseline ``(N0, r0, G0)``;
- :func:`cheapest_levers`: per baseline width and lever, the cheapest setting that learned;
- :func:`predicted_cheapest` and :func:`lever_regimes`: the book's prediction of the cheapest
  lever from the critical widths, and the measured winner next to it per baseline width.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rtrlib.params import ParameterError

if TYPE_CHECKING:
    from rtrlib.toy.levers import LeversConfig

__all__ = ["LEVERS", "setting_summary", "lever_table", "cheapest_levers", "predicted_cheapest",
           "lever_regimes"]

LEVERS = ("widen", "raise frequency", "replay more often")


def setting_summary(grid: pd.DataFrame) -> pd.DataFrame:
    """One row per setting (width, rate, gap) over seeds: fraction learned, the upper median of
    the steps and FLOPs to learn (a seed that did not learn counts as infinite, so the median is
    finite when most seeds learned; ``learned`` says whether it is), mean final losses, the
    predicted critical width and whether the setting is predicted learnable."""
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
    if base_width not in config.models.widths:
        raise ParameterError("base_width", base_width,
                             f"one of widths {config.models.widths}")
    s = setting_summary(grid)
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


def predicted_cheapest(base_width: int, critical_widths: dict[int, int], base_rate: int
                       ) -> set[str]:
    """The book's prediction of the cheapest lever from a baseline width: a lever that keeps
    the per-step cost (raising the frequency or, at or above the critical width, replaying
    more often) wins whenever it can work at all; widening only when it cannot.
    ``critical_widths`` maps every rate of the grid to its critical width."""
    if base_width >= critical_widths[base_rate]:
        return {"raise frequency", "replay more often"}
    if any(n <= base_width for n in critical_widths.values()):
        return {"raise frequency"}
    return {"widen"}


def lever_regimes(tables: pd.DataFrame, config: LeversConfig) -> pd.DataFrame:
    """Per baseline width: its regime (below, or at or above, the critical width at the
    baseline rate), the measured cheapest lever (:func:`cheapest_levers` of ``tables``, the
    concatenated :func:`lever_table` of every baseline), the predicted one
    (:func:`predicted_cheapest`), whether replaying more often (a shorter gap) ever learned,
    and whether measurement and prediction ``match``."""
    nc = {r: config.critical_width(r) for r in config.rates}
    nc0 = nc[config.base_rate]
    best = cheapest_levers(tables)
    winners = best[best["cheapest"]].set_index("base_width")["lever"]
    rows = []
    for n0 in sorted(set(tables["base_width"])):
        t = tables[tables["base_width"] == n0]
        replay = t[(t["lever"] == "replay more often") & (t["multiplier"] > 1)]
        predicted = predicted_cheapest(n0, nc, config.base_rate)
        measured = winners.get(n0)
        measured = measured if isinstance(measured, str) else "none learns"
        rows.append({"N0": n0, "regime": "below N_c" if n0 < nc0 else "at or above N_c",
                     "cheapest (measured)": measured,
                     "predicted": " or ".join(sorted(predicted)),
                     "replay learns": bool(replay["learned"].any()),
                     "match": measured in predicted})
    return pd.DataFrame(rows)
