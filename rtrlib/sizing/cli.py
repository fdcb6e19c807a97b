"""``python -m rtrlib.sizing MIXTURE.json --width N [--json]``: what a width-N model keeps.

MIXTURE.json is ``{"frequencies": [pi_1, ...], "spectra": [[lambda_11, ...], ...]}``; frequencies
that do not sum to one are normalised, and the output says so. Instead of (or next to) the file,
the generated forms of :func:`rtrlib.sizing.make_mixture` are options: ``--n-tasks K
--zipf-exponent a`` for Zipf frequencies, ``--features-per-task m --decay b`` for power-law
spectra. The options come from :class:`SizingCommand` through :mod:`rtrlib.cli`.

Prints a table (tasks numbered 1..K), or with ``--json`` one object with per-task lists
``kept_features``, ``task_loss`` and ``critical_width`` and the flag ``normalised``. A refused
input prints one line naming the field and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field

from rtrlib.cli import add_config_options, config_from_args
from rtrlib.params import ParameterError
from rtrlib.sizing.compute import size_model
from rtrlib.sizing.mixture import load_mixture, make_mixture

__all__ = ["SizingCommand", "main"]


@dataclass(frozen=True)
class SizingCommand:
    """The options of the sizing command (a mixture file is the positional argument)."""

    width: int | None = field(default=None, metadata={"help": "encoder width N (required)"})
    json: bool = field(default=False, metadata={"help": "print one JSON object, not a table"})
    n_tasks: int | None = field(default=None, metadata={
        "help": "number of tasks K, for Zipf frequencies"})
    zipf_exponent: float | None = field(default=None, metadata={
        "help": "Zipf exponent a: pi_k proportional to k^-a"})
    features_per_task: int | None = field(default=None, metadata={
        "help": "features m per task, for power-law spectra"})
    decay: float | None = field(default=None, metadata={
        "help": "spectral decay b: lambda_{k,j} = j^-b"})

    def generated(self) -> dict:
        return {k: getattr(self, k) for k in ("n_tasks", "zipf_exponent", "features_per_task",
                                              "decay") if getattr(self, k) is not None}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rtrlib.sizing",
        description="Which features and tasks does a width-N linear model keep (Theorem 3), "
                    "and what width does each task need (Proposition 6)?",
        epilog='MIXTURE.json: {"frequencies": [pi_1, ...], "spectra": [[lambda_11, ...], ...]}'
               "; either key may be replaced by its generated form (options above).")
    p.add_argument("mixture", nargs="?", default=None, metavar="MIXTURE.json",
                   help="the mixture file (optional when both generated forms are given)")
    add_config_options(p, SizingCommand)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    prog = parser.prog
    try:
        cmd = config_from_args(args, SizingCommand)
        if cmd.width is None:
            raise ParameterError("width", None, "an integer >= 1 (--width N is required)")
        if args.mixture is not None:
            mixture = load_mixture(args.mixture, **cmd.generated())
        elif cmd.generated():
            mixture = make_mixture(**cmd.generated())
        else:
            raise ParameterError("mixture", None, "a MIXTURE.json file, or the generated forms "
                                 "--n-tasks/--zipf-exponent and --features-per-task/--decay")
        result = size_model(mixture, cmd.width)
    except ParameterError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    if cmd.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
