"""Chapter 7's grid on calibration seeds the verdicts never read (100, 101, 102).

The claims ``ch07-replay-below-critical``, ``ch07-learnable-critical-width`` and
``ch07-cheapest-lever`` are evaluated on seeds 0, 1, 2 with the chapter's cpu grid (widths,
rates, gaps, baselines, steps, the meaning of "learned": all as in the chapter's parameters cell,
unchanged by this script). This script trains the same grid on seeds 100-102 and writes, per
seed, each claim's metric and its control's, and the training cost (process time, so a busy
machine does not inflate it), to check before registering that each criterion can be met or
missed and that each control is measurable on this grid.

    python benchmarks/ch07_calibration.py [--out benchmarks/results/ch07_calibration.csv]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd  # noqa: E402

from rtrlib.runtime import configure_threads  # noqa: E402
from rtrlib.toy import ADAM, RARE_MIXTURE, LeversConfig, ModelBatchConfig, ToyRunConfig  # noqa: E402
from rtrlib.toy.lever_claims import (  # noqa: E402
    cheapest_lever_agreement,
    learnability_agreement,
    lever_winners,
    replay_learned_fraction,
    rule_critical_widths,
)

SEEDS = (100, 101, 102)
#: the chapter's cpu parameters (chapters/07_implications.md)
GRID = dict(widths=(8, 12, 16, 24, 32, 48), rates=(1, 2, 4, 8), gaps=(1, 4, 16),
            base_widths=(8, 16, 24, 32), base_rate=1, base_gap=16, batch_size=256,
            steps=2048, lr=0.01, threshold=0.25, hold=256)


def config(seeds: tuple[int, ...] = SEEDS) -> LeversConfig:
    g = GRID
    return LeversConfig(
        mixture=RARE_MIXTURE, models=ModelBatchConfig(widths=g["widths"]),
        rates=g["rates"], gaps=g["gaps"], base_widths=g["base_widths"],
        base_rate=g["base_rate"], base_gap=g["base_gap"], optim=ADAM.replace(lr=g["lr"]),
        run=ToyRunConfig(steps=g["steps"], batch_size=g["batch_size"], seeds=seeds,
                         device="cpu", checkpoint_every=max(1, g["steps"] // 4)),
        threshold=g["threshold"], hold=g["hold"])


def measure(grid: pd.DataFrame, cfg: LeversConfig) -> pd.DataFrame:
    """Per seed: every ch07 claim's metric and its control."""
    winners = lever_winners(grid, cfg)
    return pd.DataFrame({
        "replay_below": replay_learned_fraction(grid, cfg, below=True),
        "replay_above (control)": replay_learned_fraction(grid, cfg, below=False),
        "learnable_utility": learnability_agreement(grid, rule_critical_widths(cfg, "utility")),
        "learnable_width_only (control)": learnability_agreement(
            grid, rule_critical_widths(cfg, "width")),
        "cheapest_utility": cheapest_lever_agreement(winners, cfg,
                                                     rule_critical_widths(cfg, "utility")),
        "cheapest_frequency_only (control)": cheapest_lever_agreement(
            winners, cfg, rule_critical_widths(cfg, "frequency")),
        "winners": winners.groupby("seed")["measured"].agg(
            lambda s: "; ".join(f"{n}:{m}" for n, m in zip(winners.loc[s.index, "N0"], s,
                                                           strict=True))),
    })


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/ch07_calibration.csv")
    args = ap.parse_args()
    configure_threads(1)
    from rtrlib.toy import run_levers_grid

    cfg = config()
    t0, c0 = time.perf_counter(), time.process_time()
    grid = run_levers_grid(cfg, refresh=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = measure(grid, cfg)
    out["train_wall_s"], out["train_cpu_s"] = wall, cpu
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.rename_axis("seed").to_csv(args.out)
    print(out.to_string())


if __name__ == "__main__":
    main()
