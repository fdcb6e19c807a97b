"""The claim registry: every claim and check the book tests, declared before it is run.

One YAML file, ``chapters/claims.yaml``, lists one entry per claim or check (LEDGER.md §1):

``id``, ``chapter``, ``source`` (``paper`` or ``book``), ``kind`` (``claim`` or ``check``),
``paper_ref`` (the paper's place), ``statement`` (in our words); for a claim also ``metric``
(what number is measured, per seed), ``criterion`` (``{op: ">=", threshold: 0.9}``, written
before the run), ``control`` (the same measurement where the claim should not hold) and
``seeds`` (the seeds the verdict reads, at least three). A check is a derivation that cannot
fail by data (it is verified or not); it has no criterion, control or seeds.

A change of a criterion is a commit to this file whose message says why; the ledger shows, per
entry, the commit in which that entry last changed (:func:`entry_commits`).
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import yaml

from rtrlib.params import ParameterError

__all__ = ["MIN_SEEDS", "OPS", "ClaimSpec", "Criterion", "entry_commits", "load_registry",
           "registry_path"]

OPS = (">=", ">", "<=", "<")
SOURCES = ("paper", "book")
KINDS = ("claim", "check")
MIN_SEEDS = 3
_ROOT = Path(__file__).resolve().parents[2]


def registry_path(root: Path | None = None) -> Path:
    """``<root>/chapters/claims.yaml`` (root: the repository of this rtrlib)."""
    return (root or _ROOT) / "chapters" / "claims.yaml"


@dataclasses.dataclass(frozen=True)
class Criterion:
    """``metric <op> threshold``, decided before the run."""

    op: str
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ParameterError("criterion.op", self.op, "one of " + ", ".join(OPS))
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            raise ParameterError("criterion.threshold", self.threshold, "a number")

    @property
    def higher_is_better(self) -> bool:
        return self.op.startswith(">")

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the criterion (NaN never does)."""
        t = self.threshold
        return {">=": value >= t, ">": value > t, "<=": value <= t, "<": value < t}[self.op]

    def text(self, metric: str = "metric") -> str:
        return f"{metric} {self.op} {self.threshold:g}"


@dataclasses.dataclass(frozen=True)
class ClaimSpec:
    """One registry entry."""

    id: str
    chapter: str
    source: str
    kind: str
    paper_ref: str
    statement: str
    metric: str = ""
    criterion: Criterion | None = None
    control: str = ""
    seeds: tuple[int, ...] = ()

    @property
    def criterion_text(self) -> str:
        return self.criterion.text(self.metric) if self.criterion else "verified symbolically"


def _entry(raw: Any, where: str) -> ClaimSpec:
    if not isinstance(raw, dict):
        raise ParameterError(where, raw, "a mapping with id, chapter, source, kind, ...")
    required = ("id", "chapter", "source", "kind", "paper_ref", "statement")
    missing = [k for k in required if not str(raw.get(k, "")).strip()]
    if missing:
        raise ParameterError(f"{where}.{missing[0]}", raw.get(missing[0]), "a non-empty string")
    known = {f.name for f in dataclasses.fields(ClaimSpec)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ParameterError(f"{where}.{unknown[0]}", raw[unknown[0]],
                             "one of the registry keys " + ", ".join(sorted(known)))
    cid = str(raw["id"])
    if raw["source"] not in SOURCES:
        raise ParameterError(f"{cid}.source", raw["source"], "one of " + ", ".join(SOURCES))
    if raw["kind"] not in KINDS:
        raise ParameterError(f"{cid}.kind", raw["kind"], "one of " + ", ".join(KINDS))
    fields = {k: raw[k] for k in required}
    if raw["kind"] == "check":
        extra = [k for k in ("criterion", "control", "seeds", "metric") if raw.get(k)]
        if extra:
            raise ParameterError(f"{cid}.{extra[0]}", raw[extra[0]],
                                 "nothing: a check is verified, it has no criterion, control, "
                                 "metric or seeds")
        return ClaimSpec(**fields)
    for k in ("metric", "control"):
        if not str(raw.get(k, "")).strip():
            raise ParameterError(f"{cid}.{k}", raw.get(k), "a non-empty string (every "
                                 "experimental claim names its metric and its control)")
    crit = raw.get("criterion")
    if not isinstance(crit, dict) or set(crit) != {"op", "threshold"}:
        raise ParameterError(f"{cid}.criterion", crit, "a mapping {op: '>=', threshold: x}")
    seeds = raw.get("seeds")
    if not isinstance(seeds, list) or len(seeds) < MIN_SEEDS or len(set(seeds)) != len(seeds) \
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                       for s in seeds):
        raise ParameterError(f"{cid}.seeds", seeds,
                             f"a list of at least {MIN_SEEDS} distinct non-negative integers")
    return ClaimSpec(**fields, metric=str(raw["metric"]), control=str(raw["control"]),
                     criterion=Criterion(str(crit["op"]), float(crit["threshold"])),
                     seeds=tuple(seeds))


def parse_registry(text: str, where: str = "claims.yaml") -> dict[str, ClaimSpec]:
    """Parse and validate registry text; entries keyed by id, in file order."""
    data = yaml.safe_load(text) or []
    if not isinstance(data, list):
        raise ParameterError(where, type(data).__name__, "a list of entries")
    out: dict[str, ClaimSpec] = {}
    for i, raw in enumerate(data):
        spec = _entry(raw, f"{where}[{i}]")
        if spec.id in out:
            raise ParameterError(f"{where}[{i}].id", spec.id, "a unique id")
        out[spec.id] = spec
    return out


def load_registry(root: Path | None = None) -> dict[str, ClaimSpec]:
    """The validated registry of the repository at ``root``."""
    path = registry_path(root)
    return parse_registry(path.read_text(), path.name)


def entry_commits(root: Path | None = None) -> dict[str, str]:
    """Per entry id: the short commit in which that entry last changed (``uncommitted`` if the
    working file differs from HEAD for it; ``unknown`` without git history).

    A commit changed an entry when the entry differs from its version in every parent, so a
    merge that only brings an entry over from one side is not counted as its change.
    """
    root = root or _ROOT
    path = registry_path(root)
    rel = path.relative_to(root).as_posix()
    current = _raw_entries(path.read_text())

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, text=True, capture_output=True,
                              check=True).stdout

    versions: dict[str, dict[str, Any]] = {}

    def at(sha: str) -> dict[str, Any]:
        if sha not in versions:
            try:
                versions[sha] = _raw_entries(git("show", f"{sha}:{rel}"))
            except (subprocess.CalledProcessError, yaml.YAMLError):
                versions[sha] = {}
        return versions[sha]

    try:
        log = [ln.split() for ln in git("log", "--full-history", "--format=%H %P", "--",
                                        rel).splitlines() if ln.strip()]
        head = git("rev-parse", "HEAD").strip()
    except (OSError, subprocess.CalledProcessError):
        return dict.fromkeys(current, "unknown")
    out: dict[str, str] = {}
    for cid, entry in current.items():
        if at(head).get(cid) != entry:
            out[cid] = "uncommitted"
            continue
        out[cid] = "unknown"
        for sha, *parents in log:        # newest first
            if at(sha).get(cid) != entry:
                continue
            if not parents or all(at(p).get(cid) != entry for p in parents):
                out[cid] = sha[:7]
                break
    return out


def _raw_entries(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text) or []
    return {str(e.get("id")): e for e in data if isinstance(e, dict)} \
        if isinstance(data, list) else {}
