"""How chapter 1's simulated scaling study was set up: its fits on calibration seeds only.

The chapter's claims (``ch01-model-only-gap``, ``ch01-gamma-equals-alpha`` in
``chapters/claims.yaml``) read seeds 0, 1, 2. The fitting choices that are not part of their
registered statements (how many points define an isoFLOP optimum, sizes per octave, the window of
sizes around each predicted optimum, how many rare ranks are sampled) were made here, on seeds
100-109, which the verdicts never read: a choice is kept when every isoFLOP optimum lies inside
its window and the seed spread is small. The first design used 3-point vertices; 5 points
halved the seed spread of gamma at little cost and were kept; finer grids, narrower windows and
more sampled ranks changed little. Rows marked ``sensitivity`` vary a registered quantity
(the data budget D_max, the control's exponent) only to show how much the controls depend on it;
the chapter keeps the registered values. One row per (setting, seed).

    python benchmarks/ch01_calibration.py [--out benchmarks/results/ch01_calibration.csv]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's rtrlib

import pandas as pd  # noqa: E402

from rtrlib.theory import quanta  # noqa: E402
from rtrlib.theory.quanta_scaling import (  # noqa: E402
    QuantaWorld,
    ScalingExperimentConfig,
    run_scaling_experiment,
)

SEEDS = tuple(range(100, 110))
BASE = ScalingExperimentConfig(world=QuantaWorld(s=quanta.zipf_exponent_for(0.46), min_count=5),
                               vertex_points=3)

#: (setting, kind, overrides of BASE)
SETTINGS: list[tuple[str, str, dict]] = [
    ("first design: 3-point vertex, 4 sizes/octave, +-2 octaves, 8x ranks", "choice", {}),
    ("5-point vertex (kept: the chapter's setting)", "choice", {"vertex_points": 5}),
    ("5-point vertex, 8 sizes per octave", "choice", {"vertex_points": 5, "per_octave": 8}),
    ("5-point vertex, +-1 octave window", "choice", {"vertex_points": 5, "window_octaves": 1.0}),
    ("5-point vertex, 16x ranks sampled", "choice", {"vertex_points": 5, "rank_factor": 16}),
    ("chapter's setting, D_max 10x the saturating budget (registered: 100x)", "sensitivity",
     {"vertex_points": 5, "data_factor": 10.0}),
    ("chapter's setting, control exponent rho = 1.5 (registered: 2)", "sensitivity",
     {"vertex_points": 5, "control_rho": 1.5}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/ch01_calibration.csv")
    args = ap.parse_args()
    rows = []
    for what, kind, change in SETTINGS:
        cfg = dataclasses.replace(BASE, **change)
        t0 = time.perf_counter()
        summary, _ = run_scaling_experiment(cfg, SEEDS)
        secs = (time.perf_counter() - t0) / len(SEEDS)
        rows.append(summary.assign(setting=what, kind=kind, seconds_per_seed=round(secs, 3)))
    out = pd.concat(rows, ignore_index=True)
    cols = ["setting", "kind", "seed", "alpha", "gamma", "gap", "share", "control_share",
            "ratio_gamma", "ratio_gap", "levels_used", "control_levels_used", "seconds_per_seed"]
    out = out[cols]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False, float_format="%.5g")
    agg = out.groupby(["setting"], sort=False).agg(
        gap_max=("gap", "max"), share_min=("share", "min"),
        control_share_max=("control_share", "max"), ratio_gap_min=("ratio_gap", "min"),
        gamma_sd=("gamma", "std"), levels_min=("levels_used", "min"),
        seconds=("seconds_per_seed", "mean"))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(agg.round(4))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
