"""Gradient measurements on the encoder: norms, cosines, and the split ``g = g_t + g_nt``.

- :func:`encoder_norm`, :func:`encoder_cosine`: per-model Frobenius norm of an encoder tensor
  (S, D, sum N) and cosine between two of them, each (S, W);
- :func:`encoder_gradient_split`: the toy twin of the paper's OLMo decomposition: the batch
  gradient of the encoder split into one task's samples (``g_t``) and everyone else's
  (``g_nt``), each compared with the task's exact population gradient ``G_r``;
- :func:`task_gradient_norms`: ``||d l_k / d U||_F`` of every task's exact population loss
  (Theorem 4 says it is bounded by the square root of the task's residual).
"""

from __future__ import annotations

import torch

from rtrlib.toy.engine import Trainer
from rtrlib.toy.mixture import MixtureBatch
from rtrlib.toy.models import ModelBatch

__all__ = ["encoder_norm", "encoder_cosine", "encoder_gradient_split", "task_gradient_norms"]


def _segment_dots(models: ModelBatch, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-model inner products of two encoder tensors (S, D, NT): (S, W)."""
    return torch.stack([(x * y).sum(dim=(1, 2)) for x, y in
                        zip(models.split(a, 2), models.split(b, 2), strict=True)], dim=1)


def encoder_norm(models: ModelBatch, a: torch.Tensor) -> torch.Tensor:
    """Frobenius norm of an encoder tensor, per model (S, W)."""
    a = a.double()
    return _segment_dots(models, a, a).sqrt()


def encoder_cosine(models: ModelBatch, a: torch.Tensor, b: torch.Tensor,
                   eps: float = 1e-30) -> torch.Tensor:
    """Cosine between two encoder gradients, per model (S, W); NaN where either vanishes."""
    a, b = a.double(), b.double()
    ab = _segment_dots(models, a, b)
    na = _segment_dots(models, a, a).sqrt()
    nb = _segment_dots(models, b, b).sqrt()
    cos = ab / (na * nb).clamp_min(eps)
    return torch.where((na > eps) & (nb > eps), cos, torch.full_like(cos, float("nan")))


def encoder_gradient_split(trainer: Trainer, batch: MixtureBatch, task: int
                           ) -> dict[str, torch.Tensor]:
    """The toy twin of OLMo's g = g_t + g_nt, on the encoder, against ``G_r``.

    ``g_t`` is the gradient of the batch loss restricted to ``task``'s samples, ``g_nt`` that of
    all other samples (both divided by the batch size, so ``g = g_t + g_nt``); ``G_r`` is the
    exact population gradient of ``l_task``. Returns per-model (S, W) tensors ``cos`` (g vs
    G_r), ``cos_task`` (g_t vs G_r), ``cos_other`` (g_nt vs G_r), ``norm``, ``norm_task``,
    ``norm_other`` and ``norm_ref``; cosines are NaN where a gradient vanishes (e.g. no sample of
    the task in the batch).
    """
    is_task = (batch.task == task).to(trainer.models.U.dtype)
    g_t, _ = trainer.gradients(batch, is_task)
    g_nt, _ = trainer.gradients(batch, 1.0 - is_task)
    g_ref, _ = trainer.population_gradient(task)
    m = trainer.models
    g = g_t + g_nt
    return {
        "cos": encoder_cosine(m, g, g_ref),
        "cos_task": encoder_cosine(m, g_t, g_ref),
        "cos_other": encoder_cosine(m, g_nt, g_ref),
        "norm": encoder_norm(m, g),
        "norm_task": encoder_norm(m, g_t),
        "norm_other": encoder_norm(m, g_nt),
        "norm_ref": encoder_norm(m, g_ref),
    }


def task_gradient_norms(trainer: Trainer) -> torch.Tensor:
    """``||d l_k / d U||_F`` of every task's exact population loss, per model: (S, W, K)."""
    m = trainer.models
    losses = m.task_losses(trainer.tensors, trainer.mixture.n_tasks,
                           trainer.mixture.background_variance)
    out = []
    for k in range(trainer.mixture.n_tasks):
        (gU,) = torch.autograd.grad(losses[..., k].sum(), [m.U], retain_graph=True)
        out.append(encoder_norm(m, gU))
    return torch.stack(out, dim=-1)
