"""Token files: a large corpus tokenised once, streaming, and memory-mapped by every run.

For ``CorpusConfig.source = "files"`` (GPU runners: Dolma shards, any size). One pass:

1. the byte-level BPE is trained on the first ``TokenizerConfig.train_chars`` characters;
2. every document is encoded (in batches, with a progress bar) and written, followed by the
   end-of-document token, to ``<cache>/tokens/<key>.bin``: OLMo-core's numpy token format, the
   raw bytes of ``ndarray.tofile`` (no ``.npy`` header), dtype uint16 when the vocabulary fits,
   else uint32 (:func:`rtrlib.lm.tokenizer.token_dtype`);
3. ``<key>.tokenizer.json`` (Hugging Face format) and ``<key>.json`` (dtype, token count,
   corpus SHA-256, files with sizes and mtimes) are written last.

Every file is written to a temporary name and moved into place with :func:`os.replace`, the
metadata last, so an interrupted build leaves nothing under the final names; a file lock lets
one process build while others (torchrun ranks) wait for it. ``<key>`` is
:func:`rtrlib.store.config_key` of the tokenizer config, the files' fingerprint (names, sizes,
modification times) and hence the rtrlib code version: a changed file or changed code rebuilds,
anything else reuses the file. :func:`check_token_budget` refuses a run that would need more
tokens than the corpus holds, unless repetition is allowed.

Build ahead of a run (prints the token file and its metadata)::

    python -m rtrlib.lm.tokens --corpus.source files --corpus.paths 'dolma/*.json.gz' \\
        --corpus.max-chars 0 --vocab-size 8192
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from rtrlib.lm.documents import DocumentStream, fingerprint
from rtrlib.lm.tokenizer import EOD, TokenData, TokenizerConfig, token_dtype, train_tokenizer_on
from rtrlib.params import ParameterError, require_int
from rtrlib.store import Store, config_key

__all__ = ["check_token_budget", "load_token_file", "token_file_key", "token_dir", "main"]

_BATCH_CHARS = 1 << 20  # characters encoded per batch (bounds memory, keeps encode_batch busy)


def token_dir(store: Store | None = None) -> Path:
    """Where token files live: ``tokens/`` in the store's directory (the cache directory)."""
    return (store or Store()).root / "tokens"


def token_file_key(cfg: TokenizerConfig, files: list[Path]) -> str:
    """The token file's key: tokenizer config, the files' fingerprint, rtrlib code version."""
    return config_key("lm-token-file", {"tokenizer": cfg.keyed(), "files": fingerprint(files)})


@contextlib.contextmanager
def _atomic(final: Path) -> Iterator:
    """A binary file handle whose contents appear under ``final`` only when the block ends."""
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_meta(folder: Path, key: str) -> dict | None:
    """The metadata of a complete token file for ``key`` (None when missing or inconsistent)."""
    try:
        meta = json.loads((folder / f"{key}.json").read_text())
        size = (folder / f"{key}.bin").stat().st_size
        ok = (meta["file"] == f"{key}.bin" and meta["dtype"] in ("uint16", "uint32")
              and (folder / f"{key}.tokenizer.json").is_file()
              and size == meta["tokens"] * np.dtype(meta["dtype"]).itemsize)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta if ok else None


def _batches(docs: Iterator[str], chars: int) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for doc in docs:
        batch.append(doc)
        size += len(doc)
        if size >= chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _sample(docs: Iterator[str], chars: int) -> Iterator[str]:
    """The first ``chars`` characters of the document stream (the last document cut)."""
    left = chars
    for doc in docs:
        yield doc[:left]
        left -= len(doc)
        if left <= 0:
            return


