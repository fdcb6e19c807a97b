"""Batched models: many widths and seeds of the shared-encoder model held as two tensors.

Model ``(s, w)`` (seed index ``s``, width index ``w``) has an encoder ``U`` (D x N_w) and readouts
``A`` (N_w x F): the representation is ``h = act(U^T x)`` (``act`` the identity or ReLU) and the
prediction for feature ``f`` is ``A[:, f]^T h``; a sample of task ``k`` is scored on its own
features only, so ``A[:, block_k]`` is task ``k``'s readout.

Storage: all widths of a seed are concatenated along the hidden axis, ``U`` is (S, D, sum N_w) and
``A`` is (S, sum N_w, F); width ``w`` owns hidden units ``offsets[w] : offsets[w] + widths[w]``.
The encoder of every model is then one batched matmul; only the readouts loop over widths.
Seed ``s`` initialises each width from its own generator (seeded by (seed, width)), so a model's
numbers never depend on which other models are trained alongside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from rtrlib.params import require_choice, require_float, require_ints
from rtrlib.toy.mixture import MixtureBatch, TaskMixture

__all__ = ["ModelBatch", "ACTIVATIONS", "derive_seed"]

ACTIVATIONS = ("linear", "relu")


def derive_seed(*parts: int) -> int:
    """A 63-bit torch seed derived from integers (seed, tag, ...)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0]
               >> np.uint64(1))


