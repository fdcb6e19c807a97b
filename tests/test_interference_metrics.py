"""Chapter 4's registered metrics (rtrlib.toy.interference_metrics) on constructed tables, and
the falsifiability tests of its claims."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtrlib.claims import evaluate, load_registry
from rtrlib.params import ParameterError
from rtrlib.toy import RARE_MIXTURE
from rtrlib.toy.interference_metrics import (
    critical_widths,
    fade_correlation,
    fade_steps,
    fit_slope,
    frequency_only_critical_width,
    rank_correlation,
    residual_law,
)

STEPS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256]
RARE = 3  # tasks 0-2 common, 3 rare


def _table(grad, residual, widths=(4, 8), seeds=(0, 1, 2), tasks=4, variance=2.0,
           pi=(0.5, 0.3, 0.15, 0.05)) -> pd.DataFrame:
    """An interference table whose residual and gradient norm at (seed, width, task, step) are
    ``residual(s, w, k, t)`` and ``grad(s, w, k, t, residual)``."""
    rows = []
    for s in seeds:
        for w in widths:
            for k in range(tasks):
                for t in STEPS:
                    r = residual(s, w, k, t)
                    rows.append({"seed": s, "width": w, "task": k, "pi": pi[k],
                                 "rare": k == RARE, "step": t, "task_loss": r, "residual": r,
                                 "grad_norm": grad(s, w, k, t, r), "variance": variance})
    return pd.DataFrame(rows)


def _learning(s, w, k, t):
    """Every task learned, task k on its own time scale: residual 2 exp(-t / tau_k)."""
    tau = 4.0 * 4.0 ** k * (1 + 0.1 * s)
    return 2.0 * np.exp(-t / tau)


def _rise_then_sqrt(s, w, k, t, r, power=0.5):
    """The gradient rises out of the saddle until step 2, then follows c_w * residual^power."""
    return 0.01 * (t + 1) if t < 2 else (1.0 + w / 8) * r ** power


def test_fit_slope_with_group_intercepts() -> None:
    x = np.array([0.0, 1.0, 2.0, 0.0, 1.0, 2.0])
    y = 0.5 * x + np.array([0, 0, 0, 3, 3, 3])
    b, r2 = fit_slope(x, y, np.array([0, 0, 0, 1, 1, 1]))
    assert b == pytest.approx(0.5) and r2 == pytest.approx(1.0)
    assert np.isnan(fit_slope(np.zeros(3), np.arange(3.0), np.zeros(3))[0])


def test_residual_law_recovers_the_exponent_and_its_control_does_not() -> None:
    df = _table(_rise_then_sqrt, _learning)
    law = residual_law(df, RARE, n_features=16, floor=1e-9)
    assert law["seed"].tolist() == [0, 1, 2]
    assert np.allclose(law["slope"], 0.5) and np.allclose(law["r2"], 1.0)
    assert (law["series"] == 6).all()                  # 3 common tasks x 2 widths, rare left out
    # the control pairs task k's gradient with task k+1's residual: another time scale
    ctrl = residual_law(df, RARE, n_features=16, floor=1e-9, partner=True)
    assert (np.abs(ctrl["slope"] - 0.5) > 0.15).all()
    # a gradient that falls as the residual itself has exponent 1
    lin = residual_law(_table(lambda *a: _rise_then_sqrt(*a, power=1.0), _learning), RARE, 16,
                       floor=1e-9)
    assert np.allclose(lin["slope"], 1.0)


def test_residual_law_leaves_out_wide_models_unlearned_tasks_and_the_floor() -> None:
    # widths at or above the feature count, or tasks left with residual, contribute nothing
    df = _table(_rise_then_sqrt, lambda s, w, k, t: 2.0 if k == 2 else _learning(s, w, k, t),
                widths=(4, 16))
    law = residual_law(df, RARE, n_features=16, floor=1e-9)
    assert (law["series"] == 2).all()                  # tasks 0 and 1 of width 4
    # a floor above every residual leaves no point: NaN, never a number
    empty = residual_law(df, RARE, n_features=16, floor=0.99)
    assert empty["slope"].isna().all() and (empty["points"] == 0).all()
    with pytest.raises(ParameterError, match="learned"):
        residual_law(df, RARE, 16, learned=0.0)


@pytest.mark.falsifies("ch04-residual-law")
def test_residual_law_claim_fails_on_its_control_and_on_counter_examples() -> None:
    spec = load_registry()["ch04-residual-law"]
    df = _table(_rise_then_sqrt, _learning)
    own = (residual_law(df, RARE, 16, floor=1e-9)["slope"] - 0.5).abs()
    ctrl = (residual_law(df, RARE, 16, floor=1e-9, partner=True)["slope"] - 0.5).abs()
    # the control's own outcome fails the criterion
    assert evaluate(spec, ctrl, ctrl).verdict == "not reproduced"
    assert evaluate(spec, own, ctrl).verdict == "reproduced"
    # a gradient proportional to the residual (exponent 1) fails
    lin = _table(lambda *a: _rise_then_sqrt(*a, power=1.0), _learning)
    lin_dev = (residual_law(lin, RARE, 16, floor=1e-9)["slope"] - 0.5).abs()
    assert evaluate(spec, lin_dev, ctrl).verdict == "not reproduced"
    # a gradient that ignores the residual (pure noise) fails
    rng = np.random.default_rng(0)
    noise = _table(lambda s, w, k, t, r: float(rng.uniform(0.1, 1.0)), _learning)
    noise_dev = (residual_law(noise, RARE, 16, floor=1e-9)["slope"] - 0.5).abs()
    assert evaluate(spec, noise_dev, ctrl).verdict != "reproduced"


def _pull_table(fade_at: dict[int, float | None], seeds=(0, 1, 2)) -> pd.DataFrame:
    """Common tasks whose gradient norm is 1 until ``fade_at[width]`` and 0.01 after (a plateau
    of 0.6 when None: the model never completes its common tasks)."""
    def grad(s, w, k, t, r):
        if fade_at[w] is None:
            return 1.0 if t < 8 else 0.6
        return 1.0 if t < fade_at[w] else 0.01
    return _table(grad, lambda *a: 1.0, widths=tuple(fade_at), seeds=seeds)


def test_fade_steps_and_rank_correlation() -> None:
    df = _pull_table({4: None, 8: 128, 12: 32, 40: 8})
    f = fade_steps(df, RARE).query("seed == 0").set_index("width")
    assert np.isinf(f.loc[4, "fade"]) and f.loc[4, "final"] == pytest.approx(0.6)
    assert f.loc[8, "fade"] == 128 and f.loc[12, "fade"] == 32
    rho = fade_correlation(df, RARE, n_features=16)
    assert rho["widths"].iloc[0] == [4, 8, 12] and np.allclose(rho["rho"], -1.0)
    assert rank_correlation([1, 2, 3], [5, 5, 5]) == 0.0
    assert rank_correlation([1, 2, 3], [np.inf, 3, 1]) == pytest.approx(-1.0)
    assert np.isnan(rank_correlation([1], [1]))
    with pytest.raises(ParameterError, match="fraction"):
        fade_steps(df, RARE, fraction=1.0)


@pytest.mark.falsifies("ch04-fade-with-width")
def test_fade_claim_fails_without_a_width_effect() -> None:
    spec = load_registry()["ch04-fade-with-width"]
    # the control's outcome: below the feature count only the widest model completes its tasks
    flat = fade_correlation(_pull_table({4: None, 6: None, 8: None, 10: None, 12: None,
                                         13: None, 14: 16, 40: 8}), RARE, 16)["rho"]
    assert np.allclose(flat, -0.612, atol=1e-3)
    assert evaluate(spec, flat, flat).verdict == "not reproduced"
    # counter-example: every width fades at the same step (only learning speed, no capacity)
    same = fade_correlation(_pull_table({4: 32, 8: 32, 12: 32}), RARE, 16)["rho"]
    assert evaluate(spec, same, flat).verdict == "not reproduced"
    # counter-example: narrow models (fewer features to learn) finish first
    rev = fade_correlation(_pull_table({4: 8, 8: 32, 12: 128}), RARE, 16)["rho"]
    assert evaluate(spec, rev, flat).verdict == "not reproduced"
    good = fade_correlation(_pull_table({4: None, 8: 128, 12: 32}), RARE, 16)["rho"]
    assert evaluate(spec, good, flat).verdict == "reproduced"


def _final_rare(learned_from: dict[int, int], widths=(8, 16, 24, 26, 28, 30, 32, 40)):
    """A table whose rare task ends learned (residual 0.1 of its variance) from
    ``learned_from[seed]`` on and not (0.9) below."""
    rows = []
    for s, n in learned_from.items():
        for w in widths:
            rows.append({"seed": s, "width": w, "task": RARE, "step": 100, "variance": 4.0,
                         "residual": 0.4 if w >= n else 3.6})
    return pd.DataFrame(rows)


def test_critical_widths_per_seed_and_the_frequency_only_width() -> None:
    cw = critical_widths(_final_rare({0: 28, 1: 30, 2: 41}), RARE)
    assert cw[0] == 28 and cw[1] == 30 and np.isnan(cw[2])
    m = RARE_MIXTURE.with_frequency(1 / 256).build()
    assert frequency_only_critical_width(m.pi, m.spectra, RARE_MIXTURE.rare) == 33
    assert frequency_only_critical_width([0.6, 0.3, 0.1], [[1, .5, .25], [1, .5], [2]], 2) == 6
    assert frequency_only_critical_width([0.6, 0.3, 0.1], [[1, .5, .25], [1, .5], [2]], 1) == 4


@pytest.mark.falsifies("ch04-critical-width")
def test_critical_width_claim_fails_on_its_control_and_on_a_shifted_threshold() -> None:
    spec = load_registry()["ch04-critical-width"]
    n_c, n_freq = 29, 33
    # the control: a measurement that agrees with the prediction fails against N_freq
    cw = critical_widths(_final_rare({0: 30, 1: 30, 2: 28}), RARE)
    assert evaluate(spec, (cw - n_c).abs(), (cw - n_freq).abs()).verdict == "reproduced"
    assert evaluate(spec, (cw - n_freq).abs(), (cw - n_freq).abs()).verdict == "not reproduced"
    # counter-example: the rare task is learned only once every common task is (frequency order)
    late = critical_widths(_final_rare({0: 40, 1: 40, 2: 32}), RARE)
    assert evaluate(spec, (late - n_c).abs(), (late - n_freq).abs()).verdict == "not reproduced"
    # never learned at all: NaN, inconclusive at best
    never = critical_widths(_final_rare({0: 41, 1: 41, 2: 41}), RARE)
    assert evaluate(spec, (never - n_c).abs(), (never - n_freq).abs()).verdict != "reproduced"
