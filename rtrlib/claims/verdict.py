"""From per-seed measurements to one of three verdicts (LEDGER.md §2-3).

A claim's metric is measured once per seed (or is given with its own 95% interval). The
interval is the min-max over seeds. Against the registered criterion:

- **reproduced**: the criterion holds at the unfavourable end of the interval *and* the control
  does not pass;
- **not reproduced**: it fails even at the favourable end;
- **inconclusive**: otherwise (a margin inside the seed spread, or a control that passes the same
  criterion, so the criterion does not separate claim from control), and always with fewer than
  :data:`~rtrlib.claims.registry.MIN_SEEDS` seeds (a smoke run), whichever way it points.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from rtrlib.claims.registry import MIN_SEEDS, ClaimSpec, Criterion
from rtrlib.params import ParameterError

__all__ = ["VERDICTS", "Outcome", "evaluate", "interval", "judge"]

VERDICTS = ("reproduced", "inconclusive", "not reproduced")


def interval(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, min, max) of per-seed values; NaN values make the whole interval NaN."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        raise ParameterError("values", list(v), "at least one measured value")
    if np.isnan(v).any():
        return math.nan, math.nan, math.nan
    return float(v.mean()), float(v.min()), float(v.max())


def judge(criterion: Criterion, lo: float, hi: float) -> str:
    """The verdict of an interval [lo, hi] against ``criterion`` (seeds not considered)."""
    if math.isnan(lo) or math.isnan(hi):
        return "inconclusive"
    worst, best = (lo, hi) if criterion.higher_is_better else (hi, lo)
    if criterion.holds(worst):
        return "reproduced"
    if not criterion.holds(best):
        return "not reproduced"
    return "inconclusive"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A judged claim: measured mean and interval, the control's, the verdict and why."""

    measured: float
    lo: float
    hi: float
    n_seeds: int
    control: float
    control_lo: float
    control_hi: float
    control_verdict: str
    verdict: str
    reason: str


def evaluate(spec: ClaimSpec, values: Sequence[float], control: Sequence[float], *,
             ci: tuple[float, float] | None = None,
             control_ci: tuple[float, float] | None = None) -> Outcome:
    """Judge a claim from its per-seed ``values`` and the control's per-seed values.

    ``ci``/``control_ci`` replace the min-max over seeds by a given 95% interval (for a metric
    fitted over pooled data, e.g. a slope with its bootstrap interval).
    """
    if spec.kind != "claim" or spec.criterion is None:
        raise ParameterError("spec", spec.id, "an experimental claim (kind: claim)")
    mean, lo, hi = interval(values)
    if ci is not None:
        lo, hi = float(ci[0]), float(ci[1])
    cmean, clo, chi = interval(control)
    if control_ci is not None:
        clo, chi = float(control_ci[0]), float(control_ci[1])
    n = int(np.asarray(values, dtype=float).size)
    crit = spec.criterion
    raw = judge(crit, lo, hi)
    control_verdict = judge(crit, clo, chi)
    verdict, reason = raw, {
        "reproduced": "the criterion holds over the whole interval",
        "not reproduced": "the criterion fails over the whole interval",
        "inconclusive": "the interval straddles the threshold"}[raw]
    if n < MIN_SEEDS:    # too few seeds to judge either way
        verdict, reason = "inconclusive", f"only {n} seed(s); at least {MIN_SEEDS} needed"
    elif raw == "reproduced" and control_verdict != "not reproduced":
        verdict, reason = ("inconclusive", "the control does not fail the criterion, so the "
                           "criterion does not separate the claim from its control")
    return Outcome(measured=mean, lo=lo, hi=hi, n_seeds=n, control=cmean, control_lo=clo,
                   control_hi=chi, control_verdict=control_verdict, verdict=verdict,
                   reason=reason)