@dataclass(eq=False)
class ModelBatch:
    """Parameters of ``len(seeds) x len(widths)`` models (leaf tensors ``U``, ``A``)."""

    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    activation: str
    U: torch.Tensor   # (S, D, NT)
    A: torch.Tensor   # (S, NT, F)

    def __post_init__(self) -> None:
        require_ints("widths", self.widths, 1)
        require_choice("activation", self.activation, ACTIVATIONS)
        self.offsets = tuple(int(o) for o in np.concatenate([[0], np.cumsum(self.widths)[:-1]]))

    # ---- construction -----------------------------------------------------------------------
    @classmethod
    def init(cls, mixture: TaskMixture, widths, seeds, *, activation: str = "linear",
             init_scale: float = 0.1, device: str | torch.device = "cpu",
             dtype: torch.dtype = torch.float32) -> ModelBatch:
        """Small random initialisation: U ~ N(0, init^2 / D), A ~ N(0, init^2 / F).

        Each (seed, width) block is drawn on the CPU from its own generator and then moved, so
        the initial weights are the same on every device.
        """
        widths = require_ints("widths", list(widths), 1)
        seeds = require_ints("seeds", list(seeds), 0)
        require_float("init_scale", init_scale, 0.0, lo_open=True)
        dim, feats = mixture.input_dim, mixture.n_features
        total = sum(widths)
        U = torch.zeros(len(seeds), dim, total, dtype=torch.float64)
        A = torch.zeros(len(seeds), total, feats, dtype=torch.float64)
        off = 0
        for w in widths:
            for s, seed in enumerate(seeds):
                g = torch.Generator().manual_seed(derive_seed(seed, w, 1))
                U[s, :, off:off + w] = torch.randn(dim, w, generator=g, dtype=torch.float64) \
                    * (init_scale / math.sqrt(dim))
                A[s, off:off + w, :] = torch.randn(w, feats, generator=g, dtype=torch.float64) \
                    * (init_scale / math.sqrt(feats))
            off += w
        U = U.to(device=device, dtype=dtype).requires_grad_(True)
        A = A.to(device=device, dtype=dtype).requires_grad_(True)
        return cls(widths=tuple(widths), seeds=tuple(seeds), activation=activation, U=U, A=A)

    # ---- views ------------------------------------------------------------------------------
    @property
    def n_models(self) -> int:
        return len(self.seeds) * len(self.widths)

    def segment(self, w: int) -> slice:
        return slice(self.offsets[w], self.offsets[w] + self.widths[w])

    def encoder(self, s: int, w: int) -> torch.Tensor:
        """Model (s, w)'s encoder U (D x N_w), a view."""
        return self.U[s, :, self.segment(w)]

    def readout(self, s: int, w: int) -> torch.Tensor:
        """Model (s, w)'s readouts A (N_w x F), a view."""
        return self.A[s, self.segment(w), :]

    def parameters(self) -> list[torch.Tensor]:
        return [self.U, self.A]

    def split(self, t: torch.Tensor, axis: int = -1) -> tuple[torch.Tensor, ...]:
        """Split a tensor along its hidden axis into one piece per width."""
        return torch.split(t, list(self.widths), dim=axis)

    # ---- forward and losses -----------------------------------------------------------------
    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h = act(U^T x) for every model: (S, B, NT)."""
        h = torch.bmm(x, self.U)
        return torch.relu(h) if self.activation == "relu" else h

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions of every model for every feature: (S, W, B, F)."""
        h = self.hidden(x)
        return torch.stack([torch.bmm(hw, aw) for hw, aw in
                            zip(self.split(h), self.split(self.A, 1), strict=True)], dim=1)

    def sample_losses(self, batch: MixtureBatch) -> torch.Tensor:
        """Each sample's squared error on its own task's features: (S, W, B)."""
        h = self.hidden(batch.x)
        mask = batch.mask.to(h.dtype)
        out = []
        for hw, aw in zip(self.split(h), self.split(self.A, 1), strict=True):
            r = (torch.bmm(hw, aw) - batch.y) * mask
            out.append((r * r).sum(-1))
        return torch.stack(out, dim=1)

    def batch_loss(self, batch: MixtureBatch, sample_weight: torch.Tensor | None = None
                   ) -> torch.Tensor:
        """Per-model batch loss (S, W): the mean over the batch of each sample's squared error.

        ``sample_weight`` (S, B) multiplies each sample's error before the mean (still divided by
        the batch size), e.g. an indicator of one task's samples: the gradients of the weighted
        losses of a partition of the batch then add up to the gradient of the full loss.
        """
        h = self.hidden(batch.x)
        mask = batch.mask.to(h.dtype)
        if sample_weight is not None:
            mask = mask * sample_weight.to(h.dtype).unsqueeze(-1).sqrt()
        return _MaskedReadoutLoss.apply(h, self.A, batch.y * mask, mask, self.widths)

    # ---- exact population quantities -------------------------------------------------------
    def _moments(self, tensors: dict[str, torch.Tensor], background: float,
                 dtype: torch.dtype | None = None):
        """Per width: C = B^T U (S,F,N), K = E[h h^T] (S,N,N) and c_f = E[h b_f^T x] (S,F,N)."""
        dtype = dtype or self.U.dtype
        basis, lam = tensors["basis"].to(dtype), tensors["lam"].to(dtype)
        out = []
        for w in range(len(self.widths)):
            Uw = self.U[:, :, self.segment(w)].to(dtype)
            C = torch.einsum("df,sdn->sfn", basis, Uw)
            G = torch.einsum("sfn,f,sfm->snm", C, lam, C)
            if background > 0:
                G = G + background * (Uw.transpose(1, 2) @ Uw - C.transpose(1, 2) @ C)
            cross = lam.view(1, -1, 1) * C
            if self.activation == "relu":
                K = _arccos_kernel(G)
                cross = cross / 2
            else:
                K = G
            out.append((C, K, cross))
        return out

    def feature_losses(self, tensors: dict[str, torch.Tensor],
                       background: float = 0.0) -> torch.Tensor:
        """Exact population loss of every feature (S, W, F), differentiable, noise excluded.

        ``E[(b_f^T x - A_f^T h)^2] = lambda_f - 2 A_f^T c_f + A_f^T K A_f`` with ``K = E[h h^T]``
        and ``c_f = E[h b_f^T x]``; for ReLU, ``K`` is the degree-1 arc-cosine kernel of the
        Gram matrix ``U^T Sigma U`` and ``c_f`` is half the linear one.
        """
        lam = tensors["lam"]
        res = []
        for w, (_C, K, cross) in enumerate(self._moments(tensors, background)):
            Aw = self.A[:, self.segment(w), :]                      # (S, N, F)
            lin = (cross.transpose(1, 2) * Aw).sum(1)               # (S, F)
            quad = ((K @ Aw) * Aw).sum(1)                           # (S, F)
            res.append(lam.view(1, -1) - 2 * lin + quad)
        return torch.stack(res, dim=1)

    def task_losses(self, tensors: dict[str, torch.Tensor], n_tasks: int,
                    background: float = 0.0) -> torch.Tensor:
        """Exact population per-task loss l_k (S, W, K): the sum of its features' losses."""
        fl = self.feature_losses(tensors, background)
        out = torch.zeros(*fl.shape[:2], n_tasks, dtype=fl.dtype, device=fl.device)
        return out.index_add(2, tensors["feature_task"], fl)

    @torch.no_grad()
    def feature_presence(self, tensors: dict[str, torch.Tensor], background: float = 0.0,
                         features: torch.Tensor | None = None, rtol: float = 1e-7
                         ) -> torch.Tensor:
        """Presence of each feature in each model's representation (S, W, F), float64 in [0, 1].

        The fraction of the variance of ``b_f^T x`` linearly decodable from ``h``:
        ``c_f^T K^+ c_f / lambda_f`` with ``K = E[h h^T]`` and ``c_f = E[h b_f^T x]``; the
        pseudo-inverse is taken by an eigendecomposition that drops directions below ``rtol``
        of K's largest eigenvalue, so models wider than the number of features are handled.
        For a linear encoder whose range is spanned by features this is ``||P_U b_f||^2``.
        ``features`` (indices) restricts the last axis to those features; a feature with
        ``lambda_f = 0`` counts as present.
        """
        lam = tensors["lam"].double()
        idx = None if features is None else torch.as_tensor(features, device=lam.device)
        if idx is not None:
            lam = lam[idx]
        res = []
        for _C, K, cross in self._moments(tensors, background, torch.float64):
            if idx is not None:
                cross = cross[:, idx, :]
            ev, V = torch.linalg.eigh(K)
            keep = ev > rtol * ev.amax(-1, keepdim=True).clamp_min(1e-300)
            inv = torch.where(keep, 1.0 / ev.clamp_min(1e-300), torch.zeros_like(ev))
            proj = cross @ V                                             # (S, F, N)
            num = (proj ** 2 * inv.unsqueeze(1)).sum(-1)                 # (S, F)
            res.append(torch.where(lam > 0, num / lam.clamp_min(1e-300), torch.ones_like(num)))
        return torch.stack(res, dim=1).clamp(0.0, 1.0)

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"U": self.U.detach().cpu().clone(), "A": self.A.detach().cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            self.U.copy_(state["U"])
            self.A.copy_(state["A"])


