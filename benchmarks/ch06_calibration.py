"""How chapter 6's cpu profile was calibrated: one T_CMP run per setting, written to a CSV.

Every row changes one thing against the row before it, starting from the chapter's first
design (vocabulary 2048, 64-token sequences, 16 sequences per batch, learning rate 3e-3,
250k tokens) and ending at the cpu profile it uses now. Each run goes through
:func:`rtrlib.lm.ladder.run_injection_ladder`, so it is cached like the chapter's own runs.
The chapter shows the CSV as a recorded calibration: the book does not re-run it.

    python benchmarks/ch06_calibration.py [--out benchmarks/results/ch06_calibration.csv]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pandas as pd  # noqa: E402

from rtrlib.lm.ladder import LadderConfig, final_metrics, run_injection_ladder  # noqa: E402

BASE = LadderConfig(kinds=("cmp",), sizes=("medium",), frequencies=(0.015,), tokens=250_000,
                    vocab_size=2048, seq_len=64, batch_size=16, lr=3e-3, eval_every=25)

#: (what changed, overrides of the row before)
STEPS: list[tuple[str, dict]] = [
    ("first design", {}),
    ("4 sequences per batch (4x the optimizer steps)", {"batch_size": 4}),
    ("learning rate 6e-3", {"lr": 6e-3}),
    ("32-token sequences, 8 per batch, frequency 0.03 (one instance per sequence)",
     {"seq_len": 32, "batch_size": 8, "frequencies": (0.03,)}),
    ("vocabulary 1024", {"vocab_size": 1024}),
    ("100k tokens (the cpu profile)", {"tokens": 100_000}),
    ("the cpu profile, largest rung", {"sizes": ("large",)}),
    ("the cpu profile, largest rung, frequency 0.015", {"frequencies": (0.015,)}),
    ("the cpu profile, medium rung, frequency 0.025", {"sizes": ("medium",),
                                                       "frequencies": (0.025,)}),
    ("the cpu profile, largest rung, frequency 0.025", {"sizes": ("large",)}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/ch06_calibration.csv")
    args = ap.parse_args()
    rows, cfg = [], BASE
    for what, change in STEPS:
        cfg = dataclasses.replace(cfg, **change)
        t0 = time.perf_counter()
        df = run_injection_ladder(cfg, progress=False)
        fm = final_metrics(df).iloc[0]
        ev = df[df.record == "eval"]
        rows.append({"change": what, "size": cfg.sizes[0], "vocab_size": cfg.vocab_size,
                     "seq_len": cfg.seq_len, "batch_size": cfg.batch_size, "lr": cfg.lr,
                     "frequency": cfg.frequencies[0], "tokens": cfg.tokens,
                     "steps": cfg.steps, "instances": int(fm["instances"]),
                     "test_acc": round(float(fm["test_acc"]), 3),
                     "best_test_acc": round(float(ev["test_acc"].max()), 3),
                     "train_acc": round(float(fm["train_acc"]), 3),
                     "train_seconds": round(df.attrs["meta"][0]["train_seconds_session"], 1),
                     "wall_seconds": round(time.perf_counter() - t0, 1)})
        print(rows[-1], flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    pd.DataFrame(rows).to_csv(tmp, index=False)
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
