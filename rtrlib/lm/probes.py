"""Probes of what the model's blocks represent about the task.

This book's simplification of the paper's DAS-based analysis, read from the residual stream
at every depth: entering the first block (the token embeddings) and after each block:

- T_CMP, :func:`order_probe_r2`: each token of S presented alone (:func:`layer_representations`,
  the position TOK1 takes); leave-one-out R^2 of a linear regression of the hidden order on the
  top principal components (the paper's 1-D global-order direction);
- T_ADD, :func:`fourier_power`: the position that predicts LABEL (after TOK1 TOK2) for every
  pair, averaged over the pairs with the same sum (:func:`sum_representations`), then
  Fourier-transformed over the residues of the sum: the share of the variance in the strongest
  mode (1/(|S|//2) when no mode stands out; :func:`fourier_modes` counts the modes that do).

:func:`probe_scores` is what a run records at each evaluation: the score of every block, the
best block and its score (the paper reads each feature at the layer where it is strongest),
and the same best-block score for a shuffled order or shuffled residues (the control: a probe
that finds structure there is fitting noise).
"""

from __future__ import annotations

import numpy as np
import torch

from rtrlib.lm.tasks import Task

__all__ = ["layer_representations", "token_representations", "sum_representations",
           "order_probe_r2", "fourier_spectrum", "fourier_modes", "fourier_power",
           "task_probe", "probe_scores"]


def _residual_hooks(model: torch.nn.Module, captured: dict, position: int) -> list:
    """Forward hooks that store the residual stream at ``position``: ``captured[0]`` entering
    the first block (the embeddings), ``captured[k]`` after block k - 1."""
    def store(k):
        return lambda m, i, o: captured.__setitem__(k, o[:, position, :].detach())

    hooks = [model.embeddings.register_forward_hook(store(0))]
    hooks += [block.register_forward_hook(store(int(name) + 1))
              for name, block in model.blocks.items()]
    return hooks


@torch.no_grad()
def layer_representations(model: torch.nn.Module, tokens: np.ndarray,
                          device="cpu") -> np.ndarray:
    """The residual stream for each token of ``tokens`` presented alone at the start of a
    sequence (the position TOK1 takes), entering the first block and after each block:
    shape (n_layers + 1, |S|, d_model)."""
    captured: dict[int, torch.Tensor] = {}
    handles = _residual_hooks(model, captured, 0)
    try:
        model(torch.as_tensor(np.asarray(tokens)[:, None], dtype=torch.long, device=device))
    finally:
        for h in handles:
            h.remove()
    return np.stack([captured[k].float().cpu().numpy() for k in sorted(captured)])


@torch.no_grad()
def sum_representations(model: torch.nn.Module, task: Task, device="cpu") -> np.ndarray:
    """For T_ADD: the residual stream at the position that predicts LABEL (entering the first
    block and after each block), for all |S|^2 pairs, averaged over the pairs whose sum has
    residue 0, 1, ..., |S|-1; shape (n_layers + 1, |S|, d_model)."""
    pairs = task.all
    captured: dict[int, torch.Tensor] = {}
    handles = _residual_hooks(model, captured, 1)
    try:
        model(torch.as_tensor(pairs[:, :2], dtype=torch.long, device=device))
    finally:
        for h in handles:
            h.remove()
    residue = task.rank_of(pairs[:, 2])
    out = []
    for k in sorted(captured):
        reps = captured[k].float().cpu().numpy()
        out.append(np.stack([reps[residue == r].mean(0) for r in range(task.size)]))
    return np.stack(out)


def token_representations(model: torch.nn.Module, tokens: np.ndarray, layer: int = 0,
                          device="cpu") -> np.ndarray:
    """The representations after block ``layer``, shape (|S|, d_model)."""
    return layer_representations(model, tokens, device)[layer + 1]


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


def fourier_power(reps: np.ndarray, residue: np.ndarray) -> float:
    """Share of the variance in the strongest Fourier mode over the residues (about
    1/(|S|//2) when no mode stands out, towards 1 for a single Fourier feature)."""
    return float(fourier_spectrum(reps, residue).max())


def task_probe(reps: np.ndarray, kind: str, rank: np.ndarray, n_pcs: int) -> float:
    """The probe of one block's representations: the order probe of the tokens' ``reps``
    against their hidden order ``rank`` (T_CMP), or the Fourier power of the sums' ``reps``
    against residues ``rank`` (T_ADD)."""
    if kind == "cmp":
        return order_probe_r2(reps, rank, n_pcs)
    return fourier_power(reps, rank)


def probe_scores(model: torch.nn.Module, task: Task, n_pcs: int, device="cpu",
                 control_seed: int = 0) -> dict[str, float]:
    """The probe score at every depth (``probe_l0`` entering the first block, ``probe_l1``
    after it, ...), the best (``probe``) and where (``probe_layer``), and the control: the best block's score for the hidden order
    (or the residues) shuffled with ``control_seed`` (``probe_ctrl``). T_ADD runs also
    record the number of Fourier modes at the best block (``fourier_modes``)."""
    if task.kind == "cmp":
        reps, rank = layer_representations(model, task.tokens, device), task.rank
    else:
        reps, rank = sum_representations(model, task, device), np.arange(task.size)
    shuffled = np.random.default_rng([control_seed, 4]).permutation(rank)
    scores = [task_probe(r, task.kind, rank, n_pcs) for r in reps]
    best = int(np.argmax(scores))
    out = {f"probe_l{i}": s for i, s in enumerate(scores)}
    out.update(probe=scores[best], probe_layer=float(best),
               probe_ctrl=max(task_probe(r, task.kind, shuffled, n_pcs) for r in reps))
    if task.kind == "add":
        out["fourier_modes"] = float(fourier_modes(reps[best], rank))
    return out
