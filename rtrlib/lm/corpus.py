"""Background text for the injection run, read offline through one loader.

Sources (``CorpusConfig.source``):

- ``"python-docs"``: the reST sources of the Python documentation installed by Debian's
  ``python3-doc`` (``/usr/share/doc/python3*/html/_sources``), lightly cleaned of markup.
- ``"stdlib"``: docstrings of the Python standard library (zero install; tests, smoke runs).
- ``"auto"``: ``python-docs`` when installed, else ``stdlib``.
- ``"files"``: local plain-text, JSON-lines (Dolma's ``.json.gz`` shards) or Parquet files,
  directories or glob patterns in ``paths``, streamed document by document
  (:mod:`rtrlib.lm.documents`); tokenised once into a memory-mapped token file
  (:mod:`rtrlib.lm.tokens`). This is the source for GPU runners.
- ``"hf"``: a Hugging Face ``datasets`` name or builder (``hf_name``, e.g. ``"json"`` with
  ``paths`` pointing at Dolma shards). Optional import; nothing is downloaded unless the user
  asks for a remote dataset themselves.

The assembled text is deterministic for a config; :func:`load_corpus` returns it (in memory, so
for the CPU book's few MB) with metadata: the source, the package version it came from (Debian or
Python), and its SHA-256.
"""

from __future__ import annotations

import ast
import dataclasses
import glob
import hashlib
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from rtrlib.codec import storable
from rtrlib.lm.documents import DocumentStream, fingerprint, resolve_paths
from rtrlib.params import ParameterError, require_choice, require_int
from rtrlib.store import KeyedConfig, cached

__all__ = ["CorpusConfig", "Corpus", "load_corpus", "clean_rest", "python_docs_dir"]

SOURCES = ("auto", "python-docs", "stdlib", "files", "hf")
_DOC_GLOB = "/usr/share/doc/python3*/html/_sources"


@dataclasses.dataclass(frozen=True)
class CorpusConfig(KeyedConfig):
    """Which background text to read, and at most how many characters of it.

    ``paths``: files, directories or glob patterns (``source="files"``; data files for ``"hf"``).
    ``max_chars``: at most this many characters are read (0 = all of the files, ``"files"``
    only). ``allow_repeat``: a run may cycle the corpus more than once (see
    :func:`rtrlib.lm.tokens.check_token_budget`); it does not change the text, so it is not keyed.
    """

    NOT_KEYED = ("allow_repeat",)

    source: str = dataclasses.field(default="auto", metadata={"choices": SOURCES})
    paths: tuple[str, ...] = ()
    hf_name: str = ""
    max_chars: int = 8_000_000
    allow_repeat: bool = False

    def __post_init__(self) -> None:
        require_choice("source", self.source, SOURCES)
        object.__setattr__(self, "paths", tuple(str(p) for p in self.paths))
        if not (self.source == "files" and self.max_chars == 0):
            require_int("max_chars", self.max_chars, 1000)
        if self.source == "files" and not self.paths:
            raise ParameterError("corpus_paths", self.paths, "at least one file, directory or "
                                 "glob pattern when corpus_source = 'files'")
        if self.source == "hf" and not self.hf_name:
            raise ParameterError("hf_name", self.hf_name, "a datasets name for source='hf'")

    def files(self) -> list[Path]:
        """The corpus files ``paths`` name (``source="files"``), checked: a
        :class:`ParameterError` names ``corpus_paths`` when a pattern matches nothing."""
        return resolve_paths(self.paths)

    def resolved_source(self) -> str:
        if self.source != "auto":
            return self.source
        return "python-docs" if python_docs_dir() is not None else "stdlib"


@storable
@dataclasses.dataclass(frozen=True)
class Corpus:
    text: str
    meta: dict[str, Any]


def python_docs_dir() -> Path | None:
    """The installed ``python3-doc`` reST source directory (None when not installed)."""
    found = sorted({os.path.realpath(p) for p in glob.glob(_DOC_GLOB)})
    for path in found:
        if any(Path(path).rglob("*.rst.txt")):
            return Path(path)
    return None


def _dpkg_version(path: Path) -> str:
    try:
        owner = subprocess.run(["dpkg", "-S", str(path)], capture_output=True, text=True,
                               check=True, timeout=30).stdout.split(":")[0].strip()
        ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", owner], capture_output=True,
                             text=True, check=True, timeout=30).stdout.strip()
        return f"{owner} {ver}"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


_ROLE = re.compile(r":[\w:+-]+:`~?!?([^`<]*?)(?:\s*<[^`>]*>)?`")
_LINK = re.compile(r"`([^`<]*?)\s*<[^`>]*>`_+")
_INLINE = re.compile(r"``([^`]*)``|\*\*([^*]*)\*\*|`([^`]*)`_{0,2}")
_CODE_DIRECTIVES = {"code-block", "sourcecode", "code", "doctest", "testcode", "testoutput",
                    "testsetup", "productionlist", "literalinclude", "toctree", "index", "image",
                    "figure", "raw", "csv-table", "tabularcolumns", "highlight", "only",
                    "include", "audit-event-table", "list-table", "table", "math"}
_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+.:_])\1{2,}\s*$")


