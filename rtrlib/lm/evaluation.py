"""Accuracy and loss of a model on an injected task.

The model is asked for LABEL after TOK1 TOK2 (the positions the task takes at the start of a
sequence). :func:`evaluate_task` reports, on the held-out (test) and the injected (train)
split: the cross-entropy of LABEL, the accuracy of the arg-max over the whole vocabulary, and
the "two-candidate" accuracy (LABEL scored against the other prompt token only).
:func:`task_loss` is the differentiable loss the gradient analysis uses as g_r's objective.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rtrlib.dry import eval_rows
from rtrlib.lm.tasks import Task

__all__ = ["evaluate_task", "task_loss"]


def _label_logits(model: torch.nn.Module, instances: np.ndarray, device) -> torch.Tensor:
    x = torch.as_tensor(instances[:, :2], dtype=torch.long, device=device)
    return model(x)[:, 1, :]


def task_loss(model: torch.nn.Module, instances: np.ndarray, device="cpu") -> torch.Tensor:
    """Mean cross-entropy of LABEL given TOK1 TOK2 (differentiable)."""
    y = torch.as_tensor(instances[:, 2], dtype=torch.long, device=device)
    return F.cross_entropy(_label_logits(model, instances, device), y)


@torch.no_grad()
def evaluate_task(model: torch.nn.Module, task: Task, device="cpu",
                  splits: tuple[str, ...] = ("test", "train")) -> dict[str, float]:
    """Loss and accuracy of LABEL after TOK1 TOK2, on the test and the train split."""
    was_training = model.training
    model.eval()
    out: dict[str, float] = {}
    for split in splits:
        inst = task.test if split == "test" else task.train
        inst = inst[:eval_rows(len(inst))]  # all of them, but for a dry run
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
