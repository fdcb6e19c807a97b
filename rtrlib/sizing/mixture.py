"""A reader's mixture for the sizing tools: parsed, checked and normalised in one place.

A mixture is a list of task frequencies ``pi_k`` and one spectrum ``lambda_{k,1}, ...`` per task,
given as lists (``{"frequencies": [...], "spectra": [[...], ...]}``) or generated:

- frequencies from a Zipf law, ``pi_k`` proportional to ``k^-a`` (k = 1..K);
- spectra from a power law, ``lambda_{k,j} = j^-b`` (j = 1..m, the same for every task).

Every refusal is a :class:`~rtrlib.params.ParameterError` that names the field (``frequencies``,
``spectra``, ``spectra[2]``, ...). Frequencies that do not sum to one (beyond ``SUM_TOLERANCE``)
are divided by their sum, and the result says so (:attr:`SizingMixture.normalised`).

The arithmetic is spelled out (a left-to-right sum, one division per frequency) because the
kernel-free calculator (``calculator.js``) repeats it operation by operation: given the same
lists, both produce bit-identical frequencies. Generated forms use ``pow``, which the browser's
and the C library's implementations may round differently in the last bit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtrlib.params import ParameterError, require_float, require_int

__all__ = ["MAX_FEATURES", "SUM_TOLERANCE", "SizingMixture", "load_mixture", "make_mixture",
           "power_law_spectra", "zipf_frequencies"]

SUM_TOLERANCE = 1e-9   # frequencies within this of summing to one are used as given
MAX_FEATURES = 100_000  # features in all, across tasks


@dataclass(frozen=True)
class SizingMixture:
    """Checked frequencies (summing to one) and spectra, and what was done to the input."""

    frequencies: tuple[float, ...]
    spectra: tuple[tuple[float, ...], ...]
    normalised: bool = False
    input_sum: float = 1.0

    @property
    def n_tasks(self) -> int:
        return len(self.frequencies)

    @property
    def feature_counts(self) -> tuple[int, ...]:
        return tuple(len(s) for s in self.spectra)

    @property
    def n_features(self) -> int:
        return sum(self.feature_counts)

    def messages(self) -> list[str]:
        """What a reader should be told about the input (empty when it was used as given)."""
        if not self.normalised:
            return []
        return [f"the frequencies summed to {self.input_sum:.6g}, not 1: each was divided by "
                "that sum (normalised)"]


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(name, value, "a number")
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(name, value, "a finite number")
    return v


def _number_list(name: str, values: Any) -> list[float]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise ParameterError(name, values, "a list of numbers")
    if len(values) == 0:
        raise ParameterError(name, values, "a non-empty list of numbers")
    out = [_number(f"{name}[{i}]", v) for i, v in enumerate(values)]
    bad = [i for i, v in enumerate(out) if v < 0]
    if bad:
        raise ParameterError(f"{name}[{bad[0]}]", values[bad[0]], "a non-negative number "
                             f"({name} may not be negative)")
    return out


def check_frequencies(values: Any) -> tuple[tuple[float, ...], bool, float]:
    """(frequencies summing to one, whether they were normalised, the input's sum)."""
    pi = _number_list("frequencies", values)
    total = 0.0
    for p in pi:                      # left to right, as calculator.js does
        total += p
    if not total > 0:
        raise ParameterError("frequencies", values, "at least one positive frequency "
                             "(these sum to 0)")
    if abs(total - 1.0) <= SUM_TOLERANCE:
        return tuple(pi), False, total
    return tuple(p / total for p in pi), True, total


def check_spectra(values: Any, n_tasks: int) -> tuple[tuple[float, ...], ...]:
    """One non-empty list of non-negative eigenvalues per task."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise ParameterError("spectra", values, "a list of spectra, one list per task")
    if len(values) != n_tasks:
        raise ParameterError("spectra", f"{len(values)} spectra", f"one spectrum per frequency "
                             f"({n_tasks} frequencies, {len(values)} spectra)")
    spectra = tuple(tuple(_number_list(f"spectra[{k}]", s)) for k, s in enumerate(values))
    total = sum(len(s) for s in spectra)
    if total > MAX_FEATURES:
        raise ParameterError("spectra", f"{total} features", f"at most {MAX_FEATURES} features")
    return spectra


def zipf_frequencies(n_tasks: int, exponent: float) -> tuple[float, ...]:
    """``pi_k = k^-a / sum_i i^-a`` for k = 1..K (the sum taken left to right)."""
    n_tasks = require_int("n_tasks", n_tasks, 1, MAX_FEATURES)
    a = require_float("zipf_exponent", exponent, 0.0, 20.0)
    w = [float(k) ** (-a) for k in range(1, n_tasks + 1)]
    total = 0.0
    for x in w:
        total += x
    return tuple(x / total for x in w)


def power_law_spectra(n_tasks: int, features_per_task: int, decay: float
                      ) -> tuple[tuple[float, ...], ...]:
    """``lambda_{k,j} = j^-b`` for j = 1..m, the same spectrum for each of the K tasks."""
    n_tasks = require_int("n_tasks", n_tasks, 1, MAX_FEATURES)
    m = require_int("features_per_task", features_per_task, 1, MAX_FEATURES)
    b = require_float("decay", decay, 0.0, 50.0)
    if n_tasks * m > MAX_FEATURES:
        raise ParameterError("features_per_task", m, f"at most {MAX_FEATURES} features in all")
    spectrum = tuple(float(j) ** (-b) for j in range(1, m + 1))
    return (spectrum,) * n_tasks


def make_mixture(frequencies: Any = None, spectra: Any = None, *, n_tasks: int | None = None,
                 zipf_exponent: float | None = None, features_per_task: int | None = None,
                 decay: float | None = None) -> SizingMixture:
    """A checked mixture from lists or generated forms (the calculator offers the same choices).

    Frequencies: a list, or ``zipf_exponent`` with ``n_tasks``. Spectra: a list of lists, or
    ``decay`` with ``features_per_task`` (one spectrum per task). Giving both forms of the same
    thing is refused; so is giving neither.
    """
    if frequencies is not None and zipf_exponent is not None:
        raise ParameterError("zipf_exponent", zipf_exponent, "nothing when frequencies are "
                             "given as a list (choose one form)")
    if spectra is not None and (decay is not None or features_per_task is not None):
        raise ParameterError("decay", decay, "nothing when spectra are given as lists "
                             "(choose one form)")
    if frequencies is not None:
        pi, normalised, total = check_frequencies(frequencies)
        if n_tasks is not None and n_tasks != len(pi):
            raise ParameterError("n_tasks", n_tasks, f"{len(pi)}, the number of frequencies")
    elif zipf_exponent is not None or n_tasks is not None:
        if zipf_exponent is None or n_tasks is None:
            missing = "zipf_exponent" if zipf_exponent is None else "n_tasks"
            raise ParameterError(missing, None, "a value: Zipf frequencies need both "
                                 "zipf_exponent and n_tasks")
        pi, normalised, total = zipf_frequencies(n_tasks, zipf_exponent), False, 1.0
    else:
        raise ParameterError("frequencies", None, "a list of frequencies, or zipf_exponent "
                             "and n_tasks")
    if spectra is not None:
        spec = check_spectra(spectra, len(pi))
    elif decay is not None or features_per_task is not None:
        if decay is None or features_per_task is None:
            missing = "decay" if decay is None else "features_per_task"
            raise ParameterError(missing, None, "a value: power-law spectra need both decay "
                                 "and features_per_task")
        spec = power_law_spectra(len(pi), features_per_task, decay)
    else:
        raise ParameterError("spectra", None, "a list of spectra, or decay and "
                             "features_per_task")
    return SizingMixture(frequencies=tuple(pi), spectra=spec, normalised=normalised,
                         input_sum=total)


def load_mixture(path: str | Path, **generated: Any) -> SizingMixture:
    """Read ``{"frequencies": [...], "spectra": [[...], ...]}`` from a JSON file.

    Either key may be left out when its generated form is given in ``generated`` (the keyword
    arguments of :func:`make_mixture`). Unknown keys are refused, naming the key.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ParameterError("mixture", str(path), f"a readable JSON file ({exc.strerror})")\
            from None
    except json.JSONDecodeError as exc:
        raise ParameterError("mixture", str(path), f"valid JSON ({exc.msg}, line {exc.lineno})")\
            from None
    if not isinstance(data, dict):
        raise ParameterError("mixture", str(path), 'a JSON object {"frequencies": [...], '
                             '"spectra": [[...], ...]}')
    unknown = sorted(set(data) - {"frequencies", "spectra"})
    if unknown:
        raise ParameterError(unknown[0], data[unknown[0]], "no such key: the mixture file has "
                             '"frequencies" and "spectra"')
    return make_mixture(data.get("frequencies"), data.get("spectra"), **generated)
