"""The size x frequency (x gap x seed) sweep: one training run per cell, cached and resumable.

A :class:`LadderConfig` holds a base :class:`~rtrlib.lm.config.OLMoRunConfig` and the axes of
the sweep; every cell is the base with ``replace()``: its task kind, model size, injection
schedule, seed and the number of updates ``tokens`` buys. :func:`run_injection_ladder` trains
(or loads) every cell with :func:`~rtrlib.lm.train.train_run`, so a finished cell is a store
hit and an interrupted one resumes from its checkpoint. It returns one tidy table: a row per
evaluation (``record == "eval"``) and a row per analysed gradient step (``record == "grad"``),
labelled by task kind, model size (with parameter counts), frequency, gap and seed.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterable

import pandas as pd
from tqdm.auto import tqdm

from rtrlib.lm.config import OLMoRunConfig
from rtrlib.lm.injection import InjectionSchedule
from rtrlib.lm.models import LADDER
from rtrlib.lm.parallel import single_thread, train_cells
from rtrlib.lm.presets import CPU_MINIATURE
from rtrlib.lm.tasks import TASK_KINDS
from rtrlib.lm.tokenizer import TokenData, load_token_data
from rtrlib.lm.train import OLMoRunResult, train_run
from rtrlib.params import ParameterError, require_choice, require_int
from rtrlib.store import Store

__all__ = ["LadderConfig", "run_injection_ladder", "train_ladders", "estimate_gpu_hours"]


@dataclasses.dataclass(frozen=True)
class LadderConfig:
    """A sweep over ``kinds x sizes x frequencies x gaps x seeds`` at ``tokens`` per run.

    ``base`` gives everything else (by default chapter 6's CPU miniature). Per cell the task
    kind, the model size, the injection (``frequencies`` in instances per training token;
    ``gaps`` 0 = i.i.d., n = bursts every n batches at the same global frequency), the seed
    and the number of updates are replaced; the warmup is at most a quarter of the run, and
    the sizes in ``lr_overrides`` use their own learning rate. A seed draws the initial
    weights and the batches and, unless ``same_task``, the task too (S, the hidden order or
    residues, the train/test split), so seeds are independent replicates of the experiment.
    """

    base: OLMoRunConfig = CPU_MINIATURE
    kinds: tuple[str, ...] = dataclasses.field(default=("cmp",), metadata={
        "choices": TASK_KINDS, "help": "task kinds (T_CMP cmp, T_ADD add)"})
    sizes: tuple[str, ...] = dataclasses.field(default=("tiny", "small", "medium", "large"),
                                               metadata={"choices": tuple(LADDER)})
    frequencies: tuple[float, ...] = (0.03, 0.025, 0.02, 0.01)
    gaps: tuple[int, ...] = (0,)
    seeds: tuple[int, ...] = (0,)
    tokens: int = 100_000
    lr_overrides: tuple[tuple[str, float], ...] = (("xl", 1e-3), ("xxl", 6e-4), ("xxxl", 4e-4))
    same_task: bool = False

    def __post_init__(self) -> None:
        for name in ("kinds", "sizes", "frequencies", "gaps", "seeds", "lr_overrides"):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in getattr(self, name))
            object.__setattr__(self, name, value)
            if not value and name != "lr_overrides":
                raise ParameterError(name, value, "a non-empty list")
        for k in self.kinds:
            require_choice("kinds", k, TASK_KINDS)
        for s in self.sizes:
            require_choice("sizes", s, tuple(LADDER))
        require_int("tokens", self.tokens, self.base.tokens_per_step)
        self.runs()  # every cell validates itself (frequency fits a sequence, bursts a batch)

    @property
    def steps(self) -> int:
        """Updates per run: ``tokens`` over the tokens of one batch."""
        return self.tokens // self.base.tokens_per_step

    def cell(self, kind: str, size: str, frequency: float, gap: int, seed: int
             ) -> OLMoRunConfig:
        """The run of one cell: the base with its axes replaced."""
        base, steps = self.base, self.steps
        lr = dict(self.lr_overrides).get(size, base.optim.lr)
        task = base.task.replace(kind=kind, seed=base.task.seed if self.same_task else seed)
        return base.replace(
            task=task, size=size,
            injection=InjectionSchedule(frequency=frequency, gap=gap), seed=seed, steps=steps,
            optim=base.optim.replace(lr=lr, warmup=min(base.optim.warmup, steps // 4)))

    def seed_groups(self) -> list[list[OLMoRunConfig]]:
        """The cells, grouped by everything but the seed (runs a vectorised trainer could
        take side by side), in the order kinds, sizes, frequencies, gaps."""
        return [[self.cell(k, s, f, g, seed) for seed in self.seeds] for k, s, f, g in
                itertools.product(self.kinds, self.sizes, self.frequencies, self.gaps)]

    def runs(self) -> list[OLMoRunConfig]:
        """Every cell's run config."""
        return [run for group in self.seed_groups() for run in group]


def _label(df: pd.DataFrame, cfg: OLMoRunConfig, res: OLMoRunResult, record: str
           ) -> pd.DataFrame:
    df = df.copy()
    df.insert(0, "record", record)
    labels = {"kind": cfg.task.kind, "size": cfg.size, "params": res.meta["params"],
              "non_embedding": res.meta["non_embedding"],
              "block_params": res.meta["block_params"],
              "frequency": cfg.injection.frequency, "gap": cfg.injection.gap,
              "per_batch": cfg.injection.per_batch(cfg.data.seq_len, cfg.data.batch_size),
              "seed": cfg.seed}
    for i, (k, v) in enumerate(labels.items()):
        df.insert(1 + i, k, v)
    return df


def run_injection_ladder(config: LadderConfig, store: Store | None = None,
                         data: TokenData | None = None, progress: bool = True,
                         workers: int = 1) -> pd.DataFrame:
    """Run (or load) every cell of the sweep; returns the tidy history table.

    ``df.attrs["meta"]`` holds one metadata dict per run (config, parameter counts, corpus
    package and SHA-256, training seconds, versions). The token stream is loaded (or taken
    from ``data``) once, and only when some cell has to train. With ``workers`` > 1 the cells
    that have to train do so in that many processes at once
    (:func:`rtrlib.lm.parallel.train_cells`); every cell trains with one intra-op thread
    either way, so the numbers do not depend on ``workers``.
    """
    store = store or Store()
    load = functools.cache(lambda: data or load_token_data(config.base.data.tokenizer, store))
    train_cells(config.runs(), store.root, workers, load, progress=progress)
    frames, metas = [], []
    for cfg in tqdm(config.runs(), desc="injection ladder", disable=not progress):
        with single_thread():
            res = train_run(cfg, load, store, progress=progress)
        frames.append(_label(res.history, cfg, res, "eval"))
        if len(res.grads):
            frames.append(_label(res.grads, cfg, res, "grad"))
        metas.append(res.meta)
    df = pd.concat(frames, ignore_index=True)
    df.attrs["meta"] = metas
    return df


def train_ladders(configs: Iterable[LadderConfig], store: Store | None = None,
                  workers: int = 2, progress: bool = True) -> None:
    """Train every cell of every sweep in ``configs`` that the store lacks, ``workers`` at a
    time (one process and one thread each; :func:`rtrlib.lm.parallel.train_cells`). The
    sweeps are then read back with :func:`run_injection_ladder`, which trains nothing."""
    store = store or Store()
    configs = list(configs)

    def prepare() -> None:  # tokenise each distinct corpus once, here, for the workers
        for tok in {c.base.data.tokenizer for c in configs}:
            load_token_data(tok, store)

    train_cells([r for c in configs for r in c.runs()], store.root, workers, prepare,
                progress=progress)


def estimate_gpu_hours(config: LadderConfig, tflops: float | None = None) -> float:
    """An estimate (not a measurement) of the GPU hours of a sweep, from
    :func:`rtrlib.costs.estimate`: ``6 N T`` FLOPs per run (:meth:`OLMoRunConfig.work`) on one
    H100-class GPU at the utilisation :data:`rtrlib.costs.H100` states, plus its per-step
    latency. ``tflops``, if given, replaces the utilisation by that sustained rate."""
    from rtrlib.costs import H100, estimate

    model = H100 if tflops is None else dataclasses.replace(
        H100, utilisation=float(tflops) * 1e12 / H100.bf16_peak)
    works = [run.work(run.data.tokenizer.vocab_size) for run in config.runs()]
    return estimate(works, model=model).gpu_hours