class _MaskedReadoutLoss(torch.autograd.Function):
    """Fused readout + masked squared error for all widths (few elementwise passes).

    Forward, per width w: ``r_w = (h_w A_w) * mask - y * mask`` (one fused ``addcmul``), loss
    ``sum(r_w^2) / B`` (as a batched dot product). Backward: ``dh_w = (2/B) r_w A_w^T`` and
    ``dA_w = (2/B) h_w^T r_w`` as two batched matmuls with the scale folded in.
    """

    @staticmethod
    def forward(ctx, h, A, y_masked, mask, widths):
        S, B, _ = h.shape
        neg_y = -y_masked
        losses, residuals, hs = [], [], []
        for hw, aw in zip(torch.split(h, list(widths), dim=2),
                          torch.split(A, list(widths), dim=1), strict=True):
            hw = hw.contiguous()      # a strided slice would send bmm down a slow path
            r = torch.addcmul(neg_y, torch.bmm(hw, aw), mask)
            flat = r.reshape(S, 1, -1)
            losses.append(torch.bmm(flat, flat.transpose(1, 2)).view(S))
            residuals.append(r)
            hs.append(hw)
        ctx.save_for_backward(A, *hs, *residuals)
        ctx.widths = list(widths)
        return torch.stack(losses, dim=1) / B

    @staticmethod
    def backward(ctx, grad):
        A, *rest = ctx.saved_tensors
        W = len(ctx.widths)
        hs, residuals = rest[:W], rest[W:]
        B = hs[0].shape[1]
        dh, dA = [], []
        uniform = bool((grad == grad.reshape(-1)[0]).all())
        for w, (hw, aw, r) in enumerate(zip(hs, torch.split(A, ctx.widths, dim=1), residuals,
                                            strict=True)):
            if uniform:
                alpha = 2.0 * float(grad.reshape(-1)[0]) / B
            else:
                r = r * (2.0 / B) * grad[:, w].view(-1, 1, 1)
                alpha = 1.0
            if ctx.needs_input_grad[0]:
                dh.append(torch.baddbmm(hw.new_empty(()), r, aw.transpose(1, 2), beta=0,
                                        alpha=alpha))
            dA.append(torch.baddbmm(aw.new_empty(()), hw.transpose(1, 2), r, beta=0,
                                    alpha=alpha))
        grad_h = torch.cat(dh, dim=2) if ctx.needs_input_grad[0] else None
        return grad_h, torch.cat(dA, dim=1), None, None, None


def _arccos_kernel(G: torch.Tensor) -> torch.Tensor:
    """E[relu(a) relu(b)] for centred Gaussians with covariance G (batched, (..., N, N))."""
    d = torch.diagonal(G, dim1=-2, dim2=-1).clamp_min(0.0)
    r = torch.sqrt(d)
    rr = r.unsqueeze(-1) * r.unsqueeze(-2)
    eps = 1e-12
    cos = (G / rr.clamp_min(eps)).clamp(-1 + 1e-6, 1 - 1e-6)
    theta = torch.acos(cos)
    K = rr / (2 * math.pi) * (torch.sin(theta) + (math.pi - theta) * cos)
    eye = torch.eye(G.shape[-1], dtype=torch.bool, device=G.device)
    return torch.where(eye, torch.diag_embed(d / 2), K)

