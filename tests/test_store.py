"""The result store: atomic writes, corruption detection, concurrent writers, keys."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import shutil
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.rtr"]


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
    (entry,) = tmp_path.glob("*.rtr")
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


def test_key_depends_on_config_and_on_every_rtrlib_source_file(tmp_path: Path,
                                                               monkeypatch) -> None:
    assert config_key("x", Cfg(1)) == config_key("x", Cfg(1))
    assert config_key("x", Cfg(1)) != config_key("x", Cfg(2))
    assert config_key("x", Cfg(1, lr=0.1)) != config_key("x", Cfg(1, lr=0.2))
    assert config_key("x", Cfg(1)) != config_key("y", Cfg(1))
    # a copy of the package: editing any module in it changes the version
    import rtrlib.store as store_mod

    pkg = tmp_path / "rtrlib"
    shutil.copytree(Path(store_mod.__file__).parent, pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(store_mod, "_PACKAGE", pkg)
    v1 = code_version()
    key1 = config_key("x", Cfg(1))
    target = pkg / "theory" / "utility.py"
    target.write_text(target.read_text() + "\n# an edit\n")
    assert code_version() != v1 and config_key("x", Cfg(1)) != key1


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
    assert [p.name for p in tmp_path.iterdir()] == ["shared.rtr"]


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


def test_store_roundtrips_the_types_results_hold(tmp_path: Path) -> None:
    import torch

    from rtrlib.toy.sweep import SweepResult

    df = pd.DataFrame({"w": np.arange(3), "x": [0.5, np.nan, 2.0], "s": ["a", "b", "c"]})
    df.attrs["seconds"] = 1.5
    gen = torch.Generator().manual_seed(3)
    obj = {
        "tuple": (1, 2.5, "three", None, True), 4: [np.float64(0.25), np.int64(7)],
        "array": np.arange(6, dtype=np.float32).reshape(2, 3), "nan": float("nan"),
        "tensor": torch.randn(4, 2), "gen": gen.get_state(), "frame": df,
        "series": pd.Series([1.0, 2.0], name="v"), "bytes": b"\x00\x01",
        "result": SweepResult(tasks=df, features=None, seconds=2.0),
        "optim": torch.optim.Adam([torch.zeros(2, requires_grad=True)]).state_dict(),
    }
    store = Store(tmp_path)
    store.save("k", obj)
    got = store.load("k")
    assert got["tuple"] == obj["tuple"] and isinstance(got["tuple"], tuple)
    assert got[4] == [0.25, 7] and type(got[4][1]) is np.int64
    np.testing.assert_array_equal(got["array"], obj["array"])
    assert got["array"].dtype == np.float32 and np.isnan(got["nan"])
    assert torch.equal(got["tensor"], obj["tensor"]) and torch.equal(got["gen"], obj["gen"])
    pd.testing.assert_frame_equal(got["frame"], df)
    assert got["frame"].attrs == {"seconds": 1.5}
    pd.testing.assert_series_equal(got["series"], obj["series"])
    assert got["bytes"] == b"\x00\x01"
    assert isinstance(got["result"], SweepResult) and got["result"].seconds == 2.0
    assert got["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_what_is_not_data_is_refused_when_saving(tmp_path: Path) -> None:
    from rtrlib.codec import CodecError

    @dataclasses.dataclass
    class Unregistered:
        x: int = 1

    for bad in (Unregistered(), object(), np.array([object()]), {1, 2}, lambda: 0):
        with pytest.raises(CodecError):
            Store(tmp_path).save("bad", {"value": bad})
    assert not list(tmp_path.glob("*.rtr"))


class _Exploit:
    """A pickle whose loading would create a file: the attack a cache directory could carry."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_planted_pickle_is_never_executed(tmp_path: Path) -> None:
    """Entries replaced by pickles (bare, behind a valid digest, or as a member of a valid
    archive: as tensors.pt, or as an object array) are refused and recomputed, never run."""
    import hashlib
    import io
    import json
    import pickle
    import zipfile

    import torch

    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Exploit(str(marker)))
    store = Store(tmp_path / "cache")
    calls = []

    def compute() -> dict:
        calls.append(1)
        return {"t": torch.ones(2), "a": np.arange(3)}

    def archive(tree: dict, members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("tree.json", json.dumps(tree))
            for name, data in members.items():
                zf.writestr(name, data)
        return buf.getvalue()

    torch_evil = io.BytesIO()
    torch.save([_Exploit(str(marker))], torch_evil)
    npy_evil = io.BytesIO()
    np.save(npy_evil, np.array([_Exploit(str(marker))], dtype=object), allow_pickle=True)
    payloads = [
        evil,                                                       # a bare pickle
        hashlib.sha256(evil).digest() + evil,                       # behind a valid digest
        *[hashlib.sha256(p).digest() + p for p in (
            archive({"tensor": 0}, {"tensors.pt": torch_evil.getvalue()}),
            archive({"npy": 0, "scalar": False}, {"a0.npy": npy_evil.getvalue()}),
        )],
    ]
    cached("exp", Cfg(1), compute, store=store)
    (entry,) = (tmp_path / "cache").glob("*.rtr")
    for payload in payloads:
        entry.write_bytes(payload)
        with pytest.warns(UserWarning):
            got = cached("exp", Cfg(1), compute, store=store)
        assert torch.equal(got["t"], torch.ones(2))
        assert not marker.exists()
    assert len(calls) == 1 + len(payloads)
    # a stray pickle from an older cache format is not even looked at
    (tmp_path / "cache" / (entry.stem + ".rtr")).write_bytes(evil)
    cached("exp", Cfg(1), compute, store=store)
    assert not marker.exists()


def test_editing_a_theory_function_recomputes_a_cached_sweep(tmp_path: Path) -> None:
    """The sweep caches values computed by rtrlib.theory; double ``optimal_task_loss`` in a copy
    of the package and the same cache directory gives the new values, not the stored ones."""
    import os
    import subprocess
    import sys

    import rtrlib

    shutil.copytree(Path(rtrlib.__file__).parent, tmp_path / "rtrlib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    script = ("from rtrlib.toy import MixtureConfig, ModelBatchConfig, ToyRunConfig, SweepConfig,"
              " run_sweep\n"
              "cfg = SweepConfig(mixture=MixtureConfig(n_tasks=3, n_features=2),"
              " models=ModelBatchConfig(widths=(2,)), run=ToyRunConfig(steps=2, batch_size=8),"
              " n_logs=1, record_presence=False)\n"
              "print(run_sweep(cfg).optimal_loss.sum())\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "RTRLIB_CACHE": str(tmp_path / "cache")}

    def run() -> float:
        out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                             capture_output=True, text=True)
        assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-3000:]}"
        return float(out.stdout.split()[-1])

    before = run()
    assert run() == before  # a cache hit
    util = tmp_path / "rtrlib" / "theory" / "utility.py"
    text = util.read_text()
    needle = "    return np.bincount(task[~kept], weights=lam[~kept], minlength=len(pi))"
    assert needle in text
    util.write_text(text.replace(needle, needle.replace("return ", "return 2 * ")))
    assert run() == pytest.approx(2 * before)


def test_an_edit_on_disk_does_not_change_the_running_process_keys(tmp_path, monkeypatch) -> None:
    """The version is the code this process imported: a file edited under a long run does not
    move the keys of the runs it is still writing (a new process would see the edit)."""
    import rtrlib.store as store_mod

    pkg = tmp_path / "rtrlib"
    shutil.copytree(Path(store_mod.__file__).parent, pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(store_mod, "_PACKAGE", pkg)
    monkeypatch.setattr(store_mod, "_IMPORTED", (pkg, store_mod._package_hash(pkg)))
    before = code_version()
    (pkg / "store.py").write_text((pkg / "store.py").read_text() + "\n# edited under a run\n")
    assert code_version() == before
    assert store_mod._package_hash(pkg) != before  # what a new process would use
