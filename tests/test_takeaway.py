"""What a reader takes away: the downloaded notebook's set-up cells, the portable MyST source,
the launch configuration; the pruning of the built HTML; exercise difficulties for the guide."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from rtrlib.book import BookError
from rtrlib.book.pages import exercise_difficulties
from rtrlib.book.sphinx_ext import prune_html
from rtrlib.book.takeaway import (
    KERNELSPEC,
    Repository,
    launch_config,
    portable_notebook,
    portable_source,
    setup_cells,
)

from .conftest import HEADER


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parents[1])


def test_the_check_cell_passes_with_rtrlib_and_says_what_to_install_without() -> None:
    code = setup_cells(Repository())[1].source
    ok = _run(code)
    assert ok.returncode == 0 and ok.stdout.startswith("rtrlib ")
    missing = _run(code.replace('"rtrlib"', '"rtrlib_not_installed"'))
    assert missing.returncode != 0
    assert "pip install -r requirements.txt" in missing.stderr
    assert "pip install -e ." in missing.stderr and "restart the kernel" in missing.stderr


def test_with_a_repository_the_set_up_cell_installs_from_it_only_if_needed() -> None:
    repo = Repository("https://github.com/example/rtr-book", "dev")
    text, code = (c.source for c in setup_cells(repo))
    assert "https://github.com/example/rtr-book" in text and "`dev`" in text
    assert "git\", \"clone\"" in code and "requirements.txt" in code
    compile(code, "setup", "exec")
    ok = _run(code)  # rtrlib is importable here: nothing is cloned or installed
    assert ok.returncode == 0 and "installing" not in ok.stdout


def test_portable_notebook_has_python3_kernel_and_set_up_cells_once() -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata.update({"kernelspec": {"name": "rtr-book", "display_name": "rtr-book"},
                        "widgets": {}})
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1")]
    nb = portable_notebook(portable_notebook(nb, Repository()), Repository())
    nbformat.validate(nb)
    assert nb.metadata.kernelspec == KERNELSPEC and "widgets" not in nb.metadata
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "markdown", "code"]
    assert all("remove-cell" in c.metadata.tags for c in nb.cells[:2])


def test_portable_source_names_the_python3_kernel_and_keeps_the_rest() -> None:
    text = HEADER + "\n# Title\n\nkernelspec: not the header\n"
    out = portable_source(text)
    head, body = out.split("\n---\n", 1)
    assert "name: python3" in head and "rtr-book" not in head
    assert "format_name: myst" in head and body == text.split("\n---\n", 1)[1]
    assert portable_source("no header\n") == "no header\n"


def test_launch_config() -> None:
    config = {"launch_buttons": {"binderhub_url": "https://mybinder.org", "thebe": True},
              "repository": {"url": ""}}
    launch_config(config, Repository())
    assert "repository" not in config and not config["launch_buttons"]["binderhub_url"]
    assert config["launch_buttons"]["thebe"] is False
    repo = Repository.from_config({"repository": {"url": "https://github.com/o/r/"}})
    assert repo == Repository("https://github.com/o/r", "main", "gh-pages")
    launch_config(config, repo)
    assert config["repository"] == {"url": "https://github.com/o/r", "branch": "gh-pages",
                                    "path_to_book": "_sources"}
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    with pytest.raises(BookError, match="public GitHub"):
        Repository.from_config({"repository": {"url": "https://example.org/o/r"}})


def test_prune_html_keeps_what_pages_load(tmp_path: Path) -> None:
    static = tmp_path / "_static"
    keep = ["mathjax/tex-chtml.js", "mathjax/output/chtml/fonts/woff-v2/MathJax_Main.woff",
            "mathjax/input/tex/extensions/boldsymbol.js", "scripts/app.js", "styles/app.css"]
    drop = ["mathjax/tex-svg.js", "mathjax/sre/mathmaps/en.json", "scripts/app.js.map",
            "locales/de/LC_MESSAGES/booktheme.mo", "sphinx-thebe.js"]
    for rel in keep + drop:
        (static / rel).parent.mkdir(parents=True, exist_ok=True)
        (static / rel).write_text("x")
    (static / "scripts/app.js").write_text("code();\n//# sourceMappingURL=app.js.map")
    (static / "styles/app.css").write_text("a{}\n/*# sourceMappingURL=app.css.map*/")
    assert prune_html(tmp_path) == 5
    assert sorted(p.relative_to(static).as_posix() for p in static.rglob("*")
                  if p.is_file()) == sorted(keep)
    assert (static / "scripts/app.js").read_text() == "code();"
    assert (static / "styles/app.css").read_text() == "a{}"
    assert not (static / "locales").exists() and not (static / "mathjax/sre").exists()


def test_exercise_difficulties_are_read_from_the_class_option() -> None:
    source = textwrap.dedent("""\
        :::{exercise} One
        :label: e1
        :class: difficulty-2
        Q
        :::

        ::::{exercise}
        :label: e2
        Q
        ::::

        :::{exercise}
        :class: dropdown difficulty-3
        Q
        :::
        """)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source),
                                         nbformat.v4.new_code_cell(":::{exercise}\n")])
    assert exercise_difficulties(nb) == [2, None, 3]
