"""Closed forms of the paper's theory (numpy only, no torch).

- :mod:`rtrlib.theory.power_law`    Section 2: the phenomenological power-law argument
- :mod:`rtrlib.theory.quanta`       the quanta model: which part of a Zipf distribution a
  capacity- and data-limited model learns (and :mod:`rtrlib.theory.quanta_scaling`, chapter 1's
  simulated scaling study)
- :mod:`rtrlib.theory.utility`      Theorem 3: utility ranking in the linear model
- :mod:`rtrlib.theory.interference` Theorem 4, Corollary 5 and Proposition 6 (the critical width
  of a rare task)

Every name below is exported once, from the module that defines it.
"""

from rtrlib.theory.interference import (
    contested_utility,
    critical_width,
    features_above,
    gradient_bound,
    mixture_covariance,
    mixture_gradient,
    optimal_readout,
    projector,
    rare_signal,
    residual_covariance,
    sample_gradient,
    target_map,
    task_covariance,
    task_gradient,
    task_residual,
)
from rtrlib.theory.power_law import (
    ALPHA_PAPER,
    BETA_PAPER,
    GAMMA_PAPER,
    EmpiricalFrontier,
    PowerLawLoss,
    calibrated_prefactor,
    classify_pair,
    compute_optimal_ratio,
    loss_gap_decomposition,
    model_scaling_threshold,
    model_scaling_threshold_empirical,
)
from rtrlib.theory.quanta import (
    learned_from_counts,
    quanta_capacity,
    quanta_data_limit,
    quanta_learned,
    quanta_loss,
    sample_quanta_counts,
    unlearned_mass,
    zipf_exponent_for,
    zipf_frequency,
    zipf_mass_between,
    zipf_tail_mass,
)
from rtrlib.theory.utility import (
    learning_order,
    optimal_loss_range,
    optimal_task_loss,
    optimal_total_loss,
    retained_features,
    utilities,
    utility_ranking,
    width_to_explain,
)

__all__ = [
    # Section 2 (power_law)
    "ALPHA_PAPER", "BETA_PAPER", "GAMMA_PAPER", "EmpiricalFrontier", "PowerLawLoss",
    "calibrated_prefactor", "classify_pair", "compute_optimal_ratio",
    "loss_gap_decomposition", "model_scaling_threshold", "model_scaling_threshold_empirical",
    # the quanta model (quanta)
    "learned_from_counts", "quanta_capacity", "quanta_data_limit", "quanta_learned",
    "quanta_loss", "sample_quanta_counts", "unlearned_mass", "zipf_exponent_for",
    "zipf_frequency", "zipf_mass_between", "zipf_tail_mass",
    # Theorem 3 (utility)
    "learning_order", "optimal_loss_range", "optimal_task_loss", "optimal_total_loss",
    "retained_features", "utilities", "utility_ranking", "width_to_explain",
    # Theorem 4, Corollary 5, Proposition 6 (interference)
    "contested_utility", "critical_width", "features_above", "gradient_bound",
    "mixture_covariance", "mixture_gradient", "optimal_readout", "projector", "rare_signal",
    "residual_covariance", "sample_gradient", "target_map", "task_covariance", "task_gradient",
    "task_residual",
]
