"""The SymPy derivations the chapters display; tests check them against :mod:`rtrlib.theory`.

- :mod:`rtrlib.symbolic.power_law`    Section 2
- :mod:`rtrlib.symbolic.utility`      Theorem 3
- :mod:`rtrlib.symbolic.interference` Theorem 4
- :mod:`rtrlib.symbolic.display`      showing a derivation step by step in a notebook
"""
