"""The synthetic task mixture, the batched training engine and the toy experiments.

API summary (what the chapters and other modules build on):

Mixture (:mod:`rtrlib.toy.mixture`)
    ``MixtureConfig(n_tasks=32, zipf_exponent=1.0, n_features=8, spectrum_decay=1.0,
    input_dim=None, pi=None, spectra=None, label_noise=0.0, background_variance=0.0,
    mixture_seed=0).build() -> TaskMixture``. A ``TaskMixture`` has ``pi`` (K,), ``spectra``
    (K arrays), ``basis`` (D, F) orthonormal feature directions b_f (blocks B_k, randomly rotated
    in R^D), ``feature_task`` (F,), ``lam`` (F,), ``utilities()``, ``task_variance()``,
    ``features_frame()``. Inputs are x ~ N(0, Sigma), Sigma = sum_f lambda_f b_f b_f^T; a sample
    of task k is scored on its targets y_f = b_f^T x, f in block k.
    ``mixture.sample(tasks (S, B) long, generators [S], tensors) -> MixtureBatch(x (S,B,D),
    task (S,B), y (S,B,F), mask (S,B,F))``: S independent streams (one per seed), B samples each.

Schedules (:mod:`rtrlib.toy.schedules`): objects with
    ``tasks(step, batch_size, generators, device) -> (S, B) long``: ``IIDSchedule(pi)``,
    ``MaskedSchedule(pi, allowed=lambda step: bool mask over tasks)``,
    ``BurstSchedule(pi, task, gaps, bursts, warmup=0)`` (withhold ``task``, inject ``bursts[s]``
    samples every ``gaps[s]`` steps in stream s; ``BurstSchedule.matched(pi, task, gaps, rates)``
    keeps the frequency at ``rate / B`` whatever the gap). Any object with that method works.

Models (:mod:`rtrlib.toy.models`)
    ``ModelBatch.init(mixture, widths, seeds, activation="linear"|"relu", init_scale, device)``:
    all (seed, width) models as two leaf tensors, ``U`` (S, D, sum N) and ``A`` (S, sum N, F),
    widths concatenated along the hidden axis (``encoder(s, w)``, ``readout(s, w)``,
    ``split(t, axis)``). ``batch_loss(batch, sample_weight=None) -> (S, W)``;
    ``task_losses(tensors, K) -> (S, W, K)`` exact population l_k (differentiable);
    ``feature_presence(tensors, features=None) -> (S, W, F)`` (= ||P_U b_f||^2 for
    feature-aligned linear U), the one measure of a feature's presence.

Engine (:mod:`rtrlib.toy.engine`) and loop (:mod:`rtrlib.toy.loop`)
    ``Trainer(mixture, models, OptimConfig(optimizer="sgd"|"adam", lr, lr_schedule), batch_size=,
    steps=, schedule=None (i.i.d.), device=)``: ``next_batch()``, ``gradients(batch,
    sample_weight) -> (dU, dA)`` (no update), ``update(batch) -> (S, W) losses``,
    ``train_step()``, ``task_losses()``, ``feature_presence()``, ``population_gradient(task)``
    (exact gradient of l_task: the reference G_r), ``state_dict()``/``load_state_dict()``
    (weights, optimizer and generators: resumption is exact). ``run_loop`` is the one
    checkpointed, resumable training loop every experiment uses.

Gradient measurements (:mod:`rtrlib.toy.gradients`)
    ``encoder_gradient_split(trainer, batch, task)`` (g = g_t + g_nt against G_r),
    ``encoder_cosine``, ``encoder_norm``, ``task_gradient_norms``.

Experiment configs (:mod:`rtrlib.toy.config`): frozen, validated, composed of parts
    ``ToyRunConfig(steps, batch_size, seeds, device, checkpoint_every, progress)``,
    ``ModelBatchConfig(widths, activation, init_scale)``, ``OptimConfig``, and a mixture
    (``MixtureConfig`` or ``RareMixtureConfig(n_common, features_per_task, ..., rare_lambda)``
    with ``.with_frequency(f)`` and ``.critical_width(f)``). Every experiment config has
    ``.build() -> Trainer`` and ``.keyed()`` (its cache key, without ``checkpoint_every`` and
    ``progress``); presets ``RARE_MIXTURE``, ``ADAM``, ``SGD_COSINE``.

The experiments (each ``run_*(config, store=None, refresh=False) -> DataFrame``, cached through
:mod:`rtrlib.store`, checkpointed and resumable)
    chapter 3 :mod:`~rtrlib.toy.sweep` ``SweepConfig``, ``run_sweep`` / ``run_sweep_full``
    (per-task losses next to Theorem 3's optimum, per-feature presence); chapter 4
    :mod:`~rtrlib.toy.interference` ``InterferenceConfig``, ``run_interference`` (residuals,
    gradient norms, gradient split across widths); chapter 5 :mod:`~rtrlib.toy.retention`
    ``RetentionConfig``, ``run_retention`` (matched-frequency bursts: rare signal, loss and
    gradient cosines per step); chapter 7 :mod:`~rtrlib.toy.levers` ``LeversConfig``,
    ``run_levers_grid``, ``run_levers`` (compute-to-learn a rare task by widening, raising its
    frequency or replaying it more often).

Analyses of their tables
    :mod:`~rtrlib.toy.analysis` (``learning_times``, ``effective_width``,
    ``measured_critical_width``,
    ``common_pull``, ``retention_summary``), :mod:`~rtrlib.toy.frequency_null` (chapter 3's
    frequency-order null model: ``frequency_order``, ``frequency_order_loss``,
    ``disagreement_pairs``, ``minimiser_match``, ``order_correlations``, ``null_times``,
    ``gap_advantage``) and :mod:`~rtrlib.toy.lever_costs`
    (``setting_summary``, ``lever_table``, ``cheapest_levers``, ``lever_regimes``); the
    registered claims' per-seed metrics: :mod:`~rtrlib.toy.interference_metrics` (chapter 4:
    ``residual_law``, ``fade_steps``, ``fade_correlation``, ``critical_widths``,
    ``frequency_only_critical_width``), :mod:`~rtrlib.toy.retention_metrics` (chapter 5:
    ``forget_fraction``, ``accumulation_ratio``, ``gap_effect``) and
    :mod:`~rtrlib.toy.lever_claims` (chapter 7).

Command line: ``python -m rtrlib.toy {sweep,interference,retention,levers} --help``.
"""

