"""Validated numeric inputs for the theory functions, and their scalar-or-array outputs.

Every helper returns the value as a float (or float array) or raises
:class:`rtrlib.params.ParameterError` naming the parameter and the allowed range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rtrlib.params import ParameterError, require_float, require_int

__all__ = ["as_output", "broadcast", "count", "exponent", "nonneg_array", "nonneg_number",
           "positive_array", "positive_number"]


def positive_number(name: str, value: Any) -> float:
    """A finite number > 0."""
    v = require_float(name, value, 0.0, None, lo_open=True)
    if not math.isfinite(v):
        raise ParameterError(name, value, "a finite number > 0")
    return v


def nonneg_number(name: str, value: Any) -> float:
    """A finite number >= 0."""
    v = require_float(name, value, 0.0, None)
    if not math.isfinite(v):
        raise ParameterError(name, value, "a finite number >= 0")
    return v


def exponent(name: str, value: Any) -> float:
    """A power-law exponent: a finite number > 0."""
    return positive_number(name, value)


def count(name: str, value: Any, lo: int = 0) -> int:
    """An integer >= ``lo``; numpy integers are accepted."""
    if isinstance(value, np.integer):
        value = int(value)
    return require_int(name, value, lo)


def _float_array(name: str, value: Any, allowed: str) -> np.ndarray:
    if isinstance(value, bool):
        raise ParameterError(name, value, allowed)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(name, value, allowed) from None
    if arr.size == 0:
        raise ParameterError(name, value, allowed)
    return arr


def positive_array(name: str, value: Any) -> np.ndarray:
    """A float array with every entry finite and > 0 (scalars allowed)."""
    allowed = "a positive number or array of positive numbers"
    arr = _float_array(name, value, allowed)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ParameterError(name, value, allowed)
    return arr


def nonneg_array(name: str, value: Any, allow_inf: bool = False) -> np.ndarray:
    """A float array with every entry >= 0 (and finite unless ``allow_inf``)."""
    allowed = "a number >= 0 (or array of them)" + (", inf allowed" if allow_inf else "")
    arr = _float_array(name, value, allowed)
    bad = np.isnan(arr) | (arr < 0)
    if not allow_inf:
        bad |= ~np.isfinite(arr)
    if np.any(bad):
        raise ParameterError(name, value, allowed)
    return arr


def broadcast(**arrays: np.ndarray) -> tuple[int, ...]:
    """The common shape of the named arrays; refuses the first one that does not fit."""
    shape: tuple[int, ...] = ()
    for name, arr in arrays.items():
        try:
            shape = np.broadcast_shapes(shape, np.shape(arr))
        except ValueError:
            others = ", ".join(n for n in arrays if n != name)
            raise ParameterError(name, arr, f"an array broadcastable with {others} "
                                 f"(shape {shape})") from None
    return shape


def as_output(arr: Any) -> float | np.ndarray:
    """A Python float for 0-d results, the array otherwise."""
    return float(arr) if np.ndim(arr) == 0 else np.asarray(arr)
