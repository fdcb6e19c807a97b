"""Streamed corpus files -> token file (rtrlib.lm.documents, rtrlib.lm.tokens) on small data."""

import gzip
import json
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import rtrlib.lm.tokens as tokens_mod
from rtrlib.lm.corpus import CorpusConfig, load_corpus
from rtrlib.lm.documents import DocumentStream, resolve_paths
from rtrlib.lm.injection import background_batch
from rtrlib.lm.tokenizer import TokenizerConfig, load_token_data, token_dtype
from rtrlib.lm.tokens import check_token_budget, load_token_file, main, token_dir
from rtrlib.params import ParameterError
from rtrlib.store import Store

PROSE = ("the model reads text and learns rare tasks while larger models retain more of them; "
         'naïve café déjà vu 東京 ünïcödé — quotes "x" numbers 12345')
WORDS = [*PROSE.split(), "tabs\tand", "line\nbreak"]


def make_docs(n: int = 40, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(n):
        paras = [" ".join(rng.choice(WORDS, size=rng.integers(5, 60)))
                 for _ in range(rng.integers(1, 4))]
        docs.append(f"Document {i}.\n" + "\n\n".join(paras))
    if n > 7:
        docs[7] = "   \n"  # whitespace only: skipped in every format
    return docs


def write_corpus(folder, docs, fmt: str):
    """The same documents in one format; returns the path or pattern to give."""
    folder.mkdir(parents=True, exist_ok=True)
    records = [{"id": i, "text": d, "added": "2024-01-01", "source": "test"}
               for i, d in enumerate(docs)]
    if fmt == "txt":
        for i, d in enumerate(docs):
            (folder / f"doc_{i:03d}.txt").write_text(d, encoding="utf-8")
        return str(folder / "*.txt")
    if fmt in ("jsonl", "jsonl.gz", "json.gz"):
        path = folder / f"shard.{fmt}"
        opener = gzip.open if fmt.endswith(".gz") else open
        with opener(path, "wt", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=fmt != "jsonl") + "\n")
        return str(path)
    if fmt == "parquet":
        path = folder / "shard.parquet"
        pq.write_table(pa.Table.from_pylist(records), path, row_group_size=7)
        return str(path)
    raise AssertionError(fmt)


def files_cfg(*paths, vocab=300, **corpus) -> TokenizerConfig:
    return TokenizerConfig(corpus=CorpusConfig(source="files", paths=paths, **corpus),
                           vocab_size=vocab, train_chars=20_000)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "cache")


def test_every_format_gives_the_same_token_stream(tmp_path, store):
    docs = make_docs()
    data = {}
    for fmt in ("txt", "jsonl", "jsonl.gz", "json.gz", "parquet"):
        path = write_corpus(tmp_path / fmt.replace(".", "_"), docs, fmt)
        data[fmt] = load_token_data(files_cfg(path), store, progress=False)
    ref = data["txt"]
    kept = [d for d in docs if d.strip()]
    text = "\n\n".join(kept)
    for fmt, d in data.items():
        assert np.array_equal(np.asarray(d.tokens), np.asarray(ref.tokens)), fmt
        assert d.tokenizer_json == ref.tokenizer_json, fmt
        assert d.corpus_meta["docs"] == len(kept) and d.corpus_meta["chars"] == len(text)
        assert d.corpus_meta["sha256"] == ref.corpus_meta["sha256"]
    # the recorded hash is the hash of the text load_corpus assembles from the same files
    corpus = load_corpus(CorpusConfig(source="files", paths=(str(tmp_path / "txt" / "*.txt"),)))
    assert corpus.text == text and corpus.meta["sha256"] == ref.corpus_meta["sha256"]
    # documents are separated by EOD (id 0), one per document, and decode back
    toks = np.asarray(ref.tokens)
    assert (toks == ref.eod_id).sum() == len(kept) and toks[-1] == ref.eod_id
    ends = np.flatnonzero(toks == ref.eod_id)
    assert ref.tokenizer().decode(toks[ends[2] + 1: ends[3]].tolist()) == kept[3]


