"""Sizing a model for a reader's own mixture (issue 14): which tasks does width N keep?

- :mod:`rtrlib.sizing.mixture`    reading, checking and normalising a mixture (lists or the
  generated forms: Zipf frequencies, power-law spectra); every refusal a ``ParameterError``
- :mod:`rtrlib.sizing.compute`    kept features, optimal per-task loss and critical width per
  task at width N, read from :mod:`rtrlib.theory` (Theorem 3, Proposition 6)
- :mod:`rtrlib.sizing.cli`        ``python -m rtrlib.sizing MIXTURE.json --width N [--json]``
- :mod:`rtrlib.sizing.calculator` the kernel-free calculator for the HTML book: the markup, and
  ``calculator.js`` (plain JavaScript, the same computation operation by operation)
- :mod:`rtrlib.sizing.validation` the chapter's test of the sizing rule by training (random
  mixtures, widths around the critical width, a frequency-only control)

Tasks are 0-based in the Python API and numbered 1..K in what a reader sees (tables, calculator).
"""

from rtrlib.sizing.compute import TIE_RTOL, Sizing, critical_width, loss_curve, size_model
from rtrlib.sizing.mixture import (
    SizingMixture,
    load_mixture,
    make_mixture,
    power_law_spectra,
    zipf_frequencies,
)

__all__ = ["TIE_RTOL", "Sizing", "SizingMixture", "critical_width", "load_mixture",
           "loss_curve", "make_mixture", "power_law_spectra", "size_model", "zipf_frequencies"]
