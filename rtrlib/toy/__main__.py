"""Command line: ``python -m rtrlib.toy sweep [options]`` runs a sweep and writes a CSV.

Every field of :class:`rtrlib.toy.SweepConfig` is an option (``--widths 4 8 16``,
``--optimizer adam``, ``--device cuda`` ...). Results go through the cache, so re-running an
interrupted command resumes it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing

from rtrlib.params import ParameterError
from rtrlib.toy.sweep import SweepConfig, run_sweep_full


def _add_fields(parser: argparse.ArgumentParser) -> None:
    hints = typing.get_type_hints(SweepConfig)
    for f in dataclasses.fields(SweepConfig):
        if f.name == "progress":
            continue
        hint = str(hints[f.name])
        opt = "--" + f.name.replace("_", "-")
        if "tuple[tuple" in hint:
            continue  # explicit spectra: use the Python API
        if hint.startswith("tuple") or "tuple[" in hint:
            elem = float if "float" in hint else int
            parser.add_argument(opt, type=elem, nargs="+", default=None)
        elif f.type in ("bool", bool) or hint == "<class 'bool'>":
            parser.add_argument(opt, action=argparse.BooleanOptionalAction, default=None)
        else:
            elem = float if "float" in hint else int if "int" in hint else str
            parser.add_argument(opt, type=elem, default=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rtrlib.toy")
    sub = parser.add_subparsers(dest="command", required=True)
    sweep = sub.add_parser("sweep", help="train a width x seed sweep and write its tables")
    _add_fields(sweep)
    sweep.add_argument("--out", default="toy_sweep.csv", help="per-task CSV to write")
    sweep.add_argument("--features-out", default=None, help="optional per-feature CSV")
    sweep.add_argument("--refresh", action="store_true", help="ignore cached results")
    args = parser.parse_args(argv)
    given = {k: v for k, v in vars(args).items()
             if v is not None and k not in ("command", "out", "features_out", "refresh")}
    for key in ("n_features", "spectrum_decay"):
        if key in given and len(given[key]) == 1:
            given[key] = given[key][0]
    try:
        config = SweepConfig(**given, progress=True)
    except ParameterError as exc:
        parser.error(str(exc))
    result = run_sweep_full(config, refresh=args.refresh)
    result.tasks.to_csv(args.out, index=False)
    if args.features_out and result.features is not None:
        result.features.to_csv(args.features_out, index=False)
    last = result.tasks[result.tasks.step == result.tasks.step.max()]
    summary = last.groupby("width")[["task_loss", "optimal_loss"]].sum()
    print(summary.to_string())
    print(f"wrote {args.out} ({len(result.tasks)} rows; trained in {result.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
