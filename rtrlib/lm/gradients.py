"""The gradient of one training step, split into its task and non-task parts (paper Fig. 9).

On the top-K first-layer MLP neurons, the batch gradient g = g_t + g_nt (g_t from the loss
terms predicting task tokens, g_nt from the rest) is compared with g_r, the gradient of the task
loss over all |S|^2 instances at the same weights. The baseline beside them: the cosine of a
random Gaussian direction with g_r, in the same number of dimensions (K x 3 x d_model): its
absolute value shrinks like 1/sqrt(dimension) whatever the model learns, so a size trend in
|cos| means something only when it beats this one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rtrlib.lm.evaluation import task_loss
from rtrlib.lm.models import first_mlp
from rtrlib.lm.tasks import Task

__all__ = ["mlp_gradient_split", "cosine"]


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    na, nb = float(a.norm()), float(b.norm())
    return float(a @ b) / (na * nb) if na > 0 and nb > 0 else float("nan")


def _neuron_vector(grads, idx: torch.Tensor) -> torch.Tensor:
    w1, w3, w2 = grads
    return torch.cat([w1[idx].ravel(), w3[idx].ravel(), w2[:, idx].ravel()])


def mlp_gradient_split(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                       task_mask: torch.Tensor, task: Task, top_k: int,
                       device="cpu", random_seed: int = 0) -> tuple[torch.Tensor,
                                                                    dict[str, float]]:
    """Backward pass of one training step, decomposed on the top-K first-layer MLP neurons.

    The batch loss is the mean token cross-entropy; its gradient g = g_t + g_nt splits the sum
    into the terms predicting task tokens (``task_mask``) and the rest. g_r is the gradient of
    the task loss over all |S|^2 instances. Neurons are ranked by the norm of g_r on their
    weights (rows of w1, w3 and column of w2). ``cos_rand`` is the cosine of g_r with a
    Gaussian direction drawn with ``random_seed``. Leaves the full gradient g in ``.grad``
    and returns (batch loss, cosines).
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
    rand = torch.randn(vr.numel(), generator=torch.Generator().manual_seed(random_seed))
    return (loss_t + loss_nt).detach(), {
        "cos_g": cosine(vg, vr), "cos_gt": cosine(vt, vr), "cos_gnt": cosine(vnt, vr),
        "cos_rand": cosine(rand.to(vr), vr), "dim": float(vr.numel()),
        "norm_g": float(vg.norm()), "norm_gt": float(vt.norm()), "norm_gnt": float(vnt.norm()),
        "norm_gr": float(vr.norm()),
    }
