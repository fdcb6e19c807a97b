"""Theorem 4 (residual-driven interference) and the critical width of a rare task.

Closed forms for the linear multi-task model of the paper's Section 3, in numpy only. Task k has an
orthonormal feature block ``B_k`` (D x d_k) and spectrum ``lambda_k`` (d_k,); its target map is
``W_k = diag(sqrt(lambda_k)) B_k^T`` so that, for white inputs, its feature covariance is
``Sigma_k = W_k^T W_k = B_k diag(lambda_k) B_k^T``. A model with encoder ``U`` (D x N) and readout
``A_k`` (d_k x N) predicts ``A_k U^T x``; with the best readout its loss is

    l_k(U) = tr(Sigma_k) - tr(P_U Sigma_k) = tr((I - P_U) Sigma_k),   P_U = U (U^T U)^-1 U^T,

the part of task k's variance the representation has not explained (its *residual*). Its gradient
with respect to the encoder is

    grad_U l_k = -2 (I - P_U) Sigma_k U (U^T U)^-1,

which vanishes once ``range(U)`` contains the task's features. Everything here is the book's
reconstruction of the paper's Theorem 4, Corollary 5 and Proposition 6, whose exact statements are
not public (see ``PAPER.md`` section 4): the formulas are exact for this model, the naming is ours.

The critical width of a rare task r is the reconstruction the paper's summaries suggest: the
number of features of the other tasks whose utility ``u_{k,j} = pi_k lambda_{k,j}`` exceeds the
rare task's best utility ``u_{r,1}``; the best width-N encoder holds the rare task's top feature
exactly when N exceeds that count (for distinct utilities).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rtrlib.params import ParameterError

__all__ = [
    "task_covariance",
    "mixture_covariance",
    "target_map",
    "projector",
    "task_residual",
    "residual_covariance",
    "task_gradient",
    "mixture_gradient",
    "gradient_bound",
    "optimal_readout",
    "sample_gradient",
    "rare_signal",
    "features_above",
    "critical_width",
    "contested_utility",
]

ArrayLike = np.ndarray | Sequence[float]


def _as2d(U: np.ndarray) -> np.ndarray:
    U = np.asarray(U, dtype=float)
    if U.ndim != 2:
        raise ParameterError("U", f"an array of shape {U.shape}", "a D x N matrix")
    return U


def task_covariance(basis: np.ndarray, spectrum: ArrayLike) -> np.ndarray:
    """``Sigma_k = B_k diag(lambda_k) B_k^T`` (D x D)."""
    B = _as2d(basis)
    lam = np.asarray(spectrum, dtype=float)
    if lam.shape != (B.shape[1],):
        raise ParameterError("spectrum", lam.tolist(),
                             f"one value per column of the basis ({B.shape[1]})")
    return (B * lam) @ B.T


def target_map(basis: np.ndarray, spectrum: ArrayLike) -> np.ndarray:
    """``W_k = diag(sqrt(lambda_k)) B_k^T`` (d_k x D), so that ``W_k^T W_k = Sigma_k``."""
    B = _as2d(basis)
    return np.sqrt(np.asarray(spectrum, dtype=float))[:, None] * B.T


def mixture_covariance(pis: ArrayLike, bases: Sequence[np.ndarray],
                       spectra: Sequence[ArrayLike]) -> np.ndarray:
    """``M = sum_k pi_k Sigma_k``: the covariance whose eigenvalues are the utilities."""
    pis = np.asarray(pis, dtype=float)
    if not (len(pis) == len(bases) == len(spectra)):
        raise ParameterError("pis", pis.tolist(), "one entry per basis and per spectrum")
    return sum(p * task_covariance(B, lam) for p, B, lam in zip(pis, bases, spectra, strict=True))


def projector(U: np.ndarray) -> np.ndarray:
    """The orthogonal projector ``P_U = U (U^T U)^-1 U^T`` onto ``range(U)``."""
    U = _as2d(U)
    Q, _ = np.linalg.qr(U)
    return Q @ Q.T


def task_residual(U: np.ndarray, cov: np.ndarray) -> float:
    """``l_k(U) = tr((I - P_U) Sigma_k)``: task k's loss with its best readout."""
    return float(np.trace(cov) - np.trace(projector(U) @ cov))


