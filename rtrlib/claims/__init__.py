"""Claims of the paper and of the book, registered, judged and collected into the ledger.

- :mod:`rtrlib.claims.registry` the registry ``chapters/claims.yaml`` (criteria fixed in advance)
- :mod:`rtrlib.claims.verdict`  per-seed values -> reproduced / inconclusive / not reproduced
- :mod:`rtrlib.claims.record`   :func:`record` and :func:`record_check`, called by chapters
- :mod:`rtrlib.claims.ledger`   registry enforcement, the ledger page and ``claims.json``

The rules are those of the project's LEDGER.md.
"""

from rtrlib.claims.record import METADATA_KEY, claims_in_notebook, record, record_check
from rtrlib.claims.registry import ClaimSpec, Criterion, load_registry
from rtrlib.claims.verdict import VERDICTS, Outcome, evaluate, judge

__all__ = ["METADATA_KEY", "VERDICTS", "ClaimSpec", "Criterion", "Outcome",
           "claims_in_notebook", "evaluate", "judge", "load_registry", "record", "record_check"]