def _build(cfg: TokenizerConfig, files: list[Path], folder: Path, key: str,
           progress: bool) -> dict:
    corpus = cfg.corpus
    tok = train_tokenizer_on(_sample(iter(DocumentStream(files, corpus.max_chars)),
                                     cfg.train_chars), cfg.vocab_size)
    vocab, eod = tok.get_vocab_size(), tok.token_to_id(EOD)
    dtype = token_dtype(vocab)
    sizes = fingerprint(files)
    bar = tqdm(total=sum(s for _, s, _ in sizes), unit="B", unit_scale=True, leave=False,
               desc="tokenising corpus", disable=not progress, mininterval=1.0)
    stream = DocumentStream(files, corpus.max_chars, on_bytes=bar.update)
    sha, count, docs = hashlib.sha256(), 0, 0
    end = np.array([eod], dtype=dtype)
    with _atomic(folder / f"{key}.bin") as fh:
        for batch in _batches(iter(stream), _BATCH_CHARS):
            parts: list[np.ndarray] = []
            for doc, enc in zip(batch, tok.encode_batch(batch), strict=True):
                parts += [np.asarray(enc.ids, dtype=dtype), end]
                sha.update(("\n\n" + doc if docs else doc).encode("utf-8"))
                docs += 1
            arr = np.concatenate(parts)
            arr.tofile(fh)  # raw bytes, OLMo-core's numpy format
            count += len(arr)
        if count == 0:
            raise ParameterError("corpus_paths", list(corpus.paths), "files holding text")
    bar.close()
    with _atomic(folder / f"{key}.tokenizer.json") as fh:
        fh.write(tok.to_str().encode("utf-8"))
    meta = {"file": f"{key}.bin", "tokenizer": f"{key}.tokenizer.json", "dtype": dtype.name,
            "tokens": count, "vocab_size": vocab, "eod_id": eod,
            "corpus": {"source": "files", "package": "local files", "files": len(files),
                       "paths": list(corpus.paths), "fingerprint": sizes, "docs": stream.docs,
                       "chars": stream.chars, "truncated": stream.truncated,
                       "max_chars": corpus.max_chars, "sha256": sha.hexdigest()},
            "tokenizer_config": cfg.keyed()}
    with _atomic(folder / f"{key}.json") as fh:
        fh.write(json.dumps(meta, indent=1).encode("utf-8"))
    return meta


def load_token_file(cfg: TokenizerConfig, store: Store | None = None, *,
                    progress: bool = True) -> TokenData:
    """The token data of a ``source="files"`` corpus, built once and then memory-mapped.

    Raises :class:`ParameterError` naming ``corpus_paths`` when no file matches."""
    files = cfg.corpus.files()
    folder = token_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    key = token_file_key(cfg, files)
    meta = _read_meta(folder, key)
    if meta is None:
        with _locked(folder / f"{key}.lock"):
            meta = _read_meta(folder, key)  # another process may have built it meanwhile
            if meta is None:
                for stale in folder.glob(f".{key}.*.tmp"):  # left by a killed build
                    stale.unlink(missing_ok=True)
                meta = _build(cfg, files, folder, key, progress)
    path = folder / f"{key}.bin"
    tokens = np.memmap(path, dtype=meta["dtype"], mode="r", shape=(meta["tokens"],))
    corpus_meta = {**meta["corpus"], "tokens": meta["tokens"], "dtype": meta["dtype"]}
    return TokenData(tokens=tokens, tokenizer_json=(folder / f"{key}.tokenizer.json").read_text(),
                     corpus_meta=corpus_meta, vocab_size=meta["vocab_size"],
                     token_file=str(path))


def check_token_budget(data: TokenData, tokens_needed: int, *, allow_repeat: bool = False,
                       name: str = "tokens") -> float:
    """How many times a run of ``tokens_needed`` training tokens passes over the corpus.

    Raises :class:`ParameterError` when the corpus holds fewer tokens than the run needs and
    ``allow_repeat`` is False (pass ``CorpusConfig.allow_repeat``). The error names what to
    change: ``corpus_max_chars`` when that limit cut the corpus, ``corpus_paths`` for a files
    corpus, ``corpus_source`` otherwise. ``name`` is the run's token parameter (checked >= 1)."""
    require_int(name, tokens_needed, 1)
    have = data.n_tokens
    passes = tokens_needed / max(1, have)
    if passes <= 1.0 or allow_repeat:
        return passes
    meta = data.corpus_meta
    if meta.get("truncated"):
        param, value = "corpus_max_chars", meta.get("max_chars", meta.get("chars"))
    elif meta.get("source") == "files":
        param, value = "corpus_paths", meta.get("paths")
    else:
        param, value = "corpus_source", meta.get("source")
    raise ParameterError(param, value, f"a corpus of at least {tokens_needed:,} tokens for "
                         f"{name} = {tokens_needed:,} (it has {have:,}: a run would cycle it "
                         f"{passes:.1f} times); add text, or set allow_repeat = True")


def main(argv: list[str] | None = None) -> int:
    """Build (or find) the token file for a tokenizer config; print its path and metadata."""
    from rtrlib.cli import add_config_options, config_from_args

    p = argparse.ArgumentParser(prog="python -m rtrlib.lm.tokens",
                                description="Tokenise a corpus once into a token file.")
    add_config_options(p, TokenizerConfig)
    p.add_argument("--cache", default=None, help="cache directory (default: $RTRLIB_CACHE)")
    args = p.parse_args(argv)
    try:
        cfg = config_from_args(args, TokenizerConfig)
        data = load_token_file(cfg, Store(args.cache) if args.cache else None)
    except ParameterError as exc:
        print(f"{p.prog}: {exc}", file=sys.stderr)
        return 2
    shown = {k: v for k, v in data.corpus_meta.items() if k != "fingerprint"}
    print(json.dumps({"token_file": data.token_file, **shown}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
