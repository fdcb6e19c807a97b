"""Parameter validation and claim records."""

from __future__ import annotations

import pytest

from rtrlib.params import (
    ParameterError,
    check_chapter,
    require_choice,
    require_device,
    require_float,
    require_int,
    require_ints,
)


def test_errors_name_the_parameter_and_range() -> None:
    with pytest.raises(ParameterError, match=r"'width' = 0 .*>= 1"):
        require_int("width", 0, 1)
    with pytest.raises(ParameterError, match=r"'lr' = -1.*\(0, 1\]"):
        require_float("lr", -1, 0, 1, lo_open=True)
    with pytest.raises(ParameterError, match="'optimizer'.*'sgd', 'adam'"):
        require_choice("optimizer", "rmsprop", ("sgd", "adam"))
    with pytest.raises(ParameterError, match="'widths'"):
        require_ints("widths", [4, 0], 1)
    with pytest.raises(ParameterError, match="'widths'"):
        require_ints("widths", [], 1)
    with pytest.raises(ParameterError, match="'seed'"):
        require_int("seed", True)
    assert require_ints("widths", (2, 4), 1) == (2, 4)
    assert require_float("x", 0.5, 0, 1) == 0.5


def test_check_chapter() -> None:
    check_chapter("smoke", "cpu", 0)
    with pytest.raises(ParameterError, match="'profile'"):
        check_chapter("fast", "cpu", 0)
    with pytest.raises(ParameterError, match="'device'"):
        check_chapter("cpu", "tpu", 0)


def test_cuda_refused_without_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ParameterError, match="'device' = 'cuda'.*no CUDA"):
        require_device("device", "cuda")
