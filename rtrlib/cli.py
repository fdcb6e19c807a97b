"""Command-line options derived from a frozen config dataclass: the one CLI style of rtrlib.

Every field becomes an option named after it (``--batch-size``); the fields of a nested config
dataclass become dotted options (``--optim.lr``). Tuples take several values (``--widths 8 16
32``), booleans take ``--flag/--no-flag``, and everything else one value of the field's type. A
field whose metadata has ``choices`` becomes an argparse option with ``choices=`` (a closed set,
listed in ``--help``); ``help`` in the metadata is its help text. Fields whose type has no
command-line form (nested tuples) are left to the Python API. Options not given stay unset, so
the dataclass keeps its own default and its own validation::

    p = argparse.ArgumentParser()
    add_config_options(p, SweepConfig)
    cfg = config_from_args(p.parse_args(), SweepConfig)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from typing import Any

__all__ = ["add_config_options", "config_from_args", "config_kwargs", "parse_config_command"]

_SCALARS = (bool, int, float, str)


@dataclasses.dataclass(frozen=True)
class _Option:
    path: tuple[str, ...]      # field names from the top config down
    kind: str                  # "scalar", "tuple", "scalar_or_tuple", "bool"
    elem: type
    field: dataclasses.Field

    @property
    def flag(self) -> str:
        return "--" + ".".join(self.path).replace("_", "-")

    @property
    def dest(self) -> str:
        return "__".join(self.path)


def _classify(tp: Any) -> tuple[str, type] | None:
    """(kind, element type) of a field type, or None when it has no command-line form."""
    if tp in _SCALARS:
        return ("bool", bool) if tp is bool else ("scalar", tp)
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if args and all(a in _SCALARS and a is not bool for a in args) and len(set(args)) == 1:
            return "tuple", args[0]
        return None
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        scalars = [a for a in args if a in _SCALARS]
        tuples = [_classify(a) for a in args if typing.get_origin(a) is tuple]
        if scalars and tuples and tuples[0] is not None:
            return "scalar_or_tuple", scalars[0]
        if len(args) == 1:
            return _classify(args[0])
        if tuples and tuples[0] is not None and not scalars:
            return tuples[0]
        if scalars:
            return ("bool", bool) if scalars[0] is bool else ("scalar", scalars[0])
    return None


def _options(cls: type, skip: tuple[str, ...], prefix: tuple[str, ...] = ()) -> list[_Option]:
    hints = typing.get_type_hints(cls)
    out: list[_Option] = []
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        tp = hints[f.name]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            out += _options(tp, skip, prefix + (f.name,))
            continue
        found = _classify(tp)
        if found is not None:
            out.append(_Option(prefix + (f.name,), found[0], found[1], f))
    return out


def add_config_options(parser: argparse.ArgumentParser, cls: type,
                       skip: tuple[str, ...] = ("progress",)) -> None:
    """Add one option per field of the dataclass ``cls`` (nested configs: dotted options)."""
    for opt in _options(cls, skip):
        meta = opt.field.metadata
        kw: dict[str, Any] = {"dest": opt.dest, "default": None, "help": meta.get("help")}
        if "choices" in meta:
            kw["choices"] = tuple(meta["choices"])
        if opt.kind == "bool":
            parser.add_argument(opt.flag, action=argparse.BooleanOptionalAction, **kw)
        elif opt.kind in ("tuple", "scalar_or_tuple"):
            parser.add_argument(opt.flag, type=opt.elem, nargs="+", **kw)
        else:
            parser.add_argument(opt.flag, type=opt.elem, **kw)


def config_kwargs(args: argparse.Namespace, cls: type,
                  skip: tuple[str, ...] = ("progress",)) -> dict[str, Any]:
    """The top-level fields of ``cls`` given on the command line (nested configs rebuilt from
    their defaults with the given values replaced; lists turned into tuples)."""
    given: dict[str, Any] = {}
    nested: dict[str, dict[tuple[str, ...], Any]] = {}
    for opt in _options(cls, skip):
        value = getattr(args, opt.dest, None)
        if value is None:
            continue
        if isinstance(value, list):
            value = value[0] if opt.kind == "scalar_or_tuple" and len(value) == 1 \
                else tuple(value)
        if len(opt.path) == 1:
            given[opt.path[0]] = value
        else:
            nested.setdefault(opt.path[0], {})[opt.path[1:]] = value
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, values in nested.items():
        given[name] = _replace_nested(_default(fields[name]), values)
    return given


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"nested config field {f.name!r} needs a default to take options")


def _replace_nested(obj: Any, values: dict[tuple[str, ...], Any]) -> Any:
    here = {p[0]: v for p, v in values.items() if len(p) == 1}
    deeper: dict[str, dict[tuple[str, ...], Any]] = {}
    for p, v in values.items():
        if len(p) > 1:
            deeper.setdefault(p[0], {})[p[1:]] = v
    for name, sub in deeper.items():
        here[name] = _replace_nested(getattr(obj, name), sub)
    return dataclasses.replace(obj, **here)


def config_from_args(args: argparse.Namespace, cls: type, **extra: Any) -> Any:
    """Build ``cls`` from the parsed options (and ``extra`` keyword arguments)."""
    return cls(**config_kwargs(args, cls), **extra)


def parse_config_command(argv: list[str] | None, cls: type, *, prog: str, description: str,
                         out: str, refresh: bool = True
                         ) -> tuple[Any, argparse.Namespace] | None:
    """Parse a one-config command (every field an option, plus ``--out`` and ``--refresh``)
    and build the config with ``progress=True``. A value the config refuses prints the
    config's one-line message to stderr and returns None (the command then exits with 2)."""
    from rtrlib.params import ParameterError

    p = argparse.ArgumentParser(prog=prog, description=description)
    add_config_options(p, cls)
    if refresh:
        p.add_argument("--refresh", action="store_true", help="ignore cached results")
    p.add_argument("--out", default=out, help="CSV to write")
    args = p.parse_args(argv)
    try:
        return config_from_args(args, cls, progress=True), args
    except ParameterError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None
