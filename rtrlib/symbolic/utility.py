"""SymPy derivations behind Theorem 3 (utility ranking); chapter 03 displays them.

1. :func:`optimal_readout_loss`: one task, features with variances ``lambda_j``, a width-1
   encoder at angle ``theta``: the optimal readout and the loss it leaves,
   ``lambda_j (1 - presence_j)``.
2. :func:`mixture_matrix`: ``M = sum_k pi_k B_k Lambda_k B_k^T`` for two tasks of two features,
   each block rotated by its own angle; its eigenvalues are the utilities ``pi_k lambda_{k,j}``.
3. :func:`eckart_young_total`: the mixture loss of the best width-N encoder, the sum of the
   utilities it leaves out.
4. :func:`mode_dynamics`: gradient flow on one feature's encoder/readout pair, its logistic
   solution and its half-time ``ln((1 - p0) / p0) / (4 u)``.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "optimal_readout_loss",
    "mixture_matrix",
    "eckart_young_total",
    "mode_dynamics",
]


def optimal_readout_loss() -> dict[str, sp.Expr]:
    """Width-1 encoder ``u = (cos t, sin t)`` in the feature basis of one 2-feature task.

    Feature j's loss with readout ``a`` is ``E[(x_j - a u^T x)^2]``; returns the loss as a function
    of ``a``, the optimal ``a``, the optimal loss and the presence of each feature.
    """
    l1, l2 = sp.symbols("lambda_1 lambda_2", positive=True)
    t, a = sp.symbols("theta a", real=True)
    u = sp.Matrix([sp.cos(t), sp.sin(t)])
    Sigma = sp.diag(l1, l2)
    var_h = sp.simplify((u.T * Sigma * u)[0])
    out: dict[str, sp.Expr] = {"var_h": var_h}
    for j, lam in enumerate((l1, l2), start=1):
        loss = lam - 2 * a * u[j - 1] * lam + a**2 * var_h
        a_star = sp.solve(sp.diff(loss, a), a)[0]
        best = sp.simplify(loss.subs(a, a_star))
        presence = sp.simplify(1 - best / lam)
        out[f"loss_{j}"] = loss
        out[f"a_star_{j}"] = sp.simplify(a_star)
        out[f"best_{j}"] = best
        out[f"presence_{j}"] = presence
    return out


def mixture_matrix() -> tuple[sp.Matrix, list[sp.Expr], dict[str, sp.Symbol]]:
    """``M`` for two tasks x two features, blocks rotated by angles phi_1, phi_2 (in R^4).

    Returns (M, its eigenvalues, the symbols).
    """
    p1, p2 = sp.symbols("pi_1 pi_2", positive=True)
    l11, l12, l21, l22 = sp.symbols("lambda_11 lambda_12 lambda_21 lambda_22", positive=True)
    f1, f2 = sp.symbols("phi_1 phi_2", real=True)

    def rot(phi):
        return sp.Matrix([[sp.cos(phi), -sp.sin(phi)], [sp.sin(phi), sp.cos(phi)]])

    B1 = sp.Matrix.vstack(rot(f1), sp.zeros(2, 2))
    B2 = sp.Matrix.vstack(sp.zeros(2, 2), rot(f2))
    M = p1 * B1 * sp.diag(l11, l12) * B1.T + p2 * B2 * sp.diag(l21, l22) * B2.T
    M = M.applyfunc(sp.simplify)
    eig = []
    for block in (M[:2, :2], M[2:, 2:]):
        eig.extend(sp.simplify(e) for e in block.eigenvals(multiple=True))
    syms = {"pi_1": p1, "pi_2": p2, "lambda_11": l11, "lambda_12": l12, "lambda_21": l21,
            "lambda_22": l22, "phi_1": f1, "phi_2": f2}
    return M, eig, syms


def eckart_young_total(utilities: list[sp.Expr], width: int) -> sp.Expr:
    """``tr(M) - tr(P_N M)`` at the best rank-N projection: the utilities beyond the N largest.

    ``utilities`` must be given in decreasing order (the theorem's ranking).
    """
    return sp.Add(*utilities[width:])


def mode_dynamics() -> dict[str, sp.Expr]:
    """Gradient flow on one feature: loss ``u (1 - a c)^2`` for encoder weight a, readout c.

    Returns the flows of a and c, the flow of ``p = a c``, its balanced (a = c) logistic form,
    the solution ``p(t)`` from ``p0`` and the half-time.
    """
    u, t, p0 = sp.symbols("u t p_0", positive=True)
    a, c, p = sp.symbols("a c p", real=True)
    loss = u * (1 - a * c) ** 2
    da = -sp.diff(loss, a)
    dc = -sp.diff(loss, c)
    dp = sp.expand(c * da + a * dc)
    balanced = sp.factor(dp.subs(c, a).subs(a**2, p))
    P = sp.Function("p")
    sol = sp.dsolve(sp.Eq(P(t).diff(t), 4 * u * P(t) * (1 - P(t))), P(t), ics={P(0): p0})
    solution = sp.simplify(sol.rhs)
    growth = sp.symbols("g", positive=True)          # g = exp(4 u t)
    g_half = sp.solve(sp.Eq(solution.subs(sp.exp(4 * t * u), growth), sp.Rational(1, 2)),
                      growth)[0]
    half = sp.log(sp.simplify(g_half)) / (4 * u)
    return {"loss": loss, "da": sp.factor(da), "dc": sp.factor(dc), "dp": sp.factor(dp),
            "balanced": balanced, "solution": solution, "half_time": half}
