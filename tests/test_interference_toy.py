"""Chapter 4's experiment and the measurements it uses (rtrlib.toy.interference, .gradients)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rtrlib.runtime import configure_threads
from rtrlib.store import CHECKPOINT_SUFFIX, Store
from rtrlib.toy import (
    InterferenceConfig,
    ModelBatch,
    ModelBatchConfig,
    RareMixtureConfig,
    ToyRunConfig,
    common_pull,
    encoder_cosine,
    encoder_gradient_split,
    measured_critical_width,
    run_interference,
)
from rtrlib.toy.interference import interference_key

configure_threads(1)

SMALL = InterferenceConfig(
    mixture=RareMixtureConfig(n_common=3, features_per_task=2, rare_lambda=2.0),
    rare_frequency=1 / 16, models=ModelBatchConfig(widths=(2, 8, 12)),
    run=ToyRunConfig(steps=24, batch_size=16, seeds=(0, 1), checkpoint_every=5), n_logs=4)


def test_presence_of_feature_aligned_encoder_and_wide_models() -> None:
    mix = RareMixtureConfig(n_common=3, features_per_task=2, rare_lambda=2.0).with_frequency(
        0.1).build()
    t = mix.tensors("cpu", torch.float64)
    models = ModelBatch.init(mix, (2, 10), (0,), dtype=torch.float64)
    basis = torch.as_tensor(mix.basis)
    with torch.no_grad():
        models.U[0, :, :2] = basis[:, [0, 6]]           # width 2 holds features 0 and 6
        models.U[0, :, 2:] = torch.randn(7, 10, dtype=torch.float64,
                                         generator=torch.Generator().manual_seed(1))  # N > F
    p = models.feature_presence(t)
    assert p.dtype == torch.float64 and p.shape == (1, 2, 7)
    assert p[0, 0, 0] == pytest.approx(1.0) and p[0, 0, 6] == pytest.approx(1.0)
    assert p[0, 0, 1:6].abs().max() < 1e-9
    assert torch.allclose(p[0, 1], torch.ones(7, dtype=torch.float64))
    # a subset of features is the same numbers
    assert torch.allclose(models.feature_presence(t, features=torch.tensor([6, 1])),
                          p[..., [6, 1]], atol=1e-12)


def test_presence_of_a_relu_unit_is_half_a_feature() -> None:
    mix = RareMixtureConfig(n_common=2, features_per_task=2).with_frequency(0.1).build()
    t = mix.tensors("cpu", torch.float64)
    models = ModelBatch.init(mix, (1,), (0,), activation="relu", dtype=torch.float64)
    with torch.no_grad():
        models.U[0, :, 0] = torch.as_tensor(mix.basis[:, 0])
    assert models.feature_presence(t)[0, 0, 0] == pytest.approx(0.5, abs=1e-6)


def test_gradient_split_adds_up_and_cosines_are_bounded() -> None:
    trainer = SMALL.build()
    batch = trainer.next_batch()
    split = encoder_gradient_split(trainer, batch, SMALL.rare)
    for key in ("cos", "cos_task", "cos_other"):
        v = split[key][~torch.isnan(split[key])]
        assert (v.abs() <= 1 + 1e-9).all()
    g, _ = trainer.gradients(batch)
    same = encoder_cosine(trainer.models, g, g)
    assert torch.allclose(same, torch.ones_like(same))
    assert torch.allclose(split["norm"], encoder_cosine(trainer.models, g, g) * split["norm"])


def test_run_is_deterministic_and_has_columns(tmp_path) -> None:
    a = run_interference(SMALL, store=Store(tmp_path / "a"))
    b = run_interference(SMALL, store=Store(tmp_path / "b"))
    pd.testing.assert_frame_equal(a, b)
    assert set(a["task"]) == set(range(4))
    assert set(a["step"]) >= {0, SMALL.run.steps}
    assert np.isfinite(a["grad_norm"]).all() and (a["residual"] >= -1e-9).all()
    rare_rows = a[a["rare"] & (a["step"] < SMALL.run.steps)]
    assert rare_rows["cos_task"].notna().any()
    assert a.loc[~a["rare"], "cos"].isna().all()


def test_resume_matches_uninterrupted(tmp_path) -> None:
    whole = run_interference(SMALL, store=Store(tmp_path / "whole"))
    store = Store(tmp_path / "killed")
    assert run_interference(SMALL, store=store, _stop_at=11) is None   # "killed" at step 11
    assert store.load(interference_key(SMALL) + CHECKPOINT_SUFFIX) is not None
    resumed = run_interference(SMALL, store=store)
    pd.testing.assert_frame_equal(whole, resumed)
    assert store.load(interference_key(SMALL) + CHECKPOINT_SUFFIX) is None


def _table(final_residuals: dict[int, list[float]], rare: int = 1) -> pd.DataFrame:
    rows = []
    for width, per_seed in final_residuals.items():
        for seed, res in enumerate(per_seed):
            rows.append({"width": width, "seed": seed, "task": rare, "step": 10,
                         "residual": res, "variance": 1.0})
    return pd.DataFrame(rows)


def test_measured_critical_width_is_the_start_of_the_last_learned_run() -> None:
    assert measured_critical_width(_table({4: [1.0], 8: [0.2], 12: [0.9], 16: [0.1],
                                           20: [0.0]}), 1) == 16
    assert measured_critical_width(_table({4: [0.1], 8: [0.2]}), 1) == 4
    assert np.isnan(measured_critical_width(_table({4: [0.1], 8: [0.9]}), 1))
    # the seed average decides: 0.3 and 0.8 average to 0.55, not learned
    assert measured_critical_width(_table({4: [0.3, 0.8], 8: [0.1, 0.2]}), 1) == 8


def test_common_pull_weights_by_frequency_and_averages_seeds() -> None:
    rows = [{"width": 4, "seed": s, "step": st, "task": k, "pi": pi, "grad_norm": g}
            for s, scale in ((0, 1.0), (1, 3.0))
            for st in (0, 5)
            for k, pi, g in ((0, 0.6, scale * (2.0 if st == 0 else 1.0)),
                             (1, 0.3, scale), (2, 0.1, 100.0))]
    pull = common_pull(pd.DataFrame(rows), rare=2).set_index("step")
    # step 0: mean over seeds of 0.6 * 2s + 0.3 s = 1.5 s, s in {1, 3}: 3.0; step 5: 0.9 s: 1.8
    assert pull.loc[0, "pull"] == pytest.approx(3.0)
    assert pull.loc[5, "pull"] == pytest.approx(1.8)
    assert pull.loc[5, "relative"] == pytest.approx(0.6)
