"""Theorem 3 closed forms against brute force, and the SymPy derivations against them."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from rtrlib.symbolic.utility import (
    eckart_young_total,
    mixture_matrix,
    mode_dynamics,
    optimal_readout_loss,
)
from rtrlib.theory.utility import (
    learning_order,
    optimal_task_loss,
    optimal_total_loss,
    retained_features,
    width_to_explain,
)


def random_mixture(rng, ties: bool):
    K = int(rng.integers(2, 6))
    lengths = rng.integers(1, 6, size=K)
    pi = rng.dirichlet(np.ones(K))
    if ties:  # force exact ties in utility across and within tasks
        pi = np.full(K, 1.0 / K)
        spectra = [rng.choice([1.0, 0.5, 0.25], size=m) for m in lengths]
    else:
        spectra = [rng.uniform(0.01, 2.0, size=m) for m in lengths]
    return pi, spectra


def brute_force(pi, spectra, width, dim_extra=2, seed=0):
    """Per-task loss of the top-N eigenvectors of M, in a random rotation of R^D."""
    rng = np.random.default_rng(seed)
    F = sum(len(s) for s in spectra)
    D = F + dim_extra
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    basis = Q[:, :F]
    task = np.repeat(np.arange(len(pi)), [len(s) for s in spectra])
    lam = np.concatenate(spectra)
    M = (basis * (pi[task] * lam)) @ basis.T
    evals, evecs = np.linalg.eigh(M)
    U = evecs[:, np.argsort(-evals)[:width]]
    presence = ((U.T @ basis) ** 2).sum(0)
    loss = np.bincount(task, weights=lam * (1 - presence), minlength=len(pi))
    return loss, np.sort(evals)[::-1]


@pytest.mark.parametrize("seed", range(12))
def test_optimal_loss_matches_eigendecomposition(seed):
    rng = np.random.default_rng(seed)
    ties = seed % 2 == 1
    pi, spectra = random_mixture(rng, ties)
    F = sum(len(s) for s in spectra)
    u = np.sort(np.concatenate([p * s for p, s in zip(pi, spectra, strict=True)]))[::-1]
    for width in range(0, F + 2):
        brute, evals = brute_force(pi, spectra, width, seed=seed)
        np.testing.assert_allclose(evals[:F], u, atol=1e-10)      # spectrum of M = utilities
        theory = optimal_task_loss(pi, spectra, width)
        # the mixture loss is unique even at ties
        assert pi @ theory == pytest.approx(pi @ brute, abs=1e-9)
        assert optimal_total_loss(pi, spectra, width) == pytest.approx(u[width:].sum(), abs=1e-12)
        tie_at_cut = 0 < width < F and abs(u[width - 1] - u[width]) < 1e-12
        if not tie_at_cut:
            np.testing.assert_allclose(theory, brute, atol=1e-8)
        kept = retained_features(pi, spectra, width)
        assert kept.sum() == min(width, F)
        assert np.all(kept <= [len(s) for s in spectra])


def test_ties_broken_stably_and_documented():
    pi = [0.5, 0.5]
    spectra = [[1.0, 0.5], [1.0, 0.5]]
    assert list(retained_features(pi, spectra, 1)) == [1, 0]
    assert list(retained_features(pi, spectra, 3)) == [2, 1]
    np.testing.assert_allclose(optimal_task_loss(pi, spectra, 3), [0.0, 0.5])


def test_unsorted_spectra_and_width_beyond_features():
    pi = [0.7, 0.3]
    spectra = [np.array([0.1, 2.0]), np.array([1.0])]
    # utilities 0.07, 1.4, 0.3: width 1 keeps task 0's second feature
    np.testing.assert_allclose(optimal_task_loss(pi, spectra, 1), [0.1, 1.0])
    np.testing.assert_allclose(optimal_task_loss(pi, spectra, 10), [0.0, 0.0])


def test_width_to_explain_is_smallest_sufficient_width():
    rng = np.random.default_rng(3)
    for _ in range(5):
        pi, spectra = random_mixture(rng, ties=False)
        F = sum(len(s) for s in spectra)
        for task in range(len(pi)):
            for frac in (0.25, 0.5, 0.9, 1.0):
                n = width_to_explain(pi, spectra, task, frac)
                var = spectra[task].sum()
                explained = [var - optimal_task_loss(pi, spectra, w)[task] for w in range(F + 1)]
                ok = [e >= frac * var * (1 - 1e-12) for e in explained]
                assert ok[n] and (n == 0 or not ok[n - 1])


def test_rarer_task_needs_more_width():
    pi = np.array([0.6, 0.3, 0.1])
    spectra = [np.arange(1, 9) ** -1.0] * 3
    widths = [width_to_explain(pi, spectra, k) for k in range(3)]
    assert widths[0] < widths[1] < widths[2]


def test_learning_order_ranks_by_utility():
    pi = [0.8, 0.2]
    spectra = [[1.0, 0.1], [1.0]]
    df = learning_order(pi, spectra, lr=0.5, init_product=1e-3)
    assert list(zip(df.task, df.j, strict=True)) == [(0, 1), (1, 1), (0, 2)]
    assert np.all(np.diff(df.half_time) > 0)
    np.testing.assert_allclose(df.timescale, 1 / (4 * 0.5 * df.utility))


def test_symbolic_readout_presence_is_projection():
    o = optimal_readout_loss()
    theta, l1, l2 = sp.symbols("theta lambda_1 lambda_2", positive=True)
    pres = o["presence_1"] + o["presence_2"]
    assert sp.simplify(pres - 1) == 0   # a width-1 encoder carries one feature's worth in total
    # aligned with feature 1: feature 1 fully present, feature 2 absent
    assert sp.simplify(o["best_1"].subs(sp.Symbol("theta", real=True), 0)) == 0


def test_symbolic_mixture_spectrum_equals_utilities():
    M, eig, s = mixture_matrix()
    utilities = [s["pi_1"] * s["lambda_11"], s["pi_1"] * s["lambda_12"],
                 s["pi_2"] * s["lambda_21"], s["pi_2"] * s["lambda_22"]]
    assert sorted(map(str, eig)) == sorted(map(str, utilities))
    vals = {s["pi_1"]: 0.7, s["pi_2"]: 0.3, s["lambda_11"]: 1.0, s["lambda_12"]: 0.2,
            s["lambda_21"]: 0.9, s["lambda_22"]: 0.5, s["phi_1"]: 0.4, s["phi_2"]: 1.3}
    num = np.array(M.subs(vals).evalf(), dtype=float)
    ordered = sorted((float(u.subs(vals)) for u in utilities), reverse=True)
    for width in range(5):
        total = float(eckart_young_total([sp.Float(v) for v in ordered], width))
        pi = [0.7, 0.3]
        spectra = [[1.0, 0.2], [0.9, 0.5]]
        assert total == pytest.approx(optimal_total_loss(pi, spectra, width))
        assert total == pytest.approx(np.sort(np.linalg.eigvalsh(num))[::-1][width:].sum())


def test_symbolic_half_time_matches_theory():
    d = mode_dynamics()
    u, p0 = sp.symbols("u p_0", positive=True)
    half = float(d["half_time"].subs({u: 0.05, p0: 1e-3}))
    df = learning_order([1.0], [[0.05]], lr=1.0, init_product=1e-3)
    assert half == pytest.approx(float(df.half_time[0]))
    assert sp.simplify(d["balanced"] - 4 * u * sp.Symbol("p", real=True)
                       * (1 - sp.Symbol("p", real=True))) == 0


def test_loss_range_covers_ties_and_collapses_without_them():
    from rtrlib.theory.utility import optimal_loss_range

    rng = np.random.default_rng(11)
    for trial in range(8):
        pi, spectra = random_mixture(rng, ties=trial % 2 == 0)
        F = sum(len(s) for s in spectra)
        for width in range(F + 1):
            lo, hi = optimal_loss_range(pi, spectra, width)
            opt = optimal_task_loss(pi, spectra, width)
            assert np.all(lo <= opt + 1e-12) and np.all(opt <= hi + 1e-12)
            for rot_seed in range(3):   # any eigenbasis of M (ties: rotations inside eigenspaces)
                brute, _ = brute_force(pi, spectra, width, seed=rot_seed)
                assert np.all(lo - 1e-8 <= brute) and np.all(brute <= hi + 1e-8)
            if trial % 2 == 1:
                np.testing.assert_allclose(lo, opt)
                np.testing.assert_allclose(hi, opt)
    # a near tie widens the band only when rtol covers it
    lo, hi = optimal_loss_range([0.5, 0.5], [[1.0], [0.95]], 1, rtol=0.1)
    np.testing.assert_allclose(lo, [0.0, 0.0])
    np.testing.assert_allclose(hi, [1.0, 0.95])
    lo, hi = optimal_loss_range([0.5, 0.5], [[1.0], [0.95]], 1, rtol=0.01)
    np.testing.assert_allclose(lo, hi)


def test_refused_parameters_are_named():
    from rtrlib.params import ParameterError

    with pytest.raises(ParameterError, match="'pi'"):
        optimal_task_loss([0.5, -0.5], [[1.0], [1.0]], 1)
    with pytest.raises(ParameterError, match="'spectra'"):
        optimal_task_loss([0.5, 0.5], [[1.0], [-1.0]], 1)
    with pytest.raises(ParameterError, match="'width'"):
        retained_features([1.0], [[1.0]], -1)
    with pytest.raises(ParameterError, match="'fraction'"):
        width_to_explain([1.0], [[1.0]], 0, fraction=0.0)
    with pytest.raises(ParameterError, match="'task'"):
        width_to_explain([1.0], [[1.0]], 1)


def test_width_to_explain_and_critical_width_are_different_quantities():
    """Prop. 6's critical width is when a task gets its first feature; width_to_explain(0.5)
    when half its variance is explained. With a flat rare spectrum they differ."""
    from rtrlib.theory import critical_width

    pi, spectra = [0.9, 0.1], [[1.0, 0.05], [1.0, 1.0, 1.0, 1.0]]
    # utilities 0.9, 0.045 | 0.1 x 4: one common feature outranks the rare task's features
    assert critical_width(pi, spectra, rare=1) == 2          # its first feature
    assert width_to_explain(pi, spectra, 1) == 3             # two of its four equal features
