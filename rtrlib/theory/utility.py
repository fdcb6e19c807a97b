"""Theorem 3 (utility ranking) in closed form, for the linear shared-encoder model.

Notation: tasks k with frequencies ``pi[k]``; ``spectra[k]`` the 1-D array of task k's eigenvalues
``lambda_{k,j}`` (tasks may differ in length, and spectra need not be sorted); utility
``u_{k,j} = pi_k lambda_{k,j}``; width ``N``.

The population loss with optimal readouts is ``sum_k pi_k l_k(U)`` with
``l_k(U) = sum_j lambda_{k,j} (1 - ||P_U b_{k,j}||^2)``, i.e. ``tr(M) - tr(P_U M)`` for
``M = sum_k pi_k B_k Lambda_k B_k^T``. The eigenvalues of ``M`` are exactly the utilities, so by
Eckart-Young the best width-N encoder spans the N features of largest utility.

Ties: when several features share the utility at the cut, every choice among them is optimal;
these functions break ties by task order and then by position in the task's spectrum (stable
sort), so per-task results at a tie are one optimum among several (the total loss is not
affected).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rtrlib.params import ParameterError

__all__ = [
    "utilities",
    "utility_ranking",
    "retained_features",
    "optimal_task_loss",
    "optimal_total_loss",
    "optimal_loss_range",
    "width_to_explain",
    "learning_order",
]


def _check(pi, spectra) -> tuple[np.ndarray, list[np.ndarray]]:
    pi = np.asarray(pi, dtype=np.float64)
    spectra = [np.atleast_1d(np.asarray(s, dtype=np.float64)) for s in spectra]
    if pi.ndim != 1 or len(spectra) != len(pi):
        raise ParameterError("pi", pi.tolist(), "a 1-D list with one entry per spectrum")
    if np.any(pi < 0):
        raise ParameterError("pi", pi.tolist(), "non-negative frequencies")
    if any(np.any(s < 0) for s in spectra):
        raise ParameterError("spectra", [s.tolist() for s in spectra],
                             "non-negative eigenvalues")
    return pi, spectra


def utilities(pi: Sequence[float], spectra: Sequence[Sequence[float]]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flattened utilities: (u, task, j) arrays over all features, task by task."""
    pi, spectra = _check(pi, spectra)
    task = np.repeat(np.arange(len(pi)), [len(s) for s in spectra])
    j = np.concatenate([np.arange(len(s)) for s in spectra]) if spectra else np.zeros(0, int)
    lam = np.concatenate(spectra) if spectra else np.zeros(0)
    return pi[task] * lam, task, j


def utility_ranking(pi, spectra) -> np.ndarray:
    """Feature indices (flattened, task by task) in order of decreasing utility (stable)."""
    u, _, _ = utilities(pi, spectra)
    return np.argsort(-u, kind="stable")


def _kept_mask(pi, spectra, width: int) -> np.ndarray:
    if int(width) != width or width < 0:
        raise ParameterError("width", width, "a non-negative integer")
    order = utility_ranking(pi, spectra)
    kept = np.zeros(len(order), dtype=bool)
    kept[order[: int(width)]] = True
    return kept


def retained_features(pi, spectra, width: int) -> np.ndarray:
    """How many features of each task the optimal width-N linear encoder keeps: (K,) ints."""
    pi, spectra = _check(pi, spectra)
    _, task, _ = utilities(pi, spectra)
    kept = _kept_mask(pi, spectra, width)
    return np.bincount(task[kept], minlength=len(pi)).astype(int)


def optimal_task_loss(pi, spectra, width: int) -> np.ndarray:
    """Each task's population loss l_k at the width-N optimum: the sum of its dropped lambdas."""
    pi, spectra = _check(pi, spectra)
    u, task, _ = utilities(pi, spectra)
    lam = np.concatenate(spectra) if spectra else np.zeros(0)
    kept = _kept_mask(pi, spectra, width)
    return np.bincount(task[~kept], weights=lam[~kept], minlength=len(pi))


def optimal_total_loss(pi, spectra, width: int) -> float:
    """sum_k pi_k l_k at the optimum: the sum of the utilities left out."""
    pi = np.asarray(pi, dtype=np.float64)
    return float(pi @ optimal_task_loss(pi, spectra, width))


