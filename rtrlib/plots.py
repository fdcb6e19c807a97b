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


def relative_luminance(rgba: Sequence[float]) -> float:
    """WCAG relative luminance of an sRGB colour (components in [0, 1])."""
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(float(c)) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_colour(rgba: Sequence[float]) -> str:
    """Black or white, whichever contrasts more with a cell of colour ``rgba`` (WCAG ratio)."""
    lum = relative_luminance(rgba)
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def annotated_heatmap(ax, values, rows: Sequence[str], cols: Sequence[str], *, cmap: str,
                      vmin: float, vmax: float, fmt: str = "{:.2f}", labels=None,
                      label: str = "", colorbar: bool = True, fontsize: float = 8):
    """A heatmap of ``values`` (rows x cols) on a fixed colour range [vmin, vmax], every cell
    labelled (``fmt`` of its value, or ``labels[i][j]``) in the text colour that contrasts
    with it, and a colour bar labelled ``label``. NaN cells are marked "n/a". Returns the
    image."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", origin="lower")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if np.isnan(v):
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=fontsize, color="0.3")
                continue
            text = fmt.format(v) if labels is None else labels[i][j]
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                    color=text_colour(im.cmap(im.norm(v))))
    ax.grid(False)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label=label, shrink=0.9)
    return im
