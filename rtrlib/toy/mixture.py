"""The synthetic task mixture: frequencies, spectra, orthogonal feature blocks, batches.

Task ``k`` (``k = 0..K-1``) occurs with probability ``pi[k]``. It owns ``m_k`` orthonormal feature
directions ``b_{k,j}`` (the columns of the block ``B_k``) with spectrum
``lambda_{k,1} >= lambda_{k,2} >= ...``. All blocks are mutually orthogonal and are embedded in
``R^D`` by one random rotation, so no feature is axis-aligned.

Every sample is a Gaussian input ``x ~ N(0, Sigma)`` with ``Sigma = sum_f lambda_f b_f b_f^T``
(plus ``background_variance`` on the directions outside all blocks): feature ``f`` carries
variance ``lambda_f``. A sample of task ``k`` asks for the ``m_k`` targets
``y_{k,j} = b_{k,j}^T x (+ label noise)``, read out from the shared representation ``h`` by the
task's own readout. With optimal readouts the population loss of task ``k`` is
``sum_j lambda_{k,j} (1 - presence_{k,j})`` where ``presence_f`` is the fraction of the variance of
``b_f^T x`` linearly decodable from ``h``; for a linear encoder whose range is spanned by features
this is ``||P_U b_f||^2``, the paper's form. The mixture-weighted loss is ``tr(M) - tr(P M)`` with
``M = sum_k pi_k B_k Lambda_k B_k^T`` (eigenvalues ``u_{k,j} = pi_k lambda_{k,j}``), and gradient
flow from small initialisation learns feature ``f`` on the timescale ``1 / (4 u_f)``.

Features are numbered globally ``f = 0..F-1`` (``F = sum_k m_k``), task by task; ``feature_task[f]``
is the task a feature belongs to. Targets are stored densely over all ``F`` features together with a
mask that is true on the features of each sample's own task.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from rtrlib.dry import toy_batch_size
from rtrlib.params import ParameterError, require_float, require_int
from rtrlib.store import KeyedConfig

__all__ = [
    "MixtureConfig",
    "TaskMixture",
    "MixtureBatch",
    "zipf_frequencies",
    "power_law_spectrum",
]


def zipf_frequencies(n_tasks: int, exponent: float) -> np.ndarray:
    """``pi_k`` proportional to ``k^-exponent`` (k = 1..K), normalised to sum 1."""
    w = np.arange(1, n_tasks + 1, dtype=np.float64) ** (-float(exponent))
    return w / w.sum()


def power_law_spectrum(n_features: int, decay: float) -> np.ndarray:
    """``lambda_j = j^-decay`` for j = 1..m (slower decay = a more complex task)."""
    return np.arange(1, n_features + 1, dtype=np.float64) ** (-float(decay))


def _per_task(name: str, value, n_tasks: int, kind: type) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) != n_tasks:
            raise ParameterError(name, value, f"one value or a list of {n_tasks} values")
        return tuple(value)
    return (value,) * n_tasks


@dataclass(frozen=True)
class MixtureConfig(KeyedConfig):
    """A validated description of a task mixture; ``.build()`` makes the :class:`TaskMixture`.

    Defaults are the book's choice: 32 tasks, Zipf frequencies with exponent 1, 8 features per
    task with spectrum ``j^-1``, input dimension equal to the number of features.
    ``pi`` and ``spectra`` override the Zipf and power-law defaults when given.
    ``n_features`` and ``spectrum_decay`` may be one value or one value per task.
    """

    n_tasks: int = 32
    zipf_exponent: float = 1.0
    n_features: int | tuple[int, ...] = 8
    spectrum_decay: float | tuple[float, ...] = 1.0
    input_dim: int | None = None
    pi: tuple[float, ...] | None = None
    spectra: tuple[tuple[float, ...], ...] | None = None
    label_noise: float = 0.0
    background_variance: float = 0.0
    mixture_seed: int = 0

    def __post_init__(self) -> None:
        require_int("n_tasks", self.n_tasks, 1, 100_000)
        require_float("zipf_exponent", self.zipf_exponent, 0.0, 20.0)
        for m in _per_task("n_features", self.n_features, self.n_tasks, int):
            require_int("n_features", m, 1, 100_000)
        for b in _per_task("spectrum_decay", self.spectrum_decay, self.n_tasks, float):
            require_float("spectrum_decay", b, 0.0, 50.0)
        require_float("label_noise", self.label_noise, 0.0)
        require_float("background_variance", self.background_variance, 0.0)
        require_int("mixture_seed", self.mixture_seed, 0, 2**31 - 1)
        if self.pi is not None:
            pi = np.asarray(self.pi, dtype=np.float64)
            if pi.shape != (self.n_tasks,) or np.any(~np.isfinite(pi)) or np.any(pi < 0):
                raise ParameterError("pi", self.pi,
                                     f"{self.n_tasks} non-negative frequencies summing to 1")
            if abs(pi.sum() - 1.0) > 1e-6:
                raise ParameterError("pi", self.pi, "frequencies summing to 1 "
                                     f"(these sum to {pi.sum():.6g})")
        if self.spectra is not None:
            if len(self.spectra) != self.n_tasks:
                raise ParameterError("spectra", self.spectra, f"{self.n_tasks} spectra")
            for s in self.spectra:
                arr = np.asarray(s, dtype=np.float64)
                if arr.ndim != 1 or arr.size == 0 or np.any(~np.isfinite(arr)) or \
                        np.any(arr < 0):
                    raise ParameterError("spectra", self.spectra,
                                         "non-empty lists of non-negative eigenvalues")
        total = sum(self.feature_counts())
        if self.input_dim is not None:
            require_int("input_dim", self.input_dim, total, 1_000_000)
        # freeze list inputs as tuples so the config hashes and keys the cache
        for name in ("n_features", "spectrum_decay", "pi"):
            v = getattr(self, name)
            if isinstance(v, list):
                object.__setattr__(self, name, tuple(v))
        if self.spectra is not None:
            object.__setattr__(self, "spectra",
                               tuple(tuple(float(x) for x in s) for s in self.spectra))

    def feature_counts(self) -> tuple[int, ...]:
        if self.spectra is not None:
            return tuple(len(s) for s in self.spectra)
        return _per_task("n_features", self.n_features, self.n_tasks, int)

    def frequencies(self) -> np.ndarray:
        if self.pi is not None:
            pi = np.asarray(self.pi, dtype=np.float64)
            return pi / pi.sum()
        return zipf_frequencies(self.n_tasks, self.zipf_exponent)

    def spectrum_list(self) -> list[np.ndarray]:
        if self.spectra is not None:
            return [np.asarray(s, dtype=np.float64) for s in self.spectra]
        decays = _per_task("spectrum_decay", self.spectrum_decay, self.n_tasks, float)
        return [power_law_spectrum(m, b) for m, b in zip(self.feature_counts(), decays,
                                                          strict=True)]

    def build(self) -> TaskMixture:
        return TaskMixture.from_config(self)


@dataclass(frozen=True)
class MixtureBatch:
    """One batch per seed stream, stacked: leading dim ``S`` (streams), then ``B`` samples.

    ``x`` (S, B, D) inputs; ``task`` (S, B) task ids; ``y`` (S, B, F) targets over all features;
    ``mask`` (S, B, F) true on the features of each sample's own task.
    """

    x: torch.Tensor
    task: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor

    @property
    def size(self) -> int:
        return int(self.x.shape[1])


@dataclass(frozen=True, eq=False)
class TaskMixture:
    """A concrete mixture: frequencies, spectra and the embedded orthonormal feature basis."""

    pi: np.ndarray                 # (K,)
    spectra: tuple[np.ndarray, ...]  # K arrays, lengths m_k
    basis: np.ndarray              # (D, F), orthonormal columns b_f, block by block
    label_noise: float = 0.0
    background_variance: float = 0.0
    config: MixtureConfig | None = None

    @classmethod
    def from_config(cls, config: MixtureConfig) -> TaskMixture:
        spectra = tuple(config.spectrum_list())
        total = sum(len(s) for s in spectra)
        dim = config.input_dim or total
        rng = np.random.default_rng(np.random.SeedSequence([config.mixture_seed, 7]))
        q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
        q = q * np.sign(np.diag(r))  # Haar-distributed rotation
        return cls(pi=config.frequencies(), spectra=spectra, basis=q[:, :total].copy(),
                   label_noise=float(config.label_noise),
                   background_variance=float(config.background_variance), config=config)

    # ---- sizes and flattened views -------------------------------------------------------
    @property
    def n_tasks(self) -> int:
        return len(self.pi)

    @property
    def input_dim(self) -> int:
        return int(self.basis.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.basis.shape[1])

    @property
    def feature_task(self) -> np.ndarray:
        """(F,) the task of each feature."""
        return np.repeat(np.arange(self.n_tasks), [len(s) for s in self.spectra])

    @property
    def feature_index(self) -> np.ndarray:
        """(F,) the index j of each feature within its task (0-based)."""
        return np.concatenate([np.arange(len(s)) for s in self.spectra])

    @property
    def lam(self) -> np.ndarray:
        """(F,) the flattened spectra lambda_{k,j}."""
        return np.concatenate(self.spectra)

    def utilities(self) -> np.ndarray:
        """(F,) u_{k,j} = pi_k lambda_{k,j}."""
        return self.pi[self.feature_task] * self.lam

    def task_variance(self) -> np.ndarray:
        """(K,) sum_j lambda_{k,j}: a task's loss with nothing learned (no noise term)."""
        return np.array([s.sum() for s in self.spectra])

    def features_frame(self):
        """A tidy table of the features: task, j, pi, lambda, utility, utility rank."""
        import pandas as pd

        u = self.utilities()
        rank = np.empty(len(u), dtype=int)
        rank[np.argsort(-u, kind="stable")] = np.arange(1, len(u) + 1)
        return pd.DataFrame({"feature": np.arange(len(u)), "task": self.feature_task,
                             "j": self.feature_index + 1, "pi": self.pi[self.feature_task],
                             "lam": self.lam, "utility": u, "rank": rank})

    # ---- sampling ---------------------------------------------------------------------------
    def tensors(self, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
        """Device copies: basis (D, F), basis_t (F, D), sqrt_lam, lam, feature_task (F,), pi."""
        return {
            "basis": torch.as_tensor(self.basis, dtype=dtype, device=device),
            "basis_t": torch.as_tensor(self.basis.T.copy(), dtype=dtype, device=device),
            "sqrt_lam": torch.as_tensor(np.sqrt(self.lam), dtype=dtype, device=device),
            "lam": torch.as_tensor(self.lam, dtype=dtype, device=device),
            "feature_task": torch.as_tensor(self.feature_task, device=device),
            "pi": torch.as_tensor(self.pi, dtype=dtype, device=device),
        }

    def sample(self, tasks: torch.Tensor, generators: list[torch.Generator],
               tensors: dict[str, torch.Tensor] | None = None) -> MixtureBatch:
        """Inputs and targets for given task ids ``tasks`` (S, B), one generator per stream.

        The task ids come from a schedule (:mod:`rtrlib.toy.schedules`); this draws ``x`` and
        the label noise. Stream ``s`` uses only ``generators[s]``, so a stream's numbers do not
        depend on which other streams are sampled alongside it. A dry run (:mod:`rtrlib.dry`)
        samples only the first few columns of ``tasks``.
        """
        tasks = tasks[:, :toy_batch_size(tasks.shape[1])]
        t = tensors if tensors is not None else self.tensors(tasks.device)
        n_streams, batch = tasks.shape
        dim, feats = self.input_dim, self.n_features
        dev, dtype = t["basis"].device, t["basis"].dtype
        g = torch.empty(n_streams, batch, feats, device=dev, dtype=dtype)
        bg = noise = None
        if self.background_variance > 0 and dim > feats:
            bg = torch.empty(n_streams, batch, dim, device=dev, dtype=dtype)
        if self.label_noise > 0:
            noise = torch.empty(n_streams, batch, feats, device=dev, dtype=dtype)
        for s, gen in enumerate(generators):
            g[s].normal_(generator=gen)
            if bg is not None:
                bg[s].normal_(generator=gen)
            if noise is not None:
                noise[s].normal_(generator=gen)
        y = g * t["sqrt_lam"]                      # feature coordinates b_f^T x
        x = y @ t["basis_t"] if "basis_t" in t else y @ t["basis"].T     # (S, B, D)
        if bg is not None:
            bg = bg - (bg @ t["basis"]) @ t["basis"].T
            x = x + (self.background_variance ** 0.5) * bg
        if noise is not None:
            y = y + self.label_noise * noise
        mask = t["feature_task"].view(1, 1, -1) == tasks.unsqueeze(-1)
        return MixtureBatch(x=x, task=tasks, y=y, mask=mask)

    def with_(self, **changes) -> TaskMixture:
        return dataclasses.replace(self, **changes)
