"""The per-seed numbers chapter 6's registered claims read (``chapters/claims.yaml``).

Every function takes the tidy tables of :func:`rtrlib.lm.ladder.run_injection_ladder` (or
their :func:`~rtrlib.lm.summaries.final_metrics`) and returns one value per seed, a
``pd.Series`` indexed by seed. The control of each claim is the same function on another
column or another set of runs (the never injected control task, the shuffled-order probe, a
random direction, shuffled frequencies), so claim and control are measured alike:

- :func:`size_slope`: accuracy per doubling of block parameters at one frequency;
- :func:`frontier_margin`: at the lowest frequency some rung learns, by how much the largest
  rung learns and every smaller one does not;
- :func:`grokking_cells`: held-out accuracy of the cell that should generalise and the best of
  the cells that should not (:func:`saturation_steps` times the grokking delay);
- :func:`probe_tracking`, :func:`dominance_share`: probe presence against accuracy, and its
  growth with size and frequency;
- :func:`cosine_fall`: the fall of the signed mean cos(g_nt, g_r) from the smallest rung to
  the largest;
- :func:`frequency_order`: rank correlation of frequency with the step at which a run learns;
- :func:`gap_margin`, :func:`retention_gain`: matched-frequency gaps and retention by size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rtrlib.lm.summaries import burst_cycle, by_rung

__all__ = ["LEARN_THRESHOLD", "size_slope", "frontier_margin", "grokking_cells",
           "saturation_steps", "learning_steps", "frequency_order", "probe_tracking",
           "dominance_share", "cosine_fall", "second_half", "gap_margin", "retention_gain",
           "spearman"]

#: T_CMP is *learned* at test accuracy >= 0.5: what a model scores that has the format (LABEL
#: is one of the two prompt tokens) and guesses the order (a definition, not a calibration)
LEARN_THRESHOLD = 0.5


def spearman(x, y) -> float:
    """Spearman's rank correlation (average ranks for ties; NaN when either is constant)."""
    rx, ry = pd.Series(x).rank().to_numpy(float), pd.Series(y).rank().to_numpy(float)
    if len(rx) < 2 or np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _per_seed(df: pd.DataFrame, fn) -> pd.Series:
    return pd.Series({int(seed): fn(g) for seed, g in df.groupby("seed")}, dtype=float,
                     name="value").rename_axis("seed")


def size_slope(fm: pd.DataFrame, frequency: float, metric: str = "test_acc") -> pd.Series:
    """Per seed: the least-squares slope of ``metric`` against log2 of the block parameters,
    over the rungs at ``frequency`` (accuracy gained per doubling of the blocks)."""
    def slope(g: pd.DataFrame) -> float:
        g = g[np.isclose(g.frequency, frequency)]
        if g["size"].nunique() < 2:
            return float("nan")
        return float(np.polyfit(np.log2(g.block_params.astype(float)), g[metric], 1)[0])

    return _per_seed(fm, slope)


def frontier_margin(fm: pd.DataFrame, threshold: float = LEARN_THRESHOLD,
                    metric: str = "test_acc") -> pd.DataFrame:
    """Per seed, at the lowest frequency at which some rung reaches ``threshold`` (the grid's
    highest when none does): ``frequency``, ``learners`` (how many rungs learn there) and
    ``margin`` = min(largest rung's ``metric`` - threshold, threshold - best smaller rung's).
    A positive margin says that there only the largest rung learns."""
    rows = {}
    for seed, g in fm.groupby("seed"):
        piv = g.pivot_table(index="size", columns="frequency", values=metric)
        piv = piv.reindex(by_rung(piv.index))
        learned = (piv >= threshold).any(axis=0)
        f = float(piv.columns[learned].min()) if learned.any() else float(piv.columns.max())
        col = piv[f]
        smaller = col.iloc[:-1].max() if len(col) > 1 else -np.inf
        rows[int(seed)] = {"frequency": f, "learners": int((col >= threshold).sum()),
                           "margin": float(min(col.iloc[-1] - threshold, threshold - smaller))}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("seed")


