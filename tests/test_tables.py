"""rtrlib.tables: DataFrames as tables with named headers, formatted numbers and a scroll
container; rtrlib.widgets: labelled explorer controls."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

from rtrlib.tables import table_html

matplotlib.use("Agg")


def _headers(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th\b[^>]*>(.*?)</th>",
                                                                  html, re.S)]


def test_every_header_cell_has_text_and_the_table_scrolls() -> None:
    df = pd.DataFrame({"N": [1e18, 1.02e9], "loss": [0.123456, np.nan]}, index=["a", "b"])
    html = table_html(df, caption="Calibration")
    assert _headers(html) == ["row", "N", "loss"]
    assert html.startswith('<div class="rtr-table" style="overflow-x: auto;')
    cells = re.findall(r"<td\b[^>]*>(.*?)</td>", html)
    assert cells == ["a", "1e+18", "0.1235", "b", "1.02e+09", "–"]  # no run-together numbers
    assert "<caption>Calibration</caption>" in html


def test_index_names_multiindex_columns_and_formats() -> None:
    df = pd.DataFrame(np.arange(4).reshape(2, 2),
                      index=pd.MultiIndex.from_tuples([(1, "x"), (2, "y")], names=["n", None]),
                      columns=pd.MultiIndex.from_tuples([("acc", "mean"), ("acc", "max")]))
    html = table_html(df, formats={"acc · max": "{:.1f}"})
    assert _headers(html) == ["n", "level 1", "acc · mean", "acc · max"]
    assert re.findall(r"<td\b[^>]*>(.*?)</td>", html)[:4] == ["1", "x", "0", "1.0"]
    assert _headers(table_html(df.droplevel(1), index="size")) == ["size", "acc · mean",
                                                                    "acc · max"]
    assert _headers(table_html(df, index=False)) == ["acc · mean", "acc · max"]
    long = pd.DataFrame({"text": ["x" * 300]})
    assert "x" * 300 in table_html(long)  # never truncated
    with pytest.raises(ValueError, match="duplicate"):
        table_html(pd.DataFrame({"row": [1]}, index=[0]))


def test_kernel_free_slider_is_labelled_and_live_controls_have_descriptions() -> None:
    from rtrlib.widgets import kernel_free, live, slider_label

    def draw(fig, width, a=1.0):
        fig.add_subplot().plot([0, width * a])

    html = kernel_free(draw, "width", [4, 8, 16]).data
    slider = re.search(r"<input[^>]*anim_slider[^>]*>", html).group(0)
    assert 'aria-label="width: 3 frames, from 4 to 16"' in slider
    assert slider_label("a", [0.1 + 0.2, 2.5]) == "a: 2 frames, from 0.3 to 2.5"
    import ipywidgets as widgets

    box = live(draw, width=(1, 32, 1, 8), a=widgets.FloatSlider(min=0, max=1))
    controls = box.children[0].children
    assert [c.description for c in controls] == ["width", "a"]
