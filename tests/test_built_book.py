"""The real book, executed with the smoke profile through the runner and rendered in both editions.

The HTML checks: every internal link and anchor resolves; each chapter offers its executed
notebook and its MyST source; the HTML stays small; in headless Chromium
(:mod:`rtrlib.book.audit`) every page of both editions loads without a console error or a request
leaving the machine, typesets its math, loads its images, keeps wide content inside its column
and passes axe-core without critical or serious violations; the whole-book PDF prints. Without
Chromium the browser tests skip, unless RTRLIB_REQUIRE_BROWSER=1 (set by CI).
"""

from __future__ import annotations

import functools
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from rtrlib.book import toc_chapters

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("smoke_book")]  # one worker builds it
EDITION_DIRS = ["html", "student/html"]


def test_every_chapter_executed_with_smoke_profile(smoke_book: Path) -> None:
    for chapter in toc_chapters():
        nb = nbformat.read(smoke_book / "executed" / "smoke" / f"{chapter}.ipynb", as_version=4)
        meta = nb.metadata["rtrlib"]
        assert meta["status"] == "ok", (chapter, meta.get("error"))
        assert meta["profile"] == "smoke" and meta["device"] == "cpu"
        assert (smoke_book / "html" / "chapters" / f"{chapter}.html").exists()
        assert (smoke_book / "student" / "html" / "chapters" / f"{chapter}.html").exists()


def test_every_chapter_has_three_exercises_and_figures_have_alt_text(smoke_book: Path) -> None:
    for chapter in toc_chapters():
        page = (smoke_book / "html" / "chapters" / f"{chapter}.html").read_text()
        n_ex = len(re.findall(r'class="[^"]*\bexercise\b[^"]*"', page))
        assert n_ex >= 3, f"{chapter} has {n_ex} exercises"
        for img in re.findall(r"<img\b[^>]*>", page):
            alt = re.search(r'\balt="([^"]*)"', img)
            assert alt and alt.group(1).strip(), f"{chapter}: image without alt text: {img[:120]}"


@pytest.mark.parametrize("chapter", toc_chapters())
def test_no_chapter_shows_a_figure_twice(smoke_book: Path, chapter: str) -> None:
    page = (smoke_book / "html" / "chapters" / f"{chapter}.html").read_text()
    images = re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', page)  # file names hash the image
    assert len(images) == len(set(images))


def test_student_edition_has_no_solutions(smoke_book: Path) -> None:
    full = smoke_book / "html"
    n_solutions = sum(p.read_text().count('class="solution') for p in full.rglob("*.html"))
    assert n_solutions > 0
    student = smoke_book / "student" / "html"
    for path in student.rglob("*"):
        if path.suffix in (".html", ".ipynb", ".js", ".md", ".txt") and path.is_file():
            text = path.read_text(errors="replace")
            assert 'class="solution' not in text, path
            assert "{solution}" not in text, path


def test_ledger_and_report_list_every_chapter(smoke_book: Path) -> None:
    report = (smoke_book / "html" / "book" / "execution_report.html").read_text()
    for chapter in toc_chapters():
        assert chapter in report
    assert "smoke" in report and "torch" in report


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "img", "script", "link"):
                self.links.append(a[key])


@functools.cache
def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(errors="replace"))
    return parser


@pytest.mark.parametrize("edition", ["html", "student/html"])
def test_internal_links_and_anchors_resolve(smoke_book: Path, edition: str) -> None:
    root = smoke_book / edition
    broken = []
    for page in root.rglob("*.html"):
        if page.relative_to(root).parts[0] in ("_static", "_sources"):
            continue
        for link in _parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("//", "mailto:", "javascript:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(root)} -> {link}")
            elif parts.fragment and target.suffix == ".html" and \
                    unquote(parts.fragment) not in _parse(target).ids:
                broken.append(f"{page.relative_to(root)} -> {link} (no such anchor)")
    assert broken == []


@pytest.fixture(scope="module")
def browser():
    from rtrlib.book.browser import chromium, chromium_path

    if chromium_path() is None:
        if os.environ.get("RTRLIB_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium not found but RTRLIB_REQUIRE_BROWSER=1")
        pytest.skip("Chromium not found (apt-get install chromium, or set $RTRLIB_CHROMIUM)")
    with chromium() as b:
        yield b


@pytest.mark.browser
@pytest.mark.parametrize("edition", EDITION_DIRS)
def test_every_page_passes_the_browser_audit(smoke_book: Path, browser, edition: str) -> None:
    """Every page at 1280 px: HTTP 200, no console error, no request leaving the machine,
    MathJax typeset without error, images loaded, nothing wider than its column without a
    scroll container, and no critical or serious axe-core violation (label-content-name-mismatch
    included). One page load and one axe run per page."""
    from rtrlib.book.audit import audit_book
    from rtrlib.book.browser import book_pages

    root = smoke_book / edition
    pages = book_pages(root)
    assert {"book/intro.html", "prf-prf.html", "search.html"} <= set(pages)
    assert sum(p.startswith("chapters/") for p in pages) == len(toc_chapters())
    audits = audit_book(root, pages, browser=browser)
    assert [p for a in audits for p in a.problems()] == []
    assert any(a.visit.math_ok for a in audits)  # the math check did run


