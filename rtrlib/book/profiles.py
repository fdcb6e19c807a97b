"""The book's sources: chapters in ``_toc.yml``, profiles in ``chapters/profiles.yaml``, and the
parameters papermill injects into a chapter."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from rtrlib.book.errors import BookError
from rtrlib.params import DEVICES, PROFILES

__all__ = ["ROOT", "check_parameter_names", "chapter_parameters", "load_profiles",
           "toc_chapters"]

ROOT = Path(__file__).resolve().parents[2]  # the repository holding this rtrlib


def toc_chapters(root: Path = ROOT) -> list[str]:
    """Chapter names (``NN_name``) listed in ``_toc.yml``, in book order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            f = node.get("file")
            if isinstance(f, str) and f.startswith("chapters/"):
                found.append(Path(f).stem)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    return found


def load_profiles(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """The profiles file, validated: each profile has a device and per-chapter overrides."""
    path = root / "chapters" / "profiles.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    if set(data) != set(PROFILES):
        raise BookError(f"{path.name}: profiles must be exactly {', '.join(PROFILES)}; "
                        f"found {', '.join(sorted(data)) or 'none'}")
    for name, prof in data.items():
        if not isinstance(prof, dict):
            raise BookError(f"{path.name}: profile {name!r} must be a mapping")
        if prof.get("device") not in DEVICES:
            raise BookError(f"{path.name}: profile {name!r} has device {prof.get('device')!r}; "
                            f"valid devices: {', '.join(DEVICES)}")
        chapters = prof.get("chapters") or {}
        if not isinstance(chapters, dict) or any(
                not isinstance(v, dict) for v in chapters.values() if v is not None):
            raise BookError(f"{path.name}: profile {name!r}: 'chapters' must map chapter names "
                            "to parameter mappings")
        prof["chapters"] = {k: dict(v or {}) for k, v in chapters.items()}
        timeout = prof.get("cell_timeout")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                    or timeout < 1):
            raise BookError(f"{path.name}: profile {name!r}: cell_timeout must be a positive "
                            f"number of seconds (or absent); found {timeout!r}")
    return data


def chapter_parameters(profiles: dict[str, dict[str, Any]], profile: str, chapter: str,
                       device: str | None = None) -> dict[str, Any]:
    """The parameters papermill injects into ``chapter`` under ``profile``."""
    prof = profiles[profile]
    params = {"profile": profile, "device": device or prof["device"]}
    params.update(prof["chapters"].get(chapter, {}))
    if device:
        params["device"] = device
    return params


def check_parameter_names(nb: Any, chapter: str, params: dict[str, Any]) -> None:
    """Refuse parameters that the chapter's ``parameters`` cell does not define."""
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise BookError(f"chapter {chapter}: needs exactly one cell tagged 'parameters' "
                        f"(found {len(cells)})")
    defined = set(re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", cells[0].source, re.M))
    unknown = sorted(set(params) - defined)
    if unknown:
        raise BookError(f"chapter {chapter}: profile sets unknown parameter(s) "
                        f"{', '.join(unknown)}; the parameters cell defines "
                        f"{', '.join(sorted(defined))}")
