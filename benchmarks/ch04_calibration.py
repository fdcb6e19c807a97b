"""How chapter 4's registered metrics were set up: their free choices, on calibration seeds only.

The chapter's claims (``ch04-residual-law``, ``ch04-fade-with-width``, ``ch04-critical-width``
in ``chapters/claims.yaml``) read seeds 0, 1, 2 of the chapter's cpu experiment (the rare-task
mixture, widths 8-40, SGD, 3072 steps). The choices their registered statements fix were made
here, on seeds 100-102, which the verdicts never read:

- Theorem 4's fit (``rtrlib.toy.interference_metrics.residual_law``): which tasks count as
  learned (final residual below ``learned`` of the variance) and the intercepts (one per model,
  kept: the bound's constant is common to all common tasks of a model; one per task series
  gives a slope near 1/2 too, but then the control, another task's residual, fits as well);
  the tolerance 0.15 around the predicted exponent 1/2 lies between the fits and the control;
- Corollary 5's fade step (``fade_steps``): the fraction of the peak (0.25 kept: at 0.5 the
  flat-utility control's width 30 fades too) and the running median over 3 logged steps; the
  criterion rho <= -0.7. Rows of kind ``other`` show why the control is a mixture without a
  utility order and not the widths above the feature count: models wider than the 33 features
  (34-64), where every task completes, still tend to fade in order of width (a wider random
  encoder starts closer to every feature), a step or two of the log grid apart: their rank
  correlation passes the criterion in some seeds and fractions and not in others, so it cannot
  serve as a control that fails;
- Proposition 6: the per-seed critical widths on the chapter's grid (no free choice: the
  tolerance of one width is the grid's resolution around the predicted 29).

One row per (quantity, setting, seed).

    python benchmarks/ch04_calibration.py [--out benchmarks/results/ch04_calibration.csv]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's rtrlib

import pandas as pd  # noqa: E402

from rtrlib.runtime import configure_threads  # noqa: E402
from rtrlib.toy import (  # noqa: E402
    RARE_MIXTURE,
    InterferenceConfig,
    ModelBatchConfig,
    OptimConfig,
    ToyRunConfig,
    run_interference,
)
from rtrlib.toy.interference_metrics import (  # noqa: E402
    critical_widths,
    fade_correlation,
    frequency_only_critical_width,
    residual_law,
)

SEEDS = (100, 101, 102)
WIDTHS = (8, 16, 24, 26, 28, 30, 32, 40)  # the chapter's cpu grid


def configs() -> tuple[InterferenceConfig, InterferenceConfig, InterferenceConfig]:
    """The chapter's experiment, its flat-utility control and the same experiment at widths
    above the feature count, on the calibration seeds."""
    cfg = InterferenceConfig(
        mixture=RARE_MIXTURE, rare_frequency=1 / 256, models=ModelBatchConfig(widths=WIDTHS),
        optim=OptimConfig(optimizer="sgd", lr=0.4),
        run=ToyRunConfig(steps=3072, batch_size=256, seeds=SEEDS), n_logs=24)
    n_features = RARE_MIXTURE.n_common * RARE_MIXTURE.features_per_task + 1
    flat = cfg.replace(mixture=RARE_MIXTURE.replace(zipf_exponent=0.0, spectrum_decay=0.0),
                       models=ModelBatchConfig(widths=tuple(w for w in WIDTHS if w < n_features)))
    wide = cfg.replace(models=ModelBatchConfig(widths=(34, 36, 40, 48, 56, 64)))
    return cfg, flat, wide


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/ch04_calibration.csv")
    args = ap.parse_args()
    configure_threads(1)
    cfg, flat, wide = configs()
    t0 = time.process_time()
    df, df_flat = run_interference(cfg), run_interference(flat)
    seconds = time.process_time() - t0
    df_wide = run_interference(wide)
    mixture = cfg.mixture_config().build()
    rare, n_features = cfg.rare, len(mixture.feature_task)
    rows = []

    def add(quantity: str, setting: str, values: pd.Series | list, kind: str = "claim") -> None:
        for s, v in zip(SEEDS, list(values), strict=True):
            rows.append({"quantity": quantity, "setting": setting, "kind": kind, "seed": s,
                         "value": float(v)})

    for learned in (0.01, 0.05, 0.2):
        for partner, kind in ((False, "claim"), (True, "control")):
            law = residual_law(df, rare, n_features, learned=learned, partner=partner)
            add("residual-law slope", f"learned < {learned}", law["slope"], kind)
            add("residual-law |slope - 1/2|", f"learned < {learned}",
                (law["slope"] - 0.5).abs(), kind)
    for fraction in (0.1, 0.2, 0.25, 0.3, 0.5):
        add("fade rank correlation", f"fraction {fraction}",
            fade_correlation(df, rare, n_features, fraction)["rho"])
        add("fade rank correlation", f"fraction {fraction}",
            fade_correlation(df_flat, rare, n_features, fraction)["rho"], "control")
        add("fade rank correlation, widths 34-64", f"fraction {fraction}",
            fade_correlation(df_wide, rare, 1000, fraction)["rho"], "other")
    nc = cfg.critical_width()
    nf = frequency_only_critical_width(mixture.pi, mixture.spectra, rare)
    meas = critical_widths(df, rare)
    add("critical width |measured - predicted|", f"predicted {nc}", (meas - nc).abs())
    add("critical width |measured - predicted|", f"frequency-only {nf}", (meas - nf).abs(),
        "control")
    out = pd.DataFrame(rows).assign(cpu_seconds_both_runs=round(seconds, 1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False, float_format="%.5g")
    print(out.groupby(["quantity", "setting", "kind"])["value"].agg(["min", "max"]).to_string())


if __name__ == "__main__":
    main()
