"""Chapter 5's matched-frequency experiment: frequency, determinism, resume, validation, summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtrlib.params import ParameterError
from rtrlib.runtime import configure_threads
from rtrlib.store import Store
from rtrlib.toy import (
    ModelBatchConfig,
    RareMixtureConfig,
    RetentionConfig,
    ToyRunConfig,
    retention_summary,
    run_retention,
)

configure_threads(1)

MIX = RareMixtureConfig(n_common=3, features_per_task=2, rare_lambda=2.0)
TINY = RetentionConfig(mixture=MIX, per_batch=1, gaps=(1, 4, 8), grad_every=4,
                       models=ModelBatchConfig(widths=(2, 8)),
                       run=ToyRunConfig(steps=16, batch_size=16, seeds=(0,), checkpoint_every=4))


def test_config_validation() -> None:
    with pytest.raises(ParameterError, match="gaps"):
        TINY.replace(gaps=(1, 32))                         # burst 32 > batch 16
    with pytest.raises(ParameterError, match="steps"):
        TINY.replace(run=TINY.run.replace(steps=20))       # 8 does not divide 20
    with pytest.raises(ParameterError, match="warmup"):
        TINY.replace(warmup=16)
    assert TINY.rare_frequency == pytest.approx(1 / 16)
    assert TINY.streams == ((1, 0), (4, 0), (8, 0))


def test_run_is_deterministic_and_has_columns(tmp_path) -> None:
    a = run_retention(TINY, store=Store(tmp_path / "a"))
    b = run_retention(TINY, store=Store(tmp_path / "b"))
    pd.testing.assert_frame_equal(a, b)
    for col in ("width", "seed", "gap", "step", "rare_loss", "rare_signal", "grad_cos",
                "grad_cos_rare", "grad_cos_other"):
        assert col in a.columns
    steps, batch = TINY.run.steps, TINY.run.batch_size
    # every stream saw exactly n / B rare samples per step on average
    last = a[a["step"] == steps - 1].groupby("gap")["rare_seen"].first()
    np.testing.assert_allclose(last.to_numpy() / (steps * batch), TINY.rare_frequency)
    # with log_every = 1 every step is logged and the per-step counts add up to the same total
    dense = run_retention(TINY.replace(log_every=1), store=Store(tmp_path / "dense"))
    per_step = dense.drop_duplicates(["gap", "seed", "step"])
    np.testing.assert_array_equal(per_step.groupby("gap")["n_rare"].sum().to_numpy(),
                                  last.to_numpy())
    assert a["rare_signal"].between(0, 1).all()
    # the gradient split is measured on burst steps of gapped streams
    bursts = a[(a["gap"] == 8) & a["burst"]]
    assert bursts["grad_cos_rare"].notna().all()
    # cached: a second call reads the store
    c = run_retention(TINY, store=Store(tmp_path / "a"))
    pd.testing.assert_frame_equal(a, c)


def test_resume_matches_uninterrupted(tmp_path) -> None:
    full = run_retention(TINY, store=Store(tmp_path / "full"))
    store = Store(tmp_path / "killed")
    assert run_retention(TINY, store=store, _stop_at=8) is None
    resumed = run_retention(TINY, store=store)
    pd.testing.assert_frame_equal(full, resumed)


def _cycles(signal_by_step: list[float], gap: int, width: int = 8) -> pd.DataFrame:
    steps = np.arange(len(signal_by_step))
    return pd.DataFrame({"width": width, "gap": gap, "seed": 0, "step": steps,
                         "cycle": steps // gap, "since_burst": steps % gap,
                         "rare_signal": signal_by_step, "rare_loss": 0.5, "common_loss": 0.1})


def test_retention_summary_divides_the_end_of_each_cycle_by_its_peak() -> None:
    # two complete cycles of gap 4 in the second half: peaks 0.8 and 1.0, ends 0.4 and 0.5
    sig = [0.0, 0.0, 0.0, 0.0, 0.8, 0.6, 0.5, 0.4, 1.0, 0.9, 0.7, 0.5]
    s = retention_summary(_cycles(sig, 4), tail=0.7).iloc[0]
    assert s["retained"] == pytest.approx(0.5)
    assert s["peak"] == pytest.approx(0.9)
    # nothing encoded: the retained fraction is undefined, not zero
    flat = retention_summary(_cycles([0.01] * 12, 4), tail=0.7).iloc[0]
    assert np.isnan(flat["retained"]) and flat["mean_signal"] == pytest.approx(0.01)
