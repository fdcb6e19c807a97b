"""The book's own Sphinx extension (``_config.yml``: ``sphinx: extra_extensions``); the runner puts
this rtrlib first on the ``PYTHONPATH`` of ``jupyter-book build``.

What it fixes at the source, on every build:

- a clean console: sphinx-thebe is switched off unless ``launch_buttons: thebe`` is on (it
  injected its CDN configuration twice, a redeclaration error); duplicate inline scripts are
  dropped; the theme gets a valid default colour mode; the book has a favicon; a guard against
  sphinx-togglebutton's ReferenceError when a link in a dropdown's title is clicked
  (``assets/static/rtr-book.js``);
- accessibility: buttons whose accessible name omitted their visible text (theme templates in
  ``assets/templates``, myst-nb's "show code" toggles), the bibliography's list items, link
  contrast and wide content (``assets/static/rtr-book.css``);
- take-away: each chapter's download menu offers the executed notebook, its MyST source (staged
  by the runner) and, once ``make pdf`` has run, the whole book as a PDF;
- weight: after the build, MathJax is cut down to what the pages load and source maps and
  build-time translation catalogues are deleted;
- numbering (:mod:`rtrlib.book.numbering`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rtrlib.book import numbering
from rtrlib.book.stage import EXTRA

__all__ = ["ASSETS", "MATHJAX_KEEP", "prune_html", "setup"]

ASSETS = Path(__file__).parent / "assets"
# What the pages load of MathJax 3 (sphinx-mathjax-offline copies the whole distribution):
# the combined TeX-to-CHTML component, its web fonts, and the TeX extensions it autoloads
# when a page uses their macros.
MATHJAX_KEEP = ("tex-chtml.js", "output/chtml/fonts/woff-v2/", "input/tex/extensions/")
CHAPTER_SOURCES = EXTRA  # staged MyST sources, copied next to each page (html_extra_path)
SOURCE_MAP = re.compile(r"\n?/[/*][#@] sourceMappingURL=\S+?(?: \*/)?\s*$")


def _thebe_on(config: Any) -> bool:
    return bool((config.html_theme_options or {}).get("launch_buttons", {}).get("thebe"))


def _configure(app: Any, config: Any) -> None:
    """``config-inited``: templates, static files, favicon, colour mode; thebe off."""
    config.templates_path.insert(0, str(ASSETS / "templates"))
    config.html_static_path.append(str(ASSETS / "static"))
    if not config.html_favicon:
        config.html_favicon = str(ASSETS / "favicon.svg")
    # pydata-sphinx-theme reads the colour mode from html_context; empty, its script logs
    # "Got invalid theme mode" on a browser that has not chosen one yet
    if not config.html_context.get("default_mode"):
        config.html_context["default_mode"] = "light"
    if not _thebe_on(config):
        for listeners in app.events.listeners.values():
            for listener in list(listeners):
                if getattr(listener.handler, "__module__", "").startswith("sphinx_thebe"):
                    app.disconnect(listener.id)


def _asset_key(asset: Any) -> tuple[str, str]:
    attrs = getattr(asset, "attributes", {}) or {}
    return str(getattr(asset, "filename", asset)), repr(sorted(attrs.items()))


def _download_buttons(app: Any, pagename: str, context: dict[str, Any]) -> None:
    """The download menu: the executed notebook, the chapter's MyST source, the book's PDF."""
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        buttons = [b for b in group["buttons"] if b.get("label") != "download-pdf-button"]
        for b in buttons:
            if b.get("label") == "download-source-button" and b.get("text") == ".ipynb":
                b["tooltip"] = "Download the executed notebook (.ipynb)"
        if (Path(app.srcdir) / CHAPTER_SOURCES / f"{pagename}.md").exists():
            buttons.append({"type": "link", "url": context["pathto"](f"{pagename}.md", 1),
                            "text": ".md", "icon": "fas fa-file-lines",
                            "tooltip": "Download the chapter's MyST source (.md)",
                            "label": "download-myst-button"})
        if app.config.rtr_book_pdf:
            buttons.append({"type": "link", "url": context["pathto"](app.config.rtr_book_pdf, 1),
                            "text": "book .pdf", "icon": "fas fa-file-pdf",
                            "tooltip": "Download the whole book as one PDF",
                            "label": "download-book-pdf-button"})
        group["buttons"] = buttons
        group["tooltip"] = "Download"


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: Any) -> None:
    """``html-page-context``: scripts, accessible names, download menu."""
    thebe = _thebe_on(app.config)
    for kind in ("script_files", "css_files"):
        kept, seen = [], set()
        for asset in context.get(kind, []):
            key = _asset_key(asset)
            if key in seen or (not thebe and ("thebe" in key[0] or "THEBE" in key[1])):
                continue
            seen.add(key)
            kept.append(asset)
        context[kind] = kept
    body = context.get("body", "")
    # myst-nb labels its show/hide-code toggles "Toggle hidden content", which is not their
    # visible text ("Show code cell source"): let the visible text name them.
    body = body.replace('<summary aria-label="Toggle hidden content">', "<summary>")
    # docutils marks bibliography entries doc-biblioentry (deprecated) inside role="list"
    body = body.replace('role="doc-biblioentry"', 'role="listitem"')
    context["body"] = body
    _download_buttons(app, pagename, context)


def prune_html(outdir: Path, thebe: bool = False) -> int:
    """Delete from a built book what no page loads: MathJax beyond :data:`MATHJAX_KEEP`,
    source maps (and the comments pointing to them), build-time translation catalogues,
    sphinx-thebe's files when thebe is off. Returns the bytes freed."""
    static = outdir / "_static"
    doomed: list[Path] = []
    mathjax = static / "mathjax"
    if (mathjax / "tex-chtml.js").exists():
        doomed += [p for p in mathjax.rglob("*") if p.is_file() and not any(
            p.relative_to(mathjax).as_posix().startswith(k) for k in MATHJAX_KEEP)]
    doomed += list(static.rglob("*.map")) + [p for p in (static / "locales").rglob("*")
                                             if p.is_file()]
    if not thebe:
        doomed += list(static.glob("sphinx-thebe.*"))
    freed = sum(p.stat().st_size for p in doomed)
    for p in doomed:
        p.unlink()
    for d in sorted((p for p in static.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()
    for p in [*static.rglob("*.js"), *static.rglob("*.css")]:
        text = p.read_text(errors="surrogateescape")
        stripped = SOURCE_MAP.sub("", text)
        if stripped != text:
            p.write_text(stripped, errors="surrogateescape")
    return freed


def _build_finished(app: Any, exc: Exception | None) -> None:
    """``build-finished`` (after sphinx-mathjax-offline copied MathJax)."""
    if exc is None and app.builder.format == "html":
        prune_html(Path(app.outdir), _thebe_on(app.config))


def setup(app: Any) -> dict[str, Any]:
    from sphinx_proof.domain import ProofDomain

    app.add_config_value("rtr_book_pdf", "", "html")
    app.connect("config-inited", _configure, priority=900)
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _build_finished, priority=900)
    app.connect("doctree-read", numbering.collect)
    app.connect("env-purge-doc", numbering.purge)
    app.connect("env-merge-info", numbering.merge)
    app.connect("env-get-updated", numbering.renumber, priority=900)
    app.add_post_transform(numbering.DifficultyMarks)
    # sphinx-proof's index lists raw labels; its domain keeps its indices in a set, which
    # Sphinx's add_index_to_domain cannot extend, so the class attribute is replaced.
    ProofDomain.indices = [numbering.BookProofIndex]
    app.add_css_file("rtr-book.css", priority=900)
    app.add_js_file("rtr-book.js", priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
