"""What chapter 6 reads off a ladder's table (:func:`rtrlib.lm.ladder.run_injection_ladder`).

- :func:`final_metrics`: per run, the metrics averaged over its last evaluations;
- :func:`learning_frontier`: which rungs learn T_CMP at which frequencies;
- :func:`frequency_ordered_sizes`: the sizes whose final loss is ordered by frequency;
- :func:`burst_cycle`: what a burst of a matched-frequency run gains and what is lost until
  the next one;
- :func:`gradient_cosines`: the gradient split's cosines at injection steps, by size;
- :func:`run_timings`: training seconds per run, from the runs' metadata.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from rtrlib.lm.models import LADDER

__all__ = ["final_metrics", "by_rung", "LearningFrontier", "learning_frontier",
           "frequency_ordered_sizes", "burst_cycle", "gradient_cosines", "run_timings"]

RUN_KEYS = ["kind", "size", "params", "block_params", "frequency", "gap", "per_batch", "seed"]
METRICS = ["test_acc", "test_acc2", "test_loss", "train_loss", "train_acc", "probe", "lm_loss",
           "ctrl_test_acc", "ctrl_test_acc2", "ctrl_test_loss", "probe_ctrl", "fourier_modes"]


def final_metrics(df: pd.DataFrame, last: int = 3) -> pd.DataFrame:
    """Per run: metrics averaged over the last ``last`` evaluations (accuracy swings between
    evaluations at this scale), plus the number of injected instances."""
    ev = df[df.record == "eval"]
    cols = [m for m in METRICS if m in ev]
    out = (ev.sort_values("step").groupby(RUN_KEYS, sort=False)
           .apply(lambda g: g[cols].tail(last).mean(), include_groups=False).reset_index())
    inst = ev.groupby(RUN_KEYS, sort=False)["instances"].max().reset_index()
    return out.merge(inst, on=RUN_KEYS)


def by_rung(sizes) -> list[str]:
    """``sizes`` (distinct) from the smallest rung of the ladder to the largest."""
    order = list(LADDER)
    return sorted(dict.fromkeys(sizes), key=order.index)


@dataclasses.dataclass(frozen=True)
class LearningFrontier:
    """Where T_CMP is learned (test accuracy >= ``threshold``) in a size x frequency grid.

    ``lowest`` is the lowest frequency at which some rung learns (None if none does) and
    ``at_lowest`` the rungs' accuracies there (smallest rung first; at the grid's lowest
    frequency when nothing is learned). ``top_of_ladder`` says that at every frequency the
    learners are the largest rungs (no rung learns while a larger one does not), and
    ``only_largest`` that at ``lowest`` the largest rung alone learns, with ``top_of_ladder``.
    """

    threshold: float
    lowest: float | None
    at_lowest: pd.Series
    top_of_ladder: bool
    only_largest: bool


def learning_frontier(fm: pd.DataFrame, threshold: float = 0.5) -> LearningFrontier:
    """The learning frontier of the final metrics ``fm`` of a size x frequency grid."""
    rung = {s: i for i, s in enumerate(LADDER)}
    fm = fm.assign(rung=fm["size"].map(rung), ok=fm["test_acc"] >= threshold)
    fm = fm.sort_values(["frequency", "rung"])
    top = bool(all(np.all(np.diff(g["ok"].astype(int)) >= 0)
                   for _, g in fm.groupby("frequency")))
    lowest = float(fm[fm.ok].frequency.min()) if fm.ok.any() else None
    at = fm[fm.frequency == (lowest if lowest is not None else fm.frequency.min())]
    at = at.set_index("size")["test_acc"]
    only = bool(lowest is not None and top and at.iloc[-1] >= threshold
                and (at.iloc[:-1] < threshold).all())
    return LearningFrontier(threshold=threshold, lowest=lowest, at_lowest=at,
                            top_of_ladder=top, only_largest=only)


def frequency_ordered_sizes(fm: pd.DataFrame, metric: str = "test_loss") -> list[str]:
    """The sizes whose final ``metric`` rises strictly from the highest frequency down to the
    lowest (tasks learned in order of frequency)."""
    piv = fm.pivot(index="size", columns="frequency", values=metric)
    piv = piv[sorted(piv.columns, reverse=True)]
    return [s for s, row in zip(piv.index, piv.values, strict=True) if np.all(np.diff(row) > 0)]


def burst_cycle(history: pd.DataFrame, gap: int, metric: str = "test_loss"
                ) -> dict[str, float]:
    """Over the second half of a run with a burst every ``gap`` steps (evaluated every step):
    ``drop`` the mean fall of ``metric`` across a burst's update, ``rise`` its mean change from
    just after a burst to the next burst, and ``kept`` = drop - rise, what a cycle keeps."""
    loss = history.set_index("step")[metric]
    steps = loss.index.max()
    first = -(-(steps // 2) // gap) * gap  # first burst in the second half
    bursts = list(range(first, steps - gap + 1, gap))
    drop = [loss[t] - loss[t + 1] for t in bursts if t + 1 in loss.index]
    rise = [loss[t + gap] - loss[t + 1] for t in bursts if t + gap in loss.index]
    return {"drop": float(np.mean(drop)), "rise": float(np.mean(rise)),
            "kept": float(np.mean(drop) - np.mean(rise))}


def gradient_cosines(df: pd.DataFrame, gap: int) -> pd.DataFrame:
    """At the injection steps of the runs with ``gap``: mean and standard deviation of
    cos(g, g_r), cos(g_t, g_r), cos(g_nt, g_r) per size (smallest rung first), and the mean
    of |cos(g_nt, g_r)| (column ``("abs_gnt", "mean")``)."""
    gg = df[(df.record == "grad") & (df.gap == gap) & (df.injected > 0)]
    gg = gg.assign(abs_gnt=gg.cos_gnt.abs())
    tab = gg.groupby("size")[["cos_g", "cos_gt", "cos_gnt", "abs_gnt"]].agg(["mean", "std"])
    return tab.reindex(by_rung(gg["size"]))


def run_timings(metas: list[dict]) -> pd.DataFrame:
    """One row per run: size, task kind, frequency, gap, and the seconds spent training, in
    the gradient analysis (part of training) and in evaluations (summed over the sessions
    that trained it)."""
    return pd.DataFrame([{"size": m["config"]["size"], "kind": m["config"]["task"]["kind"],
                          "frequency": m["config"]["injection"]["frequency"],
                          "gap": m["config"]["injection"]["gap"],
                          "train s": round(m["train_seconds"], 1),
                          "gradient analysis s": round(m["grad_seconds"], 1),
                          "evaluation s": round(m.get("eval_seconds", 0.0), 1)}
                         for m in metas])
