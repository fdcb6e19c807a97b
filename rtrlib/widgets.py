"""Live explorers (ipywidgets) and their kernel-free twins for the static HTML book.

A chapter writes one drawing function ``draw(fig, **values)`` that clears and redraws a figure.
:func:`live` wires it to sliders for a reader with a running kernel; :func:`kernel_free` renders
it once per value of one parameter into a matplotlib ``jshtml`` animation, which the HTML book
shows with its own slider and play buttons and no kernel.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

Draw = Callable[..., None]


def live(draw: Draw, figsize: tuple[float, float] = (7.0, 4.2), **sliders: Any):
    """An ipywidgets explorer: ``sliders`` maps parameter names to widgets or (lo, hi, step)."""
    import ipywidgets as widgets

    out = widgets.Output()
    controls = {}
    for name, spec in sliders.items():
        if isinstance(spec, widgets.Widget):
            controls[name] = spec
        else:
            lo, hi, step, *rest = spec
            value = rest[0] if rest else lo
            cls = widgets.IntSlider if all(isinstance(v, int) for v in (lo, hi, step)) \
                else widgets.FloatSlider
            controls[name] = cls(min=lo, max=hi, step=step,
                                 value=value,
                                 description=name, continuous_update=False)

    def redraw(**values: Any) -> None:
        with out:
            out.clear_output(wait=True)
            fig = plt.figure(figsize=figsize, layout="constrained")
            draw(fig, **values)
            plt.show()

    ui = widgets.VBox([*controls.values()])
    widgets.interactive_output(redraw, controls)
    return widgets.VBox([ui, out])


def kernel_free(draw: Draw, name: str, values: Sequence[Any], fixed: dict[str, Any] | None = None,
                figsize: tuple[float, float] = (7.0, 4.2), interval_ms: int = 600,
                alt: str | None = None):
    """Precompute one frame per value of ``name`` and return an HTML slider player.

    ``alt`` is the alt text of the player's image (default: a sentence naming ``name``).
    """
    from IPython.display import HTML

    if len(values) == 0:
        raise ValueError("kernel_free needs at least one frame value")
    fixed = dict(fixed or {})
    fig: Figure = plt.figure(figsize=figsize, layout="constrained")

    def frame(i: int):
        fig.clear()
        draw(fig, **{**fixed, name: values[i]})
        return []

    anim = FuncAnimation(fig, frame, frames=len(values), interval=interval_ms, blit=False)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    # The player links Font Awesome 4 from a CDN for its button icons; the book must work
    # offline, and the book theme already ships Font Awesome (which knows these icon names).
    html = re.sub(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">', "", html)
    if alt is None:
        alt = f"Precomputed frames of the explorer, one per value of {name}; use the slider."
    html = html.replace('<img id="_anim_img', f'<img alt="{_html.escape(alt)}" id="_anim_img', 1)
    return HTML(html)
