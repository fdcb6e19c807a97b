"""What chapter 6 reads off a ladder's table (rtrlib.lm.summaries), on hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from rtrlib.lm.summaries import (
    burst_cycle,
    by_rung,
    final_metrics,
    frequency_ordered_sizes,
    gradient_cosines,
    learning_frontier,
    run_timings,
)


def _grid(acc: dict[tuple[str, float], float]) -> pd.DataFrame:
    """Final metrics of a size x frequency grid with the given test accuracies."""
    return pd.DataFrame([{"size": s, "frequency": f, "test_acc": a,
                          "test_loss": 3 - a - f} for (s, f), a in acc.items()])


def test_learning_frontier_only_the_largest_at_the_lowest_frequency():
    fm = _grid({("large", 0.02): 0.7, ("small", 0.02): 0.3, ("tiny", 0.02): 0.1,
                ("large", 0.03): 0.8, ("small", 0.03): 0.6, ("tiny", 0.03): 0.2,
                ("large", 0.01): 0.4, ("small", 0.01): 0.1, ("tiny", 0.01): 0.0})
    lf = learning_frontier(fm, 0.5)
    assert lf.lowest == 0.02 and lf.top_of_ladder and lf.only_largest
    assert list(lf.at_lowest.index) == ["tiny", "small", "large"]
    assert lf.at_lowest["large"] == 0.7


def test_learning_frontier_fails_when_a_smaller_rung_learns_alone_or_two_learn():
    gap_in_ladder = _grid({("tiny", 0.03): 0.1, ("small", 0.03): 0.6, ("large", 0.03): 0.4})
    lf = learning_frontier(gap_in_ladder)
    assert not lf.top_of_ladder and not lf.only_largest
    two = _grid({("tiny", 0.03): 0.1, ("small", 0.03): 0.6, ("large", 0.03): 0.7})
    lf = learning_frontier(two)
    assert lf.top_of_ladder and not lf.only_largest
    none = learning_frontier(_grid({("tiny", 0.01): 0.1, ("large", 0.01): 0.2,
                                    ("tiny", 0.02): 0.3, ("large", 0.02): 0.4}))
    assert none.lowest is None and not none.only_largest
    assert list(none.at_lowest) == [0.1, 0.2]  # the grid's lowest frequency


def test_frequency_order_and_rung_order():
    fm = _grid({("tiny", 0.03): 0.2, ("tiny", 0.02): 0.1, ("large", 0.03): 0.2,
                ("large", 0.02): 0.5})
    # loss = 3 - acc - f: tiny 2.77 < 2.88 (ordered), large 2.77 > 2.48 (not)
    assert frequency_ordered_sizes(fm) == ["tiny"]
    assert by_rung(["large", "tiny", "medium", "tiny"]) == ["tiny", "medium", "large"]


def test_burst_cycle_measures_the_drop_and_the_rise():
    # a burst every 4 steps: the loss falls by 0.3 across the burst, rises 0.1 per step after
    steps = np.arange(33)
    loss = [5.0]
    for t in steps[:-1]:
        loss.append(loss[-1] - 0.3 if t % 4 == 0 else loss[-1] + 0.1)
    hist = pd.DataFrame({"step": steps, "test_loss": loss})
    cyc = burst_cycle(hist, 4)
    assert cyc["drop"] == pytest.approx(0.3) and cyc["rise"] == pytest.approx(0.3)
    assert cyc["kept"] == pytest.approx(0.0)


def test_gradient_cosines_at_injection_steps_by_rung():
    rows = []
    for size, sign in (("large", -1), ("tiny", 1)):
        for step, injected, c in ((0, 2, 0.2), (4, 2, 0.4), (8, 0, 9.0)):
            rows.append({"record": "grad", "size": size, "gap": 4, "step": step,
                         "injected": injected, "cos_g": c, "cos_gt": c, "cos_gnt": sign * c})
    rows.append({"record": "eval", "size": "tiny", "gap": 4, "step": 0, "injected": np.nan,
                 "cos_g": 9.0, "cos_gt": 9.0, "cos_gnt": 9.0})
    tab = gradient_cosines(pd.DataFrame(rows), 4)
    assert list(tab.index) == ["tiny", "large"]
    assert tab.loc["large", ("cos_gnt", "mean")] == pytest.approx(-0.3)
    assert tab.loc["large", ("abs_gnt", "mean")] == pytest.approx(0.3)


def test_final_metrics_average_the_last_evaluations_and_timings_read_the_meta():
    keys = {"kind": "cmp", "size": "tiny", "params": 1, "block_params": 1, "frequency": 0.01,
            "gap": 0, "per_batch": 1.0, "seed": 0}
    ev = pd.DataFrame([{"record": "eval", **keys, "step": s, "instances": 3 * s,
                        "test_acc": s / 10, "test_acc2": 0, "test_loss": 1, "train_loss": 1,
                        "train_acc": 0, "probe": 0, "lm_loss": 1} for s in range(5)])
    fm = final_metrics(ev, last=3)
    assert fm["test_acc"].item() == pytest.approx(0.3) and fm["instances"].item() == 12
    meta = {"config": {"size": "tiny", "task": {"kind": "add"},
                       "injection": {"frequency": 0.01, "gap": 4}},
            "train_seconds": 1.26, "grad_seconds": 0.5, "eval_seconds": 0.21}
    t = run_timings([meta])
    assert t.iloc[0].to_dict() == {"size": "tiny", "kind": "add", "frequency": 0.01, "gap": 4,
                                   "train s": 1.3, "gradient analysis s": 0.5,
                                   "evaluation s": 0.2}
