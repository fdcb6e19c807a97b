"""Command line: ``python -m rtrlib.toy EXPERIMENT [options] --out FILE.csv``.

``EXPERIMENT`` is ``sweep`` (chapter 3), ``interference`` (chapter 4), ``retention``
(chapter 5) or ``levers`` (chapter 7). Every field of the experiment's config is an option
(:mod:`rtrlib.cli`): nested parts take dotted options (``--models.widths 4 8 16``,
``--optim.optimizer adam``, ``--run.steps 500``, ``--mixture.n-common 4``). Results go through
the cache, so re-running an interrupted command resumes it; ``--refresh`` starts over.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from rtrlib.cli import add_config_options, config_kwargs
from rtrlib.params import ParameterError
from rtrlib.runtime import configure_threads
from rtrlib.toy.analysis import measured_critical_width, retention_summary
from rtrlib.toy.interference import InterferenceConfig, run_interference
from rtrlib.toy.lever_costs import cheapest_levers
from rtrlib.toy.levers import LeversConfig, run_levers
from rtrlib.toy.retention import RetentionConfig, run_retention
from rtrlib.toy.sweep import SweepConfig, run_sweep_full


def _sweep(cfg: SweepConfig, args: argparse.Namespace) -> pd.DataFrame:
    result = run_sweep_full(cfg, refresh=args.refresh)
    if args.features_out and result.features is not None:
        result.features.to_csv(args.features_out, index=False)
    last = result.tasks[result.tasks.step == result.tasks.step.max()]
    print(last.groupby("width")[["task_loss", "optimal_loss"]].sum().to_string())
    print(f"trained in {result.seconds:.1f} s")
    return result.tasks


def _interference(cfg: InterferenceConfig, args: argparse.Namespace) -> pd.DataFrame:
    df = run_interference(cfg, refresh=args.refresh)
    print(f"predicted critical width {cfg.critical_width()}, measured "
          f"{measured_critical_width(df, cfg.rare)}")
    return df


def _retention(cfg: RetentionConfig, args: argparse.Namespace) -> pd.DataFrame:
    df = run_retention(cfg, refresh=args.refresh)
    print(retention_summary(df).groupby(["width", "gap"])[["retained", "mean_signal",
                                                           "mean_rare_loss"]].mean().round(3))
    return df


def _levers(cfg: LeversConfig, args: argparse.Namespace) -> pd.DataFrame:
    table = run_levers(cfg, refresh=args.refresh)
    with pd.option_context("display.width", 160):
        print(cheapest_levers(table))
    return table


EXPERIMENTS: dict[str, tuple[type, Callable[[Any, argparse.Namespace], pd.DataFrame], str]] = {
    "sweep": (SweepConfig, _sweep, "train a width x seed sweep (chapter 3)"),
    "interference": (InterferenceConfig, _interference,
                     "Theorem 4 and the critical width on the i.i.d. stream (chapter 4)"),
    "retention": (RetentionConfig, _retention,
                  "matched-frequency injection of a rare task (chapter 5)"),
    "levers": (LeversConfig, _levers,
               "compute-to-learn a rare task: widen, raise its frequency, or replay it "
               "(chapter 7)"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rtrlib.toy", description=__doc__)
    sub = parser.add_subparsers(dest="experiment", required=True)
    parsers = {}
    for name, (cls, _, help_text) in EXPERIMENTS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_config_options(p, cls)
        p.add_argument("--out", default=f"toy_{name}.csv", help="CSV to write")
        p.add_argument("--refresh", action="store_true", help="ignore cached results")
        if name == "sweep":
            p.add_argument("--features-out", default=None, help="optional per-feature CSV")
        parsers[name] = p
    args = parser.parse_args(argv)
    cls, run, _ = EXPERIMENTS[args.experiment]
    try:
        cfg = cls(**config_kwargs(args, cls))
    except ParameterError as exc:
        parsers[args.experiment].error(str(exc))
    cfg = cfg.replace(run=cfg.run.replace(progress=True))
    configure_threads()
    table = run(cfg, args)
    table.to_csv(args.out, index=False)
    print(f"wrote {len(table)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
