"""Closed forms of the paper's theory (numpy only, no torch).

- :mod:`rtrlib.theory.power_law`    Section 2: the phenomenological power-law argument
- :mod:`rtrlib.theory.utility`      Theorem 3: utility ranking in the linear model
- :mod:`rtrlib.theory.interference` Theorem 4 and the critical width of a rare task
"""

from rtrlib.theory.interference import *  # noqa: F403
from rtrlib.theory.power_law import *  # noqa: F403
from rtrlib.theory.utility import *  # noqa: F403