def optimal_loss_range(pi, spectra, width: int, rtol: float = 0.0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per-task loss range over (near-)optimal width-N encoders: (lo, hi), each (K,).

    Features whose utility lies within ``rtol`` (relative) of the cut between the N-th and
    (N+1)-th largest utility are *ambiguous*: an optimum, or a trained model that has not yet
    resolved a near-tie (gradient flow separates two features at a rate proportional to their
    utility gap), may keep any of them. A task's loss can then lie anywhere between keeping as
    many of its ambiguous features as the free slots allow (its largest lambdas) and keeping as
    few as possible (its smallest). With ``rtol = 0`` the band holds exact ties only, and with no
    ties ``lo == hi == optimal_task_loss``.
    """
    pi, spectra = _check(pi, spectra)
    u, task, _ = utilities(pi, spectra)
    lam = np.concatenate(spectra) if spectra else np.zeros(0)
    F, K = len(u), len(pi)
    width = int(width)
    if width >= F:
        return np.zeros(K), np.zeros(K)
    srt = np.sort(u)[::-1]
    cut = srt[width] if width == 0 else 0.5 * (srt[width - 1] + srt[width])
    band = rtol * cut + 1e-15 * max(cut, 1e-300)
    sure = u > cut + band
    amb = np.abs(u - cut) <= band
    if width == 0:
        sure[:] = False
        amb[:] = False
    slots = width - int(sure.sum())
    n_amb = int(amb.sum())
    lo, hi = np.zeros(K), np.zeros(K)
    for k in range(K):
        mine = task == k
        dropped = lam[mine & ~sure & ~amb].sum()
        amb_lams = np.sort(lam[mine & amb])[::-1]
        most = min(slots, len(amb_lams))
        least = max(0, slots - (n_amb - len(amb_lams)))
        lo[k] = dropped + amb_lams[most:].sum()
        hi[k] = dropped + amb_lams.sum() - (amb_lams[::-1][:least].sum() if least else 0.0)
    return lo, hi


def width_to_explain(pi, spectra, task: int, fraction: float = 0.5) -> int:
    """Smallest width whose optimum explains at least ``fraction`` of task ``task``'s variance.

    Follows the ranking used by :func:`retained_features` (ties broken stably). Returns 0 when
    the task has no variance. Not to be confused with the critical width of Proposition 6
    (:func:`rtrlib.theory.interference.critical_width`), the width at which a task gets its
    *first* feature.
    """
    pi, spectra = _check(pi, spectra)
    if not 0 < fraction <= 1:
        raise ParameterError("fraction", fraction, "a number in (0, 1]")
    if not 0 <= task < len(pi):
        raise ParameterError("task", task, f"a task index in [0, {len(pi) - 1}]")
    total = spectra[task].sum()
    if total <= 0:
        return 0
    _, tasks, _ = utilities(pi, spectra)
    lam = np.concatenate(spectra)
    order = utility_ranking(pi, spectra)
    gained = np.cumsum(np.where(tasks[order] == task, lam[order], 0.0))
    hit = np.nonzero(gained >= fraction * total * (1 - 1e-12))[0]
    return int(hit[0] + 1)


def learning_order(pi, spectra, *, lr: float = 1.0, init_product: float = 1e-4):
    """The order and timescales in which gradient flow from small initialisation learns features.

    Reconstruction (Saxe et al. style, one mode at a time): a hidden unit aligned with feature
    f, with encoder weight a and readout weight c, obeys ``dp/dt = 2 u_f (1 - p)(a^2 + c^2)``
    for ``p = a c``; balanced (a = c) this is logistic growth ``dp/dt = 4 u_f p (1 - p)``. The
    timescale is ``tau_f = 1 / (4 u_f)`` in units of ``1 / lr`` steps, and the time for ``p`` to
    rise from ``init_product`` to 1/2 is ``tau_f * ln((1 - p0) / p0)``.

    Returns a pandas DataFrame with one row per feature (task, j, utility, rank, timescale,
    half_time), sorted by rank. Features of zero utility get infinite times.
    """
    import pandas as pd

    u, task, j = utilities(pi, spectra)
    order = utility_ranking(pi, spectra)
    rank = np.empty(len(u), dtype=int)
    rank[order] = np.arange(1, len(u) + 1)
    with np.errstate(divide="ignore"):
        tau = np.where(u > 0, 1.0 / (4.0 * u * lr), np.inf)
    p0 = float(init_product)
    half = tau * np.log((1 - p0) / p0)
    df = pd.DataFrame({"feature": np.arange(len(u)), "task": task, "j": j + 1, "utility": u,
                       "rank": rank, "timescale": tau, "half_time": half})
    return df.sort_values("rank").reset_index(drop=True)
