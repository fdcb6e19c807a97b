"""Theorem 4 closed forms (rtrlib.theory.interference) against autograd and Eckart-Young."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rtrlib.params import ParameterError
from rtrlib.theory import interference as ti
from rtrlib.theory.utility import optimal_task_loss


def _orthonormal(rng: np.random.Generator, D: int, n: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    return q[:, :n]


def _mixture(rng: np.random.Generator, D: int = 12, dims=(3, 3, 2, 2)):
    q = _orthonormal(rng, D, D)
    bases, spectra, start = [], [], 0
    for d in dims:
        bases.append(q[:, start:start + d])
        spectra.append(np.sort(rng.uniform(0.2, 2.0, size=d))[::-1])
        start += d
    pis = rng.dirichlet(np.ones(len(dims)))
    return pis, bases, spectra


def _torch_projected_loss(U: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    P = U @ torch.linalg.solve(U.T @ U, U.T)
    return torch.trace(S) - torch.trace(P @ S)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_matches_autograd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pis, bases, spectra = _mixture(rng)
    S = ti.task_covariance(bases[0], spectra[0])
    U = rng.normal(size=(12, 4))
    Ut = torch.tensor(U, dtype=torch.float64, requires_grad=True)
    _torch_projected_loss(Ut, torch.tensor(S)).backward()
    np.testing.assert_allclose(ti.task_gradient(U, S), Ut.grad.numpy(), atol=1e-10)
    assert np.isclose(ti.task_residual(U, S),
                      float(_torch_projected_loss(Ut.detach(), torch.tensor(S))))


def test_envelope_readout_loss_gradient() -> None:
    """With the best readout, the gradient of the readout loss is the projected-loss gradient."""
    rng = np.random.default_rng(3)
    pis, bases, spectra = _mixture(rng)
    W = ti.target_map(bases[1], spectra[1])
    S = ti.task_covariance(bases[1], spectra[1])
    np.testing.assert_allclose(W.T @ W, S, atol=1e-12)
    U = rng.normal(size=(12, 5))
    A = ti.optimal_readout(U, W)
    Ut = torch.tensor(U, requires_grad=True)
    loss = torch.sum((torch.tensor(W) - torch.tensor(A) @ Ut.T) ** 2)
    loss.backward()
    np.testing.assert_allclose(Ut.grad.numpy(), ti.task_gradient(U, S), atol=1e-10)
    assert np.isclose(float(loss.detach()), ti.task_residual(U, S))


def test_mixture_gradient_is_weighted_sum() -> None:
    rng = np.random.default_rng(4)
    pis, bases, spectra = _mixture(rng)
    covs = [ti.task_covariance(B, lam) for B, lam in zip(bases, spectra, strict=True)]
    U = rng.normal(size=(12, 3))
    M = ti.mixture_covariance(pis, bases, spectra)
    np.testing.assert_allclose(ti.mixture_gradient(U, pis, covs), ti.task_gradient(U, M),
                               atol=1e-12)


def test_fully_explained_task_has_zero_gradient() -> None:
    rng = np.random.default_rng(5)
    pis, bases, spectra = _mixture(rng)
    S = ti.task_covariance(bases[0], spectra[0])
    # range(U) contains B_0, plus two random directions, mixed by a random invertible matrix
    U = np.hstack([bases[0], rng.normal(size=(12, 2))]) @ rng.normal(size=(5, 5))
    assert ti.task_residual(U, S) == pytest.approx(0.0, abs=1e-10)
    assert np.abs(ti.task_gradient(U, S)).max() < 1e-10
    assert ti.gradient_bound(U, S) < 1e-4
    # a task that is only partly explained keeps a gradient
    U_part = np.hstack([bases[0][:, :2], rng.normal(size=(12, 2))])
    assert np.abs(ti.task_gradient(U_part, S)).max() > 1e-3


@pytest.mark.parametrize("seed", range(5))
def test_gradient_bound_holds(seed: int) -> None:
    rng = np.random.default_rng(10 + seed)
    pis, bases, spectra = _mixture(rng)
    S = ti.task_covariance(bases[2], spectra[2])
    U = rng.normal(size=(12, 4))
    assert np.linalg.norm(ti.task_gradient(U, S)) <= ti.gradient_bound(U, S) * (1 + 1e-9)


def test_sample_gradient_matches_autograd_and_vanishes_when_fitted() -> None:
    rng = np.random.default_rng(6)
    pis, bases, spectra = _mixture(rng)
    W = ti.target_map(bases[0], spectra[0])
    U = rng.normal(size=(12, 4))
    A = rng.normal(size=(3, 4))
    x = rng.normal(size=12)
    Ut = torch.tensor(U, requires_grad=True)
    r = torch.tensor(W) @ torch.tensor(x) - torch.tensor(A) @ (Ut.T @ torch.tensor(x))
    torch.sum(r**2).backward()
    np.testing.assert_allclose(ti.sample_gradient(U, A, W, x), Ut.grad.numpy(), atol=1e-10)
    U_fit = np.hstack([bases[0], rng.normal(size=(12, 1))])
    A_fit = ti.optimal_readout(U_fit, W)
    assert np.abs(ti.sample_gradient(U_fit, A_fit, W, x)).max() < 1e-10


def test_critical_width_matches_eckart_young() -> None:
    rng = np.random.default_rng(7)
    pis, bases, spectra = _mixture(rng, D=16, dims=(4, 4, 4, 2))
    pis = np.array([0.5, 0.3, 0.18, 0.02])
    rare = 3
    M = ti.mixture_covariance(pis, bases, spectra)
    vals, vecs = np.linalg.eigh(M)
    order = np.argsort(vals)[::-1]
    nc = ti.critical_width(pis, spectra, rare)
    assert nc == ti.features_above(pis, spectra, rare) + 1
    for N in range(1, 15):
        U = vecs[:, order[:N]]
        holds = ti.rare_signal(U, bases[rare][:, :1]) > 0.5
        assert holds == (nc <= N), N
    nc2 = ti.critical_width(pis, spectra, rare, features=2)
    assert nc2 > nc
    U = vecs[:, order[:nc2]]
    assert ti.rare_signal(U, bases[rare]) == pytest.approx(1.0)


def test_critical_width_hand_example() -> None:
    pis = [0.6, 0.3, 0.1]
    spectra = [[1.0, 0.5, 0.1], [1.0, 0.4], [1.0, 0.2]]
    # utilities: 0.6 0.3 0.06 | 0.3 0.12 | 0.1 0.02 -> rare top utility 0.1; above: 0.6 0.3 0.3 0.12
    assert ti.features_above(pis, spectra, rare=2) == 4
    assert ti.critical_width(pis, spectra, rare=2) == 5
    assert ti.contested_utility(pis, spectra, 2, 1) == pytest.approx(0.6)
    assert ti.contested_utility(pis, spectra, 2, 5) == pytest.approx(0.06)
    assert ti.contested_utility(pis, spectra, 2, 6) == 0.0
    np.testing.assert_allclose(optimal_task_loss(pis, spectra, 5), [0.1, 0.0, 0.2])
    with pytest.raises(ParameterError, match="'rare'"):
        ti.critical_width(pis, spectra, rare=3)
    with pytest.raises(ParameterError, match="'features'"):
        ti.critical_width(pis, spectra, rare=2, features=3)


def test_optimal_task_loss_is_the_residual_and_contested_utility_monotone() -> None:
    rng = np.random.default_rng(8)
    pis, bases, spectra = _mixture(rng)
    M = ti.mixture_covariance(pis, bases, spectra)
    vals, vecs = np.linalg.eigh(M)
    order = np.argsort(vals)[::-1]
    covs = [ti.task_covariance(B, lam) for B, lam in zip(bases, spectra, strict=True)]
    prev = np.inf
    for N in range(1, 11):
        U = vecs[:, order[:N]]
        res = optimal_task_loss(pis, spectra, N)
        np.testing.assert_allclose(res, [ti.task_residual(U, c) for c in covs], atol=1e-9)
        cu = ti.contested_utility(pis, spectra, 3, N)
        assert cu <= prev
        prev = cu
