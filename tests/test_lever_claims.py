"""Chapter 7's per-seed claim metrics (rtrlib.toy.lever_claims) and their falsifiability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtrlib.claims import evaluate, load_registry
from rtrlib.params import ParameterError
from rtrlib.toy import ModelBatchConfig, ToyRunConfig
from rtrlib.toy.lever_claims import (
    cheapest_lever_agreement,
    frequency_only_critical_width,
    learnability_agreement,
    lever_matches,
    lever_winners,
    replay_learned_fraction,
    rule_critical_widths,
)
from rtrlib.toy.levers import LeversConfig, flops_per_step

# The chapter's mixture: N_c = 29 at rate 1 and 4 at rate 8 (frequency-only: 33 at both).
CFG = LeversConfig(models=ModelBatchConfig(widths=(8, 16, 32)), rates=(1, 8), gaps=(1, 16),
                   base_widths=(8, 32), base_rate=1, base_gap=16,
                   run=ToyRunConfig(seeds=(0, 1, 2), steps=2048), hold=256)


def constructed_grid(learns=None, steps=None) -> pd.DataFrame:
    """A levers grid with hand-set outcomes: ``learns(width, rate, gap, seed)`` (default: the
    utility ranking's prediction) and ``steps(width, rate, gap, seed)`` (default 100)."""
    nc = rule_critical_widths(CFG, "utility")
    learns = learns or (lambda w, r, g, s: w >= nc[r])
    steps = steps or (lambda w, r, g, s: 100.0)
    rows = []
    for w in CFG.models.widths:
        for r in CFG.rates:
            for g in CFG.gaps:
                for s in CFG.run.seeds:
                    ok = bool(learns(w, r, g, s))
                    t = float(steps(w, r, g, s)) if ok else np.nan
                    fps = flops_per_step(w, 256, 33, 33)
                    rows.append(dict(width=w, rate=r, frequency=r / 256, gap=g, seed=s,
                                     learned=ok, steps_to_learn=t, flops_per_step=fps,
                                     flops_to_learn=t * fps, flops_run=2048 * fps,
                                     final_rare_loss=0.1 if ok else 1.0, held_to_end=ok,
                                     final_common_loss=0.5, critical_width=nc[r],
                                     predicted_learnable=w >= nc[r]))
    return pd.DataFrame(rows)


def test_rule_critical_widths() -> None:
    assert rule_critical_widths(CFG) == {1: 29, 8: 4}
    assert rule_critical_widths(CFG, "width") == {1: 29, 8: 29}
    # every common task is more frequent than the rare one at both rates: 8 tasks x 4 features
    assert rule_critical_widths(CFG, "frequency") == {1: 33, 8: 33}
    assert frequency_only_critical_width(CFG, 8) == 33
    with pytest.raises(ParameterError, match="rule"):
        rule_critical_widths(CFG, "random")


def test_metrics_on_the_predicted_outcome() -> None:
    grid = constructed_grid()
    assert replay_learned_fraction(grid, CFG).tolist() == [0.0] * 3
    assert replay_learned_fraction(grid, CFG, below=False).tolist() == [1.0] * 3
    assert learnability_agreement(grid, rule_critical_widths(CFG)).tolist() == [1.0] * 3
    # the rate ignored: wrong at rate 8 for widths 8 and 16, both gaps (4 of 12 settings)
    assert learnability_agreement(grid, rule_critical_widths(CFG, "width")).tolist() == \
        pytest.approx([8 / 12] * 3)
    winners = lever_winners(grid, CFG)
    assert list(winners.columns) == ["seed", "N0", "measured"] and len(winners) == 6
    # N0 = 8: raising the frequency (100 steps at width 8) beats widening (100 steps at width
    # 32); N0 = 32: the baseline learns, every lever ties at multiplier 1
    w8 = winners[winners["N0"] == 8]["measured"].unique().tolist()
    assert w8 == ["raise frequency"]
    assert winners[winners["N0"] == 32]["measured"].iloc[0] == \
        "raise frequency or replay more often or widen"
    assert lever_matches(winners, CFG, rule_critical_widths(CFG)).all()
    assert cheapest_lever_agreement(winners, CFG, rule_critical_widths(CFG)).tolist() == \
        [1.0] * 3
    freq = cheapest_lever_agreement(winners, CFG, rule_critical_widths(CFG, "frequency"))
    assert freq.tolist() == [0.5] * 3  # it predicts widening at N0 = 8 (wrong) and 32 (tied)


def test_metrics_need_their_settings() -> None:
    grid = constructed_grid()
    with pytest.raises(ParameterError, match="grid"):
        replay_learned_fraction(grid[grid["width"] >= 29], CFG)
    with pytest.raises(ParameterError, match="critical_widths"):
        learnability_agreement(grid, {1: 29})


@pytest.mark.falsifies("ch07-replay-below-critical")
def test_replay_claim_fails_when_a_narrow_model_learns_at_a_short_gap() -> None:
    spec = load_registry()["ch07-replay-below-critical"]
    # one seed's width-16 model learns at gap 1: the share is 1/2 on that seed
    grid = constructed_grid(lambda w, r, g, s: w >= {1: 29, 8: 4}[r]
                            or (w == 16 and r == 1 and g == 1 and s == 2))
    values = replay_learned_fraction(grid, CFG)
    assert values.tolist() == [0.0, 0.0, 0.5]
    control = replay_learned_fraction(grid, CFG, below=False)
    assert evaluate(spec, values, control).verdict == "inconclusive"
    # the control outcome itself (every model with a slot learns) fails the criterion
    assert evaluate(spec, control, control).verdict == "not reproduced"


@pytest.mark.falsifies("ch07-learnable-critical-width")
def test_critical_width_claim_fails_when_frequency_does_not_help() -> None:
    spec = load_registry()["ch07-learnable-critical-width"]
    # a world where the rate does not move the critical width: the narrow models never learn
    grid = constructed_grid(lambda w, r, g, s: w >= 29)
    values = learnability_agreement(grid, rule_critical_widths(CFG))
    control = learnability_agreement(grid, rule_critical_widths(CFG, "width"))
    assert values.tolist() == pytest.approx([8 / 12] * 3) and control.tolist() == [1.0] * 3
    assert evaluate(spec, values, control).verdict == "not reproduced"


@pytest.mark.falsifies("ch07-cheapest-lever")
def test_cheapest_lever_claim_fails_when_widening_wins() -> None:
    spec = load_registry()["ch07-cheapest-lever"]
    # raising the frequency at width 8 takes 8 times the steps of the width-32 model: widening
    # (4 times the cost per step) is cheaper at N0 = 8 on every seed
    grid = constructed_grid(steps=lambda w, r, g, s: 800.0 if w == 8 else 100.0)
    winners = lever_winners(grid, CFG)
    assert set(winners[winners["N0"] == 8]["measured"]) == {"widen"}
    values = cheapest_lever_agreement(winners, CFG, rule_critical_widths(CFG))
    control = cheapest_lever_agreement(winners, CFG, rule_critical_widths(CFG, "frequency"))
    assert values.tolist() == [0.5] * 3 and control.tolist() == [1.0] * 3
    assert evaluate(spec, values, control).verdict == "not reproduced"
    # a prediction that holds on two seeds of three is not enough either
    assert evaluate(spec, [1.0, 1.0, 0.5], [0.0] * 3).verdict == "inconclusive"
