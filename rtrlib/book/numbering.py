"""One numbering scheme a reader can follow (part of :mod:`rtrlib.book.sphinx_ext`).

- A result that is the paper's carries the paper's number: give its ``prf:`` directive the class
  ``paper-number-N`` (``:class: paper-number-3`` on the utility-ranking theorem renders
  "Theorem 3"; references with ``{prf:ref}`` say "Theorem 3" too).
- Every other numbered definition or result is the book's own and is numbered per chapter:
  "Proposition 1.1" is chapter 1's first proposition of its own. Exercises likewise: "Exercise 6.2".
- An exercise with the class ``difficulty-1``, ``-2`` or ``-3`` shows its difficulty after its
  title (:data:`DIFFICULTY` says what each level means; the instructors' guide prints the same).
- The proof index lists each definition and result by its number and title, grouped by page.

Sphinx numbers sphinx-proof and sphinx-exercise boxes through ``env.toc_fignumbers``; the
numbers are rewritten there after Sphinx assigns them, so titles, references and solutions agree.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from docutils import nodes
from sphinx.domains import Index, IndexEntry
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

__all__ = ["DIFFICULTY", "BookProofIndex", "DifficultyMarks", "chapter_number", "collect",
           "difficulty_of", "merge", "paper_number_of", "purge", "renumber"]

LOGGER = logging.getLogger(__name__)
PAPER = re.compile(r"^paper-number-(\d+)$")
LEVEL = re.compile(r"^difficulty-(\d+)$")
DIFFICULTY = {
    1: "warm-up: checks the chapter's reasoning in a few lines",
    2: "practice: a short derivation, or a small change to the chapter's code",
    3: "challenge: open-ended; extends an argument or designs a new run",
}
EXERCISE = "exercise"


def paper_number_of(classes: list[str]) -> int | None:
    """The paper's number named by a ``paper-number-N`` class, if any."""
    found = [int(m.group(1)) for c in classes if (m := PAPER.match(c))]
    return found[0] if found else None


def difficulty_of(classes: list[str]) -> int | None:
    """The difficulty named by a ``difficulty-N`` class, if any."""
    found = [int(m.group(1)) for c in classes if (m := LEVEL.match(c))]
    return found[0] if found else None


def chapter_number(docname: str) -> int | None:
    """``chapters/06_olmo_injection`` -> 6; None for a page without a numbered name."""
    m = re.match(r"(?:.*/)?(\d+)_", docname)
    return int(m.group(1)) if m else None


def _boxes(doctree: nodes.Node):
    """(kind, node) of every sphinx-proof and sphinx-exercise box, in document order."""
    from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node
    from sphinx_proof.nodes import NODE_TYPES, unenumerable_node

    proof_classes = (*NODE_TYPES.values(), unenumerable_node)
    for node in doctree.findall(nodes.Element):
        if isinstance(node, (exercise_enumerable_node, exercise_node)):
            yield EXERCISE, node
        elif isinstance(node, proof_classes) and node.get("label"):
            yield "proof", node


def collect(app: Any, doctree: nodes.document) -> None:
    """``doctree-read``: record every box's kind, title, paper number and difficulty."""
    env = app.env
    records: dict[str, dict[str, Any]] = {}
    for kind, node in _boxes(doctree):
        classes = list(node.get("classes", []))
        title = node.children[0].astext() if node.children else ""
        if kind == EXERCISE:
            records[node["label"]] = {
                "type": EXERCISE, "realtype": EXERCISE, "title": title, "paper": None,
                "numbered": "enumerable" in type(node).__name__,
                "difficulty": difficulty_of(classes)}
            level = records[node["label"]]["difficulty"]
            if level is not None and level not in DIFFICULTY:
                LOGGER.warning(f"exercise {node['label']}: difficulty-{level} is not one of "
                               f"{', '.join(f'difficulty-{k}' for k in DIFFICULTY)}",
                               location=node)
        else:
            records[node["label"]] = {
                "type": node.get("countertype", node.get("realtype")),
                "realtype": node.get("realtype"), "title": title.strip(),
                "paper": paper_number_of(classes),
                "numbered": "unenumerable" not in type(node).__name__, "difficulty": None}
    if not hasattr(env, "rtr_boxes"):
        env.rtr_boxes = {}
    env.rtr_boxes[env.docname] = records


