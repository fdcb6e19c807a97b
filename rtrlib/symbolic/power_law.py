"""SymPy derivation of the power-law argument (the paper's Section 2), step by step.

:func:`derive` returns a :class:`PowerLawDerivation` whose fields are the SymPy expressions a
chapter displays in order: Eq. 1, the Lagrangian for the budget ``C = 6 N D``, its stationarity
conditions, the optimality relation between ``N`` and ``D``, the optimal ``D(N)`` and ``N(C)``,
the compute-optimal loss ``L_C(N)``, the infinite-data loss ``L_inf(N)``, and the thresholds
``N_s*`` of Definition 2 (literal Eq. 1 and the empirical-gamma variant).
:func:`numeric` turns any of them into a numpy function; the tests compare those with
:mod:`rtrlib.theory.power_law`. :func:`vanishes` is how chapter 1's checks decide that a derived
expression equals a stated closed form.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import sympy as sp

__all__ = ["SYMBOLS", "PowerLawDerivation", "derive", "numeric", "model_scaling_threshold_ratio",
           "vanishes"]

_names = "N D C L_0 A B alpha beta mu epsilon N_l N_s gamma A_C"
N, D, C, L0, A, B, alpha, beta, mu, eps, N_l, N_s, gamma, A_C = sp.symbols(_names, positive=True)

#: Every symbol of the derivation by name (all declared positive, so SymPy may combine powers).
SYMBOLS: dict[str, sp.Symbol] = {
    "N": N, "D": D, "C": C, "L0": L0, "A": A, "B": B, "alpha": alpha, "beta": beta, "mu": mu,
    "eps": eps, "N_l": N_l, "N_s": N_s, "gamma": gamma, "A_C": A_C,
}


@dataclasses.dataclass(frozen=True)
class PowerLawDerivation:
    """The derivation's steps, as SymPy objects (equations are ``sp.Eq``)."""

    loss: sp.Expr                 # L(N, D) = L0 + A N^-alpha + B D^-beta
    lagrangian: sp.Expr           # L(N, D) + mu (6 N D - C)
    stationarity: tuple[sp.Eq, sp.Eq]   # dLag/dN = 0, dLag/dD = 0
    optimality: sp.Eq             # alpha A N^-alpha = beta B D^-beta (mu eliminated)
    tokens_opt: sp.Expr           # D_opt(N)
    params_opt: sp.Expr           # N_opt(C)
    compute_optimal_loss: sp.Expr  # L_C(N)
    compute_optimal_ratio: sp.Expr  # (L_C - L0) / (L_inf - L0) = 1 + alpha/beta
    infinite_data_loss: sp.Expr   # L_inf(N) = lim_{D -> oo} L(N, D)
    threshold_equation: sp.Eq     # L_inf(N_s) - L_C(N_l) = eps
    threshold: sp.Expr            # N_s*(eps) for the literal frontier
    threshold_ratio_eps0: sp.Expr  # N_s*(0) / N_l = (1 + alpha/beta)^(-1/alpha)
    threshold_empirical: sp.Expr  # N_s*(eps) when L_C - L0 = A_C N^-gamma
    threshold_ratio_empirical_eps0: sp.Expr  # its N_s*(0) / N_l


def _single(solutions: list, what: str) -> sp.Expr:
    if len(solutions) != 1:
        raise RuntimeError(f"expected one positive solution for {what}, got {solutions}")
    return solutions[0]


@functools.cache
def derive() -> PowerLawDerivation:
    """Run the derivation (about a second; cached)."""
    loss = L0 + A * N**-alpha + B * D**-beta
    lagrangian = loss + mu * (6 * N * D - C)
    st_n = sp.Eq(sp.diff(lagrangian, N), 0)
    st_d = sp.Eq(sp.diff(lagrangian, D), 0)
    # Multiply dLag/dN = 0 by N and dLag/dD = 0 by D: both say 6 mu N D equals a loss term,
    # so the two loss terms are equal at the optimum.
    mu_star = _single(sp.solve(st_n, mu), "mu")
    optimality = sp.Eq(alpha * A * N**-alpha, beta * B * D**-beta)
    check = sp.simplify(st_d.lhs.subs(mu, mu_star) * D
                        - (optimality.lhs - optimality.rhs))
    if check != 0:
        raise RuntimeError(f"stationarity does not reduce to the optimality relation: {check}")
    tokens_opt = _single(sp.solve(optimality, D), "D")
    params_opt = _single(sp.solve(optimality.subs(D, C / (6 * N)), N), "N")
    lc_raw = loss.subs(D, tokens_opt)
    ratio = sp.factor(sp.powsimp(sp.expand((lc_raw - L0) / (A * N**-alpha)), force=True))
    compute_optimal_loss = L0 + A * sp.Add(1, alpha / beta, evaluate=False) * N**-alpha
    if sp.simplify(lc_raw - compute_optimal_loss) != 0:
        raise RuntimeError("compute-optimal loss did not simplify to L0 + A(1+alpha/beta)N^-alpha")
    infinite_data_loss = sp.limit(loss, D, sp.oo)
    lc_large = compute_optimal_loss.subs(N, N_l)
    threshold_equation = sp.Eq(infinite_data_loss.subs(N, N_s) - lc_large, eps)
    threshold = _single(sp.solve(threshold_equation, N_s), "N_s")
    ratio0 = sp.powsimp(sp.simplify(threshold.subs(eps, 0) / N_l), force=True)
    emp_eq = sp.Eq(infinite_data_loss.subs(N, N_s) - (L0 + A_C * N_l**-gamma), eps)
    threshold_emp = _single(sp.solve(emp_eq, N_s), "N_s (empirical)")
    ratio_emp0 = sp.powsimp(sp.simplify(threshold_emp.subs(eps, 0) / N_l), force=True)
    return PowerLawDerivation(
        loss=loss, lagrangian=lagrangian, stationarity=(st_n, st_d), optimality=optimality,
        tokens_opt=tokens_opt, params_opt=params_opt,
        compute_optimal_loss=compute_optimal_loss, compute_optimal_ratio=ratio,
        infinite_data_loss=infinite_data_loss, threshold_equation=threshold_equation,
        threshold=threshold, threshold_ratio_eps0=ratio0, threshold_empirical=threshold_emp,
        threshold_ratio_empirical_eps0=ratio_emp0,
    )


def model_scaling_threshold_ratio() -> sp.Expr:
    """``N_s*(0)/N_l`` for Eq. 1 taken literally, in the simplest form SymPy finds."""
    return derive().threshold_ratio_eps0


def numeric(expr: sp.Expr, *names: str) -> Callable[..., object]:
    """``sympy.lambdify`` over the named symbols (see :data:`SYMBOLS`), numpy backend."""
    return sp.lambdify([SYMBOLS[n] for n in names], expr, modules="numpy")


def vanishes(expr: sp.Expr) -> bool:
    """Whether SymPy reduces ``expr`` to zero: expanded, its powers split and recombined (valid
    because every symbol of the derivation is positive), then simplified. ``False`` means SymPy
    could not show it, which for a wrong closed form is the expected answer."""
    e = sp.powsimp(sp.expand_power_base(sp.expand(sp.sympify(expr)), force=True), force=True)
    return bool(sp.simplify(e) == 0)
