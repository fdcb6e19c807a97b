"""Tables on the book's pages: a pandas DataFrame as an HTML table a reader (and a screen reader)
can use.

pandas' own HTML leaves header cells empty (the corner above an unnamed index, the row of index
names), truncates long cells and lets a wide table run past the text column. :func:`show_table`
moves the index into named columns, formats numbers, never truncates, and wraps the table in a
horizontal scroll container, so a wide table scrolls inside the column::

    from rtrlib.tables import show_table
    show_table(calibration, formats={"flop": "{:.2e}"}, caption="Calibration of the runs")
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["show_table", "table_html"]

Format = str | Callable[[Any], str]


def _flat(label: Any) -> str:
    """A column label as one header text (a MultiIndex tuple is joined with ' · ')."""
    if isinstance(label, tuple):
        return " · ".join(str(p) for p in label if str(p) != "")
    return str(label)


def _number(precision: int) -> Callable[[Any], str]:
    """The default cell format: integers with thousands separators, floats to ``precision``
    significant digits, a missing value as a dash, anything else as its text."""

    def fmt(v: Any) -> str:
        if v is None or (isinstance(v, numbers.Real) and pd.isna(v)):
            return "–"
        if isinstance(v, (bool, np.bool_)):
            return str(bool(v))
        if isinstance(v, numbers.Integral):
            return f"{int(v):,}"
        if isinstance(v, numbers.Real):
            return f"{float(v):.{precision}g}"
        return str(v)

    return fmt


def table_html(df: pd.DataFrame, *, index: bool | str = True, precision: int = 4,
               formats: Mapping[str, Format] | None = None, caption: str | None = None) -> str:
    """``df`` as an HTML table in a scroll container (``<div class="rtr-table">``).

    ``index``: keep the index as leading column(s) (True; an unnamed index is called "row"),
    drop it (False) or name it (a string). Every header cell has text. ``precision``: significant
    digits of floats; ``formats`` maps a column to a format string (``"{:.2e}"``) or function.
    """
    frame = df.copy()
    frame.columns = [_flat(c) for c in frame.columns]
    if index is not False:
        names = list(frame.index.names)
        if len(names) == 1 and names[0] is None:
            names = [index if isinstance(index, str) else "row"]
        elif isinstance(index, str) and len(names) == 1:
            names = [index]
        frame.index.names = [n if n is not None else f"level {i}" for i, n in enumerate(names)]
        clash = set(frame.index.names) & set(frame.columns)
        if clash:
            raise ValueError(f"table_html: duplicate column names {sorted(clash)}: name the "
                             "index with index='...'")
        frame = frame.reset_index()
    frame.columns = [_flat(c) for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        raise ValueError(f"table_html: duplicate column names {list(frame.columns)}")
    default = _number(precision)
    formatters = {c: (formats or {}).get(c, default) for c in frame.columns}
    styler = frame.style.hide(axis="index").format(formatters)
    styler = styler.set_table_attributes('class="dataframe rtr-dataframe"')
    if caption:
        styler = styler.set_caption(html.escape(caption))
    table = styler.to_html()
    return ('<div class="rtr-table" style="overflow-x: auto; max-width: 100%;">'
            f"{table}</div>")


def show_table(df: pd.DataFrame, **kwargs: Any):
    """Display ``df`` with :func:`table_html` (in a notebook: the last expression of a cell)."""
    from IPython.display import HTML

    return HTML(table_html(df, **kwargs))
