"""Results cached on disk as data, keyed by an experiment's full config and the code of rtrlib.

Keys. :func:`config_key` hashes an experiment's kind, its config and :func:`code_version`, the
SHA-256 of every source file of the rtrlib package. Editing any rtrlib function an experiment can
call therefore gives new keys: a cached result can never outlive the code that made it.

Data, not code. An entry ``<key>.rtr`` is a SHA-256 digest followed by a zip archive written by
:mod:`rtrlib.codec` (JSON for structure, ``.npy`` arrays read with ``allow_pickle=False``, torch
tensors read with ``weights_only=True``, Parquet for tables). Reading a cache directory handed
over by someone else never unpickles and never runs code from it.

Safety of writes. An entry is written to a unique temporary file in the same directory and moved
into place with :func:`os.replace`, so a reader sees the old entry, the new one, or none; two
processes writing the same key cannot interleave. A truncated, corrupt or unreadable entry fails
its digest or decoding check, is deleted, and is recomputed.

The cache directory is ``$RTRLIB_CACHE`` when set, else ``.rtrlib-cache/`` at the repository root.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from rtrlib.codec import CodecError, decode, encode

T = TypeVar("T")

__all__ = ["CHECKPOINT_SUFFIX", "KeyedConfig", "Store", "cache_dir", "cached", "code_version",
           "config_key", "run_resumable"]

_DIGEST = 32
_PACKAGE = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE.parent
SUFFIX = ".rtr"
CHECKPOINT_SUFFIX = "-checkpoint"


def cache_dir() -> Path:
    """The cache directory: ``$RTRLIB_CACHE`` or ``<repo>/.rtrlib-cache``."""
    env = os.environ.get("RTRLIB_CACHE")
    return Path(env) if env else _REPO_ROOT / ".rtrlib-cache"


def _package_hash(package: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(package).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


#: the package as this process imported it (hashed once, when this module was imported)
_IMPORTED = (_PACKAGE, _package_hash(_PACKAGE))


def code_version() -> str:
    """A short hash of every ``.py`` file of the rtrlib package, as this process imported it.

    Any edit anywhere in rtrlib changes it, so no result can depend on code its key misses. It
    is taken when :mod:`rtrlib.store` is imported: an edit on disk while a long run is going
    does not change the keys of the code that is running (a new process sees the edit).
    """
    if _IMPORTED[0] == _PACKAGE:
        return _IMPORTED[1]
    return _package_hash(_PACKAGE)  # a package copy (the tests point _PACKAGE at one)


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__qualname__, **{
            f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
        }}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def config_key(kind: str, config: Any) -> str:
    """The cache key of an experiment: its kind, its full config and the rtrlib code version."""
    blob = json.dumps({"kind": kind, "config": _jsonable(config), "code": code_version()},
                      sort_keys=True, default=repr)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:24]}"


class KeyedConfig:
    """Mixin for frozen config dataclasses: :meth:`replace`, and :meth:`keyed`, the fields that
    determine a result (``NOT_KEYED`` lists those that do not, such as progress bars)."""

    NOT_KEYED: ClassVar[tuple[str, ...]] = ("checkpoint_every", "progress")

    def replace(self, **changes: Any) -> Any:
        return dataclasses.replace(self, **changes)

    def keyed(self) -> dict:
        d = dataclasses.asdict(self)
        for name in self.NOT_KEYED:
            d.pop(name, None)
        return d


class Store:
    """A directory of checksummed, atomically written entries holding data only."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir()

    def path(self, key: str) -> Path:
        return self.root / f"{key}{SUFFIX}"

    def load(self, key: str) -> Any | None:
        """The stored object, or None when the entry is missing, corrupt or unreadable (then
        deleted, so the caller recomputes it)."""
        path = self.path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        digest, payload = raw[:_DIGEST], raw[_DIGEST:]
        if len(raw) <= _DIGEST or hashlib.sha256(payload).digest() != digest:
            warnings.warn(f"cache entry {path.name} is corrupt; recomputing", stacklevel=2)
            path.unlink(missing_ok=True)
            return None
        try:
            return decode(payload)
        except CodecError as exc:
            warnings.warn(f"cache entry {path.name} cannot be read ({exc}); recomputing",
                          stacklevel=2)
            path.unlink(missing_ok=True)
            return None

    def save(self, key: str, obj: Any) -> Path:
        """Write ``obj`` under ``key`` atomically; returns the entry's path."""
        self.root.mkdir(parents=True, exist_ok=True)
        payload = encode(obj)
        path = self.path(key)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(hashlib.sha256(payload).digest())
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def cached(kind: str, config: Any, compute: Callable[[], T], *, store: Store | None = None,
           refresh: bool = False) -> T:
    """Return ``compute()``, cached under (kind, config, rtrlib code version)."""
    store = store or Store()
    key = config_key(kind, config)
    if not refresh:
        hit = store.load(key)
        if hit is not None:
            return hit
    result = compute()
    store.save(key, result)
    return result


def run_resumable(key: str, train: Callable[[Store, str], T | None], *,
                  store: Store | None = None, refresh: bool = False) -> T | None:
    """Load the result stored under ``key``, or compute it with ``train(store, key)``.

    ``train`` saves its progress under ``key + CHECKPOINT_SUFFIX`` as it goes and resumes from
    it, so a killed run continues where it stopped. The finished result is saved under ``key``
    and the checkpoint deleted. ``refresh`` discards both and starts over. ``train`` returning
    None means it stopped before finishing (tests simulate a kill this way); nothing is saved.
    """
    store = store or Store()
    if not refresh:
        hit = store.load(key)
        if hit is not None:
            return hit
    else:
        store.delete(key + CHECKPOINT_SUFFIX)
    result = train(store, key)
    if result is None:
        return None
    store.save(key, result)
    store.delete(key + CHECKPOINT_SUFFIX)
    return result