def grokking_cells(fm: pd.DataFrame, larger: str, smaller: str, f_high: float, f_low: float,
                   metric: str = "test_acc") -> pd.DataFrame:
    """Per seed: ``value``, ``metric`` of the ``larger`` rung at ``f_high`` (the cell that
    should generalise), and ``control``, the best of the ``smaller`` rung at ``f_high`` and
    the ``larger`` rung at ``f_low`` (the cells that should not)."""
    def cell(g, size, f):
        hit = g[(g["size"] == size) & np.isclose(g.frequency, f)][metric]
        return float(hit.iloc[0]) if len(hit) else float("nan")

    rows = {int(s): {"value": cell(g, larger, f_high),
                     "control": np.nanmax([cell(g, smaller, f_high), cell(g, larger, f_low)])}
            for s, g in fm.groupby("seed")}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("seed")


def learning_steps(ev: pd.DataFrame, metric: str = "test_acc",
                   threshold: float = LEARN_THRESHOLD) -> pd.DataFrame:
    """Per run: the first evaluated step at which ``metric`` reaches ``threshold`` (column
    ``learn_step``; +inf when it never does)."""
    keys = [k for k in ("kind", "size", "frequency", "gap", "seed") if k in ev]

    def first(g: pd.DataFrame) -> float:
        hit = g.loc[g[metric] >= threshold, "step"]
        return float(hit.min()) if len(hit) else float("inf")

    return (ev.groupby(keys, sort=False).apply(first, include_groups=False)
            .rename("learn_step").reset_index())


def saturation_steps(ev: pd.DataFrame, train_threshold: float = 0.9,
                     test_threshold: float = LEARN_THRESHOLD) -> pd.DataFrame:
    """Per run: when train accuracy first reaches ``train_threshold`` (``train_step``) and
    test accuracy ``test_threshold`` (``test_step``); ``delay`` = test_step - train_step
    (the grokking delay; +inf when the test accuracy never gets there)."""
    tr = learning_steps(ev, "train_acc", train_threshold).rename(
        columns={"learn_step": "train_step"})
    te = learning_steps(ev, "test_acc", test_threshold).rename(
        columns={"learn_step": "test_step"})
    out = tr.merge(te)
    return out.assign(delay=out.test_step - out.train_step)


def frequency_order(ev: pd.DataFrame, threshold: float = LEARN_THRESHOLD,
                    metric: str = "test_acc", shuffle: bool = False,
                    permutations: int = 200) -> pd.Series:
    """Per seed: minus the mean over rungs of Spearman's correlation between the frequency of
    a run and the step at which it learns (never = last). 1 = learned strictly in frequency
    order (most frequent first). Rungs that learn at no frequency are left out (NaN when no
    rung learns). ``shuffle`` (the control) averages the same statistic over ``permutations``
    random permutations of each rung's frequency labels (drawn with the seed): what a
    schedule that frequency does not order gives, about zero."""
    steps = learning_steps(ev, metric, threshold)

    def order(g: pd.DataFrame, perm: np.random.Generator | None) -> float:
        rhos = []
        for _, r in g.groupby("size", sort=False):
            r = r.sort_values("frequency")
            if not np.isfinite(r.learn_step).any():
                continue
            f = r.frequency.to_numpy()
            rhos.append(spearman(perm.permutation(f) if perm else f, r.learn_step))
        rhos = [x for x in rhos if np.isfinite(x)]
        return -float(np.mean(rhos)) if rhos else float("nan")

    def statistic(g: pd.DataFrame) -> float:
        if not shuffle:
            return order(g, None)
        rng = np.random.default_rng([int(g.seed.iloc[0]), 5])
        return float(np.mean([order(g, rng) for _ in range(permutations)]))

    return _per_seed(steps, statistic)


