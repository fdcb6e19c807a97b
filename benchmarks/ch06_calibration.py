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
import time
from pathlib import Path
from typing import Any

from rtrlib.runtime import configure_threads

configure_threads()  # $RTRLIB_THREADS or $OMP_NUM_THREADS; before torch starts its threads

import pandas as pd  # noqa: E402

from rtrlib.lm.injection import InjectionSchedule  # noqa: E402
from rtrlib.lm.ladder import LadderConfig, run_injection_ladder  # noqa: E402
from rtrlib.lm.presets import CPU_MINIATURE  # noqa: E402
from rtrlib.lm.summaries import final_metrics  # noqa: E402
from rtrlib.lm.tokenizer import TokenizerConfig  # noqa: E402

#: the chapter's first design: the CPU miniature with a larger vocabulary, longer sequences,
#: larger batches, a smaller learning rate and 250k tokens
BASE = LadderConfig(
    base=CPU_MINIATURE.replace(
        data=CPU_MINIATURE.data.replace(tokenizer=TokenizerConfig(vocab_size=2048), seq_len=64,
                                        batch_size=16),
        injection=InjectionSchedule(frequency=0.015), optim=CPU_MINIATURE.optim.replace(lr=3e-3)),
    kinds=("cmp",), sizes=("medium",), frequencies=(0.015,), tokens=250_000)

#: (what changed, overrides of the row before; dotted names reach into the base run)
STEPS: list[tuple[str, dict[str, Any]]] = [
    ("first design", {}),
    ("4 sequences per batch (4x the optimizer steps)", {"base.data.batch_size": 4}),
    ("learning rate 6e-3", {"base.optim.lr": 6e-3}),
    ("32-token sequences, 8 per batch, frequency 0.03 (one instance per sequence)",
     {"base.data.seq_len": 32, "base.data.batch_size": 8, "frequencies": (0.03,)}),
    ("vocabulary 1024", {"base.data.tokenizer.vocab_size": 1024}),
    ("100k tokens (the cpu profile)", {"tokens": 100_000}),
    ("the cpu profile, largest rung", {"sizes": ("large",)}),
    ("the cpu profile, largest rung, frequency 0.015", {"frequencies": (0.015,)}),
    ("the cpu profile, medium rung, frequency 0.025", {"sizes": ("medium",),
                                                       "frequencies": (0.025,)}),
    ("the cpu profile, largest rung, frequency 0.025", {"sizes": ("large",)}),
]


def replace_path(obj: Any, path: str, value: Any) -> Any:
    """``obj`` with the field at the dotted ``path`` replaced (nested frozen configs)."""
    head, _, rest = path.partition(".")
    if rest:
        value = replace_path(getattr(obj, head), rest, value)
    return dataclasses.replace(obj, **{head: value})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/ch06_calibration.csv")
    args = ap.parse_args()
    rows, cfg = [], BASE
    for what, change in STEPS:
        for path, value in change.items():
            cfg = replace_path(cfg, path, value)
        t0 = time.perf_counter()
        df = run_injection_ladder(cfg, progress=False)
        fm = final_metrics(df).iloc[0]
        ev = df[df.record == "eval"]
        run = cfg.runs()[0]
        rows.append({"change": what, "size": cfg.sizes[0],
                     "vocab_size": run.data.tokenizer.vocab_size, "seq_len": run.data.seq_len,
                     "batch_size": run.data.batch_size, "lr": run.optim.lr,
                     "frequency": cfg.frequencies[0], "tokens": cfg.tokens,
                     "steps": cfg.steps, "instances": int(fm["instances"]),
                     "test_acc": round(float(fm["test_acc"]), 3),
                     "best_test_acc": round(float(ev["test_acc"].max()), 3),
                     "train_acc": round(float(fm["train_acc"]), 3),
                     "train_seconds": round(df.attrs["meta"][0]["train_seconds"], 1),
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
