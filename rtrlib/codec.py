"""Results as data: a tree of plain values, arrays, tensors and tables <-> one zip archive.

What can be stored: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, lists, tuples,
dicts (any encodable keys, order kept), numpy arrays and scalars (not of dtype ``object``),
torch tensors, pandas DataFrames and Series (with their ``attrs``), and instances of dataclasses
registered with :func:`storable`. Anything else is refused when saving, with its type named.

The archive holds ``tree.json`` (the structure, with references to the members), one ``.npy``
member per array (read with ``allow_pickle=False``), one ``tensors.pt`` with every tensor (read
with ``torch.load(weights_only=True)``) and one Parquet member per table. Decoding therefore never
unpickles anything and never imports or runs code named by the data: a dataclass is rebuilt only
if its name is in the registry of this process.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import zipfile
from typing import Any, TypeVar

import numpy as np

__all__ = ["CodecError", "decode", "encode", "storable"]

C = TypeVar("C", bound=type)
_REGISTRY: dict[str, type] = {}


class CodecError(ValueError):
    """An object that cannot be stored, or an archive that cannot be read as data."""


def storable(cls: C) -> C:
    """Class decorator: instances of this dataclass may be stored (by field)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__qualname__} is not a dataclass")
    name = f"{cls.__module__}.{cls.__qualname__}"
    _REGISTRY[name] = cls
    return cls


class _Writer:
    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.tensors: list[Any] = []
        self.tables: list[bytes] = []

    def enc(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and not isinstance(obj, bool):
            return obj
        if isinstance(obj, float):
            return {"f": repr(obj)} if obj != obj or obj in (float("inf"), float("-inf")) \
                else obj
        if isinstance(obj, bytes):
            return {"bytes": base64.b64encode(obj).decode()}
        if isinstance(obj, list):
            return [self.enc(v) for v in obj]
        if isinstance(obj, tuple):
            return {"tuple": [self.enc(v) for v in obj]}
        if isinstance(obj, dict):
            return {"dict": [[self.enc(k), self.enc(v)] for k, v in obj.items()]}
        if isinstance(obj, (np.ndarray, np.generic)):
            arr = np.asarray(obj)
            if arr.dtype.hasobject:
                raise CodecError("numpy arrays of dtype object cannot be stored as data")
            self.arrays.append(arr)
            return {"npy": len(self.arrays) - 1, "scalar": isinstance(obj, np.generic)}
        mod = type(obj).__module__.split(".")[0]
        if mod == "torch":
            import torch

            if isinstance(obj, torch.Tensor):
                self.tensors.append(obj.detach().cpu())
                return {"tensor": len(self.tensors) - 1}
            if isinstance(obj, (torch.dtype, torch.device)):
                return {"torch_" + type(obj).__name__: str(obj)}
        if mod == "pandas":
            import pandas as pd

            if isinstance(obj, pd.Series):
                return {"series": self.enc(obj.to_frame(name=obj.name if obj.name is not None
                                                        else "__value__")),
                        "unnamed": obj.name is None}
            if isinstance(obj, pd.DataFrame):
                buf = io.BytesIO()
                frame = obj.copy()
                frame.attrs = {}
                frame.columns = [str(c) for c in frame.columns]
                frame.to_parquet(buf, engine="pyarrow")
                self.tables.append(buf.getvalue())
                return {"table": len(self.tables) - 1,
                        "columns": [self.enc(c) for c in obj.columns],
                        "attrs": self.enc(dict(obj.attrs))}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            name = f"{type(obj).__module__}.{type(obj).__qualname__}"
            if _REGISTRY.get(name) is not type(obj):
                raise CodecError(f"{name} is not registered with rtrlib.codec.storable")
            fields = {f.name: self.enc(getattr(obj, f.name))
                      for f in dataclasses.fields(obj) if f.init}
            return {"dataclass": name, "fields": fields}
        raise CodecError(f"cannot store an object of type {type(obj).__module__}."
                         f"{type(obj).__qualname__} as data")


def encode(obj: Any) -> bytes:
    """The archive bytes of ``obj`` (raises :class:`CodecError` for what is not data)."""
    w = _Writer()
    tree = w.enc(obj)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("tree.json", json.dumps(tree, allow_nan=False))
        for i, arr in enumerate(w.arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, arr, allow_pickle=False)
            zf.writestr(f"a{i}.npy", member.getvalue())
        if w.tensors:
            import torch

            member = io.BytesIO()
            torch.save(w.tensors, member)
            zf.writestr("tensors.pt", member.getvalue())
        for i, table in enumerate(w.tables):
            zf.writestr(f"t{i}.parquet", table)
    return buf.getvalue()


class _Reader:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self._tensors: list[Any] | None = None

    def tensors(self) -> list[Any]:
        if self._tensors is None:
            import torch

            data = io.BytesIO(self.zf.read("tensors.pt"))
            self._tensors = torch.load(data, weights_only=True, map_location="cpu")
            if not isinstance(self._tensors, list):
                raise CodecError("tensors.pt does not hold a list of tensors")
        return self._tensors

    def dec(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.dec(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise CodecError(f"unexpected node {node!r:.60}")
        if "f" in node:
            return float(node["f"])
        if "bytes" in node:
            return base64.b64decode(node["bytes"])
        if "tuple" in node:
            return tuple(self.dec(v) for v in node["tuple"])
        if "dict" in node:
            return {_hashable(self.dec(k)): self.dec(v) for k, v in node["dict"]}
        if "npy" in node:
            with self.zf.open(f"a{int(node['npy'])}.npy") as fh:
                arr = np.lib.format.read_array(io.BytesIO(fh.read()), allow_pickle=False)
            return arr[()] if node.get("scalar") else arr
        if "tensor" in node:
            return self.tensors()[int(node["tensor"])]
        if "torch_dtype" in node:
            import torch

            value = getattr(torch, node["torch_dtype"].removeprefix("torch."), None)
            if not isinstance(value, torch.dtype):
                raise CodecError(f"unknown torch dtype {node['torch_dtype']!r}")
            return value
        if "torch_device" in node:
            import torch

            return torch.device(node["torch_device"])
        if "table" in node:
            import pandas as pd

            frame = pd.read_parquet(io.BytesIO(self.zf.read(f"t{int(node['table'])}.parquet")),
                                    engine="pyarrow")
            frame.columns = [self.dec(c) for c in node["columns"]]
            frame.attrs = self.dec(node["attrs"])
            return frame
        if "series" in node:
            frame = self.dec(node["series"])
            s = frame.iloc[:, 0]
            return s.rename(None) if node.get("unnamed") else s
        if "dataclass" in node:
            cls = _REGISTRY.get(node["dataclass"])
            if cls is None:
                raise CodecError(f"{node['dataclass']} is not a registered storable class")
            return cls(**{k: self.dec(v) for k, v in node["fields"].items()})
        raise CodecError(f"unknown node kind {sorted(node)}")


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def decode(data: bytes) -> Any:
    """The object stored in archive ``data``; :class:`CodecError` if it is not such an archive.

    Nothing is unpickled: arrays are read with ``allow_pickle=False`` and tensors with
    ``weights_only=True``.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            tree = json.loads(zf.read("tree.json"))
            return _Reader(zf).dec(tree)
    except CodecError:
        raise
    except Exception as exc:  # a broken or hostile archive: report, never execute
        raise CodecError(f"{type(exc).__name__}: {exc}") from exc
