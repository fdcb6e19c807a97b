"""Recording a registered claim or check in a running chapter.

:func:`record` judges a claim from its per-seed values and its control's, displays one row in
the notebook and attaches the whole entry as output metadata (key :data:`METADATA_KEY`); the
book runner collects those outputs from every executed notebook, checks them against the
registry and renders the ledger. Nothing is typed by hand, and the entry lives in the executed
notebook itself.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rtrlib.claims.registry import ClaimSpec, load_registry, registry_path
from rtrlib.claims.verdict import Outcome, evaluate
from rtrlib.params import ParameterError

__all__ = ["METADATA_KEY", "claims_in_notebook", "fmt", "json_safe", "record", "record_check"]

METADATA_KEY = "rtrlib_claim"


def fmt(x: float | None) -> str:
    """A number as the ledger prints it (three significant digits); a measurement that did
    not come out (None, NaN) as "n/a"."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
    return f"{v:.3g}" if math.isfinite(v) else "n/a"


def json_safe(obj: Any) -> Any:
    """NaN and infinities (a measurement that did not come out) as JSON null, so an entry
    survives the notebook's JSON and ``claims.json`` unchanged."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def _registry() -> dict[str, ClaimSpec]:
    for root in (Path.cwd().parent, Path.cwd(), None):  # the notebook's book first
        if registry_path(root).exists():
            return load_registry(root)
    raise FileNotFoundError("chapters/claims.yaml not found next to rtrlib or the notebook")


def _spec(claim_id: str, kind: str) -> ClaimSpec:
    reg = _registry()
    if claim_id not in reg:
        raise ParameterError("claim_id", claim_id, "an id registered in chapters/claims.yaml "
                             "(register a claim before recording it)")
    spec = reg[claim_id]
    if spec.kind != kind:
        raise ParameterError("claim_id", claim_id, f"a registered {kind} (it is a {spec.kind})")
    return spec


def _entry_base(spec: ClaimSpec) -> dict[str, Any]:
    return {"id": spec.id, "chapter": spec.chapter, "source": spec.source, "kind": spec.kind,
            "paper_ref": spec.paper_ref, "statement": spec.statement,
            "criterion": spec.criterion_text, "control": spec.control, "metric": spec.metric,
            "threshold": (f"{spec.criterion.op} {spec.criterion.threshold:g}"
                          if spec.criterion else ""),
            "registered_seeds": list(spec.seeds),
            "profile": os.environ.get("RTRLIB_BOOK_PROFILE", "interactive"),
            "device": os.environ.get("RTRLIB_BOOK_DEVICE", "unknown")}


def record(claim_id: str, values: Sequence[float], control: Sequence[float], *,
           seeds: Sequence[int], detail: str = "", ci: tuple[float, float] | None = None,
           control_ci: tuple[float, float] | None = None, display: bool = True) -> Outcome:
    """Judge and record the registered claim ``claim_id``.

    ``values``: the metric per seed (``seeds`` in the same order); ``control``: the same metric
    on the control, per seed (or one value); ``detail``: one sentence of what was measured,
    with its numbers. Returns the :class:`Outcome` (chapters glue its verdict).
    """
    spec = _spec(claim_id, "claim")
    values = [float(v) for v in values]
    seeds = [int(s) for s in seeds]
    if len(seeds) != len(values):
        raise ParameterError("seeds", seeds, f"one seed per value ({len(values)} values)")
    out = evaluate(spec, values, [float(c) for c in control], ci=ci, control_ci=control_ci)
    entry = {**_entry_base(spec), "values": values, "seeds": seeds,
             "control_values": [float(c) for c in control], "detail": detail,
             "measured": out.measured, "interval": [out.lo, out.hi], "n_seeds": out.n_seeds,
             "control_value": out.control, "control_interval": [out.control_lo, out.control_hi],
             "control_verdict": out.control_verdict, "verdict": out.verdict,
             "reason": out.reason}
    if display:
        _show(json_safe(entry))
    return out


def record_check(check_id: str, verified: bool, *, detail: str = "",
                 display: bool = True) -> bool:
    """Record the registered check ``check_id`` (a derivation SymPy verified, or not)."""
    spec = _spec(check_id, "check")
    if type(verified).__name__ == "bool_":
        verified = bool(verified)
    if not isinstance(verified, bool):
        raise ParameterError("verified", verified, "a bool computed by the chapter")
    entry = {**_entry_base(spec), "detail": detail, "n_seeds": 0, "values": [],
             "seeds": [], "verdict": "verified" if verified else "failed",
             "reason": "the chapter's symbolic (and, where stated, numerical) check passed"
             if verified else "the chapter's symbolic or numerical check failed"}
    if display:
        _show(entry)
    return verified


class _Row:
    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry

    def _repr_html_(self) -> str:
        e = self.entry
        if e["kind"] == "check":
            measured, control = "—", "—"
        else:
            measured = (f"{fmt(e['measured'])} [{fmt(e['interval'][0])}, "
                        f"{fmt(e['interval'][1])}], {e['n_seeds']} seed(s)")
            control = (f"{fmt(e['control_value'])} [{fmt(e['control_interval'][0])}, "
                       f"{fmt(e['control_interval'][1])}]: {e['control_verdict']}")
        cells = [e["verdict"], e["id"], measured, control, e["criterion"]]
        head = ["verdict", "claim", "measured [min, max]", "control", "criterion"]
        body = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        th = "".join(f"<th>{h}</th>" for h in head)
        note = html.escape(e.get("detail") or "")
        return (f'<table class="rtr-claim"><thead><tr>{th}</tr></thead><tbody><tr>{body}'
                f"</tr></tbody></table><p class=\"rtr-claim-detail\">{note}</p>")

    def _repr_markdown_(self) -> str:
        e = self.entry
        return f"**{e['verdict']}**: {e['id']} ({e['criterion']})"


def _show(entry: dict[str, Any]) -> None:
    from IPython.display import display

    display(_Row(entry), metadata={METADATA_KEY: entry})


def claims_in_notebook(nb: Any) -> list[dict[str, Any]]:
    """All claims and checks recorded in an executed notebook (an ``nbformat`` node)."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {})
            if METADATA_KEY in meta:
                found.append(dict(meta[METADATA_KEY]))
    return found
