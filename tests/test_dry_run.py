"""The dry run's machinery (rtrlib.runtime.DryRun, rtrlib.dry, rtrlib.book.dryrun), and the
whole gpu dry run (its own xdist worker in `make test`)."""

import json

import numpy as np
import pytest

from rtrlib.book.dryrun import dry_parameters, synthetic_corpus
from rtrlib.dry import check_full_step, cover_labels, numeric_spec, rank_rows, skip_to
from rtrlib.params import ParameterError
from rtrlib.runtime import DRY_RUN_ENV, DryRun, dry_run


@pytest.fixture
def dry(monkeypatch):
    d = DryRun(target_device="cuda")
    monkeypatch.setenv(DRY_RUN_ENV, d.environment()[DRY_RUN_ENV])
    return d


def test_dry_run_round_trips_through_the_environment(dry, monkeypatch):
    assert dry_run() == dry
    monkeypatch.setenv(DRY_RUN_ENV, "")
    assert dry_run() is None
    monkeypatch.setenv(DRY_RUN_ENV, "1")
    assert dry_run() == DryRun()


@pytest.mark.parametrize("field,value", [("target_device", "tpu"), ("steps", 0),
                                         ("lm_rows", -1), ("max_step_params", "big")])
def test_dry_run_settings_are_validated(field, value):
    with pytest.raises(ParameterError, match=field):
        DryRun(**{field: value})


def test_loops_skip_only_in_a_dry_run(dry, monkeypatch):
    assert skip_to(1, 1000) == 1  # before the first dry.steps updates: no skip
    assert skip_to(2, 1000) == 1000
    assert skip_to(2, 1000, tail=300) == 700
    assert skip_to(800, 1000, tail=300) == 800  # inside the tail: every update
    monkeypatch.delenv(DRY_RUN_ENV)
    assert skip_to(2, 1000) == 2


def test_rank_rows_put_injected_rows_first(dry, monkeypatch):
    rows = rank_rows(16, 1, 2, injected=[9, 4])
    assert list(rows) == [9, 1][:dry.lm_rows]  # rank 1 owns the odd rows; 9 carries the task
    monkeypatch.delenv(DRY_RUN_ENV)
    assert list(rank_rows(8, 1, 2, injected=[3])) == [1, 3, 5, 7]


def test_cover_labels_keeps_every_label(dry):
    rng = np.random.default_rng(0)
    pairs = np.column_stack([rng.integers(0, 50, 2000), rng.integers(0, 50, 2000),
                             np.arange(2000) % 97])
    sub = cover_labels(pairs)
    assert len(sub) == 97 and set(sub[:, 2]) == set(range(97))  # 97 > eval_rows: one each


def test_full_step_checks_shapes_without_memory_and_large_rungs_step_with_one_block(dry):
    check = check_full_step("1B", 100_352, 8, 4096)  # 1.6 billion parameters, no memory
    assert check.logits_shape == (8, 4096, 100_352)
    assert check.non_embedding > 1e9 and check.total_gib > 20
    spec = numeric_spec("1B", 100_352)
    assert spec.n_layers == 1 and spec.d_model == 2048
    assert numeric_spec("tiny", 512).n_layers == 2  # small rungs step at full size


def test_a_files_corpus_without_files_gets_the_generated_one(tmp_path):
    corpus = synthetic_corpus(tmp_path, n_docs=5, words_per_doc=20)
    lines = corpus.read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(ln)["text"] for ln in lines)
    params, note = dry_parameters({"device": "cuda", "corpus_source": "files",
                                   "corpus_paths": [], "corpus_allow_repeat": False}, corpus)
    assert params["device"] == "cpu" and params["corpus_paths"] == [str(corpus)]
    assert params["corpus_allow_repeat"] is True and "generated corpus" in note
    params, note = dry_parameters({"device": "cuda", "corpus_source": "files",
                                   "corpus_paths": ["/data/dolma/*.jsonl.gz"]}, corpus)
    assert note is None and params["corpus_paths"] == ["/data/dolma/*.jsonl.gz"]


def test_dry_run_is_a_build_flag(monkeypatch):
    from rtrlib.book.cli import main

    seen = []
    monkeypatch.setattr("rtrlib.book.cli.run_build", lambda cfg: seen.append(cfg) or 0)
    assert main(["build", "--profile", "gpu", "--dry-run"]) == 0
    assert seen[0].dry_run and seen[0].profile == "gpu"


def test_explorer_frames_are_built_but_not_drawn_in_a_dry_run(dry):
    from rtrlib.widgets import kernel_free

    seen = []

    def draw(fig, x):
        seen.append(x)
        ax = fig.subplots()
        ax.plot([1, 2], [0, 0])
        ax.set_yscale("log")  # all values <= 0: drawing it would raise

    html = kernel_free(draw, "x", [1, 2, 3])
    assert seen == [1, 2, 3] and "3 frames built, not drawn" in html.data


@pytest.mark.slow
@pytest.mark.xdist_group("gpu_dry_run")  # minutes: its own worker, beside the smoke book
def test_the_gpu_profile_dry_run_passes_within_this_machine(tmp_path):
    """`python -m rtrlib.book build --profile gpu --dry-run`: every chapter with the GPU
    runners' parameters, a couple of steps per run, on CPU; it must pass and fit 24 GiB."""
    import subprocess
    import sys

    from rtrlib.book import ROOT

    out = tmp_path / "dry"
    proc = subprocess.run([sys.executable, "-m", "rtrlib.book", "build", "--profile", "gpu",
                           "--dry-run", "--build-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads((out / "dry-run.json").read_text())
    assert {c["status"] for c in report["chapters"].values()} == {"ok"}, report["chapters"]
    assert "registry_error" not in report
    assert 0 < report["peak_rss_gib"] < 24, report["peak_rss_gib"]
    print(f"gpu dry run: {report['seconds']:.0f} s, peak memory {report['peak_rss_gib']:.2f} "
          "GiB", file=sys.stderr)
