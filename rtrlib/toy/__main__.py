"""Command line: ``python -m rtrlib.toy sweep [options]`` runs a sweep and writes a CSV.

Every field of :class:`rtrlib.toy.SweepConfig` is an option (``--widths 4 8 16``,
``--optimizer adam``, ``--device cuda`` ...). Results go through the cache, so re-running an
interrupted command resumes it.
"""

from __future__ import annotations

import argparse
import sys

from rtrlib.cli import add_config_options, config_kwargs
from rtrlib.params import ParameterError
from rtrlib.toy.sweep import SweepConfig, run_sweep_full


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rtrlib.toy")
    sub = parser.add_subparsers(dest="command", required=True)
    sweep = sub.add_parser("sweep", help="train a width x seed sweep and write its tables")
    add_config_options(sweep, SweepConfig)
    sweep.add_argument("--out", default="toy_sweep.csv", help="per-task CSV to write")
    sweep.add_argument("--features-out", default=None, help="optional per-feature CSV")
    sweep.add_argument("--refresh", action="store_true", help="ignore cached results")
    args = parser.parse_args(argv)
    given = config_kwargs(args, SweepConfig)
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
