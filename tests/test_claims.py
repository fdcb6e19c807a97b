"""The claim machinery: registry validation, three verdicts, enforcement, the ledger page."""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from rtrlib.claims.ledger import ledger_rows, registry_problems, render_ledger
from rtrlib.claims.registry import (
    Criterion,
    entry_commits,
    load_registry,
    parse_registry,
)
from rtrlib.claims.verdict import evaluate, judge
from rtrlib.params import ParameterError

CLAIM = textwrap.dedent("""\
    - id: demo-claim
      chapter: 01_alpha
      source: paper
      kind: claim
      paper_ref: Theorem 3
      statement: wider models keep more features
      metric: fraction kept
      criterion: {op: ">=", threshold: 0.9}
      control: frequency-order null model
      seeds: [0, 1, 2]
    - id: demo-check
      chapter: 01_alpha
      source: book
      kind: check
      paper_ref: Eq. 1
      statement: the frontier has exponent alpha
    """)


def spec():
    return parse_registry(CLAIM)["demo-claim"]


def test_the_real_registry_is_valid_and_every_claim_has_a_falsifiability_test() -> None:
    reg = load_registry()
    tests = "\n".join(p.read_text() for p in Path(__file__).parent.rglob("*.py"))
    marked = set(re.findall(r"falsifies\(\s*[\"']([^\"']+)[\"']", tests))
    missing = [cid for cid, s in reg.items() if s.kind == "claim" and cid not in marked]
    assert not missing, f"claims without a falsifiability test: {missing}"
    assert not marked - set(reg) - {"demo-claim"}, "tests name claims that are not registered"


@pytest.mark.parametrize("edit, field", [
    (("source: paper", "source: blog"), "demo-claim.source"),
    (("kind: claim", "kind: hunch"), "demo-claim.kind"),
    (("seeds: [0, 1, 2]", "seeds: [0, 1]"), "demo-claim.seeds"),
    (("seeds: [0, 1, 2]", "seeds: [0, 0, 1]"), "demo-claim.seeds"),
    (('{op: ">=", threshold: 0.9}', '{op: "~", threshold: 0.9}'), "criterion.op"),
    (("control: frequency-order null model", "control: ''"), "demo-claim.control"),
    (("statement: the frontier", "seeds: [1, 2, 3]\n  statement: the frontier"),
     "demo-check.seeds"),
    (("paper_ref: Theorem 3", "paper_ref: Theorem 3\n  colour: red"), "colour"),
])
def test_bad_registry_entries_are_refused_naming_the_field(edit, field) -> None:
    with pytest.raises(ParameterError, match=re.escape(field)):
        parse_registry(CLAIM.replace(*edit))
    with pytest.raises(ParameterError, match="unique id"):
        parse_registry(CLAIM + CLAIM)


@pytest.mark.parametrize("op, lo, hi, verdict", [
    (">=", 0.92, 0.97, "reproduced"), (">=", 0.85, 0.95, "inconclusive"),
    (">=", 0.5, 0.8, "not reproduced"), ("<=", 0.1, 0.2, "reproduced"),
    ("<=", 0.2, 0.4, "inconclusive"), ("<", 0.5, 0.6, "not reproduced"),
    (">", 0.9, 0.95, "inconclusive"),  # the unfavourable end sits on the threshold
])
def test_verdict_reads_the_unfavourable_end_of_the_interval(op, lo, hi, verdict) -> None:
    thr = 0.9 if op.startswith(">") else 0.3 if op == "<=" else 0.5
    assert judge(Criterion(op, thr), lo, hi) == verdict


def test_evaluate_needs_three_seeds_and_a_control_that_fails() -> None:
    s = spec()
    assert evaluate(s, [0.95, 0.93, 0.97], [0.5, 0.6, 0.7]).verdict == "reproduced"
    out = evaluate(s, [0.95, 0.93], [0.5])
    assert out.verdict == "inconclusive" and "seed" in out.reason
    assert evaluate(s, [0.5], [0.1]).verdict == "inconclusive"   # too few seeds either way
    out = evaluate(s, [0.95, 0.93, 0.97], [0.91, 0.92, 0.95])   # the null also passes
    assert out.verdict == "inconclusive" and "control" in out.reason
    assert evaluate(s, [0.5, 0.6, 0.95], [0.1]).verdict == "inconclusive"
    assert evaluate(s, [0.5, 0.6, 0.7], [0.1]).verdict == "not reproduced"
    assert evaluate(s, [float("nan")] * 3, [0.1]).verdict == "inconclusive"
    out = evaluate(s, [0.95] * 3, [0.5] * 3, ci=(0.8, 0.99))
    assert out.verdict == "inconclusive" and (out.lo, out.hi) == (0.8, 0.99)


@pytest.mark.falsifies("demo-claim")
def test_a_falsifiability_test_looks_like_this() -> None:
    """Feed the criterion its control outcome: the verdict must not be 'reproduced'."""
    assert evaluate(spec(), [0.5, 0.55, 0.6], [0.5, 0.55, 0.6]).verdict != "reproduced"