def test_token_file_is_raw_memmapped_and_samples_batches(tmp_path, store):
    path = write_corpus(tmp_path / "c", make_docs(), "jsonl.gz")
    data = load_token_file(files_cfg(path), store, progress=False)
    assert isinstance(data.tokens, np.memmap) and data.tokens.ndim == 1
    assert data.tokens.dtype == np.uint16 == token_dtype(data.vocab_size)
    raw = Path(data.token_file).read_bytes()
    assert len(raw) == data.n_tokens * 2 and not raw.startswith(b"\x93NUMPY")
    assert np.array_equal(np.fromfile(data.token_file, dtype=np.uint16), data.tokens)
    assert os.path.dirname(data.token_file) == str(token_dir(store))
    meta = json.loads(Path(data.token_file).with_suffix(".json").read_text())
    assert meta["dtype"] == "uint16" and meta["tokens"] == data.n_tokens
    assert meta["corpus"]["sha256"] == data.corpus_meta["sha256"]
    batch = background_batch(data.tokens, step=3, batch_size=4, seq_len=16, seed=0)
    assert batch.shape == (4, 17) and batch.max() < data.vocab_size


def test_token_dtype_follows_the_vocabulary():
    assert token_dtype(2**16) == np.uint16 and token_dtype(2**16 + 1) == np.uint32
    assert TokenizerConfig(vocab_size=100_000).vocab_size == 100_000


def test_reused_without_rewriting_and_rebuilt_when_a_file_changes(tmp_path, store,
                                                                   monkeypatch):
    path = write_corpus(tmp_path / "c", make_docs(), "jsonl")
    builds = []
    real = tokens_mod._build
    monkeypatch.setattr(tokens_mod, "_build", lambda *a: builds.append(1) or real(*a))
    cfg = files_cfg(path)
    a = load_token_file(cfg, store, progress=False)
    stamp = os.stat(a.token_file).st_mtime_ns
    b = load_token_file(cfg, store, progress=False)
    assert len(builds) == 1 and b.token_file == a.token_file
    assert os.stat(b.token_file).st_mtime_ns == stamp
    # not keyed: allowing repetition does not rebuild
    load_token_file(files_cfg(path, allow_repeat=True), store, progress=False)
    assert len(builds) == 1
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"text": "One more document appended to the shard."}) + "\n")
    c = load_token_file(cfg, store, progress=False)
    assert len(builds) == 2 and c.token_file != a.token_file
    assert c.n_tokens > a.n_tokens and c.corpus_meta["docs"] == a.corpus_meta["docs"] + 1
    expected, path = np.array(c.tokens), c.token_file
    del c  # unmap before cutting the file (reading a mapping past its file's end crashes)
    with open(path, "r+b") as fh:  # a token file cut short is not trusted: rebuilt
        fh.truncate(10)
    d = load_token_file(cfg, store, progress=False)
    assert len(builds) == 3 and np.array_equal(np.asarray(d.tokens), expected)


