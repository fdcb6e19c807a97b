"""Documents streamed from local corpus files, one at a time (``CorpusConfig.source = "files"``).

Formats, told apart by the file name:

- plain text (``.txt``, ``.md``, ``.rst``, optionally ``.gz``): one file is one document;
- JSON lines (``.jsonl``, ``.json``, ``.ndjson``, optionally ``.gz``; Dolma's shards are
  ``.json.gz``): one document per line, its ``text`` field;
- Parquet (``.parquet``): one document per row, its ``text`` column (read in record batches).

Paths may be files, directories (every file of a known format below them) or glob patterns
(``**`` allowed). Only one document is in memory at a time, so a corpus of any size streams.
Empty documents are skipped. The documents joined by a blank line (``"\\n\\n"``) are the corpus
text that :func:`rtrlib.lm.corpus.load_corpus` returns and whose SHA-256 is recorded.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rtrlib.params import ParameterError

__all__ = ["FORMATS", "DocumentStream", "file_format", "fingerprint", "resolve_paths"]

PARAM = "corpus_paths"  # the name users set (chapter 6, the ladder); CorpusConfig.paths here
FORMATS = {
    "text": (".txt", ".md", ".rst", ".txt.gz", ".md.gz", ".rst.gz"),
    "jsonl": (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".ndjson.gz"),
    "parquet": (".parquet",),
}
_ALLOWED = "files ending in " + ", ".join(s for v in FORMATS.values() for s in v)


def file_format(path: str | os.PathLike) -> str | None:
    """``"text"``, ``"jsonl"`` or ``"parquet"`` from the file name (None when unknown)."""
    name = str(path).lower()
    for fmt, suffixes in FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    return None


def _known_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and file_format(p))


def resolve_paths(patterns: Sequence[str]) -> list[Path]:
    """Expand files, directories and glob patterns (each sorted) into a list without repeats.

    Raises :class:`ParameterError` naming ``corpus_paths`` when the list is empty, a pattern
    matches no file, a path does not exist, or a file has an unknown format."""
    if not patterns:
        raise ParameterError(PARAM, tuple(patterns), "at least one file, directory or glob "
                             "pattern when corpus_source = 'files'")
    found: dict[Path, None] = {}
    for pattern in patterns:
        pattern = os.path.expanduser(str(pattern))
        if glob.has_magic(pattern):
            matches = [Path(p) for p in sorted(glob.glob(pattern, recursive=True))]
            files = [p for m in matches for p in (_known_files(m) if m.is_dir() else [m])]
            if not files:
                raise ParameterError(PARAM, pattern, "a glob pattern that matches at least one "
                                     f"file ({_ALLOWED})")
        else:
            path = Path(pattern)
            if path.is_dir():
                files = _known_files(path)
                if not files:
                    raise ParameterError(PARAM, pattern, f"a directory holding {_ALLOWED}")
            elif path.is_file():
                files = [path]
            else:
                raise ParameterError(PARAM, pattern, "existing files, directories or glob "
                                     "patterns (this path does not exist)")
        for f in files:
            if file_format(f) is None:
                raise ParameterError(PARAM, str(f), _ALLOWED)
            found.setdefault(f.resolve(), None)
    return list(found)


def fingerprint(files: Iterable[Path]) -> list[tuple[str, int, int]]:
    """Names, sizes and modification times (ns) of ``files``: a cache key that changes with them."""
    out = []
    for f in files:
        st = os.stat(f)
        out.append((str(f), st.st_size, st.st_mtime_ns))
    return out


class DocumentStream:
    """Iterate the documents of ``files`` in order, at most ``max_chars`` characters in all
    (counting a blank-line separator between documents; 0 = no limit; the last document is cut).

    After iteration: ``docs``, ``chars`` (of the joined text) and ``truncated`` (the limit cut
    it). ``on_bytes(n)`` is called as ``n`` more bytes of the files are read (progress bars)."""

    def __init__(self, files: Sequence[Path], max_chars: int = 0, on_bytes=None) -> None:
        self.files = list(files)
        self.max_chars = max_chars
        self.on_bytes = on_bytes or (lambda n: None)
        self.docs = self.chars = 0
        self.truncated = False

    def __iter__(self) -> Iterator[str]:
        self.docs = self.chars = 0
        self.truncated = False
        for path in self.files:
            for doc in _READERS[file_format(path)](path, self.on_bytes):
                if not doc.strip():
                    continue
                sep = 2 if self.docs else 0
                if self.max_chars and self.chars + sep + len(doc) > self.max_chars:
                    doc = doc[: max(0, self.max_chars - self.chars - sep)]
                    self.truncated = True
                    if doc:
                        self.docs += 1
                        self.chars += sep + len(doc)
                        yield doc
                    return
                self.docs += 1
                self.chars += sep + len(doc)
                yield doc


class _Progress:
    """Report bytes read from a raw file object, at most every 1 MiB."""

    def __init__(self, raw: Any, on_bytes) -> None:
        self.raw, self.on_bytes, self.done = raw, on_bytes, 0

    def __call__(self, final: bool = False) -> None:
        pos = self.raw.tell()
        if final or pos - self.done >= 1 << 20:
            self.on_bytes(pos - self.done)
            self.done = pos


def _open_text(raw: Any, path: Path) -> io.TextIOBase:
    stream = gzip.GzipFile(fileobj=raw) if str(path).lower().endswith(".gz") else raw
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace")


def _read_text(path: Path, on_bytes) -> Iterator[str]:
    with open(path, "rb") as raw, _open_text(raw, path) as fh:
        doc = fh.read()
        on_bytes(raw.tell())
    yield doc


def _read_jsonl(path: Path, on_bytes) -> Iterator[str]:
    with open(path, "rb") as raw, _open_text(raw, path) as fh:
        tick = _Progress(raw, on_bytes)
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                text = json.loads(line).get("text")
            except (json.JSONDecodeError, AttributeError) as exc:
                raise ValueError(f"{path}:{n}: not a JSON object per line ({exc})") from exc
            if isinstance(text, str):
                yield text
            if n % 256 == 0:
                tick()
        tick(final=True)


def _read_parquet(path: Path, on_bytes) -> Iterator[str]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    if "text" not in pf.schema_arrow.names:
        raise ParameterError(PARAM, str(path), "Parquet files with a 'text' column")
    size, rows, done = os.path.getsize(path), max(1, pf.metadata.num_rows), 0
    seen = 0
    for batch in pf.iter_batches(batch_size=1024, columns=["text"]):
        for text in batch.column(0).to_pylist():
            if isinstance(text, str):
                yield text
        seen += batch.num_rows
        now = size * seen // rows
        on_bytes(now - done)
        done = now


_READERS = {"text": _read_text, "jsonl": _read_jsonl, "parquet": _read_parquet}
