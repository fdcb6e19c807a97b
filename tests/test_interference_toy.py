"""Toy-model interference measurements (rtrlib.toy.interference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rtrlib.store import Store
from rtrlib.toy.interference import (
    InterferenceConfig,
    encoder_cosine,
    gradient_split,
    presence,
    rare_mixture,
    run_interference,
)
from rtrlib.toy.models import ModelBatch

SMALL = dict(n_common=3, features_per_task=2, rare_frequency=1 / 16, rare_lambda=2.0,
             widths=(2, 8, 12), steps=24, batch_size=16, n_logs=4)


def test_rare_mixture_frequencies() -> None:
    mix = rare_mixture(4, 3, 1.0, 1.0, 0.01, 3.0).build()
    assert mix.pi.sum() == pytest.approx(1.0)
    assert mix.pi[-1] == pytest.approx(0.01)
    assert mix.spectra[-1].tolist() == [3.0]


def test_presence_of_feature_aligned_encoder_and_wide_models() -> None:
    mix = rare_mixture(3, 2, 1.0, 1.0, 0.1, 2.0).build()
    t = mix.tensors("cpu", torch.float64)
    models = ModelBatch.init(mix, (2, 10), (0,), dtype=torch.float64)
    basis = torch.as_tensor(mix.basis)
    with torch.no_grad():
        models.U[0, :, :2] = basis[:, [0, 6]]           # width 2 holds features 0 and 6
        models.U[0, :, 2:] = torch.randn(7, 10, dtype=torch.float64)  # wider than F = 7
    p = presence(models, t, torch.arange(7))
    assert p[0, 0, 0] == pytest.approx(1.0) and p[0, 0, 6] == pytest.approx(1.0)
    assert p[0, 0, 1:6].abs().max() < 1e-9
    assert torch.allclose(p[0, 1], torch.ones(7, dtype=torch.float64))
    # the engine's own measure (ridge + Cholesky, pseudo-inverse fallback) agrees, also for the
    # model wider than the feature count
    assert torch.allclose(models.feature_presence(t), p, atol=1e-6)


def test_gradient_split_adds_up_and_run_is_deterministic(tmp_path) -> None:
    cfg = InterferenceConfig(**SMALL)
    trainer = cfg.build()
    batch = trainer.next_batch()
    split = gradient_split(trainer, batch, cfg.rare)
    # cosines lie in [-1, 1] (or NaN when the batch has no rare sample)
    for key in ("cos", "cos_task", "cos_other"):
        v = split[key][~torch.isnan(split[key])]
        assert (v.abs() <= 1 + 1e-9).all()
    g, _ = trainer.gradients(batch)
    same = encoder_cosine(trainer.models, g, g)
    assert torch.allclose(same, torch.ones_like(same))
    a = run_interference(cfg, store=Store(tmp_path / "a"))
    b = run_interference(cfg, store=Store(tmp_path / "b"))
    assert a.equals(b)
    assert set(a["task"]) == set(range(4))
    assert np.isfinite(a["grad_norm"]).all() and (a["residual"] >= -1e-9).all()


@pytest.mark.parametrize("module, cls", [("interference", "InterferenceConfig"),
                                         ("injection", "InjectionConfig"),
                                         ("levers", "LeversConfig")])
@pytest.mark.parametrize("field, value", [("rare_features", 0), ("n_common", 0),
                                          ("rare_lambda", 0.0)])
def test_rare_task_configs_refuse_a_bad_mixture_field_by_name(module, cls, field, value) -> None:
    import importlib

    from rtrlib.params import ParameterError

    config = getattr(importlib.import_module(f"rtrlib.toy.{module}"), cls)
    with pytest.raises(ParameterError, match=field):
        config(**{field: value})
