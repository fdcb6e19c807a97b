"""How chapter 3's claims were designed, on calibration seeds the verdicts never read.

The chapter's three claims (``ch03-utility-minimiser``, ``ch03-learning-order``,
``ch03-complexity-gap`` in ``chapters/claims.yaml``) are evaluated on mixture seed 0 and
training seeds 0, 1, 2. This script trains the chapter's cpu-profile sweeps with mixture seed
100 and training seeds 100, 101, 102 and writes one row per (part, setting, seed) with the
candidate metrics and their controls (the frequency-order null model of
:mod:`rtrlib.toy.frequency_null`), and the process time of each sweep, so that the competing
width, the tie allowance, the thresholds and the chapter's budget are chosen here, not on the
evaluation seeds.

    python benchmarks/ch03_calibration.py [--out benchmarks/results/ch03_calibration.csv]
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
from rtrlib.toy import (  # noqa: E402
    MixtureConfig,
    ModelBatchConfig,
    OptimConfig,
    SweepConfig,
    ToyRunConfig,
    learning_times,
    run_sweep_full,
)
from rtrlib.toy.frequency_null import (  # noqa: E402
    disagreement_pairs,
    gap_advantage,
    minimiser_match,
    null_times,
    order_correlations,
)

SEED = 100                      # mixture seed; training seeds SEED, SEED + 1, SEED + 2
SEEDS = (SEED, SEED + 1, SEED + 2)
# the chapter's cpu parameters
N_TASKS, N_FEATURES, WIDTHS = 32, 4, (4, 8, 16, 32, 64, 96, 128, 160)
STEPS, BATCH, LR, INIT, N_LOGS, TOL = 2000, 256, 1.0, 0.1, 30, 0.05
GAPS, CX_TASKS, CX_FEATURES = (0.0, 1.0, 2.0, 3.0), 8, 4
ORDER_WIDTHS = (16, 32, 64, 128)   # candidates for the competing width (128 = no competition)
TIE_RTOLS = (0.0, 0.1)             # exact ties only, or the old near-tie allowance


def _timed(cfg: SweepConfig):
    t0 = time.process_time()
    res = run_sweep_full(cfg, refresh=True)
    return res, time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/ch03_calibration.csv")
    args = ap.parse_args()
    configure_threads(1)
    rows: list[dict] = []
    mix_cfg = MixtureConfig(n_tasks=N_TASKS, n_features=N_FEATURES, mixture_seed=SEED)
    mixture = mix_cfg.build()
    run = ToyRunConfig(steps=STEPS, batch_size=BATCH, seeds=SEEDS)
    sgd = OptimConfig(optimizer="sgd", lr=LR, lr_schedule="cosine", final_lr_fraction=0.1)
    lin_cfg = SweepConfig(mixture=mix_cfg, optim=sgd, run=run, n_logs=N_LOGS,
                          models=ModelBatchConfig(widths=WIDTHS, init_scale=INIT))
    lin, cpu = _timed(lin_cfg)
    rows.append({"part": "budget", "setting": "linear sweep, 3 seeds", "cpu_seconds": cpu})
    final = lin.tasks[lin.tasks.step == STEPS]
    for rtol in TIE_RTOLS:
        pairs = disagreement_pairs(mixture.pi, mixture.spectra, WIDTHS, TOL, rtol)
        match = minimiser_match(final, pairs, TOL)
        for s, r in match.iterrows():
            rows.append({"part": "minimiser", "setting": f"tie_rtol {rtol:g}", "seed": s,
                         "metric": r.theorem, "control": r.null, "pairs": r.pairs})
    for w in ORDER_WIDTHS:
        lt = learning_times(lin.features, w)
        rho = order_correlations(lt, mixture.pi, mixture.spectra)
        ctl = order_correlations(null_times(lt, mixture.pi, mixture.spectra), mixture.pi,
                                 mixture.spectra)
        for s, r in rho.iterrows():
            rows.append({"part": "order", "setting": f"width {w}", "seed": s,
                         "metric": r.advantage, "control": ctl.loc[s, "advantage"],
                         "rho_utility": r.utility, "rho_frequency": r.frequency,
                         "rho_null_order": r.null_order})
    cx, cx_ctl = [], []
    for gap in GAPS:
        decays = tuple(0.25 + (gap if k % 2 else 0.0) for k in range(CX_TASKS))
        cmix = MixtureConfig(n_tasks=CX_TASKS, n_features=CX_FEATURES, spectrum_decay=decays,
                             mixture_seed=SEED)
        cm = cmix.build()
        cfg = lin_cfg.replace(mixture=cmix, models=ModelBatchConfig(
            widths=(CX_TASKS * CX_FEATURES,), init_scale=INIT))
        res, cpu = _timed(cfg)
        rows.append({"part": "budget", "setting": f"complexity gap {gap:g}", "cpu_seconds": cpu})
        lt = learning_times(res.features, CX_TASKS * CX_FEATURES)
        rho = order_correlations(lt, cm.pi, cm.spectra).assign(gap=gap).reset_index()
        ctl = order_correlations(null_times(lt, cm.pi, cm.spectra), cm.pi, cm.spectra)
        cx.append(rho)
        cx_ctl.append(ctl.assign(gap=gap).reset_index())
        for _, r in rho.iterrows():
            rows.append({"part": "complexity", "setting": f"gap {gap:g}", "seed": r.seed,
                         "metric": r.advantage, "rho_utility": r.utility,
                         "rho_frequency": r.frequency, "rho_null_order": r.null_order})
    adv = gap_advantage(pd.concat(cx))
    adv_ctl = gap_advantage(pd.concat(cx_ctl))
    for s in adv.index:
        rows.append({"part": "complexity", "setting": "min over gaps > 0", "seed": s,
                     "metric": adv[s], "control": adv_ctl[s]})
    for n_seeds in (1, 3):
        relu_cfg = lin_cfg.replace(
            models=ModelBatchConfig(widths=(8, 16, 32, 64, 128, 256), activation="relu",
                                    init_scale=INIT),
            run=run.replace(seeds=SEEDS[:n_seeds]))
        _, cpu = _timed(relu_cfg)
        rows.append({"part": "budget", "setting": f"relu sweep, {n_seeds} seed(s)",
                     "cpu_seconds": cpu})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    table.to_csv(out, index=False, float_format="%.4f")
    print(table.to_string())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
