"""The book runner: profiles, validation, execution, failure reporting, caching, staging."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from rtrlib import book
from rtrlib.book import (
    BookError,
    BuildConfig,
    build,
    chapter_parameters,
    find_solutions,
    load_profiles,
    main,
    pipeline,
    python_blocks,
    strip_solutions,
    toc_chapters,
)

from .conftest import chapter_source


def test_real_toc_and_profiles_are_consistent() -> None:
    chapters = toc_chapters()
    assert chapters and all((book.ROOT / "chapters" / f"{c}.md").exists() for c in chapters)
    profiles = load_profiles()
    assert set(profiles) == {"smoke", "cpu", "gpu", "paper"}
    assert profiles["gpu"]["device"] == "cuda"


def test_real_profiles_only_set_parameters_the_chapters_define() -> None:
    import jupytext

    profiles = load_profiles()
    for chapter in toc_chapters():
        nb = jupytext.read(book.ROOT / "chapters" / f"{chapter}.md", fmt="md:myst")
        for profile in profiles:
            book.check_parameter_names(nb, chapter,
                                       chapter_parameters(profiles, profile, chapter))


def test_toc_ignores_commented_chapters(fake_book: Path) -> None:
    assert toc_chapters(fake_book) == ["01_alpha", "02_beta"]


def test_parameters_merge_profile_and_device_override(fake_book: Path) -> None:
    profiles = load_profiles(fake_book)
    assert chapter_parameters(profiles, "smoke", "01_alpha") == \
        {"profile": "smoke", "device": "cpu", "n": 3}
    assert chapter_parameters(profiles, "gpu", "02_beta")["device"] == "cuda"
    assert chapter_parameters(profiles, "gpu", "02_beta", device="cpu")["device"] == "cpu"


@pytest.mark.parametrize("text, match", [
    ("smoke: {device: cpu}\ncpu: {device: cpu}\n", "exactly smoke, cpu, gpu, paper"),
    ("smoke: {device: tpu}\ncpu: {device: cpu}\ngpu: {device: cuda}\npaper: {device: cuda}\n",
     "valid devices"),
    ("smoke: {device: cpu, chapters: [1]}\ncpu: {device: cpu}\ngpu: {device: cuda}\n"
     "paper: {device: cuda}\n",
     "'chapters' must map"),
])
def test_bad_profiles_file(fake_book: Path, text: str, match: str) -> None:
    (fake_book / "chapters" / "profiles.yaml").write_text(text)
    with pytest.raises(BookError, match=match):
        load_profiles(fake_book)


@pytest.mark.parametrize("kwargs, match", [
    ({"profile": "fast"}, "unknown profile 'fast'; valid profiles: smoke, cpu, gpu, paper"),
    ({"device": "tpu"}, "unknown device 'tpu'; valid devices: cpu, cuda"),
    ({"edition": "teacher"}, "unknown edition 'teacher'; valid editions: full, student"),
    ({"chapters": ["09_nope"]}, "unknown chapter '09_nope'; valid chapters: 01_alpha, 02_beta"),
])
def test_unknown_values_are_one_line_errors(fake_book: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(BookError) as err:
        build(root=fake_book, build_dir=fake_book / "_build", **kwargs)
    assert str(err.value) == match


def test_cli_prints_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--profile", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "valid profiles: smoke, cpu, gpu, paper" in err


@pytest.mark.parametrize("argv, match", [
    (["build", "--device", "tpu"], "error: unknown device 'tpu'; valid devices: cpu, cuda"),
    (["build", "--edition", "teacher"],
     "error: unknown edition 'teacher'; valid editions: full, student"),
    (["build", "--chapters", "09_nope"], "error: unknown chapter '09_nope'; valid chapters: "),
])
def test_cli_unknown_values_are_one_line_errors(
        argv: list[str], match: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(match)
    if "chapters" in argv:
        assert all(c in err for c in toc_chapters())


def test_cli_options_come_from_build_config(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    help_text = capsys.readouterr().out
    for closed_set in ("{smoke,cpu,gpu,paper}", "{cpu,cuda}", "{full,student}"):
        assert closed_set in help_text
    seen = []
    monkeypatch.setattr("rtrlib.book.cli.run_build", lambda cfg: seen.append(cfg) or 0)
    assert main(["build", "--profile", "smoke", "--chapters", "01_power_law", "02_task_mixture",
                 "--build-dir", "out", "--force", "--no-html"]) == 0
    assert seen == [BuildConfig(profile="smoke", chapters=("01_power_law", "02_task_mixture"),
                                build_dir="out", force=True, html=False)]


def test_closed_sets_are_defined_once() -> None:
    from rtrlib import params

    assert book.PROFILES is params.PROFILES and book.DEVICES is params.DEVICES


def test_kernel_gets_the_runtime_thread_settings(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    from rtrlib.book.execute import kernel_environment
    from rtrlib.runtime import thread_environment

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("RTRLIB_THREADS", "3")
    env = kernel_environment(tmp_path, "smoke")
    assert env["OMP_NUM_THREADS"] == "3" and env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert {k: env[k] for k in thread_environment()} == thread_environment()
    # the book's root first, then the rtrlib this runner imports (and whose code the key covers)
    assert env["PYTHONPATH"].split(":")[:2] == [str(tmp_path), str(book.ROOT)]
    assert env["RTRLIB_BOOK_PROFILE"] == "smoke"


def test_profile_with_unknown_parameter_is_refused(fake_book: Path) -> None:
    (fake_book / "chapters" / "profiles.yaml").write_text(
        "smoke: {device: cpu, chapters: {01_alpha: {typo: 1}}}\n"
        "cpu: {device: cpu}\ngpu: {device: cuda}\npaper: {device: cuda}\n")
    with pytest.raises(BookError, match="unknown parameter.*typo"):
        build("smoke", root=fake_book, build_dir=fake_book / "_build", html=False)


def test_dry_run_fails_on_an_unknown_parameter_and_writes_apart(
        fake_book: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (fake_book / "chapters" / "profiles.yaml").write_text(
        "smoke: {device: cpu}\ncpu: {device: cpu}\n"
        "gpu: {device: cuda, chapters: {01_alpha: {typo: 1}}}\npaper: {device: cuda}\n")
    out = fake_book / "_dry"
    assert build("gpu", chapters=["01_alpha"], root=fake_book, build_dir=out,
                 dry_run=True) == 1
    err = capsys.readouterr().err
    assert "01_alpha failed" in err and "typo" in err
    report = json.loads((out / "dry-run.json").read_text())
    assert report["target_device"] == "cuda" and report["chapters"]["01_alpha"]["status"] \
        == "failed"
    assert not (fake_book / "_build").exists()  # nothing written where real builds go


def test_strip_solutions_removes_both_forms_only() -> None:
    text = textwrap.dedent("""\
        before
        :::{exercise}
        :label: e1
        Q
        :::

        ::::{solution} e1
        :class: dropdown
        SECRET ONE
        :::{note}
        nested
        :::
        ::::
        middle
        ```{solution-start} e1
        ```
        SECRET TWO
        ```{solution-end}
        ```
        after
        """)
    out = strip_solutions(text)
    assert "SECRET" not in out and "nested" not in out
    for keep in ("before", ":::{exercise}", "Q", "middle", "after"):
        assert keep in out


def test_find_solutions_labels_both_forms_and_their_python() -> None:
    text = textwrap.dedent("""\
        ::::{solution} e1
        :class: dropdown
        ```python
        x = 1
        ```
        :::{note}
        ```python
        print(x)
        ```
        :::
        ::::
        ```{solution-start} e2
        ```
        ```python
        y = 2
        ```
        ```{solution-end}
        ```
        ```python
        not_a_solution = 3
        ```
        """)
    found = find_solutions(text)
    assert [s.label for s in found] == ["e1", "e2"]
    assert python_blocks(found[0].text) == ["x = 1\n", "print(x)\n"]
    assert python_blocks(found[1].text) == ["y = 2\n"]
    assert strip_solutions(text).strip() == "```python\nnot_a_solution = 3\n```"


def test_execution_failure_report_and_caching(fake_book: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    build_dir = fake_book / "_build"
    (fake_book / "chapters" / "02_beta.md").write_text(chapter_source("Beta", textwrap.dedent("""\
        ```{code-cell} ipython3
        x = 1
        ```

        ```{code-cell} ipython3
        raise ValueError("boom from beta")
        ```
        """)))
    assert build("smoke", root=fake_book, build_dir=build_dir, html=False) == 1
    err = capsys.readouterr().err
    assert "chapter 02_beta failed in cell" in err and "ValueError: boom from beta" in err
    executed = build_dir / "executed" / "smoke"
    alpha = nbformat.read(executed / "01_alpha.ipynb", as_version=4)
    assert alpha.metadata["rtrlib"]["status"] == "ok"
    beta = nbformat.read(executed / "02_beta.ipynb", as_version=4)
    assert beta.metadata["rtrlib"]["status"] == "failed"
    # The injected parameters cell is hidden and holds the profile's values.
    injected = [c for c in alpha.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata["tags"]
    assert "n = 3" in injected[0].source

    # Fix beta; only beta runs again, alpha comes from the cache.
    (fake_book / "chapters" / "02_beta.md").write_text(chapter_source("Beta", "text only\n"))
    runs = {}
    real = pipeline.execute_chapter

    def spy(chapter, *a, **k):
        runs[chapter] = real(chapter, *a, **k)
        return runs[chapter]

    monkeypatch.setattr(pipeline, "execute_chapter", spy)
    assert build("smoke", root=fake_book, build_dir=build_dir, html=False) == 0
    assert runs["01_alpha"].status == "cached" and runs["02_beta"].status == "ok"


def test_html_build_with_report_ledger_and_student_edition(fake_book: Path) -> None:
    build_dir = fake_book / "_build"
    assert build("smoke", root=fake_book, build_dir=build_dir) == 0
    html = build_dir / "html"
    ledger = (html / "book" / "claim_ledger.html").read_text()
    assert "alpha claim" in ledger and "n = 3" in ledger and "not reproduced" in ledger
    rows = json.loads((html / "_static" / "claims.json").read_text())
    assert [(r["id"], r["verdict"], r["registry_commit"]) for r in rows] == \
        [("alpha-even", "not reproduced", "unknown")]
    assert set(rows[0]) >= {"id", "chapter", "source", "kind", "paper_ref", "statement",
                            "criterion", "control", "control_value", "measured", "interval",
                            "n_seeds", "verdict", "registry_commit"}
    report = (html / "book" / "execution_report.html").read_text()
    for word in ("01_alpha", "02_beta", "smoke", "torch", "sympy", "numpy", "rtrlib"):
        assert word in report
    chapter = (html / "chapters" / "01_alpha.html").read_text()
    assert "HIDDEN-SOLUTION-TEXT" in chapter
    assert "The run used n = " in chapter and "tex-chtml.js" in chapter
    assert "cdn.jsdelivr" not in chapter and "mathjax@" not in chapter

    assert build("smoke", root=fake_book, build_dir=build_dir, edition="student") == 0
    student = build_dir / "student" / "html"
    hits = [p for p in student.rglob("*") if p.is_file()
            and b"HIDDEN-SOLUTION-TEXT" in p.read_bytes()]
    assert hits == []
    assert "What is n?" in (student / "chapters" / "01_alpha.html").read_text()


def test_one_chapter_into_a_fresh_build_dir_leaves_the_rest_out(
        fake_book: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_dir = fake_book / "_build"
    assert build("smoke", chapters=["02_beta"], root=fake_book, build_dir=build_dir) == 0
    assert "not executed yet, left out of the HTML: 01_alpha" in capsys.readouterr().err
    assert (build_dir / "html" / "chapters" / "02_beta.html").exists()
    assert not (build_dir / "html" / "chapters" / "01_alpha.html").exists()
    report = (build_dir / "html" / "book" / "execution_report.html").read_text()
    assert "01_alpha" in report and "missing" in report


def _blocks(text: str, directive: str) -> list[str]:
    import re

    return [m.group(0) for m in re.finditer(
        rf"(:{{3,}})\{{{directive}\}}.*?\n\1\n", text, re.S)]


def test_every_chapter_has_a_coding_exercise_calling_rtrlib() -> None:
    for chapter in toc_chapters():
        text = (book.ROOT / "chapters" / f"{chapter}.md").read_text()
        exercises = _blocks(text, "exercise")
        assert len(exercises) >= 3, chapter
        assert any("rtrlib" in e or "theory." in e for e in exercises), chapter
        assert any("rtrlib" in s for s in _blocks(text, "solution")), chapter


def test_every_theorem_links_to_where_it_is_tested() -> None:
    import re

    for chapter in toc_chapters():
        text = (book.ROOT / "chapters" / f"{chapter}.md").read_text()
        for kind in ("theorem", "proposition", "corollary"):
            for m in re.finditer(rf"\{{prf:{kind}\}}[^\n]*\n:label: (\S+)", text):
                label = m.group(1)
                after = text[m.end():m.end() + 4000]
                assert "is tested.**" in after, f"{chapter}: {label} has no 'tested in' links"
                sections = re.findall(r"\{ref\}`([\w-]+)`", after.split("is tested.**")[1]
                                      .split("\n\n")[0])
                assert sections, f"{chapter}: {label} links to no experiment section"
                for sec in sections:
                    owner = sec.split("-")[0]
                    src = next((book.ROOT / "chapters").glob(f"{owner[2:]}_*.md")).read_text()
                    body = src.split(f"({sec})=", 1)[1][:1500]
                    assert f"`{label}`" in body, f"{sec} does not link back to {label}"


def test_a_chapter_whose_claims_differ_from_the_registry_fails(
        fake_book: Path, capsys: pytest.CaptureFixture) -> None:
    reg = fake_book / "chapters" / "claims.yaml"
    reg.write_text(reg.read_text() + textwrap.dedent("""\
        - id: alpha-missing
          chapter: 01_alpha
          source: book
          kind: check
          paper_ref: "-"
          statement: never recorded
        """))
    assert build("smoke", root=fake_book, build_dir=fake_book / "_build", html=False) == 1
    err = capsys.readouterr().err
    assert "chapter 01_alpha failed" in err and "'alpha-missing' was not recorded" in err

