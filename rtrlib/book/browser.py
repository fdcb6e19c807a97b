"""The built book in headless Chromium: served from a local HTTP server, every request that would
leave the machine blocked and recorded, console errors collected, MathJax waited for.

The browser test, the accessibility audit (:mod:`~rtrlib.book.audit`) and the PDF
(:mod:`~rtrlib.book.pdf`) all open pages through :func:`open_page`. Chromium is Debian's
(``apt-get install chromium``), driven by the PyPI ``playwright`` package (no browser download);
``$RTRLIB_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rtrlib.book.errors import BookError

__all__ = ["LAUNCH_ARGS", "Visit", "book_pages", "chromium", "chromium_path", "is_redirect",
           "open_page",
           "serve", "wait_for_math"]

LAUNCH_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run")
VIEWPORT = {"width": 1280, "height": 900}
MATH_TIMEOUT_MS = 20000


def chromium_path() -> str | None:
    """The Chromium executable (``$RTRLIB_CHROMIUM``, default ``/usr/bin/chromium``), or None."""
    exe = os.environ.get("RTRLIB_CHROMIUM", "/usr/bin/chromium")
    return exe if Path(exe).exists() else shutil.which(exe)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A request the browser dropped half-way (a cancelled font fetch) is not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on a free local port for the duration; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``); :class:`BookError` when there is none."""
    exe = chromium_path()
    if exe is None:
        raise BookError("Chromium not found (apt-get install chromium, or set $RTRLIB_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=list(LAUNCH_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def is_redirect(path: Path) -> bool:
    """Whether an HTML file only redirects (Jupyter Book's top-level ``index.html``)."""
    head = path.read_text(errors="replace")[:2000].lower()
    return 'http-equiv="refresh"' in head and "<body" not in head


def book_pages(html_root: Path) -> list[str]:
    """Every HTML page of a built book (paths relative to ``html_root``), assets and pages that
    only redirect excluded."""
    return sorted(p.relative_to(html_root).as_posix() for p in html_root.rglob("*.html")
                  if p.relative_to(html_root).parts[0] not in ("_static", "_sources")
                  and not is_redirect(p))


@dataclasses.dataclass
class Visit:
    """What loading one page did: HTTP status, console errors, blocked external requests,
    and whether its math typeset (None: no math on the page)."""

    rel: str
    status: int | None = None
    console_errors: list[str] = dataclasses.field(default_factory=list)
    external: list[str] = dataclasses.field(default_factory=list)
    math_ok: bool | None = None
    math_problem: str = ""
    listening: bool = True  # off while tools (axe-core) run in the page: their requests are theirs

    def note(self, kind: str, item: str) -> None:
        if self.listening:
            getattr(self, kind).append(item)


def wait_for_math(page: Any, timeout_ms: int = MATH_TIMEOUT_MS) -> tuple[bool | None, str]:
    """Wait until MathJax has typeset the page: (None, '') without math, else (ok, problem)."""
    if not page.evaluate("!!document.querySelector('.math, mjx-container')"):
        return None, ""
    try:
        page.wait_for_function(
            "!!document.querySelector('mjx-container') && !!window.MathJax"
            " && !!MathJax.startup && !!MathJax.startup.promise", timeout=timeout_ms)
        page.evaluate("MathJax.startup.promise.then(() => true)")
    except Exception:  # noqa: BLE001 - a timeout is the finding
        return False, "MathJax did not typeset"
    if page.evaluate("document.querySelectorAll('mjx-merror, merror').length"):
        return False, "MathJax error in math"
    return True, ""


def open_page(browser: Any, base: str, rel: str, viewport: dict[str, int] | None = None,
              media: str | None = None) -> tuple[Any, Visit]:
    """Open ``base/rel`` in a fresh context: requests outside ``base`` are blocked and recorded,
    console errors and uncaught exceptions collected, MathJax awaited. Returns (page, visit);
    the caller closes ``page.context``."""
    context = browser.new_context(viewport=viewport or VIEWPORT)
    page = context.new_page()
    visit = Visit(rel)

    def route(r: Any) -> None:
        if r.request.url.startswith((base + "/", "data:", "blob:")):
            r.continue_()
        else:
            visit.note("external", r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: visit.note("console_errors", m.text) if m.type == "error"
            else None)
    page.on("pageerror", lambda e: visit.note("console_errors", f"uncaught: {e}"))
    page.on("response", lambda r: visit.note("console_errors", f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)
    if media:
        page.emulate_media(media=media)
    resp = page.goto(f"{base}/{rel}", wait_until="load")
    visit.status = resp.status if resp else None
    visit.math_ok, visit.math_problem = wait_for_math(page)
    return page, visit
