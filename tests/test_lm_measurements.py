"""Accuracy, probes and the gradient split (rtrlib.lm.evaluation, .probes, .gradients)."""

import numpy as np
import torch
import torch.nn.functional as F

from rtrlib.lm.evaluation import evaluate_task
from rtrlib.lm.gradients import mlp_gradient_split
from rtrlib.lm.models import build_model
from rtrlib.lm.probes import (
    fourier_modes,
    fourier_spectrum,
    order_probe_r2,
    probe_score,
    token_representations,
)
from rtrlib.lm.tasks import make_task


def test_order_probe_finds_a_linear_order_and_rejects_noise():
    rng = np.random.default_rng(0)
    rank = rng.permutation(16)
    direction = rng.normal(size=24)
    reps = np.outer(rank, direction) + 0.1 * rng.normal(size=(16, 24))
    assert order_probe_r2(reps, rank, 4) > 0.95
    assert order_probe_r2(rng.normal(size=(16, 24)), rank, 4) < 0.5


def test_fourier_modes_count_planted_frequencies():
    rng = np.random.default_rng(1)
    n = 16
    residue = rng.permutation(n)
    angle = 2 * np.pi * residue / n
    reps = np.column_stack([np.cos(3 * angle), np.sin(3 * angle), np.cos(5 * angle),
                            np.sin(5 * angle)]) @ rng.normal(size=(4, 32))
    share = fourier_spectrum(reps, residue)
    assert np.isclose(share.sum(), 1.0)
    assert fourier_modes(reps, residue) == 2 and share[2] > 0.4 and share[4] > 0.4
    assert fourier_modes(rng.normal(size=(n, 512)), residue) == 0


def test_evaluation_and_representations_shapes():
    task = make_task("cmp", np.arange(40, 52), 0)
    model = build_model("tiny", 64, 0)
    ev = evaluate_task(model, task)
    assert 0 <= ev["test_acc"] <= 1 and ev["test_loss"] > 0 and 0 <= ev["train_acc2"] <= 1
    reps = token_representations(model, task.tokens)
    assert reps.shape == (12, 32)
    assert probe_score(model, task, 4) == order_probe_r2(reps, task.rank, 4)
    add = make_task("add", np.arange(40, 52), 0)
    assert probe_score(model, add, 4) == fourier_modes(token_representations(model, add.tokens),
                                                       add.rank)


def test_gradient_split_sums_to_the_ordinary_gradient():
    torch.manual_seed(0)
    task = make_task("cmp", np.arange(40, 52), 0)
    model = build_model("tiny", 64, 0)
    tok = torch.randint(1, 64, (4, 17))
    tok[0, :3] = torch.as_tensor(task.train[0])
    x, y = tok[:, :-1], tok[:, 1:]
    mask = torch.zeros_like(y, dtype=torch.bool)
    mask[0, :3] = True
    loss, cos = mlp_gradient_split(model, x, y, mask, task, top_k=8)
    split = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    ref = F.cross_entropy(model(x).reshape(-1, 64), y.reshape(-1))
    ref.backward()
    assert torch.isclose(loss, ref.detach(), atol=1e-6)
    for a, p in zip(split, model.parameters(), strict=True):
        assert torch.allclose(a, p.grad, atol=1e-6)
    for k in ("cos_g", "cos_gt", "cos_gnt"):
        assert -1 <= cos[k] <= 1
    assert cos["norm_gt"] > 0 and cos["norm_gnt"] > 0
