"""The parts every toy experiment is composed of, each validated once, and the two bases.

An experiment config holds its parts instead of copies of their fields::

    SweepConfig(mixture=MixtureConfig(n_tasks=8), models=ModelBatchConfig(widths=(4, 8)),
                optim=OptimConfig(lr=1.0), run=ToyRunConfig(steps=500, seeds=(0, 1)))

- :class:`ToyRunConfig`: how long, on what, with which seeds, and how it reports (``steps``,
  ``batch_size``, ``seeds``, ``device``; ``checkpoint_every`` and ``progress`` never enter a
  cache key);
- :class:`ModelBatchConfig`: the batch of models (``widths``, ``activation``, ``init_scale``);
- :class:`~rtrlib.toy.engine.OptimConfig`: the optimizer;
- the mixture: :class:`~rtrlib.toy.mixture.MixtureConfig`, or for the rare-task experiments
  :class:`RareMixtureConfig` (common Zipf tasks plus one rare task whose frequency each
  experiment sets).

:class:`ToyExperiment` is the base of every experiment (``.build() -> Trainer``, a cache key
from :meth:`ToyExperiment.keyed`); :class:`RareTaskExperiment` is the one base of the
interference, retention and levers experiments. ``RARE_MIXTURE`` and ``ADAM`` are the settings
chapters 4, 5 and 7 share.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rtrlib.params import (
    ParameterError,
    require_choice,
    require_device,
    require_float,
    require_int,
    require_ints,
)
from rtrlib.store import KeyedConfig
from rtrlib.theory.interference import critical_width
from rtrlib.toy.engine import OptimConfig, Trainer
from rtrlib.toy.mixture import MixtureConfig, TaskMixture, zipf_frequencies
from rtrlib.toy.models import ACTIVATIONS, ModelBatch
from rtrlib.toy.schedules import Schedule

__all__ = ["ToyRunConfig", "ModelBatchConfig", "RareMixtureConfig", "ToyExperiment",
           "RareTaskExperiment", "RARE_MIXTURE", "ADAM"]


def _tuples(obj: Any, *names: str) -> None:
    """Freeze list-valued fields as tuples (so configs hash and key the cache)."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, list):
            object.__setattr__(obj, name, tuple(value))


@dataclass(frozen=True)
class ToyRunConfig(KeyedConfig):
    """How an experiment runs: ``steps`` updates on batches of ``batch_size`` fresh samples,
    one data stream per seed, on ``device``; a checkpoint every ``checkpoint_every`` updates
    and a progress bar when ``progress`` (neither changes a number, so neither is keyed)."""

    NOT_KEYED = ("checkpoint_every", "progress")

    steps: int = 2000
    batch_size: int = 256
    seeds: tuple[int, ...] = (0,)
    device: str = "cpu"
    checkpoint_every: int = 512
    progress: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        _tuples(self, "seeds")
        require_int("steps", self.steps, 1, 100_000_000)
        require_int("batch_size", self.batch_size, 1, 1 << 24)
        require_ints("seeds", self.seeds, 0, 2**31 - 1)
        if len(set(self.seeds)) != len(self.seeds):
            raise ParameterError("seeds", self.seeds, "distinct seeds")
        require_device("device", self.device)
        require_int("checkpoint_every", self.checkpoint_every, 1)


@dataclass(frozen=True)
class ModelBatchConfig(KeyedConfig):
    """The models trained together: one per width (and per seed stream), encoder activation
    and the scale of the small random initialisation."""

    widths: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256)
    activation: str = field(default="linear", metadata={"choices": ACTIVATIONS})
    init_scale: float = 0.1

    def __post_init__(self) -> None:
        _tuples(self, "widths")
        require_ints("widths", self.widths, 1, 1_000_000)
        if len(set(self.widths)) != len(self.widths):
            raise ParameterError("widths", self.widths, "distinct widths")
        require_choice("activation", self.activation, ACTIVATIONS)
        require_float("init_scale", self.init_scale, 0.0, 10.0, lo_open=True)

    def build(self, mixture: TaskMixture, seeds, device: str = "cpu") -> ModelBatch:
        return ModelBatch.init(mixture, self.widths, seeds, activation=self.activation,
                               init_scale=self.init_scale, device=device)


