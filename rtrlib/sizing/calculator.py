"""The kernel-free sizing calculator: markup and script, inlined into a chapter's HTML output.

``calculator_html(...)`` returns one self-contained HTML fragment: labelled inputs (frequencies as
a list or a Zipf exponent and a count; spectra as lists or a decay exponent and features per
task; the width N; a chosen task), an ARIA live region for messages, a results table and an SVG
figure of per-task loss against width, followed by the two scripts of this package
(``calculator.js``: the computation; ``calculator_ui.js``: the controls), inlined. Nothing is
loaded from elsewhere, and nothing is added to the book's other pages: the scripts ship inside
the one page that shows the calculator, and they act only on elements marked
``data-rtr-sizing``. The tests load the very same files (:func:`script_text`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from importlib import resources

from rtrlib.params import ParameterError, require_float, require_int
from rtrlib.sizing.mixture import check_frequencies, check_spectra

__all__ = ["SCRIPTS", "calculator_html", "script_text"]

SCRIPTS = ("calculator.js", "calculator_ui.js")

_CSS = """
.rtr-sizing { border: 1px solid var(--pst-color-border, #c8c8c8); border-radius: 6px;
  padding: 0.8rem 1rem; margin: 1rem 0; }
.rtr-sizing [hidden] { display: none !important; }
.rtr-sizing fieldset { border: 1px solid var(--pst-color-border, #c8c8c8); border-radius: 4px;
  margin: 0 0 0.7rem 0; padding: 0.4rem 0.8rem 0.6rem; }
.rtr-sizing legend { font-weight: 600; padding: 0 0.3rem; width: auto; float: none;
  font-size: 1rem; margin: 0; }
.rtr-sizing .rtr-row { display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; align-items: center;
  margin: 0.3rem 0; }
.rtr-sizing label { margin: 0; }
.rtr-sizing input[type=text], .rtr-sizing textarea { width: 100%; max-width: 40rem;
  font-family: var(--pst-font-family-monospace, monospace); }
.rtr-sizing input[type=number] { width: 7rem; }
.rtr-sizing .rtr-help { font-size: 0.9em; margin: 0.1rem 0 0.3rem; }
.rtr-sizing [aria-invalid=true] { outline: 3px solid #b3261e; outline-offset: 1px; }
.rtr-sizing-messages p { margin: 0.3rem 0; }
.rtr-sizing-messages.rtr-sizing-error { border-left: 4px solid #b3261e; padding-left: 0.6rem;
  font-weight: 600; }
.rtr-sizing .rtr-table-wrap { overflow-x: auto; }
.rtr-sizing table { border-collapse: collapse; margin: 0.5rem 0; }
.rtr-sizing th, .rtr-sizing td { padding: 0.15rem 0.6rem; text-align: right;
  border-bottom: 1px solid var(--pst-color-border, #c8c8c8); }
.rtr-sizing tr.rtr-sizing-chosen { font-weight: 700; }
.rtr-sizing caption { caption-side: top; text-align: left; color: inherit; }
.rtr-sizing svg { width: 100%; max-width: 640px; height: auto; }
.rtr-sizing button { margin-top: 0.3rem; padding: 0.2rem 0.9rem; }
"""


def script_text(name: str | None = None) -> str:
    """The calculator's JavaScript: one file of :data:`SCRIPTS`, or all in load order (the
    same text the page ships)."""
    pkg = resources.files("rtrlib.sizing")
    names = SCRIPTS if name is None else (name,)
    return "\n".join(pkg.joinpath(n).read_text(encoding="utf-8") for n in names)


def _num(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _radio(uid: str, group: str, value: str, label: str, checked: bool) -> str:
    rid = f"{uid}-{group}-{value}"
    return (f'<input type="radio" id="{rid}" name="{uid}-{group}" value="{value}" '
            f'data-role="{group}"{" checked" if checked else ""}> '
            f'<label for="{rid}">{label}</label>')


def _field(uid: str, role: str, label: str, value: str, kind: str = "number",
           help_text: str = "", extra: str = "") -> str:
    fid = f"{uid}-{role}"
    described = f' aria-describedby="{fid}-help"' if help_text else ""
    control = (f'<textarea id="{fid}" data-role="{role}" rows="4" spellcheck="false"'
               f'{described}>{html.escape(value)}</textarea>' if kind == "textarea" else
               f'<input type="{kind}" id="{fid}" data-role="{role}" '
               f'value="{html.escape(value)}"{described}{extra}>')
    helper = f'<p class="rtr-help" id="{fid}-help">{help_text}</p>' if help_text else ""
    return f'<div><label for="{fid}">{label}</label> {control}{helper}</div>'


def calculator_html(frequencies: Sequence[float], spectra: Sequence[Sequence[float]],
                    width: int, task: int = 1, *, zipf: tuple[int, float] = (8, 1.0),
                    power: tuple[int, float] = (4, 1.0), uid: str = "rtr-sizing") -> str:
    """The calculator, pre-filled with a mixture (lists), a width and a chosen task (1..K).

    ``zipf`` (K, a) and ``power`` (m, b) pre-fill the generated forms the reader can switch to.
    The initial values are checked like any input (a ParameterError names a bad one).
    """
    pi, _, _ = check_frequencies(list(frequencies))
    check_spectra([list(s) for s in spectra], len(pi))
    width = require_int("width", width, 1)
    task = require_int("task", task, 1, len(pi))
    n_tasks = require_int("zipf[0]", zipf[0], 1)
    a = require_float("zipf[1]", zipf[1], 0.0, 20.0)
    m = require_int("power[0]", power[0], 1)
    b = require_float("power[1]", power[1], 0.0, 50.0)
    if not uid.replace("-", "").isalnum():
        raise ParameterError("uid", uid, "letters, digits and hyphens")
    freq_text = ", ".join(_num(p) for p in frequencies)
    spec_text = "\n".join(", ".join(_num(v) for v in s) for s in spectra)
    texts = [script_text(n) for n in SCRIPTS]
    if any("</script" in t.lower() for t in texts):
        raise RuntimeError("a calculator script contains '</script': it cannot be inlined")
    scripts = "".join(f"<script>\n{t}\n</script>\n" for t in texts)
    return f"""<div class="rtr-sizing" data-rtr-sizing id="{uid}">
<style>{_CSS}</style>
<p data-role="needs-js">This calculator needs JavaScript, which is off in this browser; the same
numbers come from the command <code>python -m rtrlib.sizing</code>.</p>
<form hidden novalidate aria-label="Sizing calculator inputs">
<fieldset><legend>Task frequencies π<sub>k</sub></legend>
<div class="rtr-row" role="radiogroup" aria-label="How to give the frequencies">
{_radio(uid, "freq-mode", "list", "as a list", True)}
{_radio(uid, "freq-mode", "zipf", "from a Zipf law", False)}</div>
<div data-mode-group="freq-mode" data-mode="list">
{_field(uid, "freqs", "Frequencies, one per task", freq_text, "text",
        "Numbers separated by commas or spaces, in task order 1, 2, ...; if they do not sum to "
        "1 they are divided by their sum.")}</div>
<div data-mode-group="freq-mode" data-mode="zipf" class="rtr-row">
{_field(uid, "n-tasks", "Number of tasks K", str(n_tasks), extra=' min="1" step="1"')}
{_field(uid, "zipf", "Zipf exponent a", _num(a), extra=' min="0" step="any"')}
<p class="rtr-help">π<sub>k</sub> is proportional to k<sup>−a</sup>, k = 1, …, K.</p></div>
</fieldset>
<fieldset><legend>Task complexity: spectra λ<sub>k,j</sub></legend>
<div class="rtr-row" role="radiogroup" aria-label="How to give the spectra">
{_radio(uid, "spec-mode", "list", "as lists", True)}
{_radio(uid, "spec-mode", "power", "from a power law", False)}</div>
<div data-mode-group="spec-mode" data-mode="list">
{_field(uid, "spectra", "Spectra, one line per task", spec_text, "textarea",
        "Each line lists one task's eigenvalues (variance per feature), separated by commas or "
        "spaces; a semicolon also starts a new task.")}</div>
<div data-mode-group="spec-mode" data-mode="power" class="rtr-row">
{_field(uid, "m", "Features per task m", str(m), extra=' min="1" step="1"')}
{_field(uid, "decay", "Decay exponent b", _num(b), extra=' min="0" step="any"')}
<p class="rtr-help">λ<sub>k,j</sub> = j<sup>−b</sup> for j = 1, …, m, the same for every task.</p>
</div>
</fieldset>
<fieldset><legend>Model</legend><div class="rtr-row">
{_field(uid, "width", "Width N", str(width), extra=' min="1" step="1"')}
{_field(uid, "task", "Chosen task k", str(task), extra=' min="1" step="1"')}
</div></fieldset>
<button type="submit">Compute</button>
</form>
<div class="rtr-sizing-messages" data-role="messages" role="status" aria-live="polite"></div>
<div data-role="output" hidden>
<p data-role="summary"></p>
<div class="rtr-table-wrap"><table data-role="table">
<caption>Per task at width N: the optimum of Theorem 3 and the critical width of
Proposition 6</caption>
<thead><tr><th scope="col">task k</th><th scope="col">frequency π<sub>k</sub></th>
<th scope="col">features</th><th scope="col">kept at N</th><th scope="col">loss ℓ<sub>k</sub></th>
<th scope="col">loss / variance</th><th scope="col">critical width N<sub>c</sub></th></tr></thead>
<tbody></tbody></table></div>
<figure><svg data-role="figure" viewBox="0 0 640 300" role="img"
 aria-labelledby="{uid}-fig-title {uid}-fig-desc">
<title id="{uid}-fig-title">Per-task loss against width</title>
<desc id="{uid}-fig-desc"></desc></svg>
<figcaption>Each task's optimal loss as a share of its variance against the width N (the chosen
task thick and blue, the others grey; dashed: N; dotted: the chosen task's critical width
N<sub>c</sub>).</figcaption></figure>
</div>
{scripts}
</div>"""
