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
