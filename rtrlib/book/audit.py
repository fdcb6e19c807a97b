"""Auditing built pages in Chromium: axe-core's accessibility rules and wide content.

``python -m rtrlib.book audit _build/html`` prints, for every page, axe-core's violations by
impact and rule, console errors, requests that tried to leave the machine, and every element
wider than the text column without a scroll container. The browser test asserts on the same
:class:`PageAudit`. axe-core comes from the PyPI package ``axe-playwright-python``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
from pathlib import Path
from typing import Any

from rtrlib.book.browser import Visit, book_pages, chromium, open_page, serve

__all__ = ["AXE_OPTIONS", "OVERFLOW_JS", "PageAudit", "audit_book", "audit_page",
           "overflowing", "summarise"]

# axe-core's default rules plus label-content-name-mismatch (tagged experimental, so off by
# default): a control's accessible name must contain its visible text.
AXE_OPTIONS = {"resultTypes": ["violations"],
               "rules": {"label-content-name-mismatch": {"enabled": True}}}
SERIOUS = ("critical", "serious")

# Elements of the article that reach past their column (by more than 1 px) while no ancestor
# inside the column is a scroll container (overflow-x auto/scroll) that itself fits the column.
# The column is the inside of the innermost admonition (proof, exercise, note) holding the
# element (its padding box: a title bar may span the padding), else the article's content box.
# An overflow-x hidden/clip ancestor that fits does not excuse it: the content is cut off.
# Only the outermost offender of a subtree is reported. Hidden elements, MathJax's assistive
# MathML (visually hidden by design) and fixed elements are skipped.
OVERFLOW_JS = """
() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main')
      || document.body;
  const box = (el, padding) => {  // the content box (or padding box) of el
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    const pl = padding ? 0 : parseFloat(s.paddingLeft);
    const pr = padding ? 0 : parseFloat(s.paddingRight);
    return {left: r.left + parseFloat(s.borderLeftWidth) + pl,
            right: r.right - parseFloat(s.borderRightWidth) - pr};
  };
  const fits = (r, c) => r.right <= c.right + 1 && r.left >= c.left - 1;
  const reported = [];
  const out = [];
  for (const el of article.querySelectorAll('*')) {
    if (el.closest('mjx-assistive-mml, .visually-hidden, .sr-only')) continue;
    if (reported.some((a) => a.contains(el))) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    // its column: the innermost box (admonition, proof, exercise) holding it, else the article
    const holder = el.parentElement.closest('.admonition') || article;
    const c = holder === article ? box(article, false) : box(holder, true);
    if (fits(r, c)) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.position === 'fixed') continue;
    let p = el.parentElement, verdict = 'no scroll container';
    while (p && p !== holder && p !== article) {
      const ox = getComputedStyle(p).overflowX;
      if (ox !== 'visible' && fits(p.getBoundingClientRect(), c)) {
        verdict = (ox === 'auto' || ox === 'scroll') ? null : 'cut off (overflow ' + ox + ')';
        break;
      }
      p = p.parentElement;
    }
    if (verdict === null) continue;
    reported.push(el);
    const cls = (typeof el.className === 'string' ? el.className : '').trim().split(/\\s+/)
        .slice(0, 3).join('.');
    const sec = el.closest('section[id]');
    out.push(`${el.tagName.toLowerCase()}${cls ? '.' + cls : ''}`
        + `${sec ? ' in #' + sec.id : ''}: ${Math.round(r.width)} px wide, `
        + `${Math.round(Math.max(r.right - c.right, c.left - r.left))} px past `
        + `${holder === article ? 'the column' : 'its box'} (${verdict})`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    out.push(`the page scrolls sideways (${document.documentElement.scrollWidth} px)`);
  return out;
}
"""


@dataclasses.dataclass
class PageAudit:
    """One page: its visit (console, requests, math), axe violations and wide elements.
    ``violations``: (rule id, impact, number of nodes, first target) per violated rule."""

    visit: Visit
    violations: list[tuple[str, str, int, str]] = dataclasses.field(default_factory=list)
    overflow: list[str] = dataclasses.field(default_factory=list)
    broken_images: list[str] = dataclasses.field(default_factory=list)

    def problems(self) -> list[str]:
        """Everything the browser test refuses on this page, one line each."""
        v, rel = self.visit, self.visit.rel
        out = [f"{rel}: HTTP {v.status}"] if v.status != 200 else []
        out += [f"{rel}: console error: {e}" for e in v.console_errors]
        out += [f"{rel}: request leaving the machine: {u}" for u in v.external]
        out += [f"{rel}: {v.math_problem}"] if v.math_problem else []
        out += [f"{rel}: too wide: {o}" for o in self.overflow]
        out += [f"{rel}: image did not load: {src}" for src in self.broken_images]
        out += [f"{rel}: axe {impact} {rule} ({n} nodes, e.g. {target})"
                for rule, impact, n, target in self.violations if impact in SERIOUS]
        return out


def overflowing(page: Any) -> list[str]:
    """The elements of ``page`` wider than the text column without a scroll container."""
    return page.evaluate(OVERFLOW_JS)


def audit_page(page: Any, visit: Visit, axe: Any | None = None) -> PageAudit:
    """Run axe-core (once), the overflow check and the image check on an opened page."""
    if axe is None:
        from axe_playwright_python.sync_playwright import Axe

        axe = Axe()
    visit.listening = False  # axe-core fetches style sheets itself (and resolves @import
    result = axe.run(page, options=AXE_OPTIONS).response  # against the page: a stray 404)
    violations = [(v["id"], v.get("impact") or "unknown", len(v["nodes"]),
                   str(v["nodes"][0]["target"]) if v["nodes"] else "")
                  for v in result["violations"]]
    broken = page.evaluate("Array.from(document.images)"
                           ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    return PageAudit(visit, violations, overflowing(page), broken)


def audit_book(html_root: Path, pages: list[str] | None = None,
               browser: Any | None = None) -> list[PageAudit]:
    """Audit every page of a built book (one page load and one axe run per page)."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    pages = book_pages(html_root) if pages is None else pages
    with serve(html_root) as base, \
            (contextlib.nullcontext(browser) if browser is not None else chromium()) as b:
        audits = []
        for rel in pages:
            page, visit = open_page(b, base, rel)
            try:
                audits.append(audit_page(page, visit, axe))
            finally:
                page.context.close()
    return audits


def summarise(audits: list[PageAudit]) -> str:
    """Totals by impact and by rule, then each page's other problems."""
    by_impact: collections.Counter[str] = collections.Counter()
    by_rule: collections.Counter[tuple[str, str]] = collections.Counter()
    example: dict[str, str] = {}
    for a in audits:
        for rule, impact, n, target in a.violations:
            by_impact[impact] += n
            by_rule[(rule, impact)] += n
            example.setdefault(rule, f"{a.visit.rel} {target}")
    order = ("critical", "serious", "moderate", "minor")
    lines = [f"{len(audits)} pages; axe violations (nodes) by impact: "
             + ", ".join(f"{k} {by_impact.get(k, 0)}" for k in order)]
    lines += [f"  {impact:8s} {rule:32s} {n:4d}  e.g. {example[rule]}"
              for (rule, impact), n in by_rule.most_common()]
    for a in audits:
        lines += [f"  {p}" for p in a.problems() if " axe " not in p]
    return "\n".join(lines)
