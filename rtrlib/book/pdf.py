"""The whole book as one PDF: every page of the built HTML printed by headless Chromium (after
MathJax has typeset it, dropdowns opened as for printing), merged in book order with a bookmark
per page (``pypdf``).

``make pdf`` (``python -m rtrlib.book pdf``) builds the book, prints it to
``_build/pdf/rtr-book.pdf`` and builds the HTML again, which then links the PDF from its front
page and from every chapter's download menu. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from rtrlib.book.browser import chromium, is_redirect, open_page, serve
from rtrlib.book.errors import BookError

__all__ = ["book_order", "make_pdf", "print_book"]

PAGE = {"format": "A4", "print_background": True, "prefer_css_page_size": False,
        "margin": {"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"}}
# the page's print layout: dropdowns opened (sphinx-togglebutton listens for beforeprint)
BEFORE_PRINT = "() => { window.dispatchEvent(new Event('beforeprint')); return true; }"


class _Nav(HTMLParser):
    """The links of the book's navigation sidebar, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "nav" and "bd-docs-nav" in (a.get("class") or ""):
            self.depth = 1
        elif self.depth and tag == "nav":
            self.depth += 1
        elif self.depth and tag == "a" and "reference" in (a.get("class") or "") \
                and a.get("href") and not urlsplit(a["href"]).scheme:
            self.links.append(a["href"])

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "nav":
            self.depth -= 1


def book_order(html_root: Path) -> list[str]:
    """The book's pages in reading order: the front page, then the navigation sidebar's."""
    index = html_root / "index.html"
    m = re.search(r'url=([^"\s>]+)', index.read_text()) if index.exists() else None
    first = m.group(1) if m and is_redirect(index) else "index.html"
    nav = _Nav()
    nav.feed((html_root / first).read_text(errors="replace"))
    order = [first]
    for href in nav.links:
        rel = urljoin(first, urlsplit(href).path)
        if rel not in order and (html_root / rel).exists():
            order.append(rel)
    return order


def print_book(html_root: Path, out: Path, pages: list[str] | None = None, title: str = "",
               browser: Any | None = None) -> Path:
    """Print ``pages`` (default :func:`book_order`) of a built book into one PDF at ``out``
    (``browser``: an open Playwright browser to use; by default one is started)."""
    from pypdf import PdfReader, PdfWriter

    pages = book_order(html_root) if pages is None else pages
    writer = PdfWriter()
    with serve(html_root) as base, \
            (contextlib.nullcontext(browser) if browser is not None else chromium()) as b:
        for rel in pages:
            page, visit = open_page(b, base, rel, media="print")
            try:
                if visit.status != 200 or visit.math_ok is False or visit.external:
                    raise BookError(f"cannot print {rel}: HTTP {visit.status}, "
                                    f"{visit.math_problem or 'math ok'}, "
                                    f"{len(visit.external)} external requests")
                page.evaluate(BEFORE_PRINT)
                heading = page.evaluate(
                    "(document.querySelector('main h1') || {}).textContent || document.title")
                data = page.pdf(**PAGE)
            finally:
                page.context.close()
            first = len(writer.pages)
            for p in PdfReader(io.BytesIO(data)).pages:
                writer.add_page(p)
            writer.add_outline_item(title=heading.replace("#", "").strip() or rel,
                                    page_number=first)
    if title:
        writer.add_metadata({"/Title": title})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".pdf.tmp")
    with tmp.open("wb") as f:
        writer.write(f)
    os.replace(tmp, out)
    return out


def make_pdf(config: Any, root: Path | None = None) -> int:
    """Build the book (``config``: a :class:`~rtrlib.book.pipeline.BuildConfig`), print it to
    ``<build dir>/pdf/``, then render the HTML again so that it links the PDF. Returns the
    process exit status."""
    import yaml

    from rtrlib.book.pages import pdf_name
    from rtrlib.book.pipeline import execute_book, render_book
    from rtrlib.book.profiles import ROOT

    root = root or ROOT
    runs = execute_book(config, root)
    if runs is None:
        return 1
    html = render_book(config, runs, root)
    build_dir = Path(config.build_dir) if config.build_dir else root / "_build"
    out = build_dir / "pdf" / pdf_name(config.edition)
    title = (yaml.safe_load((root / "_config.yml").read_text()) or {}).get("title", "")
    print_book(html, out, title=title)
    print(f"PDF ({config.edition} edition) written to {out}", file=sys.stderr)
    render_book(config, runs, root)
    return 0
