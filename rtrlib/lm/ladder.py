"""The size x frequency (x gap) sweep: one training run per cell, cached and resumable.

:func:`run_injection_ladder` returns one tidy table: a row per evaluation (``record ==
"eval"``) and a row per analysed gradient step (``record == "grad"``), labelled by task kind,
model size (with parameter counts), frequency, gap and seed. Each finished run is cached through
:func:`rtrlib.store.cached`; an unfinished run keeps its checkpoint, so re-running the sweep
after an interruption resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import itertools

import pandas as pd
from tqdm.auto import tqdm

from rtrlib.lm.injection import InjectionConfig
from rtrlib.lm.models import get_spec
from rtrlib.lm.tasks import KINDS
from rtrlib.lm.tokenizer import TokenData, TokenizerConfig, load_token_data
from rtrlib.lm.train import RunConfig, RunResult, run_key, train_run
from rtrlib.params import ParameterError, require_choice, require_float, require_int
from rtrlib.store import Store, cached

__all__ = ["LadderConfig", "run_injection_ladder", "final_metrics", "estimate_gpu_hours"]


@dataclasses.dataclass(frozen=True)
class LadderConfig:
    """A sweep over ``kinds x sizes x frequencies x gaps x seeds`` at ``tokens`` per run.

    The defaults are chapter 6's calibrated CPU miniature (``benchmarks/ch06_calibration.py``).

    ``frequencies`` are instances per training token; ``gaps`` 0 = i.i.d. injection, n = bursts
    every n batches at the same global frequency. ``lr_overrides`` maps size names to learning
    rates. ``grad_every`` (0 = off) analyses the gradient every that many steps.
    """

    kinds: tuple[str, ...] = ("cmp",)
    sizes: tuple[str, ...] = ("tiny", "small", "medium", "large")
    frequencies: tuple[float, ...] = (0.03, 0.025, 0.02, 0.01)
    gaps: tuple[int, ...] = (0,)
    seeds: tuple[int, ...] = (0,)
    tokens: int = 100_000
    set_size: int = 16
    vocab_size: int = 1024
    corpus_source: str = "auto"
    corpus_paths: tuple[str, ...] = ()
    corpus_max_chars: int = 8_000_000
    seq_len: int = 32
    batch_size: int = 8
    lr: float = 6e-3
    lr_overrides: tuple[tuple[str, float], ...] = (("xl", 1e-3), ("xxl", 6e-4), ("xxxl", 4e-4))
    weight_decay: float = 0.1
    warmup: int = 50
    task_seed: int = 0
    eval_every: int = 25
    grad_every: int = 0
    top_k: int = 32
    probe_pcs: int = 4
    device: str = "cpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "corpus_paths", tuple(str(p) for p in self.corpus_paths))
        for name in ("kinds", "sizes", "frequencies", "gaps", "seeds", "lr_overrides"):
            object.__setattr__(self, name, tuple(tuple(v) if isinstance(v, list) else v
                                                 for v in getattr(self, name)))
            if not getattr(self, name) and name != "lr_overrides":
                raise ParameterError(name, getattr(self, name), "a non-empty list")
        for k in self.kinds:
            require_choice("kinds", k, KINDS)
        for s in self.sizes:
            get_spec(s)
        for f in self.frequencies:
            require_float("frequencies", f, 0.0, 1.0 / self.seq_len)
        for g in self.gaps:
            require_int("gaps", g, 0)
        require_int("tokens", self.tokens, self.seq_len * self.batch_size)
        for run in self.runs():  # validates every cell (burst sizes fit a batch, ...)
            del run

    @property
    def steps(self) -> int:
        return self.tokens // (self.seq_len * self.batch_size)

    def tokenizer(self) -> TokenizerConfig:
        from rtrlib.lm.corpus import CorpusConfig

        return TokenizerConfig(corpus=CorpusConfig(source=self.corpus_source,
                                                    paths=self.corpus_paths,
                                                    max_chars=self.corpus_max_chars),
                               vocab_size=self.vocab_size)

    def runs(self) -> list[RunConfig]:
        lrs = dict(self.lr_overrides)
        out = []
        for kind, size, freq, gap, seed in itertools.product(
                self.kinds, self.sizes, self.frequencies, self.gaps, self.seeds):
            out.append(RunConfig(
                kind=kind, size=size, injection=InjectionConfig(frequency=freq, gap=gap),
                tokenizer=self.tokenizer(), set_size=self.set_size, seq_len=self.seq_len,
                batch_size=self.batch_size, steps=self.steps, lr=lrs.get(size, self.lr),
                weight_decay=self.weight_decay, warmup=min(self.warmup, self.steps // 4),
                seed=seed, task_seed=self.task_seed, eval_every=self.eval_every,
                grad_every=self.grad_every, top_k=self.top_k, probe_pcs=self.probe_pcs,
                ckpt_every=max(50, self.steps // 4), device=self.device))
        return out


def _label(df: pd.DataFrame, cfg: RunConfig, res: RunResult, record: str) -> pd.DataFrame:
    df = df.copy()
    df.insert(0, "record", record)
    labels = {"kind": cfg.kind, "size": cfg.size, "params": res.meta["params"],
              "non_embedding": res.meta["non_embedding"],
              "block_params": res.meta["block_params"],
              "frequency": cfg.injection.frequency, "gap": cfg.injection.gap,
              "per_batch": cfg.injection.per_batch(cfg.seq_len, cfg.batch_size),
              "seed": cfg.seed}
    for i, (k, v) in enumerate(labels.items()):
        df.insert(1 + i, k, v)
    return df


def run_injection_ladder(config: LadderConfig, store: Store | None = None,
                         data: TokenData | None = None, progress: bool = True) -> pd.DataFrame:
    """Run (or load) every cell of the sweep; returns the tidy history table.

    ``df.attrs["meta"]`` holds one metadata dict per run (parameter counts, corpus package and
    SHA-256, timings, versions).
    """
    store = store or Store()
    frames, metas = [], []
    runs = config.runs()
    for cfg in tqdm(runs, desc="injection ladder", disable=not progress):
        def compute(cfg: RunConfig = cfg) -> RunResult:
            nonlocal data
            data = data or load_token_data(cfg.tokenizer, store)
            return train_run(cfg, data, store, progress=progress)

        res = cached("lm-run", cfg, compute, store=store)
        store.delete(run_key(cfg))  # finished: the checkpoint is no longer needed
        frames.append(_label(res.history, cfg, res, "eval"))
        if len(res.grads):
            frames.append(_label(res.grads, cfg, res, "grad"))
        metas.append(res.meta)
    df = pd.concat(frames, ignore_index=True)
    df.attrs["meta"] = metas
    return df


def final_metrics(df: pd.DataFrame, last: int = 3) -> pd.DataFrame:
    """Per run: metrics averaged over the last ``last`` evaluations (accuracy swings between
    evaluations at this scale), plus the number of injected instances."""
    ev = df[df.record == "eval"]
    keys = ["kind", "size", "params", "block_params", "frequency", "gap", "per_batch", "seed"]
    cols = ["test_acc", "test_acc2", "test_loss", "train_loss", "train_acc", "probe", "lm_loss"]
    out = (ev.sort_values("step").groupby(keys, sort=False)
           .apply(lambda g: g[cols].tail(last).mean(), include_groups=False).reset_index())
    inst = ev.groupby(keys, sort=False)["instances"].max().reset_index()
    return out.merge(inst, on=keys)


def estimate_gpu_hours(config: LadderConfig, tflops: float = 20.0) -> float:
    """A rough estimate (not a measurement) of the GPU hours of a sweep: 6 x parameters x
    tokens FLOPs per run (forward + backward), at ``tflops`` effective TFLOP/s."""
    from rtrlib.lm.models import param_counts

    total = 0.0
    for run in config.runs():
        n = param_counts(run.size, config.vocab_size)["params"]
        total += 6.0 * n * run.steps * run.tokens_per_step
    return total / (tflops * 1e12) / 3600.0