def purge(app: Any, env: Any, docname: str) -> None:
    """``env-purge-doc``."""
    getattr(env, "rtr_boxes", {}).pop(docname, None)


def merge(app: Any, env: Any, docnames: set[str], other: Any) -> None:
    """``env-merge-info`` (parallel reads)."""
    if not hasattr(env, "rtr_boxes"):
        env.rtr_boxes = {}
    env.rtr_boxes.update({d: r for d, r in getattr(other, "rtr_boxes", {}).items()
                          if d in docnames})


def renumber(app: Any, env: Any) -> list[str]:
    """``env-get-updated`` (after Sphinx numbered the boxes across the book): paper numbers
    for the paper's results, per-chapter numbers for everything else. Every page is rewritten,
    since references on one page show numbers of another."""
    records = getattr(env, "rtr_boxes", {})
    seen: dict[tuple[str, int], str] = {}
    for docname, figtypes in env.toc_fignumbers.items():
        boxes = records.get(docname, {})
        chapter = chapter_number(docname)
        counters: Counter[str] = Counter()
        for figtype, ids in figtypes.items():
            if not any(b["type"] == figtype for b in boxes.values()):
                continue
            for label in sorted(ids, key=ids.get):
                box = boxes.get(label, {})
                if box.get("paper") is not None:
                    key = (box["realtype"], box["paper"])
                    if key in seen and seen[key] != label:
                        LOGGER.warning(f"{label} and {seen[key]} both claim the paper's "
                                       f"{key[0]} {key[1]}")
                    seen[key] = label
                    ids[label] = (box["paper"],)
                else:
                    counters[figtype] += 1
                    ids[label] = ((chapter, counters[figtype]) if chapter is not None
                                  else (counters[figtype],))
    return sorted(env.found_docs)


def stars(level: int) -> str:
    """``2`` -> '★★☆' (out of the highest level)."""
    return "★" * level + "☆" * (max(DIFFICULTY) - level)


class DifficultyMarks(SphinxPostTransform):
    """After sphinx-exercise has built its titles: the difficulty after each exercise's title."""

    default_priority = 25

    def run(self, **kwargs: Any) -> None:
        for kind, node in _boxes(self.document):
            level = difficulty_of(list(node.get("classes", [])))
            if kind != EXERCISE or level not in DIFFICULTY or not node.children:
                continue
            title = node.children[0]
            words = f"difficulty {level} of {max(DIFFICULTY)}: {DIFFICULTY[level]}"
            if self.app.builder.format == "html":
                title += nodes.raw("", f' <span class="rtr-difficulty" role="img" '
                                       f'aria-label="{words}" title="{words}">{stars(level)}'
                                       "</span>", format="html")
            else:
                title += nodes.Text(f" [{stars(level)}]")


class BookProofIndex(Index):
    """The proof index: each definition and result by its number and title, grouped by page
    (instead of sphinx-proof's raw labels)."""

    name = "prf"
    localname = "Definitions and results"
    shortname = "Definitions and results"

    def generate(self, docnames: Any = None) -> tuple[list[tuple[str, list[IndexEntry]]], bool]:
        env = self.domain.env
        content = []
        for docname in sorted(getattr(env, "rtr_boxes", {})):
            numbers = env.toc_fignumbers.get(docname, {})
            entries = []
            for label, box in env.rtr_boxes[docname].items():
                if box["type"] == EXERCISE:
                    continue
                number = ".".join(map(str, numbers.get(box["type"], {}).get(label, ())))
                name = " ".join(p for p in (box["realtype"].title(), number) if p)
                if box["title"]:
                    name += " " + box["title"]
                entries.append(IndexEntry(name, 0, docname, label, "", "", ""))
            if entries:
                title = env.titles[docname].astext() if docname in env.titles else docname
                content.append((title, entries))
        return content, False
