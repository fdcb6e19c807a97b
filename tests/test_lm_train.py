"""Training: determinism, exact resume after a kill, the ladder cache, and 2-rank torchrun."""

import ast
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rtrlib.lm.config import EvaluationConfig, OLMoRunConfig, TextDataConfig
from rtrlib.lm.corpus import CorpusConfig
from rtrlib.lm.injection import InjectionSchedule
from rtrlib.lm.ladder import LadderConfig, run_injection_ladder, train_ladders
from rtrlib.lm.summaries import final_metrics
from rtrlib.lm.tokenizer import TokenizerConfig, load_token_data
from rtrlib.lm.train import run_key, train_run
from rtrlib.params import ParameterError
from rtrlib.store import CHECKPOINT_SUFFIX, Store

REPO = Path(__file__).resolve().parent.parent


def _write_text(path: Path) -> Path:
    """Small local background text: docstrings of a few stdlib modules."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts = []
    for name in ("argparse.py", "collections/__init__.py", "json/__init__.py", "pathlib.py",
                 "subprocess.py", "typing.py", "dataclasses.py"):
        for node in ast.walk(ast.parse((root / name).read_text())):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    parts.append(doc)
    path.write_text("\n\n".join(parts))
    return path


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return _write_text(tmp_path_factory.mktemp("lm") / "text.txt")


def _data(text: Path) -> TextDataConfig:
    corpus = CorpusConfig(source="files", paths=(str(text),))
    return TextDataConfig(tokenizer=TokenizerConfig(corpus=corpus, vocab_size=512))


def _cfg(text: Path, grad_every: int = 0, **kw) -> OLMoRunConfig:
    return OLMoRunConfig(size="tiny", steps=12, checkpoint_every=4, data=_data(text),
                         evaluation=EvaluationConfig(eval_every=4, grad_every=grad_every),
                         injection=InjectionSchedule(frequency=0.01), **kw)


def test_deterministic_and_exact_resume(text, tmp_path):
    cfg = _cfg(text, grad_every=3)
    data = load_token_data(cfg.data.tokenizer, Store(tmp_path / "tok"))
    a = train_run(cfg, data, Store(tmp_path / "a"), progress=False)
    b = train_run(cfg, data, Store(tmp_path / "b"), progress=False)
    pd.testing.assert_frame_equal(a.history, b.history)
    store = Store(tmp_path / "c")
    assert train_run(cfg, data, store, progress=False, stop_at=5) is None
    partial = store.load(run_key(cfg) + CHECKPOINT_SUFFIX)
    assert partial["trainer"]["step"] == 5 and partial["state"]["history"][-1]["step"] == 4
    c = train_run(cfg, lambda: data, store, progress=False)
    pd.testing.assert_frame_equal(a.history, c.history)
    pd.testing.assert_frame_equal(a.grads, c.grads)
    assert store.load(run_key(cfg) + CHECKPOINT_SUFFIX) is None  # finished: result only
    assert len(a.grads) == 4 and a.history.lm_loss.iloc[-1] < a.history.test_loss.iloc[0]
    assert a.meta["corpus"]["sha256"] and a.meta["params"] > a.meta["non_embedding"]
    # a stored result is returned without training (the data loader is never called)
    again = train_run(cfg, lambda: pytest.fail("trained again"), store, progress=False)
    pd.testing.assert_frame_equal(a.history, again.history)


def test_ladder_is_cached_and_tidy(text, tmp_path):
    base = _cfg(text)
    lad = LadderConfig(base=base, sizes=("tiny",), frequencies=(0.01, 0.0), tokens=8 * 32 * 8)
    assert [r.optim.warmup for r in lad.runs()] == [2, 2] and lad.runs()[0].steps == 8
    data = load_token_data(base.data.tokenizer, Store(tmp_path / "tok"))
    store = Store(tmp_path / "s")
    t0 = time.perf_counter()
    df = run_injection_ladder(lad, store=store, data=data, progress=False)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = run_injection_ladder(lad, store=store, data=data, progress=False)
    assert time.perf_counter() - t0 < first
    pd.testing.assert_frame_equal(df, again)
    fm = final_metrics(df)
    assert len(fm) == 2 and set(fm.frequency) == {0.01, 0.0}
    assert fm.loc[fm.frequency == 0.0, "instances"].item() == 0
    assert {"kind", "size", "params", "frequency", "gap", "test_acc", "record"} <= set(df)


def _launch(args, cache, out, env_extra=None):
    env = {**os.environ, "RTRLIB_CACHE": str(cache), "OMP_NUM_THREADS": "1",
           **(env_extra or {})}
    return subprocess.Popen(args + ["--out", str(out), "--no-progress"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _options(text: Path, steps: int, eval_every: int, checkpoint_every: int) -> list[str]:
    return ["--size", "tiny", "--steps", str(steps), "--evaluation.eval-every", str(eval_every),
            "--checkpoint-every", str(checkpoint_every), "--data.seq-len", "32",
            "--data.batch-size", "8", "--injection.frequency", "0.01",
            "--data.tokenizer.vocab-size", "512", "--data.tokenizer.corpus.source", "files",
            "--data.tokenizer.corpus.paths", str(text),
            "--data.tokenizer.corpus.allow-repeat"]  # the small text is cycled: allowed


@pytest.mark.slow
def test_killed_run_resumes_exactly(text, tmp_path):
    cmd = [sys.executable, "-m", "rtrlib.lm", "train", *_options(text, 400, 50, 10)]
    full = _launch(cmd, tmp_path / "full", tmp_path / "full.csv")
    assert full.wait(600) == 0, full.stdout.read()
    cache = tmp_path / "killed"
    proc = _launch(cmd, cache, tmp_path / "k.csv")
    deadline = time.time() + 300
    while time.time() < deadline and not list(cache.glob(f"lm-run-*{CHECKPOINT_SUFFIX}.rtr")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not (tmp_path / "k.csv").exists()
    again = _launch(cmd, cache, tmp_path / "k.csv")
    assert again.wait(600) == 0, again.stdout.read()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "full.csv"),
                                  pd.read_csv(tmp_path / "k.csv"))


@pytest.mark.slow
def test_two_rank_gloo_torchrun_matches_single_process_and_resumes(text, tmp_path):
    opts = _options(text, 16, 4, 4)
    single = _launch([sys.executable, "-m", "rtrlib.lm", "train", *opts],
                     tmp_path / "s", tmp_path / "single.csv")
    assert single.wait(600) == 0, single.stdout.read()
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    torchrun = [str(Path(sys.executable).parent / "torchrun"), "--nproc-per-node", "2",
                "--master-addr", "127.0.0.1", "--master-port", str(port), "-m", "rtrlib.lm",
                "train", *opts]
    # first session stops at step 6 (checkpoints at 4 and 6), the second resumes
    first = _launch(torchrun + ["--stop-at", "6"], tmp_path / "d", tmp_path / "d1.csv")
    assert first.wait(600) == 0, first.stdout.read()
    assert not (tmp_path / "d1.csv").exists()
    [ckpt] = (tmp_path / "d").glob(f"lm-run-*{CHECKPOINT_SUFFIX}.rtr")
    assert Store(tmp_path / "d").load(ckpt.name[:-4])["trainer"]["step"] == 6
    second = _launch(torchrun, tmp_path / "d", tmp_path / "ddp.csv")
    assert second.wait(600) == 0, second.stdout.read()
    a, b = pd.read_csv(tmp_path / "single.csv"), pd.read_csv(tmp_path / "ddp.csv")
    assert list(a.step) == list(b.step) == [0, 4, 8, 12, 16]
    np.testing.assert_allclose(a.lm_loss[1:], b.lm_loss[1:], rtol=1e-4)
    np.testing.assert_allclose(a.test_loss, b.test_loss, rtol=1e-4)


@pytest.mark.slow
def test_two_rank_gloo_fsdp_matches_single_process_and_resumes_exactly(text, tmp_path):
    """OLMo-core's FSDP over 2 gloo ranks on CPU: the losses of one process within rtol 1e-4
    (the same batches; only the order of floating-point sums differs), and a session stopped
    at step 6 and resumed gives exactly the uninterrupted FSDP run's numbers."""
    opts = _options(text, 12, 4, 4)
    single = _launch([sys.executable, "-m", "rtrlib.lm", "train", *opts],
                     tmp_path / "s", tmp_path / "single.csv")
    assert single.wait(600) == 0, single.stdout.read()

    def torchrun(*extra):
        with socket.socket() as sock:  # a free port for the rendezvous
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return [str(Path(sys.executable).parent / "torchrun"), "--nproc-per-node", "2",
                "--master-addr", "127.0.0.1", "--master-port", str(port), "-m", "rtrlib.lm",
                "train", *opts, "--data-parallel", "fsdp", *extra]

    whole = _launch(torchrun(), tmp_path / "w", tmp_path / "whole.csv")
    assert whole.wait(600) == 0, whole.stdout.read()
    first = _launch(torchrun("--stop-at", "6"), tmp_path / "d", tmp_path / "d1.csv")
    assert first.wait(600) == 0, first.stdout.read()
    [ckpt] = (tmp_path / "d").glob(f"lm-run-*{CHECKPOINT_SUFFIX}.rtr")
    saved = Store(tmp_path / "d").load(ckpt.name[:-4])["trainer"]
    assert saved["step"] == 6
    # the checkpoint holds full (unsharded) tensors: the embedding is 512 x 32
    assert tuple(saved["model"]["embeddings.weight"].shape) == (512, 32)
    second = _launch(torchrun(), tmp_path / "d", tmp_path / "fsdp.csv")
    assert second.wait(600) == 0, second.stdout.read()
    a = pd.read_csv(tmp_path / "single.csv")
    w, b = pd.read_csv(tmp_path / "whole.csv"), pd.read_csv(tmp_path / "fsdp.csv")
    assert list(a.step) == list(b.step) == list(w.step) == [0, 4, 8, 12]
    pd.testing.assert_frame_equal(w, b)  # exact resume
    np.testing.assert_allclose(a.lm_loss[1:], b.lm_loss[1:], rtol=1e-4)
    np.testing.assert_allclose(a.test_loss, b.test_loss, rtol=1e-4)


