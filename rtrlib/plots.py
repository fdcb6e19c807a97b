"""One figure style for the whole book, and the provenance stamp every figure carries."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

# A colour-blind-safe cycle (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")

STYLE = {
    "figure.figsize": (7.0, 4.2),
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "font.size": 10,
    "legend.frameon": False,
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a chapter)."""
    mpl.rcParams.update(STYLE)


def provenance(profile: str, device: str, seeds: int | Sequence[int] | None = None) -> str:
    """The line that says which run made a figure."""
    if seeds is None:
        seed_txt = "no randomness"
    elif isinstance(seeds, int):
        seed_txt = f"seed {seeds}"
    else:
        seeds = list(seeds)
        seed_txt = f"seed {seeds[0]}" if len(seeds) == 1 else \
            f"seeds {', '.join(map(str, seeds))}"
    return f"profile {profile} · {seed_txt} · device {device}"


def stamp(fig: Figure, profile: str, device: str,
          seeds: int | Sequence[int] | None = None) -> Figure:
    """Write the provenance line in the lower-right corner of ``fig``."""
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and "rect" in engine.get():
        engine.set(rect=(0, 0.035, 1, 0.965))  # keep the stamp clear of the x-labels
    fig.text(0.995, 0.005, provenance(profile, device, seeds), ha="right", va="bottom",
             fontsize=7, color="0.4")
    return fig


def new_figure(ncols: int = 1, nrows: int = 1, **kwargs):
    """``plt.subplots`` with constrained layout (the book's default)."""
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kwargs)