@dataclass(frozen=True)
class RareMixtureConfig(KeyedConfig):
    """``n_common`` Zipf tasks with ``features_per_task`` features each (spectrum
    ``j^-spectrum_decay``) sharing ``1 - f`` of the stream, plus one rare task (index
    ``n_common``) with ``rare_features`` features, spectrum ``rare_lambda * j^-spectrum_decay``
    and frequency ``f``, which each experiment sets (:meth:`with_frequency`)."""

    n_common: int = 8
    features_per_task: int = 4
    zipf_exponent: float = 1.0
    spectrum_decay: float = 1.0
    rare_lambda: float = 4.0
    rare_features: int = 1
    mixture_seed: int = 0

    def __post_init__(self) -> None:
        require_int("n_common", self.n_common, 1, 1024)
        require_int("features_per_task", self.features_per_task, 1, 1024)
        require_float("zipf_exponent", self.zipf_exponent, 0.0, 20.0)
        require_float("spectrum_decay", self.spectrum_decay, 0.0, 50.0)
        require_float("rare_lambda", self.rare_lambda, 0.0, 1e6, lo_open=True)
        require_int("rare_features", self.rare_features, 1, 1024)
        require_int("mixture_seed", self.mixture_seed, 0, 2**31 - 1)

    @property
    def rare(self) -> int:
        """Index of the rare task (the last)."""
        return self.n_common

    def with_frequency(self, rare_frequency: float) -> MixtureConfig:
        """The mixture with the rare task at global frequency ``rare_frequency``."""
        f = require_float("rare_frequency", rare_frequency, 0.0, 1.0, lo_open=True,
                          hi_open=True)
        pi = zipf_frequencies(self.n_common, self.zipf_exponent) * (1.0 - f)
        pi = tuple(float(p) for p in pi) + (f,)
        decay = -float(self.spectrum_decay)
        common = tuple(float(x) for x in np.arange(1, self.features_per_task + 1) ** decay)
        rare = tuple(float(self.rare_lambda * x)
                     for x in np.arange(1, self.rare_features + 1) ** decay)
        return MixtureConfig(n_tasks=self.n_common + 1, pi=pi,
                             spectra=(common,) * self.n_common + (rare,),
                             mixture_seed=self.mixture_seed)

    def critical_width(self, rare_frequency: float) -> int:
        """Proposition 6 (:func:`rtrlib.theory.critical_width`) at ``rare_frequency``."""
        m = self.with_frequency(rare_frequency).build()
        return critical_width(m.pi, m.spectra, self.rare)


RARE_MIXTURE = RareMixtureConfig()
"""Chapters 4, 5 and 7's mixture: 8 Zipf tasks of 4 features and one rare task with a single
feature of variance 4."""

ADAM = OptimConfig(optimizer="adam", lr=0.01)
"""Chapters 5 and 7's optimizer (Adam makes the update-forget cycle visible)."""


def _keyed(obj: Any) -> dict:
    """The fields of a (nested) config that determine its results: every part's ``NOT_KEYED``
    fields are left out."""
    skip = getattr(obj, "NOT_KEYED", ())
    out = {}
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        is_config = dataclasses.is_dataclass(value) and not isinstance(value, type)
        out[f.name] = _keyed(value) if is_config else value
    return out


@dataclass(frozen=True)
class ToyExperiment(KeyedConfig):
    """The parts every toy experiment has; subclasses add a ``mixture`` and their own fields
    and say which mixture (:meth:`mixture_config`), seeds and schedule they train on."""

    models: ModelBatchConfig = ModelBatchConfig()
    optim: OptimConfig = OptimConfig()
    run: ToyRunConfig = ToyRunConfig()

    def keyed(self) -> dict:
        return _keyed(self)

    def mixture_config(self) -> MixtureConfig:
        raise NotImplementedError

    def stream_seeds(self) -> tuple[int, ...]:
        """The seed of every data stream (one model per width in each)."""
        return self.run.seeds

    def schedule(self, mixture: TaskMixture) -> Schedule | None:
        """The task schedule (None: i.i.d. from the mixture's frequencies)."""
        return None

    def build(self, mixture: TaskMixture | None = None) -> Trainer:
        """The :class:`Trainer` of this experiment, models freshly initialised."""
        mixture = mixture or self.mixture_config().build()
        models = self.models.build(mixture, self.stream_seeds(), self.run.device)
        return Trainer(mixture, models, self.optim, batch_size=self.run.batch_size,
                       steps=self.run.steps, schedule=self.schedule(mixture),
                       device=self.run.device)


@dataclass(frozen=True)
class RareTaskExperiment(ToyExperiment):
    """The base of the interference, retention and levers experiments: a
    :class:`RareMixtureConfig` with the rare task at :attr:`rare_frequency`."""

    mixture: RareMixtureConfig = RARE_MIXTURE

    @property
    def rare(self) -> int:
        """Index of the rare task."""
        return self.mixture.rare

    @property
    def rare_frequency(self) -> float:
        raise NotImplementedError

    def mixture_config(self) -> MixtureConfig:
        return self.mixture.with_frequency(self.rare_frequency)

    def critical_width(self) -> int:
        """Proposition 6's predicted critical width at the experiment's rare frequency."""
        return self.mixture.critical_width(self.rare_frequency)
