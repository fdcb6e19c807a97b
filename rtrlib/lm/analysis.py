"""Measurements of a model on an injected task.

- :func:`evaluate_task`: accuracy (argmax over the whole vocabulary at the LABEL position after
  TOK1 TOK2) and loss on held-out instances, loss/accuracy on train instances, and the
  "two-candidate" accuracy (LABEL scored against the other prompt token only).
- :func:`token_representations`, :func:`order_probe_r2`, :func:`fourier_modes`: probes of the
  first-layer residual stream (this book's simplification of the paper's DAS-based analysis).
- :func:`gradient_split`: one training step's gradient on the top-K first-layer MLP neurons,
  split into the task-token part g_t and the rest g_nt, against the task-loss gradient g_r.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rtrlib.lm.models import first_mlp
from rtrlib.lm.tasks import Task

__all__ = ["evaluate_task", "task_loss", "token_representations", "order_probe_r2",
           "fourier_modes", "fourier_spectrum", "gradient_split", "cosine"]


def _label_logits(model: torch.nn.Module, instances: np.ndarray, device) -> torch.Tensor:
    x = torch.as_tensor(instances[:, :2], dtype=torch.long, device=device)
    return model(x)[:, 1, :]


def task_loss(model: torch.nn.Module, instances: np.ndarray, device="cpu") -> torch.Tensor:
    """Mean cross-entropy of LABEL given TOK1 TOK2 (differentiable)."""
    y = torch.as_tensor(instances[:, 2], dtype=torch.long, device=device)
    return F.cross_entropy(_label_logits(model, instances, device), y)


@torch.no_grad()
def evaluate_task(model: torch.nn.Module, task: Task, device="cpu") -> dict[str, float]:
    """Loss and accuracy of LABEL after TOK1 TOK2, on the test and the train split."""
    was_training = model.training
    model.eval()
    out: dict[str, float] = {}
    for split, inst in (("test", task.test), ("train", task.train)):
        logits = _label_logits(model, inst, device).float()
        y = torch.as_tensor(inst[:, 2], dtype=torch.long, device=device)
        out[f"{split}_loss"] = float(F.cross_entropy(logits, y))
        out[f"{split}_acc"] = float((logits.argmax(-1) == y).float().mean())
        a = torch.as_tensor(inst[:, 0], device=device)
        b = torch.as_tensor(inst[:, 1], device=device)
        other = torch.where(y == a, b, a)
        la = logits.gather(1, y[:, None])[:, 0]
        lo = logits.gather(1, other[:, None])[:, 0]
        diff = other != y
        out[f"{split}_acc2"] = float((la[diff] > lo[diff]).float().mean()) if diff.any() \
            else float("nan")
    model.train(was_training)
    return out


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


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    na, nb = float(a.norm()), float(b.norm())
    return float(a @ b) / (na * nb) if na > 0 and nb > 0 else float("nan")


def _neuron_vector(grads, idx: torch.Tensor) -> torch.Tensor:
    w1, w3, w2 = grads
    return torch.cat([w1[idx].ravel(), w3[idx].ravel(), w2[:, idx].ravel()])


def gradient_split(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                   task_mask: torch.Tensor, task: Task, top_k: int,
                   device="cpu") -> tuple[torch.Tensor, dict[str, float]]:
    """Backward pass of one training step, decomposed on the top-K first-layer MLP neurons.

    The batch loss is the mean token cross-entropy; its gradient g = g_t + g_nt splits the sum
    into the terms predicting task tokens (``task_mask``) and the rest. g_r is the gradient of
    the task loss over all |S|^2 instances. Neurons are ranked by the norm of g_r on their
    weights (rows of w1, w3 and column of w2). Leaves the full gradient g in ``.grad`` and
    returns (batch loss, cosines).
    """
    mlp = first_mlp(model)
    sub = [mlp.w1.weight, mlp.w3.weight, mlp.w2.weight]
    g_r = torch.autograd.grad(task_loss(model, task.all, device), sub)
    score = g_r[0].pow(2).sum(1) + g_r[1].pow(2).sum(1) + g_r[2].pow(2).sum(0)
    idx = torch.topk(score, min(top_k, score.numel())).indices
    params = [p for p in model.parameters() if p.requires_grad]
    logits = model(x)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                         reduction="none").view_as(y)
    n = ce.numel()
    mask = task_mask.to(ce.dtype)
    loss_t, loss_nt = (ce * mask).sum() / n, (ce * (1 - mask)).sum() / n
    g_t = torch.autograd.grad(loss_t, params, retain_graph=True, allow_unused=True)
    g_nt = torch.autograd.grad(loss_nt, params, allow_unused=True)
    for p, a, b in zip(params, g_t, g_nt, strict=True):
        a = torch.zeros_like(p) if a is None else a
        b = torch.zeros_like(p) if b is None else b
        p.grad = a + b
    pos = {id(p): i for i, p in enumerate(params)}
    pick = [pos[id(p)] for p in sub]

    def restrict(gs):
        return _neuron_vector([gs[i] if gs[i] is not None else torch.zeros_like(params[i])
                               for i in pick], idx)

    vr, vt, vnt = _neuron_vector(g_r, idx), restrict(g_t), restrict(g_nt)
    vg = vt + vnt
    return (loss_t + loss_nt).detach(), {
        "cos_g": cosine(vg, vr), "cos_gt": cosine(vt, vr), "cos_gnt": cosine(vnt, vr),
        "norm_g": float(vg.norm()), "norm_gt": float(vt.norm()), "norm_gnt": float(vnt.norm()),
        "norm_gr": float(vr.norm()),
    }
