"""Measured quantities of the sweep tables (rtrlib.toy.analysis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtrlib.theory.utility import optimal_total_loss
from rtrlib.toy import effective_width, learning_times


def _features(curves: dict[int, list[float]], steps: list[int]) -> pd.DataFrame:
    """A sweep feature table for one width and seed: feature f's loss/lambda over ``steps``."""
    rows = []
    for f, fracs in curves.items():
        for st, frac in zip(steps, fracs, strict=True):
            rows.append({"width": 4, "seed": 0, "feature": f, "task": f, "j": 1, "pi": 0.5,
                         "utility": 0.5 / (f + 1), "lam": 2.0, "feature_loss": 2.0 * frac,
                         "step": st})
    return pd.DataFrame(rows)


def test_learning_times_interpolate_in_log_step() -> None:
    steps = [0, 10, 100, 1000]
    df = _features({0: [1.0, 0.4, 0.1, 0.0],       # crosses 0.5 between steps 1 and 10
                    1: [1.0, 0.9, 0.7, 0.3],       # between 100 and 1000
                    2: [1.0, 1.0, 0.9, 0.8],       # never
                    3: [0.2, 0.1, 0.0, 0.0]},      # already below at the start
                   steps)
    t = learning_times(df, width=4).set_index("feature")["time"]
    # feature 0: from frac 1.0 at step 0 (log of max(0, 1) = 0) to 0.4 at 10: w = 5/6
    assert t[0] == pytest.approx(np.exp(5 / 6 * np.log(10)))
    # feature 1: from 0.7 at 100 to 0.3 at 1000, halfway in log-step
    assert t[1] == pytest.approx(np.sqrt(100 * 1000))
    assert np.isinf(t[2]) and t[3] == 0.0
    assert learning_times(df, width=8).empty                  # no model of that width


def test_effective_width_inverts_the_optimal_loss() -> None:
    pi, spectra = [0.6, 0.4], [[1.0, 0.5], [1.0, 0.25]]
    for n in range(5):
        assert effective_width(optimal_total_loss(pi, spectra, n), pi, spectra) == n
    # a loss between the optima at widths 1 and 2 is worth width 2 of a linear model
    between = 0.5 * (optimal_total_loss(pi, spectra, 1) + optimal_total_loss(pi, spectra, 2))
    assert effective_width(between, pi, spectra) == 2
    assert effective_width(10.0, pi, spectra) == 0
