"""Sizing a width-N model for a mixture: Theorem 3 and Proposition 6 read per task.

For a checked :class:`~rtrlib.sizing.mixture.SizingMixture` and a width N, :func:`size_model`
returns, per task k,

- ``kept_features``: how many of its features the best width-N linear encoder keeps (Theorem 3:
  the N features of largest utility ``u_{k,j} = pi_k lambda_{k,j}``);
- ``task_loss``: its loss at that optimum, the sum of the ``lambda_{k,j}`` left out;
- ``critical_width``: the smallest width whose best encoder holds its largest-utility feature
  (Proposition 6, the book's reconstruction), counting ties against the task.

Every number comes from :mod:`rtrlib.theory` (one source of truth); this module only reads it per
task. Ties: the ranking is stable (by task, then feature index), so at a cut through tied
utilities ``kept_features`` is one optimum among several; the critical width counts ties against
the task, so it is the width from which *every* optimum holds the task's top feature (with ties it
can exceed the first width at which the stable ranking keeps it). :attr:`Sizing.tie_at_cut` flags
a cut through (near-)tied utilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rtrlib.params import ParameterError, require_int
from rtrlib.sizing.mixture import MAX_FEATURES, SizingMixture

# The one import of Proposition 6: change it here when rtrlib.theory moves it.
from rtrlib.theory.interference import critical_width as _proposition6_width
from rtrlib.theory.utility import (
    optimal_task_loss,
    retained_features,
    utilities,
    utility_ranking,
)

__all__ = ["TIE_RTOL", "Sizing", "critical_width", "first_kept_width", "loss_curve", "size_model",
           "task_variance"]

TIE_RTOL = 1e-9  # utilities this close (relative) at the cut count as tied


def critical_width(mixture: SizingMixture, task: int) -> int:
    """Proposition 6: the smallest width whose best encoder holds task ``task``'s top feature
    (0-based task index; ties counted against the task)."""
    task = require_int("task", task, 0, mixture.n_tasks - 1)
    return int(_proposition6_width(np.asarray(mixture.frequencies),
                                   [np.asarray(s) for s in mixture.spectra], task))


def task_variance(mixture: SizingMixture) -> tuple[float, ...]:
    """Each task's variance ``sum_j lambda_{k,j}`` (its loss with nothing learned), summed left
    to right as the calculator does."""
    out = []
    for s in mixture.spectra:
        total = 0.0
        for lam in s:
            total += lam
        out.append(total)
    return tuple(out)


def _check_width(width: int) -> int:
    return require_int("width", width, 1, 10 * MAX_FEATURES)


def first_kept_width(mixture: SizingMixture) -> tuple[int, ...]:
    """Per task, the first width at which the stable ranking keeps one of its features (equal to
    the critical width unless the task's best utility is tied with another task's feature)."""
    _, task, _ = utilities(mixture.frequencies, mixture.spectra)
    order = utility_ranking(mixture.frequencies, mixture.spectra)
    first = [0] * mixture.n_tasks
    for pos, f in enumerate(order):
        if first[task[f]] == 0:
            first[task[f]] = pos + 1
    return tuple(first)


def _tie_at_cut(mixture: SizingMixture, width: int) -> bool:
    u, _, _ = utilities(mixture.frequencies, mixture.spectra)
    if width >= len(u):
        return False
    srt = np.sort(u)[::-1]
    hi, lo = float(srt[width - 1]), float(srt[width])
    return bool(hi > 0 and hi - lo <= TIE_RTOL * hi)


@dataclass(frozen=True)
class Sizing:
    """What a width-N model keeps of each task, per Theorem 3 and Proposition 6."""

    width: int
    mixture: SizingMixture
    kept_features: tuple[int, ...]
    task_loss: tuple[float, ...]
    task_variance: tuple[float, ...]
    critical_width: tuple[int, ...]
    first_kept_width: tuple[int, ...]
    tie_at_cut: bool

    def messages(self) -> list[str]:
        notes = self.mixture.messages()
        if self.tie_at_cut:
            notes.append(f"utilities are tied at the cut of width {self.width}: which of the tied "
                         "features the model keeps is arbitrary (the mixture loss is the same); "
                         "per-task results show the stable tie-break (by task, then feature)")
        for k, (first, crit) in enumerate(zip(self.first_kept_width, self.critical_width,
                                              strict=True)):
            if first < crit:
                notes.append(f"task {k + 1}'s best utility is tied with other tasks' features: "
                             f"the stable tie-break keeps it from width {first}, every optimal "
                             f"encoder only from its critical width {crit}")
        return notes

    def to_dict(self) -> dict:
        """The ``--json`` object of ``python -m rtrlib.sizing`` (lists are per task, in order)."""
        return {"width": self.width, "normalised": self.mixture.normalised,
                "input_sum": self.mixture.input_sum,
                "frequencies": list(self.mixture.frequencies),
                "n_features": list(self.mixture.feature_counts),
                "kept_features": list(self.kept_features),
                "task_loss": list(self.task_loss),
                "task_variance": list(self.task_variance),
                "critical_width": list(self.critical_width),
                "first_kept_width": list(self.first_kept_width),
                "tie_at_cut": self.tie_at_cut, "messages": self.messages()}

    def table(self) -> str:
        """A plain-text table, tasks numbered 1..K as in the paper."""
        m = self.mixture
        lines = [f"{m.n_tasks} tasks, {m.n_features} features; width N = {self.width} keeps "
                 f"{sum(self.kept_features)} of them."]
        lines += [f"note: {msg}" for msg in self.messages()]
        head = ("task", "pi_k", "features", "kept", "loss l_k", "l_k/variance", "N_c")
        rows = []
        for k in range(m.n_tasks):
            var = self.task_variance[k]
            frac = self.task_loss[k] / var if var > 0 else 0.0
            rows.append((str(k + 1), f"{m.frequencies[k]:.4g}", str(m.feature_counts[k]),
                         str(self.kept_features[k]), f"{self.task_loss[k]:.4g}", f"{frac:.3f}",
                         str(self.critical_width[k])))
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        lines.append("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        lines.append("N_c: the critical width, the smallest width that keeps the task's "
                     "largest-utility feature (Proposition 6).")
        return "\n".join(lines)


def size_model(mixture: SizingMixture, width: int) -> Sizing:
    """Kept features, optimal per-task loss and critical width of every task at width N."""
    if not isinstance(mixture, SizingMixture):
        raise ParameterError("mixture", type(mixture).__name__, "a SizingMixture "
                             "(rtrlib.sizing.make_mixture or load_mixture)")
    width = _check_width(width)
    pi = np.asarray(mixture.frequencies, dtype=np.float64)
    spectra = [np.asarray(s, dtype=np.float64) for s in mixture.spectra]
    kept = retained_features(pi, spectra, width)
    loss = optimal_task_loss(pi, spectra, width)
    return Sizing(width=width, mixture=mixture,
                  kept_features=tuple(int(x) for x in kept),
                  task_loss=tuple(float(x) for x in loss),
                  task_variance=task_variance(mixture),
                  critical_width=tuple(critical_width(mixture, k)
                                       for k in range(mixture.n_tasks)),
                  first_kept_width=first_kept_width(mixture),
                  tie_at_cut=_tie_at_cut(mixture, width))


def loss_curve(mixture: SizingMixture, widths: Sequence[int]) -> np.ndarray:
    """Optimal per-task loss at each width: shape (len(widths), K) (the calculator's figure)."""
    pi = np.asarray(mixture.frequencies, dtype=np.float64)
    spectra = [np.asarray(s, dtype=np.float64) for s in mixture.spectra]
    return np.stack([optimal_task_loss(pi, spectra, _check_width(int(w))) for w in widths])
