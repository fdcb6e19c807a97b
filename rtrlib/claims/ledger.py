"""The claim ledger: registry enforcement, the ledger page and ``claims.json`` (LEDGER.md §6-7).

The runner calls :func:`registry_problems` for every executed chapter (a chapter that records
an unregistered claim, leaves a registered one out, or reads other seeds than registered is
refused), then :func:`ledger_rows` over all chapters, :func:`render_ledger` for the page and
writes the same rows as ``_static/claims.json``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from rtrlib.claims.record import fmt, json_safe
from rtrlib.claims.registry import ClaimSpec

__all__ = ["JSON_KEYS", "ledger_rows", "registry_problems", "render_ledger"]

JSON_KEYS = ("id", "chapter", "source", "kind", "paper_ref", "statement", "criterion",
             "control", "control_value", "measured", "interval", "n_seeds", "verdict",
             "registry_commit")


def registry_problems(chapter: str, entries: list[dict[str, Any]],
                      registry: dict[str, ClaimSpec], profile: str) -> list[str]:
    """What is wrong with the claims a chapter recorded, against the registry (empty: fine).

    The seeds are checked for every profile but ``smoke`` (which reads fewer, for speed; its
    verdicts are then at most inconclusive)."""
    problems = []
    wanted = {cid for cid, spec in registry.items() if spec.chapter == chapter}
    got = [e.get("id") for e in entries]
    for e in entries:
        cid = e.get("id")
        if cid is None:
            problems.append(f"an unregistered claim {e.get('name', '?')!r} (record_claim is "
                            "retired: register the claim and use rtrlib.claims.record)")
        elif cid not in registry or registry[cid].chapter != chapter:
            problems.append(f"claim {cid!r} is not registered for chapter {chapter}")
        elif profile != "smoke" and registry[cid].kind == "claim" and \
                sorted(e.get("seeds", [])) != sorted(registry[cid].seeds):
            problems.append(f"claim {cid!r} read seeds {e.get('seeds')}, registered "
                            f"{list(registry[cid].seeds)}")
    for cid in sorted(wanted - {g for g in got if g}):
        problems.append(f"registered claim {cid!r} was not recorded")
    dupes = sorted({g for g in got if g and got.count(g) > 1})
    problems += [f"claim {cid!r} was recorded more than once" for cid in dupes]
    return problems


def ledger_rows(entries: Iterable[dict[str, Any]], commits: dict[str, str]) -> list[dict]:
    """One JSON-ready row per recorded claim or check, in the keys of LEDGER.md §7 (plus
    ``seeds``, ``values``, ``detail``, ``reason``, ``control_verdict``, ``profile``)."""
    rows = []
    for e in entries:
        row = {k: e.get(k) for k in JSON_KEYS}
        row["registry_commit"] = commits.get(e.get("id", ""), "unknown")
        if e.get("kind") == "check":
            row.update(control=None, control_value=None, measured=None, interval=None,
                       n_seeds=0)
        for k in ("seeds", "values", "detail", "reason", "control_verdict", "profile",
                  "device"):
            row[k] = e.get(k)
        rows.append(json_safe(row))
    return rows


_ORDER = {"reproduced": 0, "verified": 0, "inconclusive": 1, "not reproduced": 2, "failed": 2}


def _counts(rows: list[dict], verdicts: tuple[str, ...]) -> str:
    return ", ".join(f"**{sum(r['verdict'] == v for r in rows)}** {v}" for v in verdicts)


def _cell(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _details(r: dict) -> str:
    parts = [("metric (per seed)", r.get("metric")), ("control", r.get("control")),
             ("this run", r.get("detail")), ("why this verdict", r.get("reason")),
             ("run", f"profile {r.get('profile')}, device {r.get('device')}")]
    items = "".join(f"<dt>{h}</dt><dd>{_cell(v)}</dd>" for h, v in parts if v)
    return f"<details><summary>details</summary><dl>{items}</dl></details>" if items else ""


def _table(rows: list[dict], checks: bool) -> str:
    head = ["verdict", "claim", "measured", "control", "criterion", "registry"]
    if checks:
        head = ["verdict", "derivation", "registry"]
    out = ['<div class="rtr-ledger-wrap"><table class="rtr-ledger"><thead><tr>']
    out += [f'<th scope="col">{h}</th>' for h in head]
    out.append("</tr></thead><tbody>")
    for r in sorted(rows, key=lambda r: (r["chapter"], _ORDER.get(r["verdict"], 3), r["id"])):
        link = f'<a href="../chapters/{r["chapter"]}.html">{_cell(r["chapter"])}</a>'
        claim = (f'{_cell(r["statement"])}<br><small><code>{_cell(r["id"])}</code> · {link}'
                 f" · paper: {_cell(r['paper_ref'])}</small>{_details(r)}")
        verdict = (f'<span class="rtr-verdict rtr-{r["verdict"].replace(" ", "-")}">'
                   f"{_cell(r['verdict'])}</span>")
        commit = f"<code>{_cell(r['registry_commit'])}</code>"
        if checks:
            cells = [verdict, claim, commit]
        else:
            lo, hi = r["interval"] or (None, None)
            measured = (f"{fmt(r['measured'])}<br><small>[{fmt(lo)}, {fmt(hi)}], "
                        f"{r['n_seeds']} seed(s)</small>")
            control = (f"{fmt(r['control_value'])}<br><small>"
                       f"{_cell(r.get('control_verdict'))}</small>")
            cells = [verdict, claim, measured, control,
                     _cell(r.get("threshold") or r["criterion"]), commit]
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def render_ledger(rows: list[dict], profile: str) -> str:
    """The ledger page body (markdown with raw HTML tables): headline, then one table each for
    the paper's claims, the book's own findings and the verified derivations."""
    if not rows:
        return "No chapter in this build recorded a claim.\n"
    paper = [r for r in rows if r["kind"] == "claim" and r["source"] == "paper"]
    book = [r for r in rows if r["kind"] == "claim" and r["source"] == "book"]
    checks = [r for r in rows if r["kind"] == "check"]
    three = ("reproduced", "inconclusive", "not reproduced")
    lines = [f"Profile of this build: **{profile}**. "
             f"**The paper's claims ({len(paper)}):** {_counts(paper, three)}. "
             f"**The book's own findings ({len(book)}):** {_counts(book, three)}. "
             f"**Derivations checked ({len(checks)}):** "
             f"{_counts(checks, ('verified', 'failed'))}.", ""]
    for title, part, is_check in (("The paper's claims", paper, False),
                                  ("The book's own findings", book, False),
                                  ("Derivations checked", checks, True)):
        if part:
            lines += [f"## {title}", "", "```{raw} html", _table(part, is_check), "```", ""]
    lines += ["Each row: the verdict (reproduced only when the criterion holds over the whole "
              "seed interval and the control fails it), the claim, the measured mean with its "
              "min-max over seeds, the control's value, the criterion fixed before the run and "
              "the registry commit in which the entry last changed. *details* opens the metric, "
              "the control and the numbers of this run.", ""]
    lines += ["The same rows, machine-readable: [`_static/claims.json`](../_static/claims.json)."]
    return "\n".join(lines) + "\n"
