"""Accuracy, probes and the gradient split (rtrlib.lm.evaluation, .probes, .gradients)."""

import numpy as np
import torch
import torch.nn.functional as F

from rtrlib.lm.evaluation import evaluate_task
from rtrlib.lm.gradients import mlp_gradient_split
from rtrlib.lm.models import build_model
from rtrlib.lm.probes import (
    fourier_modes,
    fourier_power,
    fourier_spectrum,
    layer_representations,
    order_probe_r2,
    probe_scores,
    sum_representations,
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
    assert fourier_power(reps, residue) > 0.4
    noise = rng.normal(size=(n, 512))
    assert fourier_modes(noise, residue) == 0 and fourier_power(noise, residue) < 0.2
    # the same planted features read against shuffled residues: no structure
    assert fourier_power(reps, rng.permutation(residue)) < 0.3


def test_evaluation_and_representations_shapes():
    task = make_task("cmp", np.arange(40, 52), 0)
    model = build_model("tiny", 64, 0)
    ev = evaluate_task(model, task)
    assert 0 <= ev["test_acc"] <= 1 and ev["test_loss"] > 0 and 0 <= ev["train_acc2"] <= 1
    reps = token_representations(model, task.tokens)
    layers = layer_representations(model, task.tokens)
    assert reps.shape == (12, 32) and layers.shape == (3, 12, 32)  # embeddings, 2 blocks
    assert np.array_equal(layers[1], reps)
    emb = model.embeddings.weight[torch.as_tensor(task.tokens)].detach().numpy()
    assert np.allclose(layers[0], emb)
    scores = probe_scores(model, task, 4)
    per_layer = [order_probe_r2(r, task.rank, 4) for r in layers]
    assert [scores[f"probe_l{i}"] for i in range(3)] == per_layer
    assert scores["probe"] == max(per_layer) and per_layer[int(scores["probe_layer"])] == \
        scores["probe"]
    assert scores["probe_ctrl"] <= 1
    add = make_task("add", np.arange(40, 52), 0)
    sums = sum_representations(model, add)
    assert sums.shape == (3, 12, 32)
    add_scores = probe_scores(model, add, 4)
    best = int(add_scores["probe_layer"])
    assert add_scores["probe"] == fourier_power(sums[best], np.arange(12))
    assert add_scores["fourier_modes"] == fourier_modes(sums[best], np.arange(12))


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
    for k in ("cos_g", "cos_gt", "cos_gnt", "cos_rand"):
        assert -1 <= cos[k] <= 1
    assert cos["dim"] == 8 * 3 * 32  # K neurons x (w1 row, w3 row, w2 column) x d_model
    assert cos["norm_gt"] > 0 and cos["norm_gnt"] > 0
