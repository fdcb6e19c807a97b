"""SymPy derivation of Theorem 4 (reconstruction): a task's encoder gradient is its residual.

The derivation, step by step, with SymPy's matrix calculus on symbolic D x N matrices:

1. the loss of task k with readout A through encoder U, ``||W - A U^T||_F^2`` (white inputs);
2. the best readout ``A* = W U (U^T U)^-1`` (set the readout gradient to zero);
3. the reduced loss ``tr(Sigma) - tr(P_U Sigma)`` with ``Sigma = W^T W``;
4. its gradient with respect to U, which SymPy returns term by term and which collapses, for a
   symmetric Sigma, to ``-2 (I - P_U) Sigma U (U^T U)^-1``.

:func:`check_gradient` verifies step 4 exactly (rational arithmetic) on random small matrices;
the tests also compare it with :func:`rtrlib.theory.task_gradient` and torch autograd.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import sympy as sp

__all__ = [
    "Derivation",
    "derive",
    "closed_form_gradient",
    "check_gradient",
    "gradient_function",
    "saturation_bound",
]

D, N, d = sp.symbols("D N d", integer=True, positive=True)


@dataclass(frozen=True)
class Derivation:
    """The symbols and every intermediate expression of the derivation."""

    U: sp.MatrixSymbol
    A: sp.MatrixSymbol
    W: sp.MatrixSymbol
    Sigma: sp.MatrixSymbol
    readout_loss: sp.Expr
    readout_gradient: sp.MatrixExpr
    optimal_readout: sp.MatrixExpr
    reduced_loss: sp.Expr
    raw_gradient: sp.MatrixExpr
    gradient: sp.MatrixExpr


def _sym(expr: sp.MatrixExpr, Sigma: sp.MatrixSymbol) -> sp.MatrixExpr:
    """Use the symmetry of Sigma: replace Sigma^T by Sigma."""
    return expr.subs(Sigma.T, Sigma)


def derive() -> Derivation:
    """Run the derivation with SymPy and return every step."""
    U = sp.MatrixSymbol("U", D, N)
    A = sp.MatrixSymbol("A", d, N)
    W = sp.MatrixSymbol("W", d, D)
    Sigma = sp.MatrixSymbol("Sigma", D, D)
    E = W - A * U.T
    readout_loss = sp.Trace(E * E.T)
    readout_gradient = readout_loss.diff(A)
    # 0 = dL/dA = -2 (W - A U^T) U  =>  A (U^T U) = W U
    optimal = W * U * (U.T * U).I
    # with A*: ||W - W P_U||^2 = tr(W W^T) - tr(W P_U W^T) = tr(Sigma) - tr(P_U Sigma)
    P = U * (U.T * U).I * U.T
    reduced = sp.Trace(Sigma) - sp.Trace(P * Sigma)
    raw = -sp.Trace(P * Sigma).diff(U)  # d tr(Sigma)/dU = 0
    raw = _sym(raw, Sigma).doit()
    return Derivation(U=U, A=A, W=W, Sigma=Sigma, readout_loss=readout_loss,
                      readout_gradient=readout_gradient, optimal_readout=optimal,
                      reduced_loss=reduced, raw_gradient=raw,
                      gradient=closed_form_gradient(U, Sigma))


def closed_form_gradient(U: sp.MatrixSymbol, Sigma: sp.MatrixSymbol) -> sp.MatrixExpr:
    """``-2 (I - P_U) Sigma U (U^T U)^-1`` as a SymPy matrix expression."""
    I = sp.Identity(U.shape[0])
    P = U * (U.T * U).I * U.T
    return sp.MatMul(-2, (I - P) * Sigma * U * (U.T * U).I)


def _random_rational_matrix(rows: int, cols: int, rng: random.Random) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Rational(rng.randint(-9, 9), rng.randint(1, 5)))


def check_gradient(dim: int = 4, width: int = 2, seed: int = 0) -> bool:
    """Exact check that SymPy's raw gradient equals the closed form on random rational
    matrices (a D x N encoder of full rank and a symmetric Sigma)."""
    rng = random.Random(seed)
    der = derive()
    while True:
        Uv = _random_rational_matrix(dim, width, rng)
        if (Uv.T * Uv).det() != 0:
            break
    Cv = _random_rational_matrix(dim, dim, rng)
    Sv = Cv * Cv.T  # symmetric positive semidefinite
    Us = sp.MatrixSymbol("U", dim, width)
    Ss = sp.MatrixSymbol("Sigma", dim, dim)

    def value(expr: sp.MatrixExpr) -> sp.Matrix:
        e = expr.subs({D: dim, N: width}).subs({der.U: Us, der.Sigma: Ss})
        return sp.Matrix(sp.lambdify((Us, Ss), e, modules="sympy")(Uv, Sv))

    G = (Uv.T * Uv).inv()
    closed = -2 * (sp.eye(dim) - Uv * G * Uv.T) * Sv * Uv * G
    diff = value(der.raw_gradient) - closed
    return all(sp.simplify(x) == 0 for x in diff)


def gradient_function(dim: int, width: int):
    """A numeric function ``f(U, Sigma) -> grad`` lambdified from SymPy's *raw* gradient
    (for comparison with :func:`rtrlib.theory.task_gradient` and autograd)."""
    der = derive()
    Us = sp.MatrixSymbol("U", dim, width)
    Ss = sp.MatrixSymbol("Sigma", dim, dim)
    expr = der.raw_gradient.subs({D: dim, N: width}).subs({der.U: Us, der.Sigma: Ss})
    return sp.lambdify((Us, Ss), expr, modules="numpy")


def saturation_bound() -> dict[str, sp.Expr]:
    """Theorem 4's bound, worked out for one feature at angle theta to a one-column encoder.

    Feature b = e_1 with value lambda; orthonormal encoder u = (cos theta, sin theta). Returns the
    squared gradient norm ``4 lambda^2 sin^2 cos^2``, the residual ``lambda sin^2 theta``, the
    squared bound ``4 lambda_max * residual`` and their ratio ``cos^2 theta <= 1``.
    """
    lam, th = sp.symbols("lambda theta", positive=True)
    c, s = sp.symbols("c s", positive=True)  # cos(theta), sin(theta) with c^2 + s^2 = 1

    def on_circle(expr: sp.Expr) -> sp.Expr:
        expr = sp.expand(sp.expand(expr).subs(c**2, 1 - s**2))
        return expr.subs(1 - s**2, c**2).subs({c: sp.cos(th), s: sp.sin(th)})

    u = sp.Matrix([c, s])
    b = sp.Matrix([1, 0])
    Sigma = lam * b * b.T
    P = u * u.T
    grad = -2 * (sp.eye(2) - P) * Sigma * u
    residual_cs = (Sigma - P * Sigma).trace()
    ratio = on_circle(sp.cancel((grad.T * grad)[0] / (4 * lam * residual_cs)))
    residual = on_circle(residual_cs)
    bound_sq = 4 * lam * residual
    return {"grad_sq": ratio * bound_sq, "residual": residual, "bound_sq": bound_sq,
            "ratio": ratio}
