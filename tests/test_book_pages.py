"""The built pages a reader follows and takes away (issue 13), on the fake book: numbering
(the paper's numbers, per-chapter numbers, difficulty), launch buttons only with a public
repository, the whole-book PDF linked once built, edition-aware front matter."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest

from rtrlib.book import BookError, BuildConfig, build

from .conftest import chapter_source

NUMBERED = textwrap.dedent("""\
    :::{prf:theorem} Utility ranking
    :label: alpha-thm
    :class: paper-number-3
    A statement.
    :::

    :::{prf:proposition} A result of this book
    :label: alpha-prop
    Another statement.
    :::

    See {prf:ref}`alpha-thm` and {prf:ref}`alpha-prop`.

    :::{exercise} Easy one
    :label: alpha-ex1
    :class: difficulty-1
    Q1
    :::

    :::{exercise}
    :label: alpha-ex2
    Q2
    :::
    """)


def _write_chapter(fake_book: Path, name: str, title: str, body: str) -> None:
    (fake_book / "chapters" / f"{name}.md").write_text(chapter_source(title, body))


def test_numbering_paper_numbers_per_chapter_exercises_and_difficulty(fake_book: Path) -> None:
    _write_chapter(fake_book, "02_beta", "Beta", NUMBERED.replace("alpha-", "beta-"))
    assert build("smoke", root=fake_book, build_dir=fake_book / "_build") == 0
    html = fake_book / "_build" / "html"
    beta = (html / "chapters" / "02_beta.html").read_text()
    assert "Theorem 3 </span>" in beta and "Proposition 2.1 </span>" in beta
    assert ">Theorem 3</a>" in beta and ">Proposition 2.1</a>" in beta  # references agree
    assert "Exercise 2.1 </span>" in beta and "Exercise 2.2 </span>" in beta
    assert 'aria-label="difficulty 1 of 3' in beta and beta.count("rtr-difficulty") == 1
    alpha = (html / "chapters" / "01_alpha.html").read_text()
    assert "Exercise 1.1 </span>" in alpha  # numbered per chapter, not across the book
    index = (html / "prf-prf.html").read_text()
    assert "Theorem 3 (Utility ranking)" in index and "Proposition 2.1 (A result" in index
    assert ">beta-thm<" not in index and ">beta-prop<" not in index
    guide = (html / "book" / "instructors.html").read_text()
    assert "2: 1 of difficulty 1, 1 not yet marked" in guide
    assert "difficulty 3</strong>" in guide  # the legend, from rtrlib.book.numbering


def test_two_results_claiming_one_paper_number_fail_the_build(fake_book: Path) -> None:
    twice = NUMBERED + NUMBERED.replace("alpha-", "again-")
    _write_chapter(fake_book, "02_beta", "Beta", twice)
    with pytest.raises(BookError, match="both claim the paper's theorem 3"):
        build("smoke", root=fake_book, build_dir=fake_book / "_build")


def _setup_cell(html: Path, chapter: str = "01_alpha") -> str:
    nb = nbformat.read(html / "_sources" / "chapters" / f"{chapter}.ipynb", as_version=4)
    return nb.cells[1].source


def test_launch_buttons_only_with_a_public_repository(fake_book: Path) -> None:
    build_dir = fake_book / "_build"
    assert build("smoke", root=fake_book, build_dir=build_dir) == 0
    html = build_dir / "html"
    page = (html / "chapters" / "01_alpha.html").read_text()
    for outside in ("colab", "mybinder", "launch-buttons", "thebe", "github.com", "unpkg"):
        assert outside not in page.lower(), outside
    assert "It installs nothing" in _setup_cell(html)

    url = "https://github.com/example/rtr-book"
    config = (fake_book / "_config.yml").read_text()
    (fake_book / "_config.yml").write_text(config.replace('url: ""', f'url: "{url}"'))
    assert build("smoke", root=fake_book, build_dir=build_dir) == 0
    page = (html / "chapters" / "01_alpha.html").read_text()
    notebook = "_sources/chapters/01_alpha.ipynb"
    assert f"https://colab.research.google.com/github/example/rtr-book/blob/gh-pages/{notebook}" \
        in page
    assert f"https://mybinder.org/v2/gh/example/rtr-book/gh-pages?urlpath=tree/{notebook}" in page
    assert "thebe" not in page.lower()
    assert f"REPOSITORY, BRANCH = '{url}', 'main'" in _setup_cell(html)

    (fake_book / "_config.yml").write_text(config.replace('url: ""', 'url: "ftp://nowhere"'))
    with pytest.raises(BookError, match="must be a public GitHub repository"):
        build("smoke", root=fake_book, build_dir=build_dir)


def test_the_book_pdf_is_linked_once_built(fake_book: Path) -> None:
    build_dir = fake_book / "_build"
    assert build("smoke", root=fake_book, build_dir=build_dir) == 0
    html = build_dir / "html"
    assert "_build/pdf/rtr-book.pdf" in (html / "book" / "intro.html").read_text()
    assert "download-book-pdf-button" not in (html / "chapters" / "01_alpha.html").read_text()
    (build_dir / "pdf").mkdir()
    (build_dir / "pdf" / "rtr-book.pdf").write_bytes(b"%PDF-1.4 stand-in")
    assert build("smoke", root=fake_book, build_dir=build_dir) == 0
    assert (html / "rtr-book.pdf").read_bytes() == b"%PDF-1.4 stand-in"
    assert 'href="../rtr-book.pdf"' in (html / "book" / "intro.html").read_text()
    chapter = (html / "chapters" / "01_alpha.html").read_text()
    assert "download-book-pdf-button" in chapter and 'href="../rtr-book.pdf"' in chapter
    assert build("smoke", root=fake_book, build_dir=build_dir, edition="student") == 0
    student = build_dir / "student" / "html"  # the full edition's PDF has the solutions
    assert not (student / "rtr-book.pdf").exists()
    assert "rtr-book.pdf" not in (student / "book" / "intro.html").read_text()


def test_front_matter_says_what_each_edition_holds(fake_book: Path) -> None:
    build_dir = fake_book / "_build"
    assert build("smoke", root=fake_book, build_dir=build_dir) == 0
    assert build("smoke", root=fake_book, build_dir=build_dir, edition="student") == 0
    full = (build_dir / "html" / "book" / "how_to_use.html").read_text()
    student = (build_dir / "student" / "html" / "book" / "how_to_use.html").read_text()
    assert "In this edition each exercise’s solution folds into a dropdown" in full
    assert "This is the <em>student edition</em>" in student
    assert "In this edition each exercise" not in student


@pytest.mark.slow
@pytest.mark.browser
def test_make_pdf_prints_the_book_and_links_it(fake_book: Path) -> None:
    from pypdf import PdfReader

    from rtrlib.book.browser import chromium_path
    from rtrlib.book.pdf import make_pdf

    if chromium_path() is None:
        pytest.skip("Chromium not found")
    build_dir = fake_book / "_build"
    assert make_pdf(BuildConfig("smoke", build_dir=str(build_dir)), root=fake_book) == 0
    pdf = PdfReader(build_dir / "pdf" / "rtr-book.pdf")
    titles = [o.title for o in pdf.outline]
    assert titles[:3] == ["Why larger models learn more: a re-executable companion",
                          "How to use this book", "Claim ledger"]
    assert {"Alpha", "Beta"} <= set(titles)
    text = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    assert "alpha claim, n is even" in text and "HIDDEN-SOLUTION-TEXT" in text
    assert (build_dir / "html" / "rtr-book.pdf").exists()
    assert 'href="../rtr-book.pdf"' in (build_dir / "html" / "book" / "intro.html").read_text()
