/* The book's one script (rtrlib.book.sphinx_ext adds it to every page).
 *
 * sphinx-togglebutton listens for clicks on a dropdown's title and looks for its button only
 * among a few expected targets; a click on anything else in the title (the link to the
 * exercise in "Solution to Exercise 1.2", a word in italics, math) left `button` undefined:
 * "ReferenceError: button is not defined". Before that listener runs: a click on a link in a
 * dropdown's title just follows the link; a click elsewhere in the title toggles the dropdown
 * through its button, as the reader meant. */
document.addEventListener("click", (event) => {
  const title = event.target.closest && event.target.closest(".toggle > .admonition-title");
  if (!title) return;
  const t = event.target;
  const handled = t === title || t.classList.contains("toggle-button") ||
    t.classList.contains("tb-icon") || t.tagName.toLowerCase() === "polyline";
  if (handled) return;
  event.stopPropagation();
  if (t.closest("a")) return;  // the link navigates; the dropdown stays as it is
  const button = title.querySelector(".toggle-button");
  if (button) button.click();
}, true);

/* Content that scrolls sideways (a wide table, formula or code line in its scroll container)
 * must be reachable from the keyboard (WCAG 2.1.1; axe-core rule scrollable-region-focusable):
 * a scroll container of the article whose content is wider than it, with nothing focusable
 * inside, gets a tab stop; one holding a table or a formula becomes a region named after it
 * ("Scrollable table 2"). Run when the page has loaded, after MathJax has typeset (formulas
 * change widths) and after a resize. */
const rtrFocusable = "a[href], button, input, select, textarea, [tabindex]";
const rtrRegions = {table: 0, formula: 0};
function rtrScrollRegions() {
  const article = document.querySelector("article.bd-article") || document.body;
  for (const el of article.querySelectorAll("*")) {
    if (el.hasAttribute("tabindex") || el.scrollWidth <= el.clientWidth + 1) continue;
    const overflow = getComputedStyle(el).overflowX;
    if (overflow !== "auto" && overflow !== "scroll") continue;
    if (el.querySelector(rtrFocusable)) continue;
    el.setAttribute("tabindex", "0");
    const what = el.querySelector("table") ? "table"
      : el.querySelector("mjx-container, .math") ? "formula" : null;
    if (what && !el.hasAttribute("role") && !el.hasAttribute("aria-label")) {
      rtrRegions[what] += 1;
      el.setAttribute("role", "region");
      el.setAttribute("aria-label", `Scrollable ${what} ${rtrRegions[what]}`);
    }
  }
}
window.addEventListener("load", () => {
  rtrScrollRegions();
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(rtrScrollRegions);
  }
});
let rtrResizeTimer;
window.addEventListener("resize", () => {
  clearTimeout(rtrResizeTimer);
  rtrResizeTimer = setTimeout(rtrScrollRegions, 200);
});
