"""Config validation: one clear ParameterError naming the offending field."""

from __future__ import annotations

import pytest
import torch

from rtrlib.params import ParameterError
from rtrlib.toy import MixtureConfig, SweepConfig


@pytest.mark.parametrize("changes,field", [
    ({"widths": (4, 0)}, "widths"),
    ({"widths": ()}, "widths"),
    ({"n_tasks": 2, "pi": (0.5, 0.6)}, "pi"),
    ({"n_tasks": 2, "pi": (0.5, 0.4, 0.1)}, "pi"),
    ({"n_tasks": 2, "spectra": ((1.0, -0.5), (1.0,))}, "spectra"),
    ({"device": "tpu"}, "device"),
    ({"optimizer": "lbfgs"}, "optimizer"),
    ({"activation": "tanh"}, "activation"),
    ({"lr": 0.0}, "lr"),
    ({"steps": 0}, "steps"),
    ({"batch_size": 0}, "batch_size"),
    ({"seeds": (1, 1)}, "seeds"),
    ({"n_tasks": 4, "n_features": 3, "input_dim": 5}, "input_dim"),
    ({"n_tasks": 3, "spectrum_decay": (1.0, 2.0)}, "spectrum_decay"),
    ({"zipf_exponent": -1.0}, "zipf_exponent"),
])
def test_invalid_sweep_configs_name_the_field(changes, field):
    with pytest.raises(ParameterError) as err:
        SweepConfig(**changes)
    assert err.value.name == field
    assert repr(field) in str(err.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused():
    with pytest.raises(ParameterError, match="device"):
        SweepConfig(device="cuda")


def test_mixture_defaults_and_explicit_values():
    mix = MixtureConfig().build()
    assert mix.n_tasks == 32 and mix.n_features == 256 and mix.input_dim == 256
    assert abs(mix.pi.sum() - 1) < 1e-12 and mix.pi[0] > mix.pi[-1]
    # orthonormal and not axis-aligned
    gram = mix.basis.T @ mix.basis
    assert abs(gram - __import__("numpy").eye(256)).max() < 1e-10
    assert abs(mix.basis).max() < 0.5
    explicit = MixtureConfig(n_tasks=2, pi=[0.25, 0.75], spectra=[[3.0], [2.0, 1.0]]).build()
    assert list(explicit.pi) == [0.25, 0.75] and explicit.n_features == 3
    assert list(explicit.utilities()) == [0.75, 1.5, 0.75]