def residual_covariance(U: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``(I - P_U) Sigma_k (I - P_U)``: the unexplained part of the task's covariance."""
    R = np.eye(cov.shape[0]) - projector(U)
    return R @ cov @ R


def task_gradient(U: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``grad_U l_k = -2 (I - P_U) Sigma_k U (U^T U)^-1`` (D x N)."""
    U = _as2d(U)
    R = np.eye(U.shape[0]) - projector(U)
    return -2.0 * R @ cov @ U @ np.linalg.inv(U.T @ U)


def mixture_gradient(U: np.ndarray, pis: ArrayLike, covs: Sequence[np.ndarray]) -> np.ndarray:
    """The gradient of the mixture loss ``sum_k pi_k l_k(U)``."""
    return sum(p * task_gradient(U, c) for p, c in zip(np.asarray(pis, float), covs, strict=True))


def gradient_bound(U: np.ndarray, cov: np.ndarray) -> float:
    """Theorem 4's bound ``2 sqrt(lambda_max(Sigma_k) l_k(U)) / sigma_min(U)`` on the gradient's
    Frobenius norm: a task's gradient is at most proportional to the square root of its residual.
    """
    U = _as2d(U)
    lam_max = float(np.linalg.eigvalsh(cov)[-1])
    resid = max(task_residual(U, cov), 0.0)
    s_min = float(np.linalg.svd(U, compute_uv=False)[-1])
    return 2.0 * np.sqrt(max(lam_max, 0.0) * resid) / s_min


def optimal_readout(U: np.ndarray, W: np.ndarray) -> np.ndarray:
    """The best readout for target map ``W`` (d x D) through encoder U: ``W U (U^T U)^-1``."""
    U = _as2d(U)
    return W @ U @ np.linalg.inv(U.T @ U)


def sample_gradient(U: np.ndarray, A: np.ndarray, W: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per-sample gradient of ``||W x - A U^T x||^2`` w.r.t. U: ``-2 x r^T A`` with the residual
    error ``r = (W - A U^T) x``. It is exactly zero when the task is fitted (``W = A U^T``), so a
    learned task's samples cannot interfere with anything.
    """
    r = (W - A @ U.T) @ x
    return -2.0 * np.outer(x, r @ A)


def rare_signal(U: np.ndarray, basis: np.ndarray) -> float:
    """The rare task's signal in the representation: ``||P_U B_r||_F^2 / d_r`` in [0, 1], the
    mean fraction of its features that ``range(U)`` captures."""
    B = _as2d(basis)
    return float(np.sum((projector(U) @ B) ** 2) / B.shape[1])


def _utilities(pis: ArrayLike, spectra: Sequence[ArrayLike]) -> list[np.ndarray]:
    pis = np.asarray(pis, dtype=float)
    if len(pis) != len(spectra):
        raise ParameterError("pis", pis.tolist(), "one entry per spectrum")
    return [p * np.asarray(lam, dtype=float) for p, lam in zip(pis, spectra, strict=True)]


def _check_rare(rare: int, K: int) -> int:
    if not 0 <= int(rare) < K:
        raise ParameterError("rare", rare, f"a task index in [0, {K - 1}]")
    return int(rare)


def features_above(pis: ArrayLike, spectra: Sequence[ArrayLike], rare: int,
                   feature: int = 0) -> int:
    """How many features of the other tasks have utility strictly above ``u_{r,feature}``."""
    u = _utilities(pis, spectra)
    rare = _check_rare(rare, len(u))
    ref = np.sort(u[rare])[::-1][feature]
    return int(sum(np.sum(uk > ref) for k, uk in enumerate(u) if k != rare))


def critical_width(pis: ArrayLike, spectra: Sequence[ArrayLike], rare: int,
                   features: int = 1) -> int:
    """Proposition 6 (reconstruction): the smallest width whose best encoder holds the top
    ``features`` features of task ``rare`` (any task index; the name says what it is used for).

    That is ``#{(k, j), k != r : u_{k,j} >= u_{r,m}} + m`` with ``m = features``; for m = 1 it is
    one more than the count of other tasks' features whose utility reaches the rare task's best
    (ties are counted against the rare task). The width needed to explain a *fraction of a
    task's variance* is another quantity: :func:`rtrlib.theory.utility.width_to_explain`.
    """
    u = _utilities(pis, spectra)
    rare = _check_rare(rare, len(u))
    ur = np.sort(u[rare])[::-1]
    if not 1 <= features <= len(ur):
        raise ParameterError("features", features, f"an integer in [1, {len(ur)}]")
    ref = ur[features - 1]
    above = sum(int(np.sum(uk >= ref)) for k, uk in enumerate(u) if k != rare)
    return above + features


def contested_utility(pis: ArrayLike, spectra: Sequence[ArrayLike], rare: int,
                      width: int) -> float:
    """The utility of the weakest feature the other tasks claim in a width-N model: the N-th
    largest utility among the non-rare features (0 when there are fewer than N of them).

    Between bursts a rare feature stored in that slot is pulled out at a rate proportional to this
    number (Corollary 5, reconstruction): wider models contest their last slot less, and a model
    wider than the other tasks' feature count leaves the rare task a slot nobody contests.
    """
    u = _utilities(pis, spectra)
    rare = _check_rare(rare, len(u))
    if width < 1:
        raise ParameterError("width", width, "an integer >= 1")
    others = np.sort(np.concatenate([uk for k, uk in enumerate(u) if k != rare]))[::-1]
    return float(others[width - 1]) if width <= len(others) else 0.0
