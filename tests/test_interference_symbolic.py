"""The SymPy derivation of Theorem 4 against the numpy closed form and autograd."""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from rtrlib.symbolic import interference as si
from rtrlib.theory import interference as ti


def test_symbolic_gradient_equals_closed_form_exactly() -> None:
    assert si.check_gradient(dim=4, width=2, seed=0)
    assert si.check_gradient(dim=3, width=1, seed=1)


def test_lambdified_symbolic_gradient_matches_theory_and_autograd() -> None:
    f = si.gradient_function(6, 3)
    rng = np.random.default_rng(0)
    U = rng.normal(size=(6, 3))
    C = rng.normal(size=(6, 6))
    S = C @ C.T
    g = np.asarray(f(U, S), dtype=float)
    np.testing.assert_allclose(g, ti.task_gradient(U, S), atol=1e-10)
    Ut = torch.tensor(U, requires_grad=True)
    P = Ut @ torch.linalg.solve(Ut.T @ Ut, Ut.T)
    (-torch.trace(P @ torch.tensor(S))).backward()
    np.testing.assert_allclose(g, Ut.grad.numpy(), atol=1e-10)


def test_readout_step_and_saturation_bound() -> None:
    der = si.derive()
    # the readout gradient vanishes at the optimal readout (checked numerically)
    rng = np.random.default_rng(1)
    U, W = rng.normal(size=(5, 2)), rng.normal(size=(3, 5))
    A_opt = ti.optimal_readout(U, W)
    grad_fn = sp.lambdify((der.A, der.U, der.W),
                          der.readout_gradient.subs({si.D: 5, si.N: 2, si.d: 3}), "numpy")
    assert np.abs(np.asarray(grad_fn(A_opt, U, W), dtype=float)).max() < 1e-10
    sat = si.saturation_bound()
    th, lam = sp.symbols("theta lambda", positive=True)
    assert sp.simplify(sat["ratio"] - sp.cos(th) ** 2) == 0
    assert sp.simplify(sat["residual"] - lam * sp.sin(th) ** 2) == 0