def test_a_run_that_would_cycle_its_corpus_is_refused_unless_allowed(text, tmp_path):
    data = load_token_data(_data(text).tokenizer, Store(tmp_path))
    steps = data.n_tokens // (8 * 32) + 1  # one batch more than the corpus holds
    cfg = _cfg(text).replace(steps=steps, checkpoint_every=10**6)
    with pytest.raises(ParameterError) as err:
        train_run(cfg, data, Store(tmp_path), progress=False)
    assert err.value.name == "corpus_paths" and "allow_repeat" in str(err.value)
    allowed = cfg.replace(data=cfg.data.replace(tokenizer=cfg.data.tokenizer.replace(
        corpus=cfg.data.tokenizer.corpus.replace(allow_repeat=True))))
    assert train_run(allowed, data, Store(tmp_path), progress=False,
                     stop_at=1) is None  # accepted: it trains (stopped after one step)


def test_run_key_depends_on_what_changes_the_result(text):
    cfg = _cfg(text)
    assert run_key(cfg) != run_key(cfg.replace(seed=1))
    assert run_key(cfg) != run_key(cfg.replace(optim=cfg.optim.replace(lr=1e-3)))
    assert run_key(cfg) == run_key(cfg.replace(checkpoint_every=7))  # resume is exact


def test_worker_processes_give_the_same_numbers_as_one_process(text, tmp_path):
    """train_ladders with two one-thread workers stores exactly what one process computes."""
    base = _cfg(text)
    lad = LadderConfig(base=base, sizes=("tiny",), frequencies=(0.02, 0.01), tokens=8 * 32 * 6)
    tok = Store(tmp_path / "s1")
    load_token_data(base.data.tokenizer, tok)
    load_token_data(base.data.tokenizer, Store(tmp_path / "s2"))
    one = run_injection_ladder(lad, store=tok, progress=False)
    train_ladders([lad], store=Store(tmp_path / "s2"), workers=2, progress=False)
    # every cell is in the store now: reading the sweep back trains nothing
    assert all(Store(tmp_path / "s2").path(run_key(r)).exists() for r in lad.runs())
    two = run_injection_ladder(lad, store=Store(tmp_path / "s2"), progress=False)
    cols = ["step", "test_loss", "test_acc", "lm_loss", "train_loss"]
    pd.testing.assert_frame_equal(one[cols], two[cols])
    with pytest.raises(ParameterError, match="workers"):
        train_ladders([lad], store=Store(tmp_path / "s3"), workers=0)
