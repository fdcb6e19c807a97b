"""The synthetic task mixture and the batched training engine (issue 3).

API summary (what other chapters and modules build on):

Mixture (:mod:`rtrlib.toy.mixture`)
    ``MixtureConfig(n_tasks=32, zipf_exponent=1.0, n_features=8, spectrum_decay=1.0,
    input_dim=None, pi=None, spectra=None, label_noise=0.0, background_variance=0.0,
    mixture_seed=0).build() -> TaskMixture``. A ``TaskMixture`` has ``pi`` (K,), ``spectra``
    (K arrays), ``basis`` (D, F) orthonormal feature directions b_f (blocks B_k, randomly rotated
    in R^D), ``feature_task`` (F,), ``lam`` (F,), ``utilities()``, ``task_variance()``,
    ``features_frame()``. Inputs are x ~ N(0, Sigma), Sigma = sum_f lambda_f b_f b_f^T; a sample
    of task k is scored on its targets y_f = b_f^T x, f in block k.
    ``mixture.sample(tasks (S, B) long, generators [S], tensors) -> Batch(x (S,B,D), task (S,B),
    y (S,B,F), mask (S,B,F))``: S independent streams (one per seed), B samples each.

Schedules (:mod:`rtrlib.toy.schedules`): objects with
    ``tasks(step, batch_size, generators, device) -> (S, B) long``: ``IIDSchedule(pi)``,
    ``MaskedSchedule(pi, allowed=lambda step: bool mask over tasks)``,
    ``BurstSchedule(pi, task, period, burst, phase=0)`` (withhold ``task``, inject ``burst``
    samples every ``period`` steps). Any object with that method works.

Models (:mod:`rtrlib.toy.models`)
    ``ModelBatch.init(mixture, widths, seeds, activation="linear"|"relu", init_scale, device)``:
    all (seed, width) models as two leaf tensors, ``U`` (S, D, sum N) and ``A`` (S, sum N, F),
    widths concatenated along the hidden axis (``encoder(s, w)``, ``readout(s, w)``,
    ``split(t, axis)``). ``batch_loss(batch, sample_weight=None) -> (S, W)``;
    ``task_losses(tensors, K) -> (S, W, K)`` exact population l_k (differentiable);
    ``feature_presence(tensors) -> (S, W, F)`` (= ||P_U b_f||^2 for feature-aligned linear U).

Engine (:mod:`rtrlib.toy.engine`)
    ``Trainer(mixture, models, OptimConfig(optimizer="sgd"|"adam", lr, lr_schedule, steps),
    batch_size=, schedule=None (i.i.d.), device=)``: ``next_batch()``, ``gradients(batch,
    sample_weight) -> (dU, dA)`` (no update), ``update(batch) -> (S, W) losses``,
    ``train_step()``, ``task_losses()``, ``feature_presence()``, ``population_gradient(task)``
    (exact gradient of l_task: the reference G_r), ``state_dict()``/``load_state_dict()``
    (weights, optimizer and generators: resumption is exact). ``trainer.step`` counts updates.

Sweeps (:mod:`rtrlib.toy.sweep`)
    ``SweepConfig(...)`` (frozen, validated; ``.build() -> Trainer``) and
    ``run_sweep(config) -> DataFrame`` with columns width, seed, task, pi, step, task_loss,
    optimal_loss, variance; ``run_sweep_full(config) -> SweepResult(tasks, features, seconds)``.
    Cached through :mod:`rtrlib.store`, checkpointed and resumable.
    Command line: ``python -m rtrlib.toy sweep --help``.

Interference, injection and levers (built on the engine above)
    :mod:`rtrlib.toy.interference` (``InterferenceConfig``, ``run_interference``: gradient
    norms against residuals across widths, measured vs predicted critical width);
    :mod:`rtrlib.toy.injection` (``InjectionConfig``, ``run_injection``: matched-frequency
    bursts, rare_loss / rare_signal / grad_cos per step); :mod:`rtrlib.toy.levers`
    (``LeversConfig``, ``run_levers``: compute-to-learn a rare task by widening, raising its
    frequency or replaying it more often). Each has its own command line:
    ``python -m rtrlib.toy.interference``, ``python -m rtrlib.toy.injection``,
    ``python -m rtrlib.toy.levers``.
"""

from rtrlib.toy.engine import LR_SCHEDULES, OPTIMIZERS, OptimConfig, Trainer
from rtrlib.toy.injection import InjectionConfig, run_injection  # noqa: E402
from rtrlib.toy.interference import InterferenceConfig, run_interference  # noqa: E402
from rtrlib.toy.levers import LeversConfig, run_levers  # noqa: E402
from rtrlib.toy.mixture import (
    Batch,
    MixtureConfig,
    TaskMixture,
    power_law_spectrum,
    zipf_frequencies,
)
from rtrlib.toy.models import ACTIVATIONS, ModelBatch, derive_seed
from rtrlib.toy.schedules import BurstSchedule, IIDSchedule, MaskedSchedule, Schedule
from rtrlib.toy.sweep import (
    SweepConfig,
    SweepResult,
    log_steps,
    run_sweep,
    run_sweep_full,
    sweep_key,
)

__all__ = [
    "InjectionConfig", "InterferenceConfig", "LeversConfig", "run_injection",
    "run_interference", "run_levers",
    "ACTIVATIONS", "LR_SCHEDULES", "OPTIMIZERS", "Batch", "BurstSchedule", "IIDSchedule",
    "MaskedSchedule", "MixtureConfig", "ModelBatch", "OptimConfig", "Schedule", "SweepConfig",
    "SweepResult", "TaskMixture", "Trainer", "derive_seed", "log_steps", "power_law_spectrum",
    "run_sweep", "run_sweep_full", "sweep_key", "zipf_frequencies",
]
