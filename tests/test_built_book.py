"""The real book, executed with the smoke profile through the runner and rendered in both editions.

The HTML checks: every internal link and anchor resolves; in headless Chromium every page loads
without requests leaving the machine, MathJax (served locally) typesets its math without error,
and every image loads. Without Chromium the browser test skips, unless RTRLIB_REQUIRE_BROWSER=1
(set by CI), which makes it mandatory.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from rtrlib.book import toc_chapters

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("RTRLIB_CHROMIUM", "/usr/bin/chromium")
# Harmless messages of the stock theme on a fresh browser profile, allowed by name.
ALLOWED_CONSOLE_ERRORS = ("THEBE_JS_URL", "Got invalid theme mode")


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
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("RTRLIB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM} but RTRLIB_REQUIRE_BROWSER=1")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def _serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.browser
@pytest.mark.parametrize("edition", ["html", "student/html"])
def test_pages_render_in_chromium(smoke_book: Path, browser, edition: str) -> None:
    root = smoke_book / edition
    pages = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")
                   if p.parent.name in ("chapters", "book"))
    assert any(p.startswith("chapters/") for p in pages)
    server, base = _serve(root)
    problems: list[str] = []
    try:
        for rel in pages:
            page = browser.new_page()
            external: list[str] = []
            errors: list[str] = []

            def make_route(external: list[str]):
                def route(r) -> None:
                    if r.request.url.startswith((base, "data:")):
                        r.continue_()
                    else:
                        external.append(r.request.url)
                        r.abort()
                return route

            page.route("**/*", make_route(external))
            page.on("console", lambda m, errors=errors: errors.append(m.text)
                    if m.type == "error" else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            resp = page.goto(f"{base}/{rel}", wait_until="load")
            if resp is None or not resp.ok:
                problems.append(f"{rel}: HTTP {resp.status if resp else 'none'}")
            has_math = page.evaluate("!!document.querySelector('.math, mjx-container')")
            if has_math:
                try:
                    page.wait_for_function("!!document.querySelector('mjx-container')",
                                           timeout=20000)
                except Exception:
                    problems.append(f"{rel}: MathJax did not typeset")
                if page.evaluate("document.querySelectorAll('mjx-merror, merror').length"):
                    problems.append(f"{rel}: MathJax error in math")
            bad_imgs = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.src)")
            problems += [f"{rel}: image did not load: {s}" for s in bad_imgs]
            problems += [f"{rel}: external request {u}" for u in external]
            problems += [f"{rel}: console error {e}" for e in errors
                         if not any(a in e for a in ALLOWED_CONSOLE_ERRORS)]
            page.close()
    finally:
        server.shutdown()
    assert problems == []