def test_registry_problems_enforce_exactly_the_registered_claims() -> None:
    reg = parse_registry(CLAIM)
    ok = [{"id": "demo-claim", "seeds": [2, 1, 0]}, {"id": "demo-check"}]
    assert registry_problems("01_alpha", ok, reg, "cpu") == []
    probs = registry_problems("01_alpha", [{"id": "demo-claim", "seeds": [0]},
                                           {"id": "other"}, {"name": "legacy"}], reg, "cpu")
    text = "\n".join(probs)
    assert "read seeds [0]" in text and "'other' is not registered" in text
    assert "legacy" in text and "'demo-check' was not recorded" in text
    assert registry_problems("01_alpha", [{"id": "demo-claim", "seeds": [0]},
                                          {"id": "demo-check"}], reg, "smoke") == []
    assert "more than once" in "\n".join(registry_problems("01_alpha", ok + ok, reg, "cpu"))


def test_entry_commits_name_the_commit_that_last_changed_each_entry(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    (tmp_path / "chapters").mkdir()
    reg = tmp_path / "chapters" / "claims.yaml"
    reg.write_text(CLAIM)
    git("add", "-A")
    git("commit", "-qm", "register")
    first = git("rev-parse", "--short", "HEAD")
    reg.write_text(CLAIM.replace("threshold: 0.9", "threshold: 0.8"))
    git("commit", "-qam", "lower the bar, because ...")
    second = git("rev-parse", "--short", "HEAD")
    assert entry_commits(tmp_path) == {"demo-claim": second, "demo-check": first}
    reg.write_text(CLAIM)
    assert entry_commits(tmp_path)["demo-claim"] == "uncommitted"
    # an entry registered on a branch keeps its branch commit after a merge
    git("checkout", "-q", "--", "chapters/claims.yaml")
    git("checkout", "-qb", "side")
    extra = CLAIM.split("- id: demo-check")[1]
    reg.write_text("- id: side-check" + extra + reg.read_text())
    git("commit", "-qam", "register side-check on a branch")
    side = git("rev-parse", "--short", "HEAD")
    git("checkout", "-q", "-")
    reg.write_text(reg.read_text().replace("statement: the frontier has exponent alpha",
                                           "statement: the frontier's exponent is alpha"))
    git("commit", "-qam", "reword demo-check")
    git("merge", "-q", "--no-edit", "side")
    assert entry_commits(tmp_path)["side-check"] == side


def test_ledger_page_counts_paper_book_and_checks_apart() -> None:
    entries = [
        {"id": "a", "chapter": "01_alpha", "source": "paper", "kind": "claim", "paper_ref": "T3",
         "statement": "s", "criterion": "m >= 0.9", "control": "null", "control_value": 0.5,
         "measured": 0.95, "interval": [0.93, 0.97], "n_seeds": 3, "verdict": "reproduced"},
        {"id": "b", "chapter": "01_alpha", "source": "book", "kind": "claim", "paper_ref": "-",
         "statement": "s", "criterion": "m >= 0.9", "control": "null", "control_value": 0.5,
         "measured": 0.8, "interval": [0.7, 0.95], "n_seeds": 3, "verdict": "inconclusive"},
        {"id": "c", "chapter": "01_alpha", "source": "book", "kind": "check", "paper_ref": "-",
         "statement": "s", "criterion": "verified symbolically", "verdict": "verified"},
    ]
    rows = ledger_rows(entries, {"a": "abc1234"})
    assert rows[0]["registry_commit"] == "abc1234" and rows[2]["registry_commit"] == "unknown"
    assert rows[2]["measured"] is None and rows[2]["n_seeds"] == 0
    page = render_ledger(rows, "cpu")
    assert "The paper's claims (1):** **1** reproduced, **0** inconclusive" in page
    assert "The book's own findings (1):** **0** reproduced, **1** inconclusive" in page
    assert "Derivations checked (1):** **1** verified, **0** failed" in page
    # the verdict is the first column of every table, so it is never scrolled out of view
    assert all(t.split("<th scope=\"col\">")[1].startswith("verdict")
               for t in page.split("<table")[1:])


@pytest.mark.parametrize("missing", [float("nan"), None, "nan"])
def test_a_measurement_that_did_not_come_out_reads_n_a_in_the_ledger(missing) -> None:
    """A seed with no value (a NaN mean, as a notebook's JSON may hand it back) is n/a, not a
    crash of the book build."""
    entry = {"id": "a", "chapter": "01_alpha", "source": "paper", "kind": "claim",
             "paper_ref": "T3", "statement": "s", "criterion": "m >= 0.5", "control": "null",
             "control_value": missing, "measured": missing, "interval": [missing, missing],
             "n_seeds": 3, "verdict": "inconclusive"}
    page = render_ledger(ledger_rows([entry], {}), "cpu")
    assert "n/a" in page and "inconclusive" in page