def clean_rest(text: str) -> str:
    """A light reST clean-up: drop directives, field lists, heading underlines, doctest and
    literal blocks; unwrap inline roles. Keeps prose paragraphs."""
    out: list[str] = []
    skip_indent: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if skip_indent is not None:
            if stripped and indent <= skip_indent:
                skip_indent = None
            else:
                continue
        if not stripped:
            out.append("")
            continue
        if stripped.startswith(".. ") or stripped == "..":
            name = stripped[3:].split("::")[0].strip()
            if "::" not in stripped or name in _CODE_DIRECTIVES:
                skip_indent = indent  # comments, targets and code: drop the body too
            continue
        if _UNDERLINE.match(stripped) or stripped.startswith((">>>", "...", "|")):
            continue
        if re.match(r"^:[\w -]+:", stripped) and not stripped.startswith(":ref:"):
            continue
        if stripped.endswith("::"):
            stripped = stripped[:-2].rstrip()
            line = line.rstrip()[:-1]
            skip_indent = indent
            if not stripped:
                continue
        line = _ROLE.sub(lambda m: m.group(1), line)
        line = _LINK.sub(lambda m: m.group(1), line)
        line = _INLINE.sub(lambda m: next(g for g in m.groups() if g is not None), line)
        out.append(line.strip())
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _python_docs(cfg: CorpusConfig) -> tuple[str, dict[str, Any]]:
    root = python_docs_dir()
    if root is None:
        raise FileNotFoundError(
            "python3-doc is not installed (apt-get install python3-doc); use source='stdlib'")
    files = sorted(root.rglob("*.rst.txt"))
    parts, total = [], 0
    for f in files:  # stop reading once max_chars are assembled
        parts.append(clean_rest(f.read_text(encoding="utf-8", errors="replace")))
        total += len(parts[-1]) + 1
        if total >= cfg.max_chars:
            break
    return "\n".join(parts), {"root": str(root), "files": len(parts),
                              "package": _dpkg_version(files[0])}


def _stdlib_docstrings(cfg: CorpusConfig) -> tuple[str, dict[str, Any]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = ("test", "idlelib", "lib2to3", "site-packages", "dist-packages", "turtledemo")
    parts: list[str] = []
    n = total = 0
    for path in sorted(root.rglob("*.py")):
        if total >= cfg.max_chars:
            break
        rel = path.relative_to(root).parts
        if any(p in skip or p.startswith("test") for p in rel):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError):
            continue
        n += 1
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 40:
                    parts.append(doc.strip())
                    total += len(parts[-1]) + 2
    ver = ".".join(map(str, sys.version_info[:3]))
    return "\n\n".join(parts), {"root": str(root), "files": n, "package": f"python {ver}"}


def _read_files(cfg: CorpusConfig) -> tuple[str, dict[str, Any]]:
    files = cfg.files()
    docs = DocumentStream(files, cfg.max_chars)
    text = "\n\n".join(docs)
    return text, {"files": len(files), "package": "local files", "docs": docs.docs,
                  "truncated": docs.truncated}


def _hf(cfg: CorpusConfig) -> tuple[str, dict[str, Any]]:
    try:
        import datasets  # optional
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError("source='hf' needs `pip install datasets`") from exc
    kwargs: dict[str, Any] = {"split": "train"}
    if cfg.paths:
        kwargs["data_files"] = list(cfg.paths)
    ds = datasets.load_dataset(cfg.hf_name, **kwargs)
    parts, total = [], 0
    for row in ds:
        parts.append(str(row["text"]))
        total += len(parts[-1])
        if total >= cfg.max_chars:
            break
    return "\n\n".join(parts), {"package": f"datasets {datasets.__version__} {cfg.hf_name}"}


_READERS = {"python-docs": _python_docs, "stdlib": _stdlib_docstrings, "files": _read_files,
            "hf": _hf}


def _fingerprint(cfg: CorpusConfig, source: str) -> list | None:
    """Names, sizes and mtimes of the input files (None when they cannot be listed)."""
    if source == "python-docs":
        root = python_docs_dir()
        files = sorted(root.rglob("*.rst.txt")) if root else []
    elif source == "stdlib":
        files = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
    elif source == "files":
        files = cfg.files()
    else:
        return None
    try:
        return fingerprint(files)
    except OSError:
        return None


def load_corpus(cfg: CorpusConfig | None = None, store=None) -> Corpus:
    """Assemble the background text for ``cfg`` (truncated to ``max_chars``) with metadata.

    The whole text is held in memory: for large ``"files"`` corpora use
    :func:`rtrlib.lm.tokenizer.load_token_data`, which streams. With a
    :class:`rtrlib.store.Store`, the assembled text is cached keyed by the input files' names,
    sizes and modification times (a changed file is re-read)."""
    cfg = cfg or CorpusConfig()
    source = cfg.resolved_source()
    if store is not None:
        fp = _fingerprint(cfg, source)
        if fp is not None:
            return cached("lm-corpus", {"cfg": cfg.keyed(), "files": fp},
                          lambda: load_corpus(cfg), store=store)
    text, meta = _READERS[source](cfg)
    truncated = bool(meta.pop("truncated", False)) or bool(cfg.max_chars and
                                                           len(text) > cfg.max_chars)
    if cfg.max_chars:
        text = text[: cfg.max_chars]
    if len(text) < 1000:
        raise ValueError(f"corpus from {source!r} has only {len(text)} characters")
    meta = {**meta, "source": source, "chars": len(text), "truncated": truncated,
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
    return Corpus(text=text, meta=meta)
