"""Shared fixtures: a tiny throw-away book for runner tests; the smoke build of the book."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from rtrlib.book import ROOT

HEADER = textwrap.dedent("""\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: rtr-book (Python 3)
      language: python
      name: rtr-book
    ---
    """)


def chapter_source(title: str, body: str, params: str = "n = 2") -> str:
    """A minimal chapter: header, title, parameters cell, then ``body`` (MyST)."""
    return (HEADER + f"\n# {title}\n\n```{{code-cell}} ipython3\n:tags: [parameters]\n\n"
            f'profile = "cpu"\ndevice = "cpu"\nseed = 0\n{params}\n```\n\n' + body)


@pytest.fixture
def fake_book(tmp_path: Path) -> Path:
    """A copy of the real book's configuration and front matter with two tiny chapters."""
    root = tmp_path / "book_root"
    root.mkdir()
    shutil.copy(ROOT / "_config.yml", root / "_config.yml")
    shutil.copytree(ROOT / "book", root / "book")
    (root / "chapters").mkdir()
    (root / "_toc.yml").write_text(textwrap.dedent("""\
        format: jb-book
        root: book/intro
        parts:
          - caption: Front matter
            chapters:
              - file: book/how_to_use
              - file: book/claim_ledger
              - file: book/instructors
          - caption: Chapters
            chapters:
              - file: chapters/01_alpha
              - file: chapters/02_beta
        #     - file: chapters/03_commented_out
          - caption: Back matter
            chapters:
              - file: book/execution_report
              - file: book/bibliography
        """))
    (root / "chapters" / "profiles.yaml").write_text(textwrap.dedent("""\
        smoke: {device: cpu, chapters: {01_alpha: {n: 3}}}
        cpu: {device: cpu, chapters: {}}
        gpu: {device: cuda, chapters: {}}
        paper: {device: cuda, chapters: {}}
        """))
    (root / "chapters" / "01_alpha.md").write_text(chapter_source("Alpha", textwrap.dedent("""\
        ```{code-cell} ipython3
        from myst_nb import glue
        from rtrlib.claims import record
        glue("alpha_n", n, display=False)
        record("alpha-even", values=[n % 2 == 0] * 3, control=[0.0], seeds=[0, 1, 2],
               detail=f"n = {n}")
        ```

        The run used n = {glue:text}`alpha_n`, and $n^2 \\geq 0$.

        :::{exercise}
        :label: alpha-ex
        What is n?
        :::

        :::{solution} alpha-ex
        :class: dropdown
        HIDDEN-SOLUTION-TEXT
        :::
        """)))
    (root / "chapters" / "claims.yaml").write_text(textwrap.dedent("""\
        - id: alpha-even
          chapter: 01_alpha
          source: paper
          kind: claim
          paper_ref: Eq. 1
          statement: alpha claim, n is even
          metric: whether n is even
          criterion: {op: ">=", threshold: 1}
          control: an odd n
          seeds: [0, 1, 2]
        """))
    (root / "chapters" / "02_beta.md").write_text(chapter_source("Beta", textwrap.dedent("""\
        ```{code-cell} ipython3
        print("beta", n * 10)
        ```
        """)))
    return root


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real book executed with the smoke profile and rendered in both editions."""
    from rtrlib.book import build

    build_dir = tmp_path_factory.mktemp("smoke_build")
    old = os.environ.get("RTRLIB_CACHE")
    os.environ["RTRLIB_CACHE"] = str(build_dir / "cache")
    try:
        assert build("smoke", build_dir=build_dir, edition="full") == 0
        assert build("smoke", build_dir=build_dir, edition="student") == 0
    finally:
        if old is None:
            os.environ.pop("RTRLIB_CACHE", None)
        else:
            os.environ["RTRLIB_CACHE"] = old
    return build_dir
