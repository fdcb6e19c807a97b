"""The kernel-free sizing calculator in headless Chromium.

1. ``RTRSizing.compute`` (calculator.js) agrees with ``rtrlib.sizing.size_model`` exactly on
   random mixtures, with ties and unnormalised frequencies: integers equal, losses equal (to a
   relative 1e-12; in practice bit for bit), the same ``normalised`` flag.
2. The page controls: filling the inputs gives the Python numbers, a refused input shows its
   message in the live region and marks the field.
3. End to end in the built chapter page of the smoke book (the session fixture ``smoke_book``;
   slow). ``RTRLIB_CH08_BUILD=DIR`` reuses a build directory that already holds ``html/``.

Without Chromium the tests skip, unless ``RTRLIB_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from rtrlib.sizing import make_mixture, size_model, zipf_frequencies
from rtrlib.sizing.calculator import calculator_html, script_text

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("smoke_book")]
CHROMIUM = os.environ.get("RTRLIB_CHROMIUM", "/usr/bin/chromium")
N_MIXTURES = 240
# Console messages allowed by name: none, the book's pages log no error (issue 13).
ALLOWED_PAGE_ERRORS: tuple[str, ...] = ()


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


@pytest.fixture
def page(browser):
    p = browser.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield p
    p.close()
    assert errors == []


def random_case(rng: np.random.Generator) -> tuple[list[float], list[list[float]], int]:
    """A mixture with, often, exact ties (values from small dyadic sets, repeated tasks) and
    frequencies that do not sum to one; a width from 1 to a few past the feature count."""
    K = int(rng.integers(1, 9))
    if rng.random() < 0.5:
        pi = rng.choice([1.0, 2.0, 0.5, 0.25, 3.0], size=K)
    else:
        pi = rng.random(K) * rng.choice([1.0, 1e-3, 1e3])
    if rng.random() < 0.2:
        pi[rng.integers(K)] = 0.0
    if pi.sum() == 0:
        pi[0] = 1.0
    if rng.random() < 0.2:
        pi = pi / pi.sum()
    spectra = []
    for _ in range(K):
        m = int(rng.integers(1, 7))
        if rng.random() < 0.5:
            s = rng.choice([1.0, 0.5, 0.25, 0.125, 0.0], size=m)
        else:
            s = rng.random(m) * rng.choice([1.0, 10.0])
        spectra.append(s)
    if K > 1 and rng.random() < 0.3:            # a duplicated task: ties everywhere
        spectra[1], pi[1] = spectra[0].copy(), pi[0]
    F = sum(len(s) for s in spectra)
    return [float(p) for p in pi], [[float(v) for v in s] for s in spectra], \
        int(rng.integers(1, F + 4))


def test_javascript_computation_agrees_with_python_exactly(page) -> None:
    page.add_script_tag(content=script_text("calculator.js"))
    rng = np.random.default_rng(2026)
    cases = [random_case(rng) for _ in range(N_MIXTURES)]
    js = page.evaluate("cases => cases.map(c => RTRSizing.compute(c[0], c[1], c[2]))", cases)
    n_ties = n_norm = n_bitwise = 0
    for (pi, spectra, width), got in zip(cases, js, strict=True):
        want = size_model(make_mixture(pi, spectra), width).to_dict()
        for key in ("kept_features", "critical_width", "first_kept_width", "n_features"):
            assert got[key] == want[key], (key, pi, spectra, width)
        for key in ("normalised", "tie_at_cut", "width"):
            assert got[key] == want[key], (key, pi, spectra, width)
        for key in ("task_loss", "task_variance", "frequencies"):
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=0)
            n_bitwise += got[key] == want[key]
        n_ties += want["tie_at_cut"] or want["first_kept_width"] != want["critical_width"]
        n_norm += want["normalised"]
    assert n_ties >= 20 and n_norm >= 100, (n_ties, n_norm)   # the cases cover both
    assert n_bitwise == 3 * N_MIXTURES


def test_parsing_and_generated_forms(page) -> None:
    page.add_script_tag(content=script_text("calculator.js"))
    values = [0.1, 1 / 3, 2.5e-7, 123456.789, 1e-300]
    text = " , ".join(repr(v) for v in values)
    assert page.evaluate("t => RTRSizing.parseNumbers(t, 'x', 'X')", text) == values
    spec = page.evaluate("t => RTRSizing.parseSpectra(t)", "1, 0.5\n\n0.25 ; 2 1")
    assert spec == [[1, 0.5], [0.25], [2, 1]]
    for bad, field in (("1, two", "frequencies"), ("", "frequencies")):
        err = page.evaluate("t => { try { RTRSizing.parseNumbers(t, 'frequencies', 'F'); }"
                            " catch (e) { return [e.field, e.message]; } }", bad)
        assert err[0] == field and err[1]
    for call, field in (("RTRSizing.compute([0.5, -0.5], [[1], [1]], 1)", "frequencies"),
                        ("RTRSizing.compute([0.5, 0.5], [[1]], 1)", "spectra"),
                        ("RTRSizing.compute([], [], 1)", "frequencies"),
                        ("RTRSizing.compute([1], [[]], 1)", "spectra"),
                        ("RTRSizing.compute([1], [[-1]], 1)", "spectra"),
                        ("RTRSizing.compute([1], [[1]], 0)", "width")):
        err = page.evaluate(f"() => {{ try {{ {call}; }} catch (e) {{ return e.field; }} }}")
        assert err == field, call
    # Math.pow may round differently from C's pow in the last bit: equal to 1e-15
    js = page.evaluate("() => RTRSizing.zipfFrequencies(9, 1.37)")
    np.testing.assert_allclose(js, zipf_frequencies(9, 1.37), rtol=1e-15)


def _open(page, tmp_path: Path, html: str) -> None:
    path = tmp_path / "calc.html"
    path.write_text("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>t"
                    "</title></head><body><main>" + html + "</main></body></html>")
    page.goto(path.as_uri())


def _read_table(page, root: str = "[data-rtr-sizing]") -> dict[str, list[str]]:
    return page.evaluate("""root => {
        const out = {};
        for (const td of document.querySelectorAll(root + ' [data-role=table] tbody [data-field]'))
            (out[td.dataset.field] = out[td.dataset.field] || []).push(td.textContent);
        return out; }""", root)


def check_calculator(page) -> None:
    """Fill the inputs, read the outputs, and refuse a bad input (shared with the built page)."""
    page.fill("[data-role=freqs]", "3, 2, 1")
    page.fill("[data-role=spectra]", "1, 0.5, 0.25\n1, 0.2\n2")
    page.fill("[data-role=width]", "3")
    page.fill("[data-role=task]", "3")
    page.click("[data-rtr-sizing] button[type=submit]")
    want = size_model(make_mixture([3, 2, 1], [[1, 0.5, 0.25], [1, 0.2], [2]]), 3)
    table = _read_table(page)
    assert table["kept"] == [str(k) for k in want.kept_features]
    assert table["critical"] == [str(c) for c in want.critical_width]
    assert "normalised" in page.inner_text("[data-role=messages]")
    assert "critical width is N_c = " + str(want.critical_width[2]) in \
        page.inner_text("[data-role=summary]")
    assert page.locator("[data-role=figure] polyline").count() == 3
    # Zipf and power-law forms
    page.check("input[data-role=freq-mode][value=zipf]")
    page.check("input[data-role=spec-mode][value=power]")
    page.fill("[data-role=n-tasks]", "4")
    page.fill("[data-role=zipf]", "1")
    page.fill("[data-role=m]", "2")
    page.fill("[data-role=decay]", "1")
    page.fill("[data-role=task]", "4")
    page.click("[data-rtr-sizing] button[type=submit]")
    want = size_model(make_mixture(n_tasks=4, zipf_exponent=1.0, features_per_task=2,
                                   decay=1.0), 3)
    assert _read_table(page)["kept"] == [str(k) for k in want.kept_features]
    # a refused input: its message in the live region, the field marked, no stale table
    page.check("input[data-role=freq-mode][value=list]")
    page.fill("[data-role=freqs]", "0.5, -0.2, 0.7")
    page.click("[data-rtr-sizing] button[type=submit]")
    msg = page.inner_text("[data-role=messages]")
    assert "negative" in msg and "Frequencies" in msg
    assert page.get_attribute("[data-role=freqs]", "aria-invalid") == "true"
    assert page.locator("[data-role=output]").is_hidden()
    page.fill("[data-role=freqs]", "1, 1, 1, 1")
    page.click("[data-rtr-sizing] button[type=submit]")
    assert page.get_attribute("[data-role=freqs]", "aria-invalid") is None
    assert page.locator("[data-role=output]").is_visible()


def test_page_controls(page, tmp_path: Path) -> None:
    _open(page, tmp_path, calculator_html([1, 1], [[1, 0.5], [0.7]], 2, 1))
    assert page.locator("[data-role=needs-js]").is_hidden()
    check_calculator(page)


@pytest.mark.slow
def test_calculator_in_the_built_chapter(browser, request) -> None:
    prebuilt = os.environ.get("RTRLIB_CH08_BUILD")   # reuse a build dir that has html/
    build_dir = Path(prebuilt) if prebuilt else request.getfixturevalue("smoke_book")
    root = build_dir / "html"
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    page = browser.new_page()
    errors: list[str] = []
    external: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r) -> None:
        if r.request.url.startswith((base, "data:")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    try:
        page.goto(f"{base}/chapters/08_sizing.html", wait_until="load")
        assert page.locator("[data-rtr-sizing]").count() == 1
        page.wait_for_selector("[data-role=output]:not([hidden])")
        check_calculator(page)
        other = browser.new_page()   # the scripts ship with this page only
        other.goto(f"{base}/book/notation.html", wait_until="load")
        assert other.evaluate("typeof window.RTRSizing") == "undefined"
        other.close()
    finally:
        page.close()
        server.shutdown()
    assert external == []
    assert [e for e in errors if not any(a in e for a in ALLOWED_PAGE_ERRORS)] == []


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass
