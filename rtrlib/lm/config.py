"""What determines one OLMo training run: a frozen config composed of smaller configs.

:class:`OLMoRunConfig` holds its parts, each validated once, in its own ``__post_init__``:

- :class:`TaskConfig`: the injected task (T_CMP or T_ADD), |S| and the seed that draws S, the
  hidden order or residues and the train/test split;
- :class:`TextDataConfig`: the background text (tokenizer and corpus), sequence length, batch;
- :class:`~rtrlib.lm.injection.InjectionSchedule`: how often instances enter the stream;
- :class:`AdamWConfig`: AdamW with linear warmup, then a cosine decay or a constant rate;
- :class:`EvaluationConfig`: how often the run is evaluated, probed and its gradient analysed;
- :class:`~rtrlib.lm.precision.PrecisionConfig`: bf16 autocast, TF32, fused AdamW and
  ``torch.compile`` on CUDA (fp32 and the reference kernels on the CPU);

plus the run's own fields: model ``size`` (a rung of :data:`~rtrlib.lm.models.LADDER`),
``data_parallel`` (DDP or FSDP under torchrun), ``steps``, ``seed`` (initial weights and batch
order), ``checkpoint_every`` and ``device``.
Change a part with ``cfg.replace(optim=cfg.optim.replace(lr=1e-3))``. The defaults are chapter
6's calibrated CPU miniature (:data:`rtrlib.lm.presets.CPU_MINIATURE`); its injection frequency
(1e-3 per token, i.i.d.) is a placeholder that :class:`~rtrlib.lm.ladder.LadderConfig` replaces
in every cell.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from rtrlib.lm.injection import InjectionSchedule
from rtrlib.lm.models import LADDER
from rtrlib.lm.precision import PrecisionConfig
from rtrlib.lm.tasks import TASK_KINDS, Task, make_task, sample_task_tokens
from rtrlib.lm.tokenizer import TokenizerConfig
from rtrlib.params import ParameterError, require_choice, require_device, require_float, require_int
from rtrlib.store import KeyedConfig

if TYPE_CHECKING:
    from rtrlib.lm.tokenizer import TokenData
    from rtrlib.lm.trainer import OLMoTrainer

__all__ = ["TaskConfig", "TextDataConfig", "AdamWConfig", "EvaluationConfig", "OLMoRunConfig"]


class _Replace:
    def replace(self, **changes: Any) -> Any:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class TaskConfig(_Replace):
    """The injected task: ``kind`` (``"cmp"`` = T_CMP, ``"add"`` = T_ADD) over |S| =
    ``set_size`` tokens; ``seed`` draws S, the hidden order (or residues) and the train/test
    split, independently of the model's seed."""

    kind: str = dataclasses.field(default="cmp", metadata={
        "choices": TASK_KINDS, "help": "T_CMP (cmp) or T_ADD (add)"})
    set_size: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        require_choice("kind", self.kind, TASK_KINDS)
        require_int("set_size", self.set_size, 4, 1000)
        require_int("seed", self.seed, 0)

    def build(self, vocab_size: int) -> Task:
        """S drawn from the merged BPE tokens of a ``vocab_size`` vocabulary, and the task."""
        return make_task(self.kind, sample_task_tokens(vocab_size, self.set_size, self.seed),
                         self.seed)

    def build_control(self, vocab_size: int) -> Task:
        """The control task: the same kind and |S| over tokens drawn apart from S (and from
        the end-of-document token). It is never injected, so what a run scores on it is what
        the background text alone teaches about such a task."""
        s = sample_task_tokens(vocab_size, self.set_size, self.seed)
        return make_task(self.kind, sample_task_tokens(vocab_size, self.set_size, self.seed,
                                                       exclude=(0, *s.tolist()), stream=3),
                         self.seed)


@dataclasses.dataclass(frozen=True)
class TextDataConfig(_Replace):
    """The background text and how it is cut into batches of ``batch_size`` windows of
    ``seq_len`` tokens (plus one for the next-token targets)."""

    tokenizer: TokenizerConfig = TokenizerConfig(vocab_size=1024)
    seq_len: int = 32
    batch_size: int = 8

    def __post_init__(self) -> None:
        require_int("seq_len", self.seq_len, 8)
        require_int("batch_size", self.batch_size, 1)

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.batch_size


SCHEDULES = ("cosine", "constant")


