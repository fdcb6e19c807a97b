"""What a reader takes away from a chapter page: the executed notebook (standard ``python3``
kernel, a first cell that says how to install what it needs and checks it), the chapter's MyST
source, and, when ``_config.yml`` names a public repository, Colab and Binder launch buttons.

``_config.yml``::

    repository:
      url: ""                    # e.g. https://github.com/<org>/<repo>: launch buttons on
      branch: main               # the branch the notebooks' first cell installs rtrlib from
      published_branch: gh-pages # where the built HTML is published (its _sources/ folder
                                 # holds the executed notebooks that Colab and Binder open)

Without a URL nothing on a page points outside the book and the first cell installs nothing.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from rtrlib.book.errors import BookError

__all__ = ["KERNELSPEC", "Repository", "launch_config", "portable_notebook", "portable_source",
           "setup_cells"]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
SETUP_TAG = "rtr-setup"  # the cells this module adds (also tagged remove-cell: not on the page)
GITHUB = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+/?$")


@dataclasses.dataclass(frozen=True)
class Repository:
    """The book's public repository, if ``_config.yml`` names one."""

    url: str = ""
    branch: str = "main"
    published_branch: str = "gh-pages"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Repository:
        repo = config.get("repository") or {}
        url = (repo.get("url") or "").strip()
        if url and not GITHUB.match(url):
            raise BookError(f"_config.yml: repository.url {url!r} must be a public GitHub "
                            "repository, https://github.com/<org>/<repo> (Colab opens only "
                            "GitHub), or empty")
        return cls(url.rstrip("/"), repo.get("branch") or "main",
                   repo.get("published_branch") or "gh-pages")


_READ_ME = """\
**Running this notebook yourself.** The book executed it when it was built. To run it again you
need Python 3.11 or newer and the book's library `rtrlib` with the pinned packages it uses.
{how} The next cell checks that `rtrlib` can be imported{what}. The cell tagged `parameters`
below holds the chapter's parameters (the values of the book's `cpu` profile): change them
there."""

_LOCAL = """In a terminal, in the root of the book's source (the folder with `requirements.txt`),
run

    python -m pip install -r requirements.txt
    python -m pip install -e .

then restart this notebook's kernel."""

_CHECK = '''# Set-up check, added by the book's build. It installs nothing.
import importlib.util

if importlib.util.find_spec("rtrlib") is None:
    raise ModuleNotFoundError(
        "this notebook needs the book's library rtrlib. In a terminal, in the root of the "
        "book's source (the folder with requirements.txt), run\\n"
        "    python -m pip install -r requirements.txt\\n"
        "    python -m pip install -e .\\n"
        "then restart the kernel and run this cell again.")
import rtrlib

print(f"rtrlib {rtrlib.__version__} from {rtrlib.__file__}")
'''

_INSTALL = '''# Set-up, added by the book's build: if rtrlib is missing (on Colab or Binder, say),
# install it and its pinned requirements from the book's repository.
import importlib.util
import os
import subprocess
import sys

REPOSITORY, BRANCH = {url!r}, {branch!r}
if importlib.util.find_spec("rtrlib") is None:
    print(f"rtrlib is missing: installing it from {{REPOSITORY}} (branch {{BRANCH}})")
    if not os.path.isdir("rtr-book"):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", BRANCH, REPOSITORY,
                        "rtr-book"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-r", "rtr-book/requirements.txt"],
                   check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-e", "rtr-book"],
                   check=True)
    sys.path.insert(0, os.path.abspath("rtr-book"))
import rtrlib

print(f"rtrlib {{rtrlib.__version__}} from {{rtrlib.__file__}}")
'''


def setup_cells(repo: Repository) -> list[Any]:
    """The two cells put first in a downloaded notebook: what to install and how (markdown),
    then a code cell that checks it (or, with a repository, installs it from there)."""
    import nbformat

    if repo.url:
        how = (f"If `rtrlib` is missing (on Colab or Binder, for example), the next cell clones "
               f"{repo.url} (branch `{repo.branch}`) and installs `rtrlib` and the pinned "
               "requirements from it; on your own machine you can instead run, in the root "
               "of a clone, `python -m pip install -r requirements.txt` and "
               "`python -m pip install -e .`.")
        code = _INSTALL.format(url=repo.url, branch=repo.branch)
        what = " (installing it first if needed)"
    else:
        how, code, what = _LOCAL, _CHECK, " and says what to run if not"
    tags = ["remove-cell", SETUP_TAG]
    return [nbformat.v4.new_markdown_cell(_READ_ME.format(how=how, what=what),
                                          metadata={"tags": list(tags)}),
            nbformat.v4.new_code_cell(code, metadata={"tags": list(tags)})]


def portable_notebook(nb: Any, repo: Repository) -> Any:
    """An executed chapter as a reader downloads it: the standard ``python3`` kernel, the set-up
    cells first (removed from the rendered page), no saved ipywidgets state (stale without a
    kernel, and a copy of every figure it showed). Modifies and returns ``nb``."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("widgets", None)
    nb.cells = [c for c in nb.cells if SETUP_TAG not in c.metadata.get("tags", [])]
    nb.cells[:0] = setup_cells(repo)
    return nb


_KERNELSPEC_BLOCK = re.compile(r"^kernelspec:\n(?:[ \t]+\S.*\n)*", re.M)


def portable_source(text: str) -> str:
    """A chapter's MyST source as a reader downloads it: its jupytext header names the standard
    ``python3`` kernel (the book's own ``rtr-book`` kernel exists only where ``make setup`` ran).
    """
    block = "kernelspec:\n" + "".join(f"  {k}: {v}\n" for k, v in KERNELSPEC.items())
    if text.startswith("---\n") and (end := text.find("\n---", 4)) > 0:
        head = text[:end + 1]
        return _KERNELSPEC_BLOCK.sub(lambda _: block, head, count=1) + text[end + 1:]
    return text


def launch_config(config: dict[str, Any], repo: Repository) -> None:
    """Set the staged ``_config.yml``'s repository and launch buttons: Colab and Binder open the
    executed notebook published on ``repo.published_branch`` (``_sources/<page>.ipynb``) when
    there is a repository; otherwise no launch provider, no repository and no thebe."""
    launch = dict(config.get("launch_buttons") or {})
    launch["thebe"] = False
    if repo.url:
        config["repository"] = {"url": repo.url, "branch": repo.published_branch,
                                "path_to_book": "_sources"}
        launch["colab_url"] = launch.get("colab_url") or "https://colab.research.google.com"
        launch["binderhub_url"] = launch.get("binderhub_url") or "https://mybinder.org"
    else:
        config.pop("repository", None)
        for key in ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url",
                    "jupyterlite_url"):
            launch[key] = ""
        html = config.setdefault("html", {})
        for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
            html[key] = False
    config["launch_buttons"] = launch
