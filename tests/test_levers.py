"""Compute-to-learn a rare task under three levers (rtrlib.toy.levers, rtrlib.toy.lever_costs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtrlib.params import ParameterError
from rtrlib.runtime import configure_threads
from rtrlib.store import Store
from rtrlib.toy import ModelBatchConfig, OptimConfig, RareMixtureConfig, ToyRunConfig
from rtrlib.toy.lever_costs import (
    LEVERS,
    cheapest_levers,
    lever_regimes,
    lever_table,
    predicted_cheapest,
    setting_summary,
)
from rtrlib.toy.levers import (
    LeversConfig,
    flops_per_step,
    levers_key,
    run_levers,
    run_levers_grid,
)

configure_threads(1)

SMALL = dict(mixture=RareMixtureConfig(n_common=3, features_per_task=2, rare_lambda=2.0),
             models=ModelBatchConfig(widths=(2, 4, 8)), rates=(1, 2), gaps=(1, 2),
             base_widths=(2, 4), base_rate=1, base_gap=2,
             run=ToyRunConfig(seeds=(0,), batch_size=16, steps=16, checkpoint_every=4),
             optim=OptimConfig(optimizer="adam", lr=0.05), hold=4, trace_every=4)


def test_config_validation_names_the_parameter() -> None:
    with pytest.raises(ParameterError, match="base_rate"):
        LeversConfig(**{**SMALL, "base_rate": 3})
    with pytest.raises(ParameterError, match="base_widths"):
        LeversConfig(**{**SMALL, "base_widths": (5,)})
    with pytest.raises(ParameterError, match="steps"):
        LeversConfig(**{**SMALL, "gaps": (2, 3), "rates": (1,), "base_gap": 2})  # 3 !| 16
    with pytest.raises(ParameterError, match="rates"):
        LeversConfig(**{**SMALL, "rates": (1, 8)})          # 8 x 2 > 16 / 2
    with pytest.raises(ParameterError, match="hold"):
        LeversConfig(**{**SMALL, "hold": 3})                # shorter than two longest gaps
    with pytest.raises(ParameterError, match="threshold"):
        LeversConfig(**{**SMALL, "threshold": 1.0})
    cfg = LeversConfig(**{**SMALL, "rates": [1, 2]})
    assert cfg.rates == (1, 2)
    with pytest.raises(dataclasses_frozen_error()):
        cfg.hold = 3  # type: ignore[misc]


def dataclasses_frozen_error() -> type[Exception]:
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_schedule_holds_the_global_frequency_for_every_gap() -> None:
    cfg = LeversConfig(**{**SMALL, "run": SMALL["run"].replace(steps=32)})
    trainer = cfg.build()
    counts = np.zeros(len(cfg.streams))
    for _ in range(cfg.run.steps):
        batch = trainer.next_batch()
        counts += (batch.task == cfg.rare).sum(1).numpy()
        trainer.step += 1
    expected = np.array([r * cfg.run.steps for r, _, _ in cfg.streams])
    assert np.array_equal(counts, expected)
    # a gap-2 stream's rare samples come in bursts on even steps only
    sched = cfg.schedule(trainer.mixture)
    s = cfg.streams.index((2, 2, 0))
    assert sched.burst_size(0, s) == 4 and sched.burst_size(1, s) == 0


def test_theory_critical_width_falls_with_frequency() -> None:
    cfg = LeversConfig()
    nc = [cfg.critical_width(r) for r in cfg.rates]
    assert cfg.critical_width() == nc[0]
    assert all(a > b for a, b in zip(nc, nc[1:], strict=False))
    assert flops_per_step(32, 256, 33, 33) == 2 * flops_per_step(16, 256, 33, 33)


def test_grid_learned_and_flops_are_consistent(tmp_path) -> None:
    cfg = LeversConfig(**SMALL)
    grid = run_levers_grid(cfg, store=Store(tmp_path))
    assert len(grid) == len(cfg.models.widths) * len(cfg.streams)
    ok = grid["learned"].to_numpy()
    assert np.all(np.isfinite(grid.loc[ok, "steps_to_learn"]))
    assert np.all(grid.loc[~ok, "steps_to_learn"].isna())
    assert np.all(grid.loc[ok, "steps_to_learn"] + cfg.hold <= cfg.run.steps)
    assert np.allclose(grid.loc[ok, "flops_to_learn"],
                       grid.loc[ok, "steps_to_learn"] * grid.loc[ok, "flops_per_step"])
    assert np.all(grid["steps_to_learn"].dropna().between(0, cfg.run.steps))


def test_lever_table_shape_and_baseline(tmp_path) -> None:
    cfg = LeversConfig(**SMALL)
    table = run_levers(cfg, store=Store(tmp_path))
    assert set(table["lever"]) == set(LEVERS)
    assert set(table["base_width"]) == set(cfg.base_widths)
    for bw in cfg.base_widths:
        t = table[table["base_width"] == bw]
        base = t[t["multiplier"] == 1.0]
        # the baseline appears once under every lever, always the same setting
        assert len(base) == 3
        assert base[["width", "rate", "gap"]].drop_duplicates().shape[0] == 1
        assert np.allclose(base["common_penalty"], 0.0)
        widen = t[t["lever"] == "widen"]
        assert (widen["rate"] == cfg.base_rate).all() and (widen["width"] >= bw).all()
        replay = t[t["lever"] == "replay more often"]
        assert (replay["width"] == bw).all() and (replay["gap"] <= cfg.base_gap).all()
    best = cheapest_levers(table)
    assert best.groupby("base_width")["cheapest"].sum().le(1).all()


def test_lever_table_prefers_the_cheapest_on_a_constructed_grid() -> None:
    """A hand-made grid: widening learns fast but costs 4x per step; raising the frequency
    learns in 2x the steps at 1x cost, so it must win; replaying never learns."""
    cfg = LeversConfig(models=ModelBatchConfig(widths=(8, 32)), rates=(1, 2), gaps=(1, 4),
                       run=ToyRunConfig(seeds=(0,), steps=64), base_widths=(8,), base_rate=1,
                       base_gap=4, hold=8)
    rows = []
    for w in (8, 32):
        for r in (1, 2):
            for g in (1, 4):
                learned = w == 32 or r == 2
                steps = 10.0 if w == 32 else 20.0
                fps = flops_per_step(w, 256, 33, 33)
                rows.append(dict(width=w, rate=r, frequency=r / 256, gap=g, seed=0,
                                 learned=learned, steps_to_learn=steps if learned else np.nan,
                                 flops_per_step=fps,
                                 flops_to_learn=steps * fps if learned else np.nan,
                                 flops_run=64 * fps, final_rare_loss=0.1 if learned else 1.0,
                                 held_to_end=learned,
                                 final_common_loss=0.5, critical_width=20,
                                 predicted_learnable=w >= 20))
    grid = pd.DataFrame(rows)
    table = lever_table(grid, cfg, 8)
    best = cheapest_levers(table).set_index("lever")
    assert best.loc["raise frequency", "cheapest"]
    assert not np.isfinite(best.loc["replay more often", "flops_to_learn"])
    assert best.loc["widen", "flops_to_learn"] == 2 * best.loc["raise frequency",
                                                                "flops_to_learn"]


def test_resume_matches_uninterrupted_run(tmp_path) -> None:
    cfg = LeversConfig(**SMALL)
    whole = run_levers_grid(cfg, store=Store(tmp_path / "a"))
    store = Store(tmp_path / "b")
    assert run_levers_grid(cfg, store=store, _stop_at=8) is None
    assert store.load(levers_key(cfg) + "-checkpoint") is not None
    resumed = run_levers_grid(cfg, store=store)
    pd.testing.assert_frame_equal(whole, resumed)
    assert store.load(levers_key(cfg) + "-checkpoint") is None
    # cached: the same object comes back without training
    again, trace = run_levers_grid(cfg, store=store, trace=True)
    pd.testing.assert_frame_equal(whole, again)
    assert set(trace["step"]) == set(range(0, cfg.run.steps + 1, cfg.trace_every))


def test_setting_summary_takes_the_upper_median_over_seeds() -> None:
    grid = pd.DataFrame({"width": 8, "rate": 1, "gap": 4, "seed": [0, 1, 2],
                         "learned": [True, True, False],
                         "steps_to_learn": [30.0, 10.0, np.nan], "flops_per_step": 2.0,
                         "flops_run": 200.0, "final_rare_loss": [0.1, 0.2, 0.9],
                         "final_common_loss": 0.3, "critical_width": 6,
                         "predicted_learnable": True})
    s = setting_summary(grid).iloc[0]
    assert s["steps_to_learn"] == 30.0 and s["flops_to_learn"] == 60.0 and s["learned"]
    assert s["learned_fraction"] == pytest.approx(2 / 3)
    # most seeds fail: the median is infinite, the setting does not count as learned
    grid["learned"] = [True, False, False]
    assert not setting_summary(grid).iloc[0]["learned"]


def test_predicted_cheapest_lever_by_regime() -> None:
    nc = {1: 20, 2: 12, 4: 8}
    assert predicted_cheapest(24, nc, 1) == {"raise frequency", "replay more often"}
    assert predicted_cheapest(12, nc, 1) == {"raise frequency"}
    assert predicted_cheapest(4, nc, 1) == {"widen"}


def test_lever_regimes_compares_measured_and_predicted(tmp_path) -> None:
    cfg = LeversConfig(**SMALL)
    tables = run_levers(cfg, store=Store(tmp_path))
    regimes = lever_regimes(tables, cfg)
    assert list(regimes["N0"]) == sorted(cfg.base_widths)
    nc0 = cfg.critical_width()
    for _, r in regimes.iterrows():
        assert r["regime"] == ("below N_c" if r["N0"] < nc0 else "at or above N_c")
        assert r["match"] == (r["cheapest (measured)"] in r["predicted"].split(" or "))
