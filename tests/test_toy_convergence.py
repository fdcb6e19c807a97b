"""Trained linear models at convergence match Theorem 3's optimal per-task loss."""

from __future__ import annotations

import numpy as np

from rtrlib.runtime import configure_threads
from rtrlib.store import Store
from rtrlib.theory.utility import optimal_task_loss
from rtrlib.toy import (
    MixtureConfig,
    ModelBatchConfig,
    OptimConfig,
    SweepConfig,
    ToyRunConfig,
    run_sweep_full,
)

configure_threads(1)


def test_trained_linear_losses_match_optimum(tmp_path):
    # distinct, well separated utilities (no ties): pi = (0.4, 0.3, 0.2, 0.1), lambda_j = j^-1.5
    cfg = SweepConfig(
        mixture=MixtureConfig(n_tasks=4, pi=(0.4, 0.3, 0.2, 0.1), n_features=3,
                              spectrum_decay=1.5, input_dim=14),
        models=ModelBatchConfig(widths=(1, 2, 4, 6, 9, 12)),
        optim=OptimConfig(optimizer="sgd", lr=1.0, lr_schedule="cosine",
                          final_lr_fraction=0.05),
        run=ToyRunConfig(steps=1500, batch_size=128, seeds=(0,)), n_logs=4, record_presence=True)
    res = run_sweep_full(cfg, store=Store(tmp_path))
    steps = cfg.run.steps
    last = res.tasks[res.tasks.step == steps]
    gap = (last.task_loss - last.optimal_loss).abs() / last.variance
    assert gap.max() < 0.03, last.assign(gap=gap).sort_values("gap").tail()
    mix = cfg.mixture.build()
    for width in cfg.models.widths:
        np.testing.assert_allclose(
            last[last.width == width].sort_values("task").optimal_loss,
            optimal_task_loss(mix.pi, mix.spectra, width))
    # the presences at the end are ~0/1 and pick the top-N utilities
    feats = res.features[(res.features.step == steps) & (res.features.width == 6)]
    kept = feats.sort_values("rank").presence.to_numpy()
    assert kept[:6].min() > 0.95 and kept[6:].max() < 0.05