from rtrlib.toy.analysis import (
    common_pull,
    effective_width,
    learning_times,
    measured_critical_width,
    retention_summary,
)
from rtrlib.toy.config import (
    ADAM,
    RARE_MIXTURE,
    ModelBatchConfig,
    RareMixtureConfig,
    RareTaskExperiment,
    ToyExperiment,
    ToyRunConfig,
)
from rtrlib.toy.engine import LR_SCHEDULES, OPTIMIZERS, OptimConfig, Trainer
from rtrlib.toy.gradients import (
    encoder_cosine,
    encoder_gradient_split,
    encoder_norm,
    task_gradient_norms,
)
from rtrlib.toy.interference import InterferenceConfig, run_interference
from rtrlib.toy.interference_metrics import (
    critical_widths,
    fade_correlation,
    fade_steps,
    frequency_only_critical_width,
    residual_law,
)
from rtrlib.toy.lever_costs import (
    LEVERS,
    cheapest_levers,
    lever_regimes,
    lever_table,
    setting_summary,
)
from rtrlib.toy.levers import LeversConfig, flops_per_step, run_levers, run_levers_grid
from rtrlib.toy.loop import run_loop
from rtrlib.toy.mixture import (
    MixtureBatch,
    MixtureConfig,
    TaskMixture,
    power_law_spectrum,
    zipf_frequencies,
)
from rtrlib.toy.models import ACTIVATIONS, ModelBatch, derive_seed
from rtrlib.toy.retention import RetentionConfig, run_retention
from rtrlib.toy.retention_metrics import accumulation_ratio, forget_fraction, gap_effect
from rtrlib.toy.schedules import BurstSchedule, IIDSchedule, MaskedSchedule, Schedule
from rtrlib.toy.sweep import (
    SGD_COSINE,
    SweepConfig,
    SweepResult,
    log_steps,
    run_sweep,
    run_sweep_full,
    sweep_key,
)

__all__ = [
    # mixture, schedules, models, engine
    "MixtureConfig", "TaskMixture", "MixtureBatch", "zipf_frequencies", "power_law_spectrum",
    "Schedule", "IIDSchedule", "MaskedSchedule", "BurstSchedule",
    "ACTIVATIONS", "ModelBatch", "derive_seed",
    "LR_SCHEDULES", "OPTIMIZERS", "OptimConfig", "Trainer", "run_loop",
    "encoder_cosine", "encoder_gradient_split", "encoder_norm", "task_gradient_norms",
    # configs
    "ToyRunConfig", "ModelBatchConfig", "RareMixtureConfig", "ToyExperiment", "RareTaskExperiment",
    "RARE_MIXTURE", "ADAM", "SGD_COSINE",
    # experiments
    "SweepConfig", "SweepResult", "run_sweep", "run_sweep_full", "log_steps", "sweep_key",
    "InterferenceConfig", "run_interference",
    "RetentionConfig", "run_retention",
    "LeversConfig", "run_levers_grid", "run_levers", "flops_per_step",
    # analyses
    "learning_times", "effective_width", "measured_critical_width", "common_pull",
    "retention_summary",
    "residual_law", "fade_steps", "fade_correlation", "critical_widths",
    "frequency_only_critical_width",
    "forget_fraction", "accumulation_ratio", "gap_effect",
    "LEVERS", "setting_summary", "lever_table", "cheapest_levers", "lever_regimes",
]
