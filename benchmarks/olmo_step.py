"""Training-step throughput: the chapter's pipeline against a bare OLMo-core step.

Both sides train the same OLMo-core model (``--size``; vocabulary, sequence length and batch of
chapter 6's cpu profile, :data:`rtrlib.lm.presets.CPU_MINIATURE`) for the same
number of steps from the same initialisation:

- bare: a pre-built batch tensor; forward, cross-entropy, backward, AdamW step;
- pipeline: :func:`rtrlib.lm.train.train_run` (batch windows cut from a token stream, task
  injection, learning-rate schedule, loss logging), timed by its own step timer (evaluations
  and checkpoints excluded: they are reported by the chapter separately).

The rounds alternate (bare, pipeline, bare, ...) so that load from other processes hits both
alike; the best round of each is compared. The gradient analysis (``grad_every=1``) is timed
separately and reported as its own overhead. The last line is ``pipeline_ratio=<x>`` (pipeline
tokens/s over bare tokens/s; the target is >= 0.9).

    python benchmarks/olmo_step.py [--size medium] [--steps 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from rtrlib.runtime import configure_threads

configure_threads()  # $RTRLIB_THREADS or $OMP_NUM_THREADS; before torch starts its threads

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from rtrlib.lm.config import EvaluationConfig  # noqa: E402
from rtrlib.lm.injection import InjectionSchedule  # noqa: E402
from rtrlib.lm.ladder import LadderConfig  # noqa: E402
from rtrlib.lm.models import build_model, param_counts  # noqa: E402
from rtrlib.lm.presets import CPU_MINIATURE  # noqa: E402
from rtrlib.lm.tokenizer import TokenData  # noqa: E402
from rtrlib.lm.train import train_run  # noqa: E402
from rtrlib.store import Store  # noqa: E402

VOCAB = CPU_MINIATURE.data.tokenizer.vocab_size
TOP_FREQUENCY = max(LadderConfig().frequencies)


def bare_seconds(size: str, steps: int, seq_len: int, batch: int, seed: int) -> float:
    model = build_model(size, VOCAB, seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    g = torch.Generator().manual_seed(seed)
    tok = torch.randint(1, VOCAB, (batch, seq_len + 1), generator=g)
    x, y = tok[:, :-1], tok[:, 1:]
    model.train()
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        opt.step()
    float(loss.detach())
    return time.perf_counter() - t0


def pipeline_seconds(size: str, steps: int, seq_len: int, batch: int, seed: int,
                     data: TokenData, grad_every: int = 0) -> tuple[float, float]:
    cfg = CPU_MINIATURE.replace(
        size=size, injection=InjectionSchedule(frequency=TOP_FREQUENCY),
        data=CPU_MINIATURE.data.replace(seq_len=seq_len, batch_size=batch), steps=steps,
        evaluation=EvaluationConfig(eval_every=10**6, grad_every=grad_every),
        checkpoint_every=10**6, seed=seed,
        optim=CPU_MINIATURE.optim.replace(lr=3e-3, warmup=5))
    with tempfile.TemporaryDirectory() as tmp:
        res = train_run(cfg, data, Store(tmp), progress=False)
    return res.meta["train_seconds"], res.meta["grad_seconds"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="medium")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seq-len", type=int, default=CPU_MINIATURE.data.seq_len)
    p.add_argument("--batch", type=int, default=CPU_MINIATURE.data.batch_size)
    a = p.parse_args()
    stream = np.random.default_rng(0).integers(1, VOCAB, size=2_000_000).astype(np.uint16)
    data = TokenData(tokens=stream, tokenizer_json="", corpus_meta={"source": "random"},
                     vocab_size=VOCAB)
    tokens = a.steps * a.seq_len * a.batch
    counts = param_counts(a.size, VOCAB)
    print(f"model {a.size}: {counts['params']:,} parameters "
          f"({counts['non_embedding']:,} non-embedding); {a.steps} steps x "
          f"{a.batch}x{a.seq_len} tokens; threads {torch.get_num_threads()}")
    bare_seconds(a.size, 3, a.seq_len, a.batch, 0)  # warm-up
    bare, pipe = [], []
    for r in range(a.rounds):
        bare.append(bare_seconds(a.size, a.steps, a.seq_len, a.batch, r))
        pipe.append(pipeline_seconds(a.size, a.steps, a.seq_len, a.batch, r, data)[0])
        print(f"round {r}: bare {tokens / bare[-1]:,.0f} tok/s, pipeline "
              f"{tokens / pipe[-1]:,.0f} tok/s")
    total, grad = pipeline_seconds(a.size, a.steps, a.seq_len, a.batch, 0, data, grad_every=1)
    best_bare, best_pipe = tokens / min(bare), tokens / min(pipe)
    print(f"best: bare {best_bare:,.0f} tok/s, pipeline {best_pipe:,.0f} tok/s")
    print(f"gradient analysis on every step: {tokens / total:,.0f} tok/s "
          f"({grad / a.steps * 1e3:.0f} ms per analysed step, "
          f"overhead x{total / min(pipe):.2f} vs the plain pipeline)")
    print(f"pipeline_ratio={best_pipe / best_bare:.3f}")


if __name__ == "__main__":
    main()