@pytest.mark.browser
def test_a_link_in_a_solution_title_just_follows(smoke_book: Path, browser) -> None:
    """sphinx-togglebutton threw "button is not defined" on such a click; the title's other text
    still toggles the solution."""
    from rtrlib.book.browser import open_page, serve

    root = smoke_book / "html"
    rel = next(f"chapters/{c}.html" for c in toc_chapters()
               if 'class="solution' in (root / "chapters" / f"{c}.html").read_text())
    with serve(root) as base:
        page, visit = open_page(browser, base, rel)
        try:
            solution = page.locator("div.solution.toggle").first
            link = solution.locator(".admonition-title a").first
            target = link.get_attribute("href")
            link.click()
            page.wait_for_timeout(200)
            assert page.url.endswith(target) and "toggle-hidden" in solution.get_attribute("class")
            solution.locator(".admonition-title").click(position={"x": 20, "y": 8})
            page.wait_for_timeout(200)
            assert "toggle-hidden" not in solution.get_attribute("class")
            assert visit.console_errors == []
        finally:
            page.context.close()


@pytest.mark.parametrize("edition", EDITION_DIRS)
def test_every_page_declares_the_favicon(smoke_book: Path, edition: str) -> None:
    """Without one, browsers ask for /favicon.ico and log a 404."""
    from rtrlib.book.browser import book_pages

    root = smoke_book / edition
    for rel in book_pages(root):
        icon = re.search(r'<link rel="icon" href="([^"]+)"', (root / rel).read_text())
        assert icon and ((root / rel).parent / icon.group(1)).exists(), rel


@pytest.mark.parametrize("edition", EDITION_DIRS)
def test_html_is_light(smoke_book: Path, edition: str) -> None:
    from rtrlib.book.sphinx_ext import MATHJAX_KEEP

    root = smoke_book / edition
    files = [p for p in root.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert size <= 15 * 2**20, f"{edition}: {size / 2**20:.1f} MiB"
    assert not [p for p in files if p.suffix == ".map"]
    mathjax = root / "_static" / "mathjax"
    assert (mathjax / "tex-chtml.js").exists()
    assert all(p.relative_to(mathjax).as_posix().startswith(MATHJAX_KEEP)
               for p in mathjax.rglob("*") if p.is_file())
    for p in files:
        if p.suffix in (".js", ".css"):
            assert "sourceMappingURL=" not in p.read_text(errors="replace")[-300:], p


@pytest.mark.parametrize("edition", EDITION_DIRS)
def test_each_chapter_offers_its_notebook_and_source(smoke_book: Path, edition: str) -> None:
    root = smoke_book / edition
    for chapter in toc_chapters():
        page = (root / "chapters" / f"{chapter}.html").read_text()
        assert f'href="../_sources/chapters/{chapter}.ipynb"' in page
        assert f'href="{chapter}.md"' in page
        nb = nbformat.read(root / "_sources" / "chapters" / f"{chapter}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3" and "widgets" not in nb.metadata
        first, check = nb.cells[0], nb.cells[1]
        assert first.cell_type == "markdown" and "pip install -r requirements.txt" in first.source
        assert check.cell_type == "code" and 'find_spec("rtrlib")' in check.source
        assert "remove-cell" in check.metadata.tags
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells[2:])
        source = (root / "chapters" / f"{chapter}.md").read_text()
        assert "\n  name: python3\n" in source.split("\n---", 1)[0]
        assert "pip install" not in page  # the set-up cells are for the download only


@pytest.mark.browser
def test_whole_book_pdf(smoke_book: Path, browser, tmp_path: Path) -> None:
    """Every page printed after MathJax typeset, in book order: a page per chapter at least,
    a bookmark per page, and the claim ledger's text."""
    import json
    import unicodedata

    from pypdf import PdfReader

    from rtrlib.book.pdf import book_order, print_book

    root = smoke_book / "html"
    order = book_order(root)
    assert order[0] == "book/intro.html"
    assert [p for p in order if p.startswith("chapters/")] == \
        [f"chapters/{c}.html" for c in toc_chapters()]
    pdf = PdfReader(print_book(root, tmp_path / "book.pdf", order, browser=browser))
    assert len(pdf.outline) == len(order) and len(pdf.pages) >= len(order)
    starts = [pdf.get_destination_page_number(o) for o in pdf.outline]
    assert starts == sorted(set(starts))  # each page of the book starts a new PDF page
    text = unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in pdf.pages))
    text = re.sub(r"-\s+", "-", " ".join(text.split()))  # ids broken after a hyphen
    assert "Claim ledger" in text
    ledger = json.loads((root / "_static" / "claims.json").read_text())
    assert ledger and all(row["id"] in text for row in ledger)
