"""The retired one-seed claim record (kept only while chapters move to :mod:`rtrlib.claims.record`).

Claims of the paper, checked by a chapter's run and collected into the book's claim ledger.

A chapter calls :func:`record_claim` once per claim. The call displays a one-row table in the
notebook and attaches the claim as output metadata (key ``rtrlib_claim``); the book runner reads
those outputs from every executed notebook and builds the ledger page. The claim therefore lives
in the executed notebook itself: no side files, nothing typed by hand.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

METADATA_KEY = "rtrlib_claim"


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim: what the paper says, what this run measured, and whether it holds."""

    name: str
    paper: str
    measured: str
    criterion: str
    reproduced: bool

    def __post_init__(self) -> None:
        for field in ("name", "paper", "measured", "criterion"):
            if not str(getattr(self, field)).strip():
                raise ValueError(f"claim {field!r} must be a non-empty string")
        if not isinstance(self.reproduced, bool):
            raise TypeError("claim 'reproduced' must be a bool (computed by the chapter)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def _repr_html_(self) -> str:
        verdict = "reproduced" if self.reproduced else "not reproduced"
        cells = "".join(
            f"<td>{html.escape(str(v))}</td>"
            for v in (self.name, self.paper, self.measured, self.criterion, verdict)
        )
        head = "".join(f"<th>{h}</th>" for h in
                       ("claim", "paper", "this run", "criterion", "verdict"))
        return (f'<table class="rtr-claim"><thead><tr>{head}</tr></thead>'
                f"<tbody><tr>{cells}</tr></tbody></table>")

    def _repr_markdown_(self) -> str:
        verdict = "**reproduced**" if self.reproduced else "**not reproduced**"
        esc = [str(v).replace("|", "\\|") for v in
               (self.name, self.paper, self.measured, self.criterion)]
        return ("| claim | paper | this run | criterion | verdict |\n"
                "|---|---|---|---|---|\n"
                f"| {esc[0]} | {esc[1]} | {esc[2]} | {esc[3]} | {verdict} |\n")


def record_claim(name: str, *, paper: str, measured: str, criterion: str,
                 reproduced: bool, display: bool = True) -> Claim:
    """Record one claim in the running notebook (displayed, with ledger metadata)."""
    if type(reproduced).__name__ == "bool_":  # numpy's bool, from a computed comparison
        reproduced = bool(reproduced)
    claim = Claim(name=name, paper=paper, measured=measured, criterion=criterion,
                  reproduced=reproduced)
    if display:
        from IPython.display import display as ipy_display

        ipy_display(claim, metadata={METADATA_KEY: claim.to_dict()})
    return claim
