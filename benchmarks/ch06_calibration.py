"""How chapter 6's cpu profile was calibrated: runs on calibration seeds, written to CSVs.

Each part starts from a base sweep and changes one thing per step; every step trains its cells
(through :func:`rtrlib.lm.ladder.run_injection_ladder`, so they are cached like the chapter's
own runs) and writes one row per cell to ``benchmarks/results/ch06_calibration.csv``
(accuracy as the mean, minimum and maximum over the step's seeds), and every evaluation (and
analysed gradient step, ``record == "grad"``) of every run to
``ch06_calibration_evals.csv.gz``. The chapter shows the CSV as a recorded calibration: the
book does not re-run it.

- ``history``: the chapter's first design (vocabulary 2048, 64-token sequences, 16 per batch,
  learning rate 3e-3, 250k tokens) to the T_CMP setting it has used since, on seed 0 (run
  before the claim registry; no verdict reads these runs' settings any more);
- ``cmp``: the T_CMP size x frequency grid, on calibration seeds 100-102;
- ``add``: T_ADD (modular addition) towards a setting where a rung generalises, seeds 100+;
- ``gap``: the matched-frequency runs (gaps 1, 4, 16) with the gradient analysis, seeds 100+.

The verdicts read seeds 0, 1, 2 only; nothing here is chosen by looking at them.

    python benchmarks/ch06_calibration.py [--parts cmp,add,gap] [--out-dir benchmarks/results]

A part given in ``--parts`` is re-run and replaces its rows; the other parts' rows are kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's rtrlib

from rtrlib.runtime import configure_threads  # noqa: E402

configure_threads()  # $RTRLIB_THREADS or $OMP_NUM_THREADS; before torch starts its threads

import pandas as pd  # noqa: E402

from rtrlib.lm.config import AdamWConfig, EvaluationConfig, TaskConfig, TextDataConfig  # noqa: E402
from rtrlib.lm.injection import InjectionSchedule  # noqa: E402
from rtrlib.lm.ladder import LadderConfig, run_injection_ladder  # noqa: E402
from rtrlib.lm.presets import CPU_MINIATURE  # noqa: E402
from rtrlib.lm.summaries import final_metrics  # noqa: E402
from rtrlib.lm.tokenizer import TokenizerConfig  # noqa: E402

CALIBRATION_SEEDS = (100, 101, 102)

#: the chapter's first design: the CPU miniature with a larger vocabulary, longer sequences,
#: larger batches, a smaller learning rate and 250k tokens (seed 0, as it was run)
HISTORY_BASE = LadderConfig(
    base=CPU_MINIATURE.replace(
        data=CPU_MINIATURE.data.replace(tokenizer=TokenizerConfig(vocab_size=2048), seq_len=64,
                                        batch_size=16),
        injection=InjectionSchedule(frequency=0.015), optim=CPU_MINIATURE.optim.replace(lr=3e-3)),
    kinds=("cmp",), sizes=("medium",), frequencies=(0.015,), tokens=250_000)

#: the T_CMP setting the history ended at, now on three calibration seeds
CMP_BASE = LadderConfig(base=CPU_MINIATURE, kinds=("cmp",), sizes=("large",),
                        frequencies=(0.03,), seeds=CALIBRATION_SEEDS, tokens=100_000)

#: T_ADD as OLMO-NOTES.md found it generalising at CPU scale: |S| = 23, 16-token sequences,
#: 32 per batch, an instance in every sequence, constant learning rate 1e-3, weight decay 1.0
ADD_BASE = LadderConfig(
    base=CPU_MINIATURE.replace(
        task=TaskConfig(kind="add", set_size=23),
        data=TextDataConfig(tokenizer=CPU_MINIATURE.data.tokenizer, seq_len=16, batch_size=32),
        optim=AdamWConfig(lr=1e-3, weight_decay=1.0, warmup=50, schedule="constant"),
        evaluation=EvaluationConfig(eval_every=100)),
    kinds=("add",), sizes=("small",), frequencies=(1 / 16,), seeds=(100,), tokens=1_536_000)

#: the matched-frequency runs: 2 instances per batch of 32 x 16 tokens, gaps 1, 4, 16
GAP_BASE = LadderConfig(
    base=CPU_MINIATURE.replace(
        data=TextDataConfig(tokenizer=CPU_MINIATURE.data.tokenizer, seq_len=16, batch_size=32),
        evaluation=EvaluationConfig(eval_every=8, grad_every=16, burst_evals=16)),
    kinds=("cmp",), sizes=("tiny", "small", "medium"), frequencies=(2 / 512,), gaps=(1, 4, 16),
    seeds=CALIBRATION_SEEDS, tokens=128_000)

#: per part: (what changed, overrides of the step before; dotted names reach into the base)
PARTS: dict[str, tuple[LadderConfig, list[tuple[str, dict[str, Any]]]]] = {
    "history": (HISTORY_BASE, [
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
    ]),
    "cmp": (CMP_BASE, [
        ("the history's setting on calibration seeds 100-102, every rung, frequencies "
         "0.03 to 0.01", {"sizes": ("tiny", "small", "medium", "large"),
                          "frequencies": (0.03, 0.025, 0.02, 0.01)}),
    ]),
    "add": (ADD_BASE, [
        ("OLMO-NOTES setting on python-docs text, 3000 steps", {}),
        ("learning rate 3e-3 (three times the weight decay per step)", {"base.optim.lr": 3e-3}),
        ("the smaller rung, tiny", {"sizes": ("tiny",)}),
        ("small at frequency 1/32 (half the instances)", {"sizes": ("small",),
                                                          "frequencies": (1 / 32,)}),
        # at about 1200 steps only small at 1/16 had generalised; by 3000 steps tiny and the
        # lower frequency caught up: the budget is chosen where the rungs differ
        ("1200 steps, evaluated every 50, on seeds 100-102: small at 1/32", {
            "tokens": 1200 * 512, "seeds": CALIBRATION_SEEDS, "base.evaluation.eval_every": 50}),
        ("1200 steps, seeds 100-102: small and tiny at 1/16", {"sizes": ("tiny", "small"),
                                                               "frequencies": (1 / 16,)}),
    ]),
    "gap": (GAP_BASE, [
        ("gaps 1, 4, 16 at 2 instances per batch of 32 x 16, 250 steps", {}),
        ("200 steps (the chapter's time budget; the gradient rows recorded too)",
         {"tokens": 200 * 512}),
    ]),
}


def replace_path(obj: Any, path: str, value: Any) -> Any:
    """``obj`` with the field at the dotted ``path`` replaced (nested frozen configs)."""
    head, _, rest = path.partition(".")
    if rest:
        value = replace_path(getattr(obj, head), rest, value)
    return dataclasses.replace(obj, **{head: value})


def learn_step(history: pd.DataFrame, metric: str, threshold: float) -> float:
    """The first evaluated step at which ``metric`` reaches ``threshold`` (NaN: never)."""
    hit = history[history[metric] >= threshold]
    return float(hit["step"].min()) if len(hit) else float("nan")


def step_rows(part: str, what: str, cfg: LadderConfig) -> tuple[list[dict], pd.DataFrame]:
    """Train (or load) the cells of one step; one summary row per cell, and the evaluations."""
    t0, c0 = time.perf_counter(), time.process_time()
    df = run_injection_ladder(cfg, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ev = df[df.record == "eval"]
    fm = final_metrics(df)
    seconds = {(m["config"]["size"], m["config"]["injection"]["frequency"],
                m["config"]["injection"]["gap"], m["config"]["seed"]): m["train_seconds"]
               for m in df.attrs["meta"]}
    rows = []
    for (size, freq, gap), cell in fm.groupby(["size", "frequency", "gap"], sort=False):
        run = cfg.cell(cfg.kinds[0], size, freq, gap, cfg.seeds[0])
        hist = ev[(ev["size"] == size) & (ev.frequency == freq) & (ev.gap == gap)]
        train_sat = [learn_step(h, "train_acc", 0.9) for _, h in hist.groupby("seed")]
        rows.append({
            "part": part, "change": what, "kind": run.task.kind, "size": size,
            "set_size": run.task.set_size, "vocab_size": run.data.tokenizer.vocab_size,
            "seq_len": run.data.seq_len, "batch_size": run.data.batch_size, "lr": run.optim.lr,
            "schedule": run.optim.schedule, "weight_decay": run.optim.weight_decay,
            "frequency": freq, "gap": gap, "tokens": cfg.tokens, "steps": cfg.steps,
            "seeds": " ".join(str(s) for s in cell["seed"]),
            "instances": int(cell["instances"].mean()),
            "test_acc": round(float(cell["test_acc"].mean()), 3),
            "test_acc_min": round(float(cell["test_acc"].min()), 3),
            "test_acc_max": round(float(cell["test_acc"].max()), 3),
            "best_test_acc": round(float(hist["test_acc"].max()), 3),
            "train_acc": round(float(cell["train_acc"].mean()), 3),
            "test_loss": round(float(cell["test_loss"].mean()), 3),
            "ctrl_test_acc": round(float(cell["ctrl_test_acc"].mean()), 3),
            "probe": round(float(cell["probe"].mean()), 3),
            "probe_ctrl": round(float(cell["probe_ctrl"].mean()), 3),
            "train_saturated_step": round(float(pd.Series(train_sat).mean()), 0),
            "train_seconds": round(sum(v for k, v in seconds.items()
                                       if k[:3] == (size, freq, gap)), 1),
            "step_wall_seconds": round(wall, 1), "step_process_seconds": round(cpu, 1),
            "commit": _commit()})
    return rows, df.assign(part=part, change=what)  # evaluations and analysed gradient steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="cmp,add,gap",
                    help="comma-separated parts to run: " + ", ".join(PARTS))
    ap.add_argument("--rerun", action="store_true",
                    help="re-run the steps of these parts already in the CSV (default: keep "
                         "their rows and run only the steps not yet recorded)")
    ap.add_argument("--out-dir", default="benchmarks/results")
    args = ap.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv, evals_csv = out / "ch06_calibration.csv", out / "ch06_calibration_evals.csv.gz"
    parts = [p for p in args.parts.split(",") if p]
    old = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=["part", "change"])
    if "part" not in old:  # the CSV as it was before the parts
        old = old.assign(part="history", kind="cmp", seeds="0", commit="before issue 12")
    old_ev = (pd.read_csv(evals_csv) if evals_csv.exists()
              else pd.DataFrame(columns=["part", "change"]))
    done = set(zip(old.part, old.change, strict=True)) if not args.rerun else set()
    rows = old[~old.part.isin(parts) | (not args.rerun)].to_dict("records")
    evals = [old_ev[~old_ev.part.isin(parts) | (not args.rerun)]]
    for part in parts:
        cfg, steps = PARTS[part]
        for what, change in steps:
            for path, value in change.items():
                cfg = replace_path(cfg, path, value)
            if (part, what) in done:
                continue
            new, ev = step_rows(part, what, cfg)
            rows += new
            evals.append(ev)
            for r in new:
                print({k: r[k] for k in ("part", "change", "size", "frequency", "gap",
                                         "test_acc", "test_acc_min", "test_acc_max",
                                         "train_acc", "train_seconds")}, flush=True)
            _write(pd.DataFrame(rows), csv)  # after every step: an interrupted run keeps them
            _write(pd.concat(evals, ignore_index=True), evals_csv)
    print(f"wrote {csv} and {evals_csv}")


def _commit() -> str:
    """The checkout's commit (with ``+`` when rtrlib has uncommitted changes)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "rtrlib"], cwd=root, text=True,
                               capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


def _write(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    df.to_csv(tmp, index=False, compression="gzip" if path.suffix == ".gz" else None)
    tmp.replace(path)


if __name__ == "__main__":
    main()
