"""Show a SymPy derivation step by step in a notebook, one labelled equation per step."""

from __future__ import annotations

import sympy as sp

__all__ = ["show_step", "step_latex"]


def step_latex(label: str, expr: sp.Basic, lhs: str | None = None) -> str:
    """LaTeX for one step: ``label`` in sans-serif, then ``expr`` (or ``lhs = expr``, with
    ``lhs`` raw LaTeX)."""
    body = sp.latex(expr) if lhs is None else lhs + " = " + sp.latex(expr)
    return r"\textsf{" + label + r"}\qquad " + body


def show_step(label: str, expr: sp.Basic, lhs: str | None = None) -> None:
    """Display :func:`step_latex` as a math output of the running notebook."""
    from IPython.display import Math, display

    display(Math(step_latex(label, expr, lhs)))