def test_interrupted_build_leaves_no_partial_file(tmp_path, store, monkeypatch):
    path = write_corpus(tmp_path / "c", make_docs(), "parquet")
    cfg = files_cfg(path)
    monkeypatch.setattr(tokens_mod, "_BATCH_CHARS", 500)
    real = tokens_mod._batches

    def interrupted(docs, chars):
        for i, batch in enumerate(real(docs, chars)):
            if i == 3:
                raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(tokens_mod, "_batches", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_token_file(cfg, store, progress=False)
    folder = token_dir(store)
    assert not [p for p in folder.iterdir() if p.suffix != ".lock"]
    key = tokens_mod.token_file_key(cfg, cfg.corpus.files())
    stale = folder / f".{key}.bin.killed.tmp"  # what a killed (SIGKILL) build leaves
    stale.write_bytes(b"\0" * 10)
    monkeypatch.setattr(tokens_mod, "_batches", real)
    data = load_token_file(cfg, store, progress=False)
    assert not stale.exists() and data.n_tokens > 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{key}{s}" for s in (".bin", ".json", ".lock", ".tokenizer.json"))


def test_budget_check_refuses_unless_repetition_is_allowed(tmp_path, store):
    path = write_corpus(tmp_path / "c", make_docs(), "jsonl")
    data = load_token_file(files_cfg(path), store, progress=False)
    n = data.n_tokens
    assert check_token_budget(data, n) == 1.0
    assert check_token_budget(data, n // 2) == pytest.approx(0.5, abs=1e-3)
    with pytest.raises(ParameterError, match="corpus_paths") as err:
        check_token_budget(data, n + 1)
    assert err.value.name == "corpus_paths" and "allow_repeat" in str(err.value)
    assert check_token_budget(data, 3 * n, allow_repeat=True) == pytest.approx(3.0)
    with pytest.raises(ParameterError, match="tokens"):
        check_token_budget(data, 0)
    cut = load_token_file(files_cfg(path, max_chars=2000), store, progress=False)
    assert cut.corpus_meta["truncated"] and cut.corpus_meta["chars"] <= 2000
    with pytest.raises(ParameterError) as err:
        check_token_budget(cut, n)
    assert err.value.name == "corpus_max_chars"
    small = load_token_data(TokenizerConfig(corpus=CorpusConfig(source="stdlib",
                                                                max_chars=20_000),
                                            vocab_size=300), store)
    with pytest.raises(ParameterError) as err:
        check_token_budget(small, 10**9)
    assert err.value.name == "corpus_max_chars"  # the stdlib text was cut at max_chars


@pytest.mark.parametrize("paths,why", [
    ((), "at least one file"),
    (("{tmp}/nothing/*.jsonl.gz",), "matches at least one file"),
    (("{tmp}/missing.txt",), "does not exist"),
    (("{tmp}/table.csv",), "files ending in"),
    (("{tmp}/notext.parquet",), "'text' column"),
])
def test_files_source_names_corpus_paths(tmp_path, store, paths, why):
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    pq.write_table(pa.table({"body": ["some text"]}), tmp_path / "notext.parquet")
    paths = tuple(p.format(tmp=tmp_path) for p in paths)
    with pytest.raises(ParameterError, match=why) as err:
        load_token_data(TokenizerConfig(corpus=CorpusConfig(source="files", paths=paths)),
                        store, progress=False)
    assert err.value.name == "corpus_paths"


def test_paths_directories_and_recursive_globs(tmp_path):
    docs = make_docs(6)
    write_corpus(tmp_path / "a", docs[:3], "jsonl.gz")
    write_corpus(tmp_path / "b" / "deep", docs[3:], "txt")
    (tmp_path / "b" / "README.csv").write_text("not a corpus file")
    files = resolve_paths([str(tmp_path / "a"), str(tmp_path / "**" / "*.txt"),
                           str(tmp_path / "a" / "shard.jsonl.gz")])  # repeated: once
    assert [f.name for f in files] == ["shard.jsonl.gz", "doc_000.txt", "doc_001.txt",
                                       "doc_002.txt"]
    stream = DocumentStream(files)
    assert list(stream) == docs and stream.docs == 6 and not stream.truncated
    capped = DocumentStream(files, max_chars=len(docs[0]) + 2 + 5)
    assert list(capped) == [docs[0], docs[1][:5]] and capped.truncated


def test_tokenising_streams_in_bounded_memory(tmp_path, store, monkeypatch):
    monkeypatch.setattr(tokens_mod, "_BATCH_CHARS", 4000)
    load_token_file(files_cfg(write_corpus(tmp_path / "warm", make_docs(), "jsonl.gz")), store,
                    progress=False)  # first-call allocations (lazy imports) out of the way
    docs = make_docs(6000, seed=1)
    path = write_corpus(tmp_path / "big", docs, "jsonl.gz")
    size = sum(len(d) for d in docs)
    tracemalloc.start()
    data = load_token_file(files_cfg(path), store, progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert data.corpus_meta["chars"] > size  # separators included: the whole corpus was read
    # the corpus text (2.2M characters) never sits in memory at once (peak measured ~0.22 MB,
    # the same for half the corpus: one batch of documents and the tokenizer's sample)
    assert peak < size / 5, (peak, size)


def test_command_builds_the_token_file(tmp_path, capsys):
    path = write_corpus(tmp_path / "c", make_docs(), "json.gz")
    cache = str(tmp_path / "cache")
    assert main(["--corpus.source", "files", "--corpus.paths", path, "--vocab-size", "300",
                 "--train-chars", "20000", "--cache", cache]) == 0
    out = json.loads(capsys.readouterr().out)
    assert os.path.getsize(out["token_file"]) == out["tokens"] * 2
    assert main(["--corpus.source", "files", "--corpus.paths", str(tmp_path / "no*.json.gz"),
                 "--cache", cache]) == 2
    assert "corpus_paths" in capsys.readouterr().err
