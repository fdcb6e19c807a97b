"""Matched-frequency injection: schedule, determinism, resume, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rtrlib.params import ParameterError
from rtrlib.store import Store
from rtrlib.toy.injection import (
    InjectionConfig,
    MatchedFrequencySchedule,
    retention_summary,
    run_injection,
)

TINY = dict(n_common=3, features_per_task=2, rare_lambda=2.0, batch_size=16, per_batch=1,
            gaps=(1, 4, 8), steps=16, widths=(2, 8), seeds=(0,), grad_every=4,
            checkpoint_every=4)


@pytest.mark.parametrize("gap", [1, 2, 5, 16])
def test_schedule_has_exact_global_frequency(gap: int) -> None:
    pi = (0.5, 0.3, 0.15, 0.05)
    sched = MatchedFrequencySchedule(pi=pi, task=3, gaps=(gap, 1), per_batch=2, warmup=3)
    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    B, cycles = 32, 4
    steps = range(3, 3 + cycles * gap)
    counts = np.zeros(2, dtype=int)
    for step in range(0, 3):  # withheld during warmup
        assert not (sched.tasks(step, B, gens, "cpu") == 3).any()
    for step in steps:
        tasks = sched.tasks(step, B, gens, "cpu")
        counts += (tasks == 3).sum(1).numpy()
        if gap > 1 and (step - 3) % gap:
            assert not (tasks[0] == 3).any()
    total = len(steps) * B
    assert counts[0] / total == pytest.approx(2 / B)  # exactly n / B, whatever the gap
    assert counts[1] / total == pytest.approx(2 / B)


def test_config_validation() -> None:
    with pytest.raises(ParameterError, match="gaps"):
        InjectionConfig(**{**TINY, "gaps": (1, 32)})        # burst 32 > batch 16
    with pytest.raises(ParameterError, match="steps"):
        InjectionConfig(**{**TINY, "steps": 20})            # 8 does not divide 20
    with pytest.raises(ParameterError, match="seeds"):
        InjectionConfig(**{**TINY, "seeds": (0, 0)})
    assert InjectionConfig(**TINY).rare_frequency == pytest.approx(1 / 16)


def test_run_is_deterministic_and_has_columns(tmp_path) -> None:
    cfg = InjectionConfig(**TINY)
    a = run_injection(cfg, store=Store(tmp_path / "a"))
    b = run_injection(cfg, store=Store(tmp_path / "b"))
    pd.testing.assert_frame_equal(a, b)
    for col in ("width", "seed", "gap", "step", "rare_loss", "rare_signal", "grad_cos",
                "grad_cos_rare", "grad_cos_other"):
        assert col in a.columns
    # every stream saw exactly n / B rare samples per step on average
    last = a[a["step"] == cfg.steps - 1].groupby("gap")["rare_seen"].first()
    np.testing.assert_allclose(last.to_numpy() / (cfg.steps * cfg.batch_size), cfg.rare_frequency)
    # with log_every = 1 every step is logged and the per-step counts add up to the same total
    dense = run_injection(cfg.replace(log_every=1), store=Store(tmp_path / "dense"))
    per_step = dense.drop_duplicates(["gap", "seed", "step"])
    np.testing.assert_array_equal(per_step.groupby("gap")["n_rare"].sum().to_numpy(),
                                  last.to_numpy())
    assert a["rare_signal"].between(0, 1).all()
    # the gradient split is measured on burst steps of gapped streams
    bursts = a[(a["gap"] == 8) & a["burst"]]
    assert bursts["grad_cos_rare"].notna().all()
    # cached: a second call reads the store
    c = run_injection(cfg, store=Store(tmp_path / "a"))
    pd.testing.assert_frame_equal(a, c)
    summary = retention_summary(a)
    assert {"retained", "mean_signal", "mean_rare_loss"} <= set(summary.columns)


def test_resume_matches_uninterrupted(tmp_path) -> None:
    cfg = InjectionConfig(**TINY)
    full = run_injection(cfg, store=Store(tmp_path / "full"))
    store = Store(tmp_path / "killed")
    assert run_injection(cfg, store=store, _stop_at=8) is None
    resumed = run_injection(cfg, store=store)
    pd.testing.assert_frame_equal(full, resumed)


def test_cli_writes_csv(tmp_path, monkeypatch) -> None:
    from rtrlib.toy.injection import main

    monkeypatch.setenv("RTRLIB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "inj.csv"
    assert main(["--n-common", "2", "--widths", "2", "4", "--gaps", "1", "2", "--steps", "4",
                 "--batch-size", "8", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert set(df["gap"]) == {1, 2} and set(df["width"]) == {2, 4}
    assert main(["--gaps", "1", "3", "--steps", "4", "--out", str(out)]) == 2  # 3 does not divide 4
