"""rtrlib: the library behind the rtr-book companion to arXiv 2605.29548.

Modules, one job each:

- :mod:`rtrlib.theory`   closed forms (numpy only)
- :mod:`rtrlib.symbolic` SymPy derivations shown in the chapters
- :mod:`rtrlib.toy`      the synthetic task mixture and the batched training engine
- :mod:`rtrlib.lm`       the scaled-down OLMo task-injection run
- :mod:`rtrlib.store`    results cached on disk, keyed by config and code version
- :mod:`rtrlib.claims`   the claim ledger entries chapters record
- :mod:`rtrlib.params`   validation of chapter parameters
- :mod:`rtrlib.plots`    one figure style; provenance stamps
- :mod:`rtrlib.widgets`  live ipywidgets explorers and their kernel-free twins
- :mod:`rtrlib.book`     the runner (a package: profiles, execute, editions, pages,
                         stage, pipeline, cli): papermill and the Jupyter Book build
"""

__version__ = "0.1.0"
