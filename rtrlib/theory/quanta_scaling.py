"""Chapter 1's experiment: the exponents alpha and gamma measured on a simulated quanta world.

A :class:`QuantaWorld` says how a model that has room for ``n`` quanta (its *size*, in quanta;
parameters are ``c n`` for a fixed cost ``c`` per quantum, which no exponent or share depends
on) learns from sampled quantum counts (:mod:`rtrlib.theory.quanta`: Zipf frequencies
``p_k = k^-s / zeta(s)``):

- **hard capacity** (Michaud et al.; ``beyond_capacity=None``): quantum ``k`` is learned when
  ``k <= n`` and it was seen at least ``min_count`` times; rarer quanta are out of reach;
- **soft capacity** (``beyond_capacity=rho``, the control): a quantum ranked ``k > n`` is not out
  of reach, it needs ``min_count (k/n)^rho`` sightings. The compute-optimal frontier is the same
  as with a hard capacity, but with enough data a small model learns anything.

The reducible loss is the frequency mass of the unlearned quanta. Training costs ``C = 6 n D``.
:func:`simulate` draws counts (independent Poisson counts with means ``D p_k``, a multinomial
draw with a Poisson-distributed total) for three sets of points: isoFLOP curves (compute ``C_j``,
sizes around the predicted optimum, ``D = C_j / (6 n)``), a data budget ``D_max`` for every size
(a hundred times the budget that saturates the largest size: the infinite-data loss), and a fixed
data-to-size ratio. :func:`measure` fits, per seed:

- ``alpha``: minus the log-log slope of ``L(n, D_max)`` against ``n``;
- ``gamma``: minus the log-log slope of the isoFLOP optima ``L*(C)`` against ``N_opt(C)`` (each
  optimum the vertex of a parabola through the lowest points of its curve, in log-log);
- ``share``: the model-scaling-only share of the gap at a pair ``n_s = ratio * n_l``,
  ``(L(n_s, D_max) - L_C(n_l)) / (L_C(n_s) - L_C(n_l))`` with ``L_C`` the fitted frontier;
- the same share in the soft-capacity world (``control_share``) and ``gamma`` along the fixed
  ratio instead of the optima (``ratio_gamma``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import zeta

from rtrlib.params import ParameterError, require_float, require_int
from rtrlib.theory.arrays import count, positive_array, positive_number
from rtrlib.theory.quanta import zipf_frequency

__all__ = ["QuantaWorld", "ScalingExperimentConfig", "isoflop_frontier", "isoflop_vertex",
           "loglog_fit", "measure",
           "model_only_share", "run_scaling_experiment", "simulate"]


@dataclasses.dataclass(frozen=True)
class QuantaWorld:
    """How a model of size ``n`` (quanta it has room for) learns quanta from their counts."""

    s: float
    min_count: int = 5
    beyond_capacity: float | None = None  # rho: quanta past n need min_count (k/n)^rho sightings

    def __post_init__(self) -> None:
        require_float("s", self.s, 1.0, 50.0, lo_open=True)
        count("min_count", self.min_count, 1)
        if self.beyond_capacity is not None:
            require_float("beyond_capacity", self.beyond_capacity, 1.0, 10.0, lo_open=True)

    def learned(self, counts: np.ndarray, size: int) -> np.ndarray:
        """Boolean mask over ranks ``1..len(counts)``: the quanta a size-``size`` model learns."""
        n = count("size", size, 1)
        c = np.asarray(counts)
        if c.ndim != 1 or c.size == 0:
            raise ParameterError("counts", counts, "a non-empty 1-d array of counts")
        ranks = np.arange(1, c.size + 1)
        if self.beyond_capacity is None:
            return (ranks <= n) & (c >= self.min_count)
        need = self.min_count * np.maximum(1.0, ranks / n) ** self.beyond_capacity
        return c >= need

    def saturating_tokens(self, size: Any) -> float | np.ndarray:
        """``min_count zeta(s) n^s``: the budget at which quantum ``n`` is expected ``min_count``
        times (the compute-optimal budget of size ``n``, up to sampling)."""
        n = positive_array("size", size)
        out = self.min_count * zeta(self.s) * n ** self.s
        return float(out) if out.ndim == 0 else out


def _geom_sizes(lo: float, hi: float, per_octave: int) -> np.ndarray:
    steps = int(round(math.log2(hi / lo) * per_octave))
    return np.unique(np.round(lo * 2.0 ** (np.arange(steps + 1) / per_octave)).astype(np.int64))


@dataclasses.dataclass(frozen=True)
class ScalingExperimentConfig:
    """The simulated scaling study of chapter 1 (sizes in quanta; see the module docstring).

    ``levels`` compute budgets put the predicted optimum (:meth:`QuantaWorld.saturating_tokens`)
    at sizes spaced geometrically over ``frontier_sizes``; each isoFLOP curve samples sizes
    ``window_octaves`` either side of it, ``per_octave`` per octave. ``D_max`` is ``data_factor``
    times the saturating budget of the largest size. The pair is ``n_l = pair_large`` (default:
    half the largest frontier size) and ``n_s = round(pair_ratio n_l)``. The fixed ratio ``D/n``
    is the saturating one of the smallest frontier size. Ranks up to ``rank_factor`` times a
    point's size are sampled (every rank up to ``rank_factor`` times the largest size at
    ``D_max``); rarer quanta count as unlearned.
    """

    world: QuantaWorld
    control_rho: float = 2.0
    frontier_sizes: tuple[int, int] = (128, 8192)
    levels: int = 7
    window_octaves: float = 2.0
    per_octave: int = 4
    vertex_points: int = 5  # chosen on calibration seeds (benchmarks/ch01_calibration.py)
    pair_large: int | None = None
    pair_ratio: float = 0.1
    data_factor: float = 100.0
    rank_factor: int = 8

    def __post_init__(self) -> None:
        if not isinstance(self.world, QuantaWorld) or self.world.beyond_capacity is not None:
            raise ParameterError("world", self.world, "a hard-capacity QuantaWorld")
        require_float("control_rho", self.control_rho, 1.0, 10.0, lo_open=True)
        fs = self.frontier_sizes
        if not isinstance(fs, (tuple, list)) or len(fs) != 2:
            raise ParameterError("frontier_sizes", fs, "a pair (smallest, largest) of sizes")
        lo, hi = count("frontier_sizes[0]", fs[0], 8), count("frontier_sizes[1]", fs[1], 8)
        if hi < 8 * lo:
            raise ParameterError("frontier_sizes", fs, "a pair spanning at least 3 octaves")
        object.__setattr__(self, "frontier_sizes", (lo, hi))
        require_int("levels", self.levels, 3, 40)
        require_float("window_octaves", self.window_octaves, 0.5, 6.0)
        require_int("per_octave", self.per_octave, 1, 16)
        v = require_int("vertex_points", self.vertex_points, 3, 9)
        if v % 2 == 0:
            raise ParameterError("vertex_points", v, "an odd integer in [3, 9]")
        require_float("pair_ratio", self.pair_ratio, 0.0, 1.0, lo_open=True, hi_open=True)
        require_float("data_factor", self.data_factor, 1.0, 1e6)
        require_int("rank_factor", self.rank_factor, 2, 64)
        n_l = self.pair[1]
        if not lo <= self.pair[0] < n_l <= hi:
            raise ParameterError("pair_large", self.pair_large, f"a size with pair_ratio * it "
                                 f"and it inside frontier_sizes [{lo}, {hi}]")

    @property
    def control_world(self) -> QuantaWorld:
        """The world without a hard capacity limit (``beyond_capacity = control_rho``)."""
        return dataclasses.replace(self.world, beyond_capacity=self.control_rho)

    @property
    def pair(self) -> tuple[int, int]:
        """``(n_s, n_l)``."""
        n_l = self.frontier_sizes[1] // 2 if self.pair_large is None else int(self.pair_large)
        return int(round(self.pair_ratio * n_l)), n_l

    def optimal_sizes(self) -> np.ndarray:
        """The predicted optimum of each isoFLOP curve."""
        return np.geomspace(*self.frontier_sizes, self.levels)

    def compute_budgets(self) -> np.ndarray:
        """``C_j = 6 m_j D_sat(m_j)`` for the predicted optima ``m_j``."""
        m = self.optimal_sizes()
        return 6.0 * m * self.world.saturating_tokens(m)

    def isoflop_sizes(self, level: int) -> np.ndarray:
        m = self.optimal_sizes()[level]
        w = 2.0 ** self.window_octaves
        return _geom_sizes(m / w, m * w, self.per_octave)

    def data_sizes(self) -> np.ndarray:
        """Sizes measured at ``D_max`` and along the fixed ratio (the frontier span, the pair)."""
        grid = _geom_sizes(*self.frontier_sizes, self.per_octave)
        return np.unique(np.concatenate([grid, self.pair]))

    def max_tokens(self) -> float:
        return self.data_factor * self.world.saturating_tokens(self.frontier_sizes[1])

    def ratio_tokens(self, size: int) -> float:
        lo = self.frontier_sizes[0]
        return size * self.world.saturating_tokens(lo) / lo


def simulate(config: ScalingExperimentConfig, seed: int) -> pd.DataFrame:
    """Sampled losses, one row per point: ``kind`` (``isoflop``, ``max_data``, ``fixed_ratio``),
    ``level`` (isoFLOP curve, -1 otherwise), ``compute``, ``size``, ``tokens``, ``loss`` (hard
    capacity) and ``control_loss`` (soft capacity, the same counts)."""
    if not isinstance(config, ScalingExperimentConfig):
        raise ParameterError("config", config, "a ScalingExperimentConfig")
    rng = np.random.default_rng(count("seed", seed, 0))
    worlds = (config.world, config.control_world)
    sizes = config.data_sizes()
    k_max = config.rank_factor * int(sizes.max())
    p = np.asarray(zipf_frequency(np.arange(1, k_max + 1), config.world.s))

    def point(kind: str, level: int, size: int, tokens: float, ranks: int) -> dict[str, Any]:
        q = p[:ranks]
        counts = rng.poisson(tokens * q)
        loss = [1.0 - float(q[w.learned(counts, int(size))].sum()) for w in worlds]
        return {"kind": kind, "level": level, "compute": 6.0 * size * tokens, "size": int(size),
                "tokens": float(tokens), "loss": loss[0], "control_loss": loss[1]}

    rows = []
    for j, c in enumerate(config.compute_budgets()):
        for n in config.isoflop_sizes(j):
            rows.append(point("isoflop", j, n, c / (6.0 * n), min(k_max, config.rank_factor * n)))
    d_max = config.max_tokens()
    for n in sizes:
        rows.append(point("max_data", -1, n, d_max, k_max))
    for n in sizes:
        rows.append(point("fixed_ratio", -1, n, config.ratio_tokens(int(n)),
                          min(k_max, config.rank_factor * n)))
    return pd.DataFrame(rows)


def loglog_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """``(slope, intercept)`` of the least-squares line through ``(log x, log y)``."""
    lx, ly = np.log(positive_array("x", x)), np.log(positive_array("y", y))
    if lx.shape != ly.shape or lx.ndim != 1 or lx.size < 2 or np.ptp(lx) == 0:
        raise ParameterError("x", x, "at least two distinct values, as many as y")
    slope, intercept = np.polyfit(lx, ly, 1)
    return float(slope), float(intercept)


def isoflop_vertex(sizes: Sequence[float], losses: Sequence[float],
                   points: int = 3) -> tuple[float, float]:
    """The optimum ``(N_opt, L*)`` of one isoFLOP curve: the vertex of the parabola through the
    ``points`` lowest-neighbourhood points in log-log (the lowest point itself if the curve is
    not convex there). ``(nan, nan)`` when the lowest point is within ``points // 2`` of an end
    of the curve (the optimum may lie outside the sizes tried)."""
    lx, ly = np.log(positive_array("sizes", sizes)), np.log(positive_array("losses", losses))
    if lx.shape != ly.shape or lx.ndim != 1 or np.any(np.diff(lx) <= 0):
        raise ParameterError("sizes", sizes, "increasing sizes, one loss each")
    h = require_int("points", points, 3) // 2
    i = int(np.argmin(ly))
    if i < h or i > lx.size - 1 - h:
        return math.nan, math.nan
    xs, ys = lx[i - h:i + h + 1], ly[i - h:i + h + 1]
    a, b, c = np.polyfit(xs, ys, 2)
    if a <= 0:
        return float(np.exp(lx[i])), float(np.exp(ly[i]))
    x0 = float(np.clip(-b / (2 * a), xs[0], xs[-1]))
    return float(np.exp(x0)), float(np.exp(a * x0 * x0 + b * x0 + c))


def model_only_share(loss_small_unlimited: float, lc_small: float, lc_large: float) -> float:
    """``(L_inf(N_s) - L_C(N_l)) / (L_C(N_s) - L_C(N_l))``, unclipped (negative when the small
    model with unlimited data beats the large compute-optimal one: data closes the gap)."""
    gap = positive_number("lc_small - lc_large", lc_small - lc_large)
    return (float(loss_small_unlimited) - float(lc_large)) / gap


def isoflop_frontier(points: pd.DataFrame, column: str = "loss",
                     vertex_points: int = 5) -> pd.DataFrame:
    """One row per isoFLOP curve of one seed's points: ``level, compute, n_opt, loss_opt``
    (:func:`isoflop_vertex` of ``column``; NaN where the optimum is not inside the curve)."""
    rows = []
    for level, grp in points[points.kind == "isoflop"].groupby("level"):
        grp = grp.sort_values("size")
        n_opt, l_opt = isoflop_vertex(grp["size"], grp[column], vertex_points)
        rows.append({"level": int(level), "compute": float(grp["compute"].iloc[0]),
                     "n_opt": n_opt, "loss_opt": l_opt})
    return pd.DataFrame(rows)


def measure(points: pd.DataFrame, config: ScalingExperimentConfig) -> dict[str, float]:
    """Fit one seed's points (:func:`simulate`): ``alpha``, ``gamma``, ``gap = |alpha - gamma|``,
    ``share``; the controls ``control_share`` (soft capacity) and ``ratio_gamma``,
    ``ratio_gap = |alpha - ratio_gamma|`` (fixed ratio); and ``levels_used`` (isoFLOP curves
    whose optimum lies inside the sizes tried). NaN where a fit has fewer than three optima."""
    lo, hi = config.frontier_sizes
    n_s, n_l = config.pair
    out: dict[str, float] = {}
    for col, prefix in (("loss", ""), ("control_loss", "control_")):
        fr = isoflop_frontier(points, col, config.vertex_points).dropna()
        maxd = points[points.kind == "max_data"].set_index("size")[col]
        if len(fr) < 3:
            out[prefix + "gamma"] = out[prefix + "share"] = math.nan
            out[prefix + "levels_used"] = float(len(fr))
            continue
        slope, icpt = loglog_fit(fr["n_opt"], fr["loss_opt"])
        lc_s, lc_l = math.exp(icpt) * n_s ** slope, math.exp(icpt) * n_l ** slope
        out[prefix + "gamma"] = -slope
        out[prefix + "share"] = model_only_share(float(maxd.loc[n_s]), lc_s, lc_l)
        out[prefix + "levels_used"] = float(len(fr))
    span = points[(points["size"] >= lo) & (points["size"] <= hi)]
    maxd = span[span.kind == "max_data"]
    ratio = span[span.kind == "fixed_ratio"]
    out["alpha"] = -loglog_fit(maxd["size"], maxd["loss"])[0]
    out["ratio_gamma"] = -loglog_fit(ratio["size"], ratio["loss"])[0]
    out["gap"] = abs(out["alpha"] - out["gamma"])
    out["ratio_gap"] = abs(out["alpha"] - out["ratio_gamma"])
    return out


def run_scaling_experiment(config: ScalingExperimentConfig,
                           seeds: Sequence[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate and measure every seed: ``(summary, points)``, one summary row per seed (the
    columns of :func:`measure` and ``seed``) and every sampled point with its ``seed``."""
    seeds = [count("seeds[]", s, 0) for s in seeds]
    if not seeds:
        raise ParameterError("seeds", seeds, "at least one seed")
    rows, frames = [], []
    for seed in seeds:
        pts = simulate(config, seed).assign(seed=seed)
        rows.append({"seed": seed, **measure(pts, config)})
        frames.append(pts)
    return pd.DataFrame(rows), pd.concat(frames, ignore_index=True)
