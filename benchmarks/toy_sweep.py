"""Benchmark: the batched toy engine against a per-model Python-loop reference.

One fixed sweep (32 tasks x 8 features, widths 4..256, 3 seeds, 2000 steps, batch 512, SGD) is
trained twice in this process: by :mod:`rtrlib.toy` (all 21 models as one tensor program) and by a
straightforward reference (one ``torch.nn.Module`` per width and seed, each with its own optimizer
and its own copy of its seed's data stream, trained one after another inside the step loop).
Both consume identical batches and reach the same losses (checked at the end). The script prints
both times, their ratio, the engine's achieved GFLOP/s next to this machine's measured fp32
matmul rate, and ends with the line ``speedup=<x> peak_fraction=<y>``.

    python benchmarks/toy_sweep.py [--steps 2000] [--threads 2]

The machine may be shared: the load average is printed so contention can be judged.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from rtrlib.runtime import configure_threads
from rtrlib.toy import MixtureConfig, ModelBatchConfig, OptimConfig, SweepConfig, ToyRunConfig
from rtrlib.toy.models import derive_seed


def matmul_rate(n: int = 1024, repeats: int = 10) -> float:
    """Best-of-``repeats`` fp32 GFLOP/s of an n x n x n matmul."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def engine_flops(cfg: SweepConfig, dim: int, feats: int) -> float:
    """Matmul FLOPs of one engine step: sampling, encoder and readout, forward and backward."""
    S, B, NT = len(cfg.run.seeds), cfg.run.batch_size, sum(cfg.models.widths)
    return 2.0 * S * B * (feats * dim + 2 * dim * NT + 3 * NT * feats)


class Reference(torch.nn.Module):
    """One model, written the obvious way."""

    def __init__(self, U: torch.Tensor, A: torch.Tensor) -> None:
        super().__init__()
        self.encoder = torch.nn.Linear(U.shape[0], U.shape[1], bias=False)
        self.readout = torch.nn.Linear(A.shape[0], A.shape[1], bias=False)
        with torch.no_grad():
            self.encoder.weight.copy_(U.T)
            self.readout.weight.copy_(A.T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.encoder(x))


def run_engine(cfg: SweepConfig) -> tuple[float, np.ndarray]:
    tr = cfg.build()
    t = time.perf_counter()
    for _ in range(cfg.run.steps):
        tr.train_step()
    return time.perf_counter() - t, tr.task_losses().double().numpy()


def run_reference(cfg: SweepConfig) -> tuple[float, np.ndarray]:
    template = cfg.build()          # same initial weights, mixture and schedule
    mix, sched = template.mixture, template.schedule
    tensors = template.tensors
    models, opts, gens = [], [], []
    for s, seed in enumerate(cfg.run.seeds):
        for w in range(len(cfg.models.widths)):
            m = Reference(template.models.encoder(s, w).detach(),
                          template.models.readout(s, w).detach())
            models.append(m)
            opts.append(torch.optim.SGD(m.parameters(), lr=cfg.optim.lr))
            gens.append(torch.Generator().manual_seed(derive_seed(seed, 0, 2)))
    oc, steps, batch_size = cfg.optim, cfg.run.steps, cfg.run.batch_size
    t = time.perf_counter()
    for step in range(steps):
        for m, opt, g in zip(models, opts, gens, strict=True):
            tasks = sched.tasks(step, batch_size, [g], "cpu")
            batch = mix.sample(tasks, [g], tensors)
            x, y, mask = batch.x[0], batch.y[0], batch.mask[0]
            for group in opt.param_groups:
                group["lr"] = oc.lr_at(step, steps)
            opt.zero_grad()
            loss = (((m(x) - y) ** 2) * mask).sum() / batch_size
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t
    with torch.no_grad():
        for i, m in enumerate(models):
            s, w = divmod(i, len(cfg.models.widths))
            template.models.U[s, :, template.models.segment(w)] = m.encoder.weight.T
            template.models.A[s, template.models.segment(w), :] = m.readout.weight.T
    return seconds, template.task_losses().double().numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    configure_threads(args.threads)
    cfg = SweepConfig(mixture=MixtureConfig(n_tasks=32, n_features=8),
                      models=ModelBatchConfig(widths=(4, 8, 16, 32, 64, 128, 256)),
                      optim=OptimConfig(optimizer="sgd", lr=0.5, lr_schedule="cosine"),
                      run=ToyRunConfig(steps=args.steps, batch_size=512, seeds=(0, 1, 2)))
    mix = cfg.mixture.build()
    print(f"sweep: 32 tasks x 8 features, D={mix.input_dim}, widths {cfg.models.widths}, "
          f"seeds {cfg.run.seeds}, {cfg.run.steps} steps, batch {cfg.run.batch_size}; "
          f"torch {torch.__version__}, {args.threads} threads, "
          f"load average {os.getloadavg()[0]:.2f} (2 cores, shared)")
    peak_before = matmul_rate()
    t_engine, loss_engine = run_engine(cfg)
    t_ref, loss_ref = run_reference(cfg)
    peak_after = matmul_rate()
    peak = max(peak_before, peak_after)
    gflops = engine_flops(cfg, mix.input_dim, mix.n_features) * cfg.run.steps / t_engine / 1e9
    gap = np.abs(loss_engine - loss_ref).max() / np.abs(loss_ref).max()
    speedup = t_ref / t_engine
    print(f"engine:    {t_engine:8.2f} s  ({1e3 * t_engine / cfg.run.steps:.1f} ms/step)")
    print(f"reference: {t_ref:8.2f} s  ({1e3 * t_ref / cfg.run.steps:.1f} ms/step)")
    print(f"same result: max relative difference of final task losses {gap:.2e}")
    print(f"engine achieved {gflops:.1f} GFLOP/s; measured fp32 matmul rate "
          f"{peak:.1f} GFLOP/s (before {peak_before:.1f}, after {peak_after:.1f}); "
          f"load average now {os.getloadavg()[0]:.2f}")
    print(f"speedup={speedup:.2f} peak_fraction={gflops / peak:.3f}")


if __name__ == "__main__":
    main()
