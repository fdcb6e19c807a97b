"""The result store: atomic writes, corruption detection, concurrent writers, keys."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rtrlib.store import Store, cached, code_version, config_key


@dataclasses.dataclass(frozen=True)
class Cfg:
    width: int
    lr: float = 0.1


def test_roundtrip_and_no_temporary_files_left(tmp_path: Path) -> None:
    store = Store(tmp_path)
    df = pd.DataFrame({"a": np.arange(5), "b": np.linspace(0, 1, 5)})
    store.save("k", df)
    pd.testing.assert_frame_equal(store.load("k"), df)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pkl"]


def test_missing_entry_is_none(tmp_path: Path) -> None:
    assert Store(tmp_path).load("nope") is None


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupt_entry_is_detected_and_recomputed(tmp_path: Path, damage: str) -> None:
    store = Store(tmp_path)
    calls = []

    def compute() -> list[int]:
        calls.append(1)
        return list(range(1000))

    assert cached("exp", Cfg(3), compute, store=store) == list(range(1000))
    (entry,) = tmp_path.glob("*.pkl")
    raw = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        entry.write_bytes(raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:])
    else:
        entry.write_bytes(b"")
    with pytest.warns(UserWarning, match="corrupt"):
        assert cached("exp", Cfg(3), compute, store=store) == list(range(1000))
    assert len(calls) == 2
    assert cached("exp", Cfg(3), compute, store=store) == list(range(1000))
    assert len(calls) == 2  # the recomputed entry is valid again


def test_cache_hit_skips_compute_and_config_changes_key(tmp_path: Path) -> None:
    store = Store(tmp_path)
    calls = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cached("exp", Cfg(3), compute, store=store) == 1
    assert cached("exp", Cfg(3), compute, store=store) == 1
    assert cached("exp", Cfg(4), compute, store=store) == 2
    assert cached("other", Cfg(3), compute, store=store) == 3


def test_key_depends_on_config_and_code_version(tmp_path: Path) -> None:
    assert config_key("x", Cfg(1), "v1") == config_key("x", Cfg(1), "v1")
    assert config_key("x", Cfg(1), "v1") != config_key("x", Cfg(2), "v1")
    assert config_key("x", Cfg(1), "v1") != config_key("x", Cfg(1), "v2")
    assert config_key("x", Cfg(1, lr=0.1), "v") != config_key("x", Cfg(1, lr=0.2), "v")
    mod = tmp_path / "mod.py"
    mod.write_text("A = 1\n")
    v1 = code_version(mod)
    mod.write_text("A = 2\n")
    assert code_version(mod) != v1


def _writer(root: str, worker: int, n: int) -> None:
    store = Store(root)
    payload = {"worker": worker, "data": list(range(20000))}
    for _ in range(n):
        store.save("shared", payload)
        got = store.load("shared")
        assert got is not None and got["data"] == payload["data"]


def test_two_processes_writing_the_same_key_do_not_corrupt_it(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 40)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    got = Store(tmp_path).load("shared")
    assert got["worker"] in (0, 1) and got["data"] == list(range(20000))
    assert [p.name for p in tmp_path.iterdir()] == ["shared.pkl"]


def test_keyed_config_leaves_out_what_does_not_change_results():
    import dataclasses

    from rtrlib.store import KeyedConfig

    @dataclasses.dataclass(frozen=True)
    class Run(KeyedConfig):
        width: int = 8
        checkpoint_every: int = 64
        progress: bool = False

    @dataclasses.dataclass(frozen=True)
    class Grid(Run):
        NOT_KEYED = ("progress",)

    run = Run().replace(width=16, progress=True)
    assert run.width == 16 and run.keyed() == {"width": 16}
    assert Grid().keyed() == {"width": 8, "checkpoint_every": 64}
