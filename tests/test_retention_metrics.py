"""Chapter 5's registered metrics (rtrlib.toy.retention_metrics) on constructed tables, and the
falsifiability tests of its claims."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtrlib.claims import evaluate, load_registry
from rtrlib.params import ParameterError
from rtrlib.toy.retention_metrics import (
    accumulation_ratio,
    burst_cycles,
    forget_fraction,
    gap_effect,
)

STEPS = 256


def _table(signal, loss=lambda w, s, g, t, c, k: 1.0, widths=(8, 40), gaps=(1, 32),
           seeds=(0, 1, 2)) -> pd.DataFrame:
    """A retention table logged at every step; ``signal(w, s, g, t, cycle, since_burst)`` and
    ``loss(...)`` give the rare signal and loss."""
    rows = []
    for g in gaps:
        for s in seeds:
            for w in widths:
                for t in range(STEPS):
                    c, k = t // g, t % g
                    rows.append({"width": w, "seed": s, "gap": g, "step": t, "cycle": c,
                                 "since_burst": k, "burst": k == 0,
                                 "rare_signal": signal(w, s, g, t, c, k),
                                 "rare_loss": loss(w, s, g, t, c, k)})
    return pd.DataFrame(rows)


def _cycle(w, s, g, t, c, k):
    """Narrow models (N < 32) jump to 0.5 at each burst and decay within a few steps; wide
    models keep 0.9; at gap 1 the narrow signal stays at 0.01."""
    if w >= 32:
        return 0.9
    if g == 1:
        return 0.01
    return 0.5 * np.exp(-k / 4.0)


def test_burst_cycles_windows_and_tail() -> None:
    df = _table(_cycle)
    cyc = burst_cycles(df, 32)
    assert len(cyc) == 2 * 3 * (STEPS // 32)                  # width x seed x cycle
    narrow = cyc[cyc["width"] == 8]
    assert np.allclose(narrow["peak"], 0.5) and np.allclose(narrow["end"], 0.5 * np.exp(-31 / 4))
    half = burst_cycles(df, 32, tail=0.5)
    assert half["cycle"].min() == 4 and half["start"].min() >= STEPS // 2
    win = burst_cycles(df, 1, window=32)                      # the gap-1 stream in windows
    assert len(win) == len(cyc) and np.allclose(win[win["width"] == 8]["peak"], 0.01)
    with pytest.raises(ParameterError, match="gap"):
        burst_cycles(df, 8)


def test_forget_fraction() -> None:
    df = _table(_cycle)
    assert forget_fraction(df, [8], 32).tolist() == [1.0, 1.0, 1.0]
    assert forget_fraction(df, [40], 32).tolist() == [0.0, 0.0, 0.0]
    assert forget_fraction(df, [8, 40], 32).tolist() == [0.5, 0.5, 0.5]
    assert forget_fraction(df, [8], 1, window=32).tolist() == [0.0, 0.0, 0.0]
    # a burst that never lifts the signal to the threshold is no cycle, however it decays
    assert forget_fraction(df, [8], 32, threshold=0.6).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.falsifies("ch05-update-forget-cycle")
def test_cycle_claim_fails_when_nothing_is_encoded_or_nothing_is_lost() -> None:
    spec = load_registry()["ch05-update-forget-cycle"]
    df = _table(_cycle)
    control = forget_fraction(df, [8], 1, window=32)          # the gap-1 stream
    assert evaluate(spec, control, control).verdict == "not reproduced"
    assert evaluate(spec, forget_fraction(df, [8], 32), control).verdict == "reproduced"
    # counter-example: the narrow model never encodes the rare task (peaks 0.05)
    faint = _table(lambda *a: 0.1 * _cycle(*a))
    assert evaluate(spec, forget_fraction(faint, [8], 32), control).verdict == "not reproduced"
    # counter-example: it encodes and keeps it (no forgetting)
    kept = _table(lambda w, s, g, t, c, k: 0.5)
    assert evaluate(spec, forget_fraction(kept, [8], 32), control).verdict == "not reproduced"


def _accumulating(w, s, g, t, c, k):
    """The wide model's post-burst loss halves every two cycles; the narrow one's stays 0.9."""
    return 0.9 * 0.5 ** (c / 2) if w >= 32 else 0.9


def test_accumulation_ratio() -> None:
    df = _table(_cycle, _accumulating)
    wide = accumulation_ratio(df, 40, 32)                     # 8 cycles, quarters of 2
    assert np.allclose(wide, np.mean([0.5 ** 3, 0.5 ** 3.5]) / np.mean([1, 0.5 ** 0.5]))
    assert np.allclose(accumulation_ratio(df, 8, 32), 1.0)
    with pytest.raises(ParameterError, match="part"):
        accumulation_ratio(df, 40, 32, part=0.75)


@pytest.mark.falsifies("ch05-wide-accumulates")
def test_accumulation_claim_fails_when_bursts_do_not_build_up() -> None:
    spec = load_registry()["ch05-wide-accumulates"]
    df = _table(_cycle, _accumulating)
    control = accumulation_ratio(df, 8, 32)
    assert evaluate(spec, control, control).verdict == "not reproduced"
    assert evaluate(spec, accumulation_ratio(df, 40, 32), control).verdict == "reproduced"
    # counter-example: the wide model relearns from scratch after every burst
    flat = _table(_cycle, lambda *a: 0.3)
    assert evaluate(spec, accumulation_ratio(flat, 40, 32), control).verdict == "not reproduced"


def _gap_loss(w, s, g, t, c, k):
    """Rare loss: narrow models never learn (1.0); wide ones 0.05 at gap 1 and 0.3 at gap 32,
    plus a small seed offset."""
    if w < 32:
        return 1.0
    return (0.05 if g == 1 else 0.3) + 0.001 * s


def test_gap_effect_and_its_equal_gap_control() -> None:
    df = _table(_cycle, _gap_loss)
    assert np.allclose(gap_effect(df, [40], 32, 1), 0.25)
    assert np.allclose(gap_effect(df, [8], 32, 1), 0.0)
    # equal gaps: seed 1 - seed 0, seed 2 - seed 1, seed 0 - seed 2
    assert np.allclose(gap_effect(df, [40], 32, 1, between="seeds"), [0.001, 0.001, -0.002])
    # the smallest over the widths
    assert np.allclose(gap_effect(df, [8, 40], 32, 1), 0.0)
    with pytest.raises(ParameterError, match="between"):
        gap_effect(df, [40], 32, 1, between="widths")


@pytest.mark.falsifies("ch05-gaps-hurt")
def test_gap_claim_fails_on_equal_gaps_and_without_a_gap_effect() -> None:
    spec = load_registry()["ch05-gaps-hurt"]
    df = _table(_cycle, _gap_loss)
    control = gap_effect(df, [40], 32, 1, between="seeds")
    assert evaluate(spec, control, control).verdict == "not reproduced"
    assert evaluate(spec, gap_effect(df, [40], 32, 1), control).verdict == "reproduced"
    # counter-example: spacing does not matter
    same = _table(_cycle, lambda w, s, g, t, c, k: 0.05)
    assert evaluate(spec, gap_effect(same, [40], 32, 1), control).verdict == "not reproduced"
    # a model that hurts at one width but not the other is not "every width"
    assert evaluate(spec, gap_effect(df, [8, 40], 32, 1), control).verdict == "not reproduced"