def probe_tracking(table: pd.DataFrame, probe: str = "probe", metric: str = "test_acc"
                   ) -> pd.Series:
    """Per seed: Spearman's correlation between the probe score and ``metric`` over the rows
    of ``table``: the runs' final metrics (across runs) or every evaluation of every run
    (across runs and checkpoints). Does feature presence track accuracy?"""
    return _per_seed(table, lambda g: spearman(g[probe], g[metric]))


def dominance_share(fm: pd.DataFrame, value: str = "probe") -> pd.Series:
    """Per seed: over the pairs of runs (a, b) with b at least as large and at least as
    frequent as a (one of them strictly), the share in which ``value`` is higher in b (ties
    count a half). 1 = grows with size and with frequency; 0.5 = unrelated to both."""
    rung = {s: i for i, s in enumerate(by_rung(fm["size"]))}

    def share(g: pd.DataFrame) -> float:
        r = g["size"].map(rung).to_numpy()
        f, v = g.frequency.to_numpy(), g[value].to_numpy(float)
        wins = []
        for a in range(len(g)):
            for b in range(len(g)):
                if r[b] >= r[a] and f[b] >= f[a] and (r[b] > r[a] or f[b] > f[a]):
                    wins.append(1.0 if v[b] > v[a] else 0.5 if v[b] == v[a] else 0.0)
        return float(np.mean(wins)) if wins else float("nan")

    return _per_seed(fm, share)


def cosine_fall(grads: pd.DataFrame, gap: int, column: str = "cos_gnt") -> pd.Series:
    """Per seed, at the injection steps of the runs with ``gap``: |mean ``column``| of the
    smallest rung minus that of the largest (positive: the signed mean falls towards 0 with
    size). The control is ``column="cos_rand"``, a random direction of equal dimension."""
    gg = grads[(grads.gap == gap) & (grads.injected > 0)]

    def fall(g: pd.DataFrame) -> float:
        m = g.groupby("size")[column].mean()
        m = m.reindex(by_rung(m.index))
        return float(abs(m.iloc[0]) - abs(m.iloc[-1])) if len(m) > 1 else float("nan")

    return _per_seed(gg, fall)


def second_half(ev: pd.DataFrame, metric: str, eval_every: int) -> pd.DataFrame:
    """Per run: the mean of ``metric`` over the regular evaluations (every ``eval_every``
    steps, not those around bursts) in the second half of the run."""
    keys = ["size", "frequency", "gap", "seed"]
    reg = ev[ev.step % eval_every == 0]
    last = reg.groupby(keys)["step"].transform("max")
    return reg[reg.step > last / 2].groupby(keys)[metric].mean().rename(metric).reset_index()


def gap_margin(ev: pd.DataFrame, eval_every: int, metric: str = "test_loss") -> pd.Series:
    """Per seed: the smallest increase of the second-half ``metric`` (averaged over the
    rungs) from one gap to the next larger one (positive: every larger gap is worse). The
    control is ``metric="ctrl_test_loss"``, the never injected task."""
    sh = second_half(ev, metric, eval_every)

    def margin(g: pd.DataFrame) -> float:
        by_gap = g.groupby("gap")[metric].mean().sort_index()
        return float(np.diff(by_gap.to_numpy()).min()) if len(by_gap) > 1 else float("nan")

    return _per_seed(sh, margin)


def retention_gain(ev: pd.DataFrame, gap: int, metric: str = "test_loss") -> pd.Series:
    """Per seed, in the runs with a burst every ``gap`` steps: what a burst cycle keeps
    (:func:`~rtrlib.lm.summaries.burst_cycle`: the fall of ``metric`` across a burst minus
    its rise until the next) in the largest rung minus in the smallest (positive: the larger
    model keeps more). The control is ``metric="ctrl_test_loss"``."""
    sub = ev[ev.gap == gap]

    def gain(g: pd.DataFrame) -> float:
        kept = {s: burst_cycle(h, gap, metric)["kept"] for s, h in g.groupby("size")}
        order = by_rung(kept)
        return float(kept[order[-1]] - kept[order[0]]) if len(order) > 1 else float("nan")

    return _per_seed(sub, gain)
