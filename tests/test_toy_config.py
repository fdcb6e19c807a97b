"""Config validation: each part validated once, one clear ParameterError naming the field; the
cache key leaves out what does not change a result."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from rtrlib.params import ParameterError
from rtrlib.store import config_key
from rtrlib.toy import (
    InterferenceConfig,
    LeversConfig,
    MixtureConfig,
    ModelBatchConfig,
    OptimConfig,
    RareMixtureConfig,
    RetentionConfig,
    SweepConfig,
    ToyRunConfig,
)


@pytest.mark.parametrize("part,changes,field", [
    (ModelBatchConfig, {"widths": (4, 0)}, "widths"),
    (ModelBatchConfig, {"widths": ()}, "widths"),
    (ModelBatchConfig, {"widths": (4, 4)}, "widths"),
    (ModelBatchConfig, {"activation": "tanh"}, "activation"),
    (ModelBatchConfig, {"init_scale": 0.0}, "init_scale"),
    (MixtureConfig, {"n_tasks": 2, "pi": (0.5, 0.6)}, "pi"),
    (MixtureConfig, {"n_tasks": 2, "pi": (0.5, 0.4, 0.1)}, "pi"),
    (MixtureConfig, {"n_tasks": 2, "spectra": ((1.0, -0.5), (1.0,))}, "spectra"),
    (MixtureConfig, {"n_tasks": 4, "n_features": 3, "input_dim": 5}, "input_dim"),
    (MixtureConfig, {"n_tasks": 3, "spectrum_decay": (1.0, 2.0)}, "spectrum_decay"),
    (MixtureConfig, {"zipf_exponent": -1.0}, "zipf_exponent"),
    (ToyRunConfig, {"device": "tpu"}, "device"),
    (ToyRunConfig, {"steps": 0}, "steps"),
    (ToyRunConfig, {"batch_size": 0}, "batch_size"),
    (ToyRunConfig, {"seeds": (1, 1)}, "seeds"),
    (ToyRunConfig, {"checkpoint_every": 0}, "checkpoint_every"),
    (OptimConfig, {"optimizer": "lbfgs"}, "optimizer"),
    (OptimConfig, {"lr": 0.0}, "lr"),
    (OptimConfig, {"lr_schedule": "step"}, "lr_schedule"),
    (RareMixtureConfig, {"n_common": 0}, "n_common"),
    (RareMixtureConfig, {"rare_features": 0}, "rare_features"),
    (RareMixtureConfig, {"rare_lambda": 0.0}, "rare_lambda"),
])
def test_invalid_parts_name_the_field(part, changes, field):
    with pytest.raises(ParameterError) as err:
        part(**changes)
    assert err.value.name == field
    assert repr(field) in str(err.value)


@pytest.mark.parametrize("config,changes,field", [
    (SweepConfig, {"n_logs": 0}, "n_logs"),
    (SweepConfig, {"log_spacing": "cubic"}, "log_spacing"),
    (InterferenceConfig, {"rare_frequency": 1.0}, "rare_frequency"),
    (RetentionConfig, {"per_batch": 0}, "per_batch"),
    (RetentionConfig, {"gaps": (1, 1)}, "gaps"),
    (RetentionConfig, {"gaps": (3,)}, "steps"),            # 3 does not divide 2048
    (LeversConfig, {"base_rate": 3}, "base_rate"),
    (LeversConfig, {"threshold": 1.0}, "threshold"),
])
def test_invalid_experiment_fields_name_the_field(config, changes, field):
    with pytest.raises(ParameterError) as err:
        config(**changes)
    assert err.value.name == field


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused():
    with pytest.raises(ParameterError, match="device"):
        ToyRunConfig(device="cuda")


def test_configs_are_frozen_compositions_with_tuple_fields():
    cfg = SweepConfig(models=ModelBatchConfig(widths=[2, 4]), run=ToyRunConfig(seeds=[0, 1]))
    assert cfg.models.widths == (2, 4) and cfg.run.seeds == (0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_logs = 3  # type: ignore[misc]
    assert cfg.build().models.widths == (2, 4)
    assert cfg.replace(run=cfg.run.replace(steps=7)).run.steps == 7


@pytest.mark.parametrize("config", [SweepConfig(), InterferenceConfig(), RetentionConfig(),
                                    LeversConfig()])
def test_cache_key_leaves_out_progress_and_checkpoints(config):
    key = config_key("x", config.keyed())
    quiet = config.replace(run=config.run.replace(progress=True, checkpoint_every=3))
    assert config_key("x", quiet.keyed()) == key
    longer = config.replace(run=config.run.replace(steps=config.run.steps * 2))
    assert config_key("x", longer.keyed()) != key
    other = config.replace(optim=config.optim.replace(lr=config.optim.lr / 2))
    assert config_key("x", other.keyed()) != key
    assert "progress" not in str(config.keyed()) and "checkpoint_every" not in str(
        config.keyed())


def test_levers_baselines_do_not_change_the_key():
    cfg = LeversConfig()
    assert config_key("x", cfg.replace(base_widths=(8,)).keyed()) == config_key("x", cfg.keyed())


def test_rare_mixture_frequencies_and_critical_width():
    rare = RareMixtureConfig(n_common=4, features_per_task=3, rare_lambda=3.0)
    mix = rare.with_frequency(0.01).build()
    assert mix.pi.sum() == pytest.approx(1.0)
    assert mix.pi[-1] == pytest.approx(0.01)
    assert mix.spectra[-1].tolist() == [3.0]
    assert rare.critical_width(0.01) > rare.critical_width(0.1)
    with pytest.raises(ParameterError, match="rare_frequency"):
        rare.with_frequency(0.0)


def test_mixture_defaults_and_explicit_values():
    mix = MixtureConfig().build()
    assert mix.n_tasks == 32 and mix.n_features == 256 and mix.input_dim == 256
    assert abs(mix.pi.sum() - 1) < 1e-12 and mix.pi[0] > mix.pi[-1]
    # orthonormal and not axis-aligned
    gram = mix.basis.T @ mix.basis
    assert abs(gram - np.eye(256)).max() < 1e-10
    assert abs(mix.basis).max() < 0.5
    explicit = MixtureConfig(n_tasks=2, pi=[0.25, 0.75], spectra=[[3.0], [2.0, 1.0]]).build()
    assert list(explicit.pi) == [0.25, 0.75] and explicit.n_features == 3
    assert list(explicit.utilities()) == [0.75, 1.5, 0.75]
