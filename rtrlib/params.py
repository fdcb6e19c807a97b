"""Validation of configs and chapter parameters: one clear error naming the parameter.

Chapters call :func:`check_chapter` on their ``parameters`` cell, configs call the small
``require_*`` helpers in ``__post_init__``. Every failure is a :class:`ParameterError` whose
message names the parameter, the value given and the allowed range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

PROFILES = ("smoke", "cpu", "gpu", "paper")
DEVICES = ("cpu", "cuda")


class ParameterError(ValueError):
    """A parameter outside its allowed range."""

    def __init__(self, name: str, value: Any, allowed: str) -> None:
        super().__init__(f"parameter {name!r} = {value!r} is invalid: allowed {allowed}")
        self.name = name


def require_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        raise ParameterError(name, value, "one of " + ", ".join(map(repr, choices)))
    return value


def require_int(name: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(name, value, f"an integer{_range(lo, hi)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ParameterError(name, value, f"an integer{_range(lo, hi)}")
    return value


def require_float(name: str, value: Any, lo: float | None = None, hi: float | None = None,
                  *, lo_open: bool = False, hi_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(name, value, f"a number{_range(lo, hi, lo_open, hi_open)}")
    v = float(value)
    bad = v != v  # NaN
    if lo is not None:
        bad |= v <= lo if lo_open else v < lo
    if hi is not None:
        bad |= v >= hi if hi_open else v > hi
    if bad:
        raise ParameterError(name, value, f"a number{_range(lo, hi, lo_open, hi_open)}")
    return v


def require_ints(name: str, values: Any, lo: int | None = None, hi: int | None = None,
                 *, nonempty: bool = True) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ParameterError(name, values, f"a list of integers{_range(lo, hi)}")
    if nonempty and len(values) == 0:
        raise ParameterError(name, values, f"a non-empty list of integers{_range(lo, hi)}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or \
                (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ParameterError(name, values, f"a list of integers{_range(lo, hi)}")
    return tuple(values)


def require_device(name: str, value: Any) -> str:
    """A torch device string: 'cpu' or 'cuda' (or 'cuda:N'); cuda must be available."""
    base = str(value).split(":")[0] if isinstance(value, str) else value
    require_choice(name, base, DEVICES)
    if base == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ParameterError(name, value, "'cpu' on this machine (torch sees no CUDA device)")
    return value


def check_chapter(profile: str, device: str, seed: int, **numbers: Any) -> None:
    """Validate the parameters every chapter shares (profile, device, seed)."""
    require_choice("profile", profile, PROFILES)
    require_device("device", device)
    require_int("seed", seed, 0, 2**31 - 1)


def _range(lo: Any, hi: Any, lo_open: bool = False, hi_open: bool = False) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f" {'>' if lo_open else '>='} {lo}"
    if lo is None:
        return f" {'<' if hi_open else '<='} {hi}"
    return f" in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
