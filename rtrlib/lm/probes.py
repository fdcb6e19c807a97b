"""Probes of what the model's first block represents about the tokens of S.

This book's simplification of the paper's DAS-based analysis: the residual stream after a block
for each token of S presented alone (:func:`token_representations`), read by

- :func:`order_probe_r2` (T_CMP): leave-one-out R^2 of a linear regression of the hidden order
  on the top principal components;
- :func:`fourier_modes` (T_ADD): the number of Fourier frequencies over the residues that carry
  more than their share of the representations' variance (:func:`fourier_spectrum`).

:func:`probe_score` is the one number a run records at each evaluation.
"""

from __future__ import annotations

import numpy as np
import torch

from rtrlib.lm.tasks import Task

__all__ = ["token_representations", "order_probe_r2", "fourier_spectrum", "fourier_modes",
           "probe_score"]


@torch.no_grad()
def token_representations(model: torch.nn.Module, tokens: np.ndarray, layer: int = 0,
                          device="cpu") -> np.ndarray:
    """Residual stream after block ``layer`` for each token of ``tokens`` presented alone at
    the start of a sequence (the position TOK1 takes), shape (|S|, d_model)."""
    captured: list[torch.Tensor] = []
    block = model.blocks[str(layer)]
    handle = block.register_forward_hook(lambda m, i, o: captured.append(o.detach()))
    try:
        model(torch.as_tensor(np.asarray(tokens)[:, None], dtype=torch.long, device=device))
    finally:
        handle.remove()
    return captured[0][:, 0, :].float().cpu().numpy()


def order_probe_r2(reps: np.ndarray, rank: np.ndarray, n_pcs: int) -> float:
    """Leave-one-out R^2 of a linear regression of the hidden order on the top ``n_pcs``
    principal components of the representations (T_CMP probe)."""
    x = reps - reps.mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    k = int(min(n_pcs, vt.shape[0], len(rank) - 2))
    z = np.column_stack([np.ones(len(x)), x @ vt[:k].T])
    y = np.asarray(rank, dtype=float)
    hat = z @ np.linalg.pinv(z)
    resid = y - hat @ y
    loo = resid / np.clip(1 - np.diag(hat), 1e-9, None)
    return float(1 - (loo ** 2).sum() / ((y - y.mean()) ** 2).sum())


def fourier_spectrum(reps: np.ndarray, residue: np.ndarray) -> np.ndarray:
    """Share of the representations' variance in each Fourier frequency k = 1..|S|//2 over
    the residues (T_ADD probe)."""
    x = reps[np.argsort(residue)]
    x = x - x.mean(0)
    power = (np.abs(np.fft.rfft(x, axis=0)) ** 2).sum(1)[1:]
    return power / max(power.sum(), 1e-30)


def fourier_modes(reps: np.ndarray, residue: np.ndarray, factor: float = 2.0) -> int:
    """Number of Fourier modes carrying residue structure: modes whose share of the variance
    exceeds ``factor`` times the uniform share 1/(|S|//2) a residue-blind representation has."""
    share = fourier_spectrum(reps, residue)
    return int((share > factor / len(share)).sum())


def probe_score(model: torch.nn.Module, task: Task, n_pcs: int, device="cpu") -> float:
    """The probe of the first block for ``task``: order-probe R^2 on ``n_pcs`` components
    (T_CMP) or the number of Fourier modes (T_ADD)."""
    reps = token_representations(model, task.tokens, 0, device)
    if task.kind == "cmp":
        return order_probe_r2(reps, task.rank, n_pcs)
    return float(fourier_modes(reps, task.rank))
