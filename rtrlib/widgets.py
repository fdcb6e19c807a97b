"""Live explorers (ipywidgets) and their kernel-free twins for the static HTML book.

A chapter writes one drawing function ``draw(fig, **values)`` that clears and redraws a figure.
:func:`live` wires it to sliders for a reader with a running kernel; :func:`kernel_free` renders
it once per value of one parameter into a matplotlib ``jshtml`` animation, which the HTML book
shows with its own slider and play buttons and no kernel.
"""

from __future__ import annotations

import html as _html
import numbers
import re
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

Draw = Callable[..., None]


def live(draw: Draw, figsize: tuple[float, float] = (7.0, 4.2), **sliders: Any):
    """An ipywidgets explorer: ``sliders`` maps parameter names to widgets or (lo, hi, step).

    Every control is labelled: a slider built here shows its parameter's name in full, and a
    widget passed in without a description gets the name as its description.
    """
    import ipywidgets as widgets

    out = widgets.Output()
    controls = {}
    for name, spec in sliders.items():
        if isinstance(spec, widgets.Widget):
            if hasattr(spec, "description") and not spec.description:
                spec.description = name
            controls[name] = spec
        else:
            lo, hi, step, *rest = spec
            value = rest[0] if rest else lo
            cls = widgets.IntSlider if all(isinstance(v, int) for v in (lo, hi, step)) \
                else widgets.FloatSlider
            controls[name] = cls(min=lo, max=hi, step=step, value=value, description=name,
                                 style={"description_width": "initial"},
                                 continuous_update=False)

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

    ``alt`` is the alt text of the player's image (default: a sentence naming ``name``); the
    player's slider is labelled with ``name`` and the range of its values.
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

    from rtrlib.runtime import dry_run

    if dry_run() is not None:  # every frame is built, none drawn (rtrlib.book.dryrun)
        for i in range(len(values)):
            frame(i)
        plt.close(fig)
        return HTML(f"<p>dry run: {len(values)} frames built, not drawn</p>")
    anim = FuncAnimation(fig, frame, frames=len(values), interval=interval_ms, blit=False)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    # The player links Font Awesome 4 from a CDN for its button icons; the book must work
    # offline, and the book theme already ships Font Awesome (which knows these icon names).
    html = re.sub(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">', "", html)
    if alt is None:
        alt = f"Precomputed frames of the explorer, one per value of {name}; use the slider."
    html = html.replace('<img id="_anim_img', f'<img alt="{_html.escape(alt)}" id="_anim_img', 1)
    label = slider_label(name, values)
    html = html.replace('<input id="_anim_slider',
                        f'<input aria-label="{_html.escape(label)}" title="{_html.escape(label)}"'
                        ' id="_anim_slider', 1)
    return HTML(html)


def slider_label(name: str, values: Sequence[Any]) -> str:
    """The accessible name of a kernel-free player's slider."""

    def fmt(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, numbers.Real) and not isinstance(
            v, numbers.Integral) else str(v)

    if len(values) == 1:
        return f"{name}: one frame, {fmt(values[0])}"
    return f"{name}: {len(values)} frames, from {fmt(values[0])} to {fmt(values[-1])}"
