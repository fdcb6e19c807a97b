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

Where the work comes from: a dry run of a profile (``python -m rtrlib.book build --profile gpu
--dry-run``) records every run's :class:`Work` as its *real* run would do it (the training loops
log it, :func:`rtrlib.dry.log_work`) and sums it per chapter into ``<build>/work-<profile>.json``;
the copy committed as ``chapters/work/<profile>.json`` is what :func:`profile_estimates` reads.
``python -m rtrlib.book list`` prints those estimates per chapter and in total, the instructors'
guide quotes them, and :func:`rtrlib.lm.ladder.estimate_gpu_hours` calls :func:`estimate`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

from rtrlib.params import require_choice, require_float, require_int

__all__ = ["KINDS", "Work", "GPUModel", "H100", "Estimate", "estimate", "fmt_hours",
           "summarise_work", "load_work", "profile_estimates", "work_path"]

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
        if isinstance(self.flops, int) and not isinstance(self.flops, bool):
            object.__setattr__(self, "flops", float(self.flops))
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


def summarise_work(works: Iterable[Work]) -> list[Work]:
    """One :class:`Work` per kind: FLOPs, steps and evaluations summed (what a chapter's
    recorded work is reduced to)."""
    out: dict[str, list[float]] = {}
    for w in works:
        acc = out.setdefault(w.kind, [0.0, 0, 0, 0])
        acc[0] += w.flops
        acc[1] += w.steps
        acc[2] += w.evals
        acc[3] += 1
    return [Work(kind=k, flops=v[0], steps=int(v[1]), evals=int(v[2]), label=f"{v[3]} runs")
            for k, v in sorted(out.items())]


def work_path(profile: str, root: Path | None = None) -> Path:
    """The committed work of ``profile``: ``chapters/work/<profile>.json``."""
    if root is None:
        root = Path(__file__).resolve().parent.parent
    return root / "chapters" / "work" / f"{profile}.json"


def load_work(path: Path) -> dict[str, list[Work]]:
    """Per chapter, the works recorded in ``path`` (a dry run's ``work-<profile>.json``)."""
    data = json.loads(Path(path).read_text())
    return {ch: [Work(**w) for w in works] for ch, works in data["chapters"].items()}


def profile_estimates(profile: str, root: Path | None = None, model: GPUModel = H100
                      ) -> tuple[dict[str, Estimate], Estimate, int] | None:
    """Per chapter and in total, the estimate of ``profile``'s recorded work on one GPU of
    ``model``, and the number of GPUs the profile is meant for (the total's wall-clock time
    assumes the runs spread evenly over them); None when no work is recorded."""
    path = work_path(profile, root)
    if not path.exists():
        return None
    gpus = int(json.loads(path.read_text()).get("gpus", 1))
    per = {ch: estimate(works, chapters=1, model=model)
           for ch, works in load_work(path).items()}
    total = estimate([w for ws in load_work(path).values() for w in ws],
                     chapters=len(per), gpus=gpus, model=model)
    return per, total, gpus
