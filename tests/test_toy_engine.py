"""The batched engine: equivalence with training alone, determinism, resume, exact losses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rtrlib.runtime import configure_threads
from rtrlib.store import Store
from rtrlib.toy import (
    BurstSchedule,
    MixtureConfig,
    ModelBatch,
    ModelBatchConfig,
    OptimConfig,
    SweepConfig,
    ToyRunConfig,
    run_sweep_full,
)

configure_threads(1)

MIXTURE = MixtureConfig(n_tasks=4, zipf_exponent=1.0, n_features=3, spectrum_decay=1.0,
                        input_dim=14)


def sweep(widths, seeds=(0,), *, steps=30, n_logs=3, optimizer="sgd", lr=0.3,
          activation="linear", checkpoint_every=500) -> SweepConfig:
    return SweepConfig(mixture=MIXTURE,
                       models=ModelBatchConfig(widths=widths, activation=activation),
                       optim=OptimConfig(optimizer=optimizer, lr=lr, lr_schedule="cosine"),
                       run=ToyRunConfig(steps=steps, batch_size=64, seeds=seeds,
                                     checkpoint_every=checkpoint_every),
                       n_logs=n_logs)


def final_losses(cfg: SweepConfig) -> np.ndarray:
    tr = cfg.build()
    for _ in range(cfg.run.steps):
        tr.train_step()
    return tr.task_losses().double().numpy()


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.3), ("adam", 0.02)])
@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_batched_equals_alone(optimizer, lr, activation):
    cfg = sweep((2, 5, 9), (0, 3), optimizer=optimizer, lr=lr, activation=activation)
    together = final_losses(cfg)
    for s, seed in enumerate(cfg.run.seeds):
        for w, width in enumerate(cfg.models.widths):
            alone = final_losses(sweep((width,), (seed,), optimizer=optimizer, lr=lr,
                                       activation=activation))
            np.testing.assert_allclose(together[s, w], alone[0, 0], rtol=2e-4, atol=1e-6)
    # the models really trained (and differ across widths)
    assert together[0, 2].sum() < together[0, 0].sum() < 0.999 * _initial(cfg)[0, 0].sum()


def _initial(cfg):
    return cfg.build().task_losses().double().numpy()


def test_deterministic(tmp_path):
    cfg = sweep((3, 6), (1,))
    a = run_sweep_full(cfg, store=Store(tmp_path / "a")).tasks
    b = run_sweep_full(cfg, store=Store(tmp_path / "b")).tasks
    pd.testing.assert_frame_equal(a, b)
    c = run_sweep_full(sweep((3, 6), (2,)), store=Store(tmp_path / "c")).tasks
    assert not np.allclose(a.task_loss.to_numpy(), c.task_loss.to_numpy())


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_after_interruption_is_exact(tmp_path, optimizer):
    cfg = sweep((3, 6), (0, 1), steps=40, n_logs=6, optimizer=optimizer,
                lr=0.3 if optimizer == "sgd" else 0.02, checkpoint_every=7)
    whole = run_sweep_full(cfg, store=Store(tmp_path / "whole"))
    store = Store(tmp_path / "killed")
    assert run_sweep_full(cfg, store=store, _stop_at=17) is None   # "killed" at step 17
    assert any(p.name.endswith("-checkpoint.rtr") for p in store.root.iterdir())
    resumed = run_sweep_full(cfg, store=store)
    pd.testing.assert_frame_equal(whole.tasks, resumed.tasks)
    pd.testing.assert_frame_equal(whole.features, resumed.features)
    assert not any(p.name.endswith("-checkpoint.rtr") for p in store.root.iterdir())
    # and the finished result is now cached
    again = run_sweep_full(cfg, store=store)
    pd.testing.assert_frame_equal(whole.tasks, again.tasks)


def test_sweep_table_columns(tmp_path):
    cfg = sweep((2, 4))
    df = run_sweep_full(cfg, store=Store(tmp_path)).tasks
    for col in ("width", "seed", "task", "pi", "step", "task_loss", "optimal_loss"):
        assert col in df.columns
    assert set(df.step) >= {0, cfg.run.steps}
    assert len(df) == df.step.nunique() * 2 * 1 * 4
    np.testing.assert_allclose(df.groupby(["step", "width"]).pi.sum(), 1.0)


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_exact_loss_matches_monte_carlo(activation):
    mix = MixtureConfig(n_tasks=3, n_features=(2, 3, 4), spectrum_decay=(0.5, 1.0, 2.0),
                        input_dim=12, background_variance=0.3).build()
    models = ModelBatch.init(mix, (3, 7), (0,), activation=activation, init_scale=2.0,
                             dtype=torch.float64)
    t = mix.tensors(dtype=torch.float64)
    exact = models.task_losses(t, 3, mix.background_variance).detach().numpy()[0]
    g = [torch.Generator().manual_seed(5)]
    n = 200_000
    sums = np.zeros((2, 3))
    for task in range(3):
        batch = mix.sample(torch.full((1, n), task), g, t)
        sums[:, task] = models.batch_loss(batch).detach().numpy()[0]
    np.testing.assert_allclose(sums, exact, rtol=0.03)


def test_presence_is_projection_for_feature_aligned_encoder():
    mix = MixtureConfig(n_tasks=2, n_features=4, input_dim=10).build()
    models = ModelBatch.init(mix, (3,), (0,), dtype=torch.float64)
    basis = torch.as_tensor(mix.basis)
    mixing = torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        models.U[0] = basis[:, [0, 5, 6]] @ mixing       # spans features 0, 5, 6
    pres = models.feature_presence(mix.tensors(dtype=torch.float64)).numpy()[0, 0]
    expected = np.zeros(8)
    expected[[0, 5, 6]] = 1
    np.testing.assert_allclose(pres, expected, atol=1e-6)


def test_batch_gradient_decomposes_over_groups():
    cfg = sweep((3, 5), (0, 1))
    tr = cfg.build()
    batch = tr.next_batch()
    rare = (batch.task == 3).double()
    g_all = tr.gradients(batch)
    g_t = tr.gradients(batch, rare)
    g_nt = tr.gradients(batch, 1 - rare)
    for a, b, c in zip(g_all, g_t, g_nt, strict=True):
        torch.testing.assert_close(a, b + c, rtol=1e-5, atol=1e-7)
    gr = tr.population_gradient(3)
    assert gr[0].shape == tr.models.U.shape and gr[0].abs().sum() > 0


def test_burst_schedule_withholds_and_injects():
    pi = tuple(np.full(4, 0.25))
    sch = BurstSchedule(pi, task=2, gaps=(5,), bursts=(8,))
    g = [torch.Generator().manual_seed(0)]
    counts = [int((sch.tasks(step, 32, g, "cpu") == 2).sum()) for step in range(20)]
    assert counts == [8 if s % 5 == 0 else 0 for s in range(20)]
    assert sch.frequency(32) == pytest.approx(8 / 160)


@pytest.mark.parametrize("gap", [1, 2, 5, 16])
def test_matched_schedule_has_exact_global_frequency_per_stream(gap: int) -> None:
    pi = (0.5, 0.3, 0.15, 0.05)
    sched = BurstSchedule.matched(pi, task=3, gaps=(gap, 1), rates=(2,), warmup=3)
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
    assert sched.frequency(B, 0) == sched.frequency(B, 1) == pytest.approx(2 / B)


def test_burst_schedule_refuses_a_burst_larger_than_the_batch():
    from rtrlib.params import ParameterError

    sched = BurstSchedule((0.5, 0.5), task=1, gaps=(4,), bursts=(40,))
    with pytest.raises(ParameterError, match="bursts"):
        sched.tasks(0, 32, [torch.Generator()], "cpu")
    with pytest.raises(ParameterError, match="bursts"):
        BurstSchedule((0.5, 0.5), task=1, gaps=(1, 2, 4), bursts=(1, 2))
