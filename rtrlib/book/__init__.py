"""The book runner: execute every chapter with papermill, then build the HTML with Jupyter Book.

Usage (``python -m rtrlib.book --help``)::

    python -m rtrlib.book build [--profile smoke|cpu|gpu] [--chapters 01_power_law ...]
                                [--device cpu|cuda] [--edition full|student]
                                [--build-dir DIR] [--force] [--no-html]
    python -m rtrlib.book pdf   [the options of build]
    python -m rtrlib.book audit _build/html [_build/student/html]
    python -m rtrlib.book list

Pipeline, one module per step:

1. :mod:`~rtrlib.book.profiles`: the chapters listed in ``_toc.yml`` (MyST text notebooks under
   ``chapters/``) and the parameters ``chapters/profiles.yaml`` sets for each profile.
2. :mod:`~rtrlib.book.execute`: each chapter is converted with jupytext, executed with papermill
   with the profile's parameters injected, and written to
   ``_build/executed/<profile>/<chapter>.ipynb``. The notebook's metadata records the execution
   (profile, device, parameters, wall time, status, versions, git commit) and a key over the
   chapter source, its parameters and the rtrlib code: a chapter whose key has not changed is not
   executed again.
3. :mod:`~rtrlib.book.stage`: the configuration, the front and back matter and the executed
   notebooks are staged into ``_build/stage/<profile>-<edition>/``, with the execution report,
   the claim ledger and the instructors' guide generated there (:mod:`~rtrlib.book.pages`); the
   student edition has every solution removed (:mod:`~rtrlib.book.editions`). Then
   ``jupyter-book build`` renders the staged tree (execution off, warnings as errors) and the HTML
   is copied to ``_build/html`` (full edition) or ``_build/student/html``.

   Jupyter Book loads the book's own Sphinx extension, :mod:`~rtrlib.book.sphinx_ext` (clean
   console, accessible names, download menu, pruned MathJax) with
   :mod:`~rtrlib.book.numbering` (the paper's theorem numbers, per-chapter numbers, exercise
   difficulty); :mod:`~rtrlib.book.takeaway` makes the notebooks and sources a reader downloads
   portable and sets the launch buttons.
4. :mod:`~rtrlib.book.pdf`: ``python -m rtrlib.book pdf`` (``make pdf``) prints every page with
   headless Chromium (:mod:`~rtrlib.book.browser`) into ``_build/pdf/rtr-book.pdf``;
   ``python -m rtrlib.book audit`` (:mod:`~rtrlib.book.audit`) runs axe-core and the width,
   console and request checks the browser test asserts.

:mod:`~rtrlib.book.pipeline` holds :func:`build` (and :class:`BuildConfig`), which runs these
steps; :mod:`~rtrlib.book.cli` the command line derived from :class:`BuildConfig`.
"""

from rtrlib.book.cli import main
from rtrlib.book.editions import EDITIONS, find_solutions, python_blocks, strip_solutions
from rtrlib.book.errors import BookError
from rtrlib.book.execute import (
    META,
    ChapterRun,
    execute_chapter,
    execution_key,
    git_commit,
    versions,
)
from rtrlib.book.pages import (
    collect_ledger,
    render_execution_report,
    render_instructors_guide,
)
from rtrlib.book.pipeline import BuildConfig, build, run_build
from rtrlib.book.profiles import (
    ROOT,
    chapter_parameters,
    check_parameter_names,
    load_profiles,
    toc_chapters,
)
from rtrlib.book.stage import render_html, stage
from rtrlib.params import DEVICES, PROFILES

__all__ = ["DEVICES", "EDITIONS", "META", "PROFILES", "ROOT", "BookError", "BuildConfig",
           "ChapterRun", "build", "chapter_parameters", "check_parameter_names",
           "execute_chapter", "execution_key", "find_solutions", "git_commit", "load_profiles",
           "main", "python_blocks", "collect_ledger", "render_execution_report",
           "render_html", "render_instructors_guide", "run_build", "stage", "strip_solutions",
           "toc_chapters", "versions"]
