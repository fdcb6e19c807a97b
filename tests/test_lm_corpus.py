"""Background corpus loader and tokenizer on small local data (rtrlib.lm.corpus, .tokenizer)."""

import gzip
import hashlib
import json

import pytest

from rtrlib.lm.corpus import CorpusConfig, clean_rest, load_corpus
from rtrlib.lm.tokenizer import EOD, TokenizerConfig, load_token_data, train_tokenizer
from rtrlib.params import ParameterError
from rtrlib.store import Store

PROSE = ("The quick brown fox jumps over the lazy dog while the model reads documentation. "
         "Python functions return values and raise exceptions when arguments are invalid. ")


@pytest.fixture
def text_files(tmp_path):
    txt = tmp_path / "a.txt"
    txt.write_text(PROSE * 30)
    jl = tmp_path / "b.jsonl.gz"
    with gzip.open(jl, "wt") as fh:
        for i in range(20):
            fh.write(json.dumps({"text": f"Document {i}. " + PROSE, "id": i}) + "\n")
    return txt, jl


def test_files_loader_reads_text_and_gzipped_jsonl(text_files):
    txt, jl = text_files
    c = load_corpus(CorpusConfig(source="files", paths=(str(txt), str(jl))))
    assert "Document 19." in c.text and c.text.startswith("The quick")
    assert c.meta["sha256"] == hashlib.sha256(c.text.encode()).hexdigest()
    assert c.meta["source"] == "files" and c.meta["chars"] == len(c.text)
    small = load_corpus(CorpusConfig(source="files", paths=(str(txt),), max_chars=2000))
    assert len(small.text) == 2000


def test_config_validation():
    with pytest.raises(ParameterError, match="paths"):
        CorpusConfig(source="files")
    with pytest.raises(ParameterError, match="source"):
        CorpusConfig(source="dolma")


def test_clean_rest_drops_markup_keeps_prose():
    src = ("Title\n=====\n\n.. function:: f(x)\n\n   Return *x* via :func:`g` and "
           ":ref:`the guide <guide>`.\n\n.. code-block:: python\n\n   secret = 1\n\n"
           "Example::\n\n   literal = 2\n\n>>> doctest\n:param x: gone\n\nPlain ``code`` ok.\n")
    out = clean_rest(src)
    assert "Return *x* via g and the guide." in out and "Plain code ok." in out
    for gone in ("=====", "secret", "literal", ">>>", ":param", "code-block", ":func:"):
        assert gone not in out


def test_stdlib_fallback_needs_no_install():
    c = load_corpus(CorpusConfig(source="stdlib", max_chars=50_000))
    assert len(c.text) == 50_000 and c.meta["package"].startswith("python ")


def test_tokenizer_roundtrip_and_cached_stream(tmp_path, text_files):
    txt, _ = text_files
    c = load_corpus(CorpusConfig(source="files", paths=(str(txt),)))
    tok = train_tokenizer(c, 300)
    assert tok.token_to_id(EOD) == 0 and tok.get_vocab_size() <= 300
    assert tok.decode(tok.encode("lazy dog").ids) == "lazy dog"
    cfg = TokenizerConfig(corpus=CorpusConfig(source="files", paths=(str(txt),)),
                          vocab_size=300)
    store = Store(tmp_path / "cache")
    a = load_token_data(cfg, store)
    b = load_token_data(cfg, store)
    assert (a.tokens == b.tokens).all() and a.tokens.max() < 300
    assert a.corpus_meta["sha256"] == c.meta["sha256"]
    assert (a.tokens == 0).sum() >= 1  # documents are separated by EOD
