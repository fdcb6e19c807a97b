"""Command-line options derived from a frozen config dataclass.

Every field becomes an option named after it (``--batch-size``): tuples take several values
(``--widths 8 16 32``), booleans take ``--flag/--no-flag``, and everything else one value of the
field's type. Fields whose type has no command-line form (nested tuples) are left to the Python
API. Options not given stay unset, so the dataclass keeps its own default and validation::

    p = argparse.ArgumentParser()
    add_config_options(p, InjectionConfig)
    cfg = InjectionConfig(**config_kwargs(p.parse_args(), InjectionConfig))
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from typing import Any

__all__ = ["add_config_options", "config_kwargs", "parse_config_command"]


def _options(cls: type, skip: tuple[str, ...]) -> list[tuple[dataclasses.Field, str]]:
    hints = typing.get_type_hints(cls)
    return [(f, str(hints[f.name])) for f in dataclasses.fields(cls)
            if f.name not in skip and "tuple[tuple" not in str(hints[f.name])]


def add_config_options(parser: argparse.ArgumentParser, cls: type,
                       skip: tuple[str, ...] = ("progress",)) -> None:
    """Add one option per field of the dataclass ``cls`` (except ``skip``)."""
    for f, hint in _options(cls, skip):
        opt = "--" + f.name.replace("_", "-")
        if "tuple[" in hint:
            elem = float if "float" in hint else int if "int" in hint else str
            parser.add_argument(opt, type=elem, nargs="+", default=None)
        elif hint == "<class 'bool'>":
            parser.add_argument(opt, action=argparse.BooleanOptionalAction, default=None)
        else:
            elem = float if "float" in hint else int if "int" in hint else str
            parser.add_argument(opt, type=elem, default=None)


def config_kwargs(args: argparse.Namespace, cls: type,
                  skip: tuple[str, ...] = ("progress",)) -> dict[str, Any]:
    """The fields of ``cls`` given on the command line (lists turned into tuples)."""
    names = {f.name for f, _ in _options(cls, skip)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in vars(args).items()
            if k in names and v is not None}


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
        return cls(**config_kwargs(args, cls), progress=True), args
    except ParameterError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None
