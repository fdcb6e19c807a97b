"""What a run costs on a GPU: one estimate, computed here, from FLOPs and stated assumptions.

No GPU measurement exists for this book: every figure here is an **estimate**. An experiment
describes the work its run does as :class:`Work` (floating-point operations and the number of
sequential rounds of GPU kernels: optimizer steps and measurement rounds); :func:`estimate`
turns a list of them into seconds on the GPU :data:`H100` describes::

    seconds = flops / (peak x utilisation) + steps x step_latency + evals x eval_latency
              + chapters x chapter_overhead

- FLOPs of an OLMo run: ``6 N T`` for training (``N`` non-embedding parameters as OLMo-core
  counts them, output projection included; ``T`` training tokens; forward + backward) plus
  ``2 N`` per evaluated token (:meth:`rtrlib.lm.config.OLMoRunConfig.work`), against the bf16
  tensor-core peak (the trainer's bf16 autocast on CUDA);
- FLOPs of a toy run: ``6 B N (D + F)`` per model and step
  (:func:`rtrlib.toy.levers.flops_per_step`), against the fp32 peak (the toy engine trains in
  fp32);
- the latencies bound small models, whose steps are too short to fill a GPU: a step is a
  round of kernel launches and Python, whatever its FLOPs.

:func:`rtrlib.book.workloads.profile_work` lists each chapter's work under a profile;
``python -m rtrlib.book list`` prints the totals, the instructors' guide and chapter 6 use the
same :func:`estimate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from rtrlib.params import require_choice, require_float, require_int

__all__ = ["KINDS", "Work", "GPUModel", "H100", "Estimate", "estimate", "fmt_hours"]

KINDS = ("olmo", "toy", "cpu")


@dataclasses.dataclass(frozen=True)
class Work:
    """What one run asks of the device: ``flops`` (training and evaluation), ``steps``
    (optimizer steps, one after another) and ``evals`` (measurement rounds); ``kind`` says
    which peak and latencies apply (``cpu``: work that stays on the CPU, counted as zero)."""

    kind: str
    flops: float = 0.0
    steps: int = 0
    evals: int = 0
    label: str = ""

    def __post_init__(self) -> None:
        require_choice("kind", self.kind, KINDS)
        require_float("flops", self.flops, 0.0)
        require_int("steps", self.steps, 0)
        require_int("evals", self.evals, 0)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class GPUModel:
    """The assumptions of every estimate (none measured: no GPU was available).

    ``bf16_peak``/``fp32_peak``: dense peaks in FLOP/s; ``utilisation``: the share of the peak
    a step's FLOPs sustain; ``*_latency``: seconds per step or measurement round that no FLOP
    count shows (kernel launches, Python, the batch assembled on the host);
    ``chapter_overhead``: seconds per chapter for the kernel, analysis and figures (CPU work)."""

    name: str = "one H100 SXM 80 GB"
    bf16_peak: float = 989e12
    fp32_peak: float = 67e12
    utilisation: float = 0.3
    olmo_step_latency: float = 5e-3
    olmo_eval_latency: float = 10e-3
    toy_step_latency: float = 1e-3
    toy_eval_latency: float = 2e-3
    chapter_overhead: float = 120.0

    def peak(self, kind: str) -> float:
        return self.bf16_peak if kind == "olmo" else self.fp32_peak

    def seconds(self, work: Work) -> float:
        """Estimated seconds of one run on one GPU."""
        if work.kind == "cpu":
            return 0.0
        step, ev = ((self.olmo_step_latency, self.olmo_eval_latency) if work.kind == "olmo"
                    else (self.toy_step_latency, self.toy_eval_latency))
        return (work.flops / (self.peak(work.kind) * self.utilisation)
                + work.steps * step + work.evals * ev)

    def describe(self) -> str:
        """The assumptions in one sentence (for the guide, the chapters and ``list``)."""
        return (f"{self.name} at {self.utilisation:.0%} of its dense peak "
                f"({self.bf16_peak / 1e12:.0f} TFLOP/s bf16 for OLMo runs, "
                f"{self.fp32_peak / 1e12:.0f} TFLOP/s fp32 for the toy engine), plus "
                f"{self.olmo_step_latency * 1e3:.0f} ms per OLMo step, "
                f"{self.toy_step_latency * 1e3:.0f} ms per toy step, "
                f"{self.olmo_eval_latency * 1e3:.0f} / {self.toy_eval_latency * 1e3:.0f} ms per "
                f"evaluation and {self.chapter_overhead / 60:.0f} min per chapter")


H100 = GPUModel()
"""The GPU the ``gpu`` and ``paper`` profiles are estimated for."""


@dataclasses.dataclass(frozen=True)
class Estimate:
    """An estimate (not a measurement): ``seconds`` on ``gpus`` GPUs of ``model``, from
    ``flops``; ``gpu_hours`` is the total over GPUs."""

    flops: float
    seconds: float
    gpus: int
    model: GPUModel

    @property
    def gpu_hours(self) -> float:
        return self.seconds * self.gpus / 3600.0

    @property
    def hours(self) -> float:
        """Wall-clock hours when the work spreads evenly over ``gpus`` GPUs."""
        return self.seconds / 3600.0

    def text(self) -> str:
        wall = f" ({fmt_hours(self.hours)} on {self.gpus} GPUs)" if self.gpus > 1 else ""
        return (f"estimated {fmt_hours(self.gpu_hours)} GPU time{wall}, "
                f"{self.flops:.2g} FLOP")


def estimate(works: Iterable[Work], *, chapters: int = 0, gpus: int = 1,
             model: GPUModel = H100) -> Estimate:
    """THE cost estimate: the seconds ``works`` take on ``gpus`` GPUs of ``model`` (runs spread
    evenly over GPUs; each chapter adds its fixed overhead once)."""
    require_int("gpus", gpus, 1)
    require_int("chapters", chapters, 0)
    works = list(works)
    busy = sum(model.seconds(w) for w in works)
    return Estimate(flops=float(sum(w.flops for w in works)),
                    seconds=busy / gpus + chapters * model.chapter_overhead, gpus=gpus,
                    model=model)


def fmt_hours(hours: float) -> str:
    """A duration in hours for a reader: '14 min', '3.2 h', '41,000 h'."""
    if hours < 1.0:
        return f"{hours * 60:.0f} min"
    if hours < 100:
        return f"{hours:.1f} h"
    return f"{hours:,.0f} h"