@dataclasses.dataclass(frozen=True)
class AdamWConfig(_Replace):
    """AdamW (betas 0.9, 0.95) with ``warmup`` steps of linear warmup, then (``schedule``) a
    cosine decay to a tenth of ``lr`` or a constant ``lr``; no weight decay on embeddings,
    norms and biases. PyTorch's AdamW decays weights by ``lr * weight_decay`` per step, so a
    cosine schedule also shrinks the decay (grokking runs use ``"constant"``)."""

    lr: float = 6e-3
    weight_decay: float = 0.1
    warmup: int = 50
    schedule: str = dataclasses.field(default="cosine", metadata={
        "choices": SCHEDULES, "help": "learning rate after the warmup"})

    def __post_init__(self) -> None:
        require_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        require_float("weight_decay", self.weight_decay, 0.0)
        require_int("warmup", self.warmup, 0)
        require_choice("schedule", self.schedule, SCHEDULES)

    def lr_at(self, step: int, steps: int) -> float:
        """The learning rate of update ``step`` of a ``steps``-update run."""
        if self.warmup and step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        if self.schedule == "constant":
            return self.lr
        t = (step - self.warmup) / max(1, steps - self.warmup)
        return self.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))

    def build(self, model: torch.nn.Module, **options: Any) -> torch.optim.AdamW:
        """The optimiser of ``model``; ``options`` go to ``torch.optim.AdamW`` (``fused``,
        :meth:`PrecisionConfig.adamw_options`)."""
        decay, no_decay = [], []
        for name, p in model.named_parameters():
            (decay if p.ndim >= 2 and "embeddings" not in name else no_decay).append(p)
        return torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                  {"params": no_decay, "weight_decay": 0.0}],
                                 lr=self.lr, betas=(0.9, 0.95), eps=1e-8, **options)


@dataclasses.dataclass(frozen=True)
class EvaluationConfig(_Replace):
    """Every ``eval_every`` updates: accuracy and loss on the task's splits and on the never
    injected control task, and the probes of every block (the order probe on ``probe_pcs``
    principal components for T_CMP, the Fourier power for T_ADD; :mod:`rtrlib.lm.probes`).
    A run with bursts every n >= ``burst_evals`` batches (0 = none) is also evaluated just
    before and just after each burst (what :func:`rtrlib.lm.summaries.burst_cycle` reads).
    Every ``grad_every`` updates (0 = never): the gradient split on the ``top_k`` first-layer
    MLP neurons."""

    eval_every: int = 25
    grad_every: int = 0
    top_k: int = 32
    probe_pcs: int = 4
    burst_evals: int = 0

    def __post_init__(self) -> None:
        require_int("eval_every", self.eval_every, 1)
        require_int("grad_every", self.grad_every, 0)
        require_int("top_k", self.top_k, 1)
        require_int("probe_pcs", self.probe_pcs, 1)
        require_int("burst_evals", self.burst_evals, 0)


@dataclasses.dataclass(frozen=True)
class OLMoRunConfig(KeyedConfig):
    """Everything that determines one training run (see the module docstring)."""

    NOT_KEYED: ClassVar[tuple[str, ...]] = ("checkpoint_every",)

    size: str = dataclasses.field(default="tiny", metadata={
        "choices": tuple(LADDER), "help": "rung of the model ladder"})
    task: TaskConfig = TaskConfig()
    data: TextDataConfig = TextDataConfig()
    injection: InjectionSchedule = InjectionSchedule()  # what a ladder sweeps
    optim: AdamWConfig = AdamWConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    precision: PrecisionConfig = PrecisionConfig()
    data_parallel: str = dataclasses.field(default="ddp", metadata={
        "choices": ("ddp", "fsdp"),
        "help": "under torchrun: OLMo-core's DDP, or FSDP for rungs one GPU cannot hold"})
    steps: int = 390  # 100k tokens of 8 x 32
    seed: int = 0
    checkpoint_every: int = 100
    device: str = "cpu"

    def __post_init__(self) -> None:
        require_choice("size", self.size, tuple(LADDER))
        require_int("steps", self.steps, 1)
        require_int("seed", self.seed, 0)
        require_int("checkpoint_every", self.checkpoint_every, 1)
        require_device("device", self.device)
        require_choice("data_parallel", self.data_parallel, ("ddp", "fsdp"))
        # what no part can check alone
        self.injection.validate_for(self.data.seq_len, self.data.batch_size)
        vocab = self.data.tokenizer.vocab_size
        if self.task.set_size > vocab - 256:
            raise ParameterError("set_size", self.task.set_size,
                                 f"<= vocab_size - 256 = {vocab - 256} (S is drawn from the "
                                 "merged BPE tokens)")

    @property
    def tokens_per_step(self) -> int:
        return self.data.tokens_per_step

    def work(self, vocab_size: int):
        """What this run asks of a GPU (:class:`rtrlib.costs.Work`): ``6 N T`` training FLOPs
        (``N`` non-embedding parameters as OLMo-core counts them, output head included; ``T``
        training tokens), its updates and its evaluations."""
        from rtrlib.costs import Work
        from rtrlib.lm.models import param_counts

        n = param_counts(self.size, vocab_size)["non_embedding"]
        evals = self.steps // self.evaluation.eval_every + 1
        gap = self.injection.gap
        if 2 <= self.evaluation.burst_evals <= gap:  # also just before and after each burst
            evals += 2 * (self.steps // gap)
        return Work(kind="olmo", flops=6.0 * n * self.steps * self.tokens_per_step,
                    steps=self.steps, evals=evals,
                    label=f"{self.task.kind} {self.size}")

    def build(self, data: TokenData, world: int = 1) -> OLMoTrainer:
        """The model, optimiser and batches of this run (data-parallel over ``world`` ranks)."""
        from rtrlib.lm.trainer import OLMoTrainer

        return OLMoTrainer(self, data, world)
