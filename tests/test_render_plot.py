"""Series as text (``render.plot``): the braille line chart — where the dots land, the axes,
the legend — and the sparkline, read back from the drawn text, not from the drawing code."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_render_colors import fg

from backprop_tui.tui import render as R
from backprop_tui.tui.render.colors import COLORS
from backprop_tui.tui.render.plot import BRAILLE_BASE, nice_bounds, plot
from backprop_tui.tui.render.series import Series

#: braille dot bits, [dot row][dot column]
BITS = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]


def plot_area(text, height: int, *, legend: bool = False, compact: bool = False):
    """The plot rows of a drawn chart: (gutter labels, rows of plot characters)."""
    lines = text.plain.split("\n")
    if legend:
        lines = lines[1:]
    rows = lines[: len(lines) - (1 if compact else 2)]
    labels, plots = [], []
    for line in rows:
        cut = max(line.find("┤"), line.find("│"))
        assert cut >= 0, line
        labels.append(line[:cut].strip())
        plots.append(line[cut + 1 :])
    return labels, plots


def dots(plots: list[str]) -> np.ndarray:
    """Decode braille characters into a (4·rows, 2·cols) bool grid."""
    h, w = len(plots), max(len(p) for p in plots)
    grid = np.zeros((4 * h, 2 * w), dtype=bool)
    for r, line in enumerate(plots):
        for c, ch in enumerate(line):
            code = ord(ch) - BRAILLE_BASE
            if ch == " " or not 0 <= code < 256:
                continue
            for dr in range(4):
                for dc in range(2):
                    if code & BITS[dr][dc]:
                        grid[4 * r + dr, 2 * c + dc] = True
    return grid


def test_a_rising_line_goes_from_bottom_left_to_top_right_without_gaps() -> None:
    x = np.arange(100.0)
    text = plot([Series.of("y", x, x)], 40, 12, legend=False, compact=False)
    labels, plots = plot_area(text, 12)
    grid = dots(plots)
    cols = np.flatnonzero(grid.any(axis=0))
    # every dot column between the first and the last holds a dot: no holes in the line
    assert np.array_equal(cols, np.arange(cols[0], cols[-1] + 1))
    assert cols[0] == 0 and cols[-1] == grid.shape[1] - 1
    # mean dot row per column never goes down the screen while y rises
    rows = np.array([np.flatnonzero(grid[:, c]).mean() for c in cols])
    assert np.all(np.diff(rows) <= 1e-9)
    assert grid[-1, 0] or grid[-2, 0]  # y = 0 at the bottom (the range is 0…100)
    assert grid[0, -1] or grid[1, -1]  # y = 99 near the top
    assert labels[0] == "100" and labels[-1] == "0"


def test_a_constant_series_sits_on_the_row_of_its_value() -> None:
    x = np.arange(10.0)
    # y range 0…10 with 5 plot rows = 20 dot rows; y = 5 → dot row (10−5)/10·19 ≈ 9.5 → 10
    text = plot([Series.of("y", x, np.full(10, 5.0))], 30, 7, y_range=(0, 10), legend=False,
                compact=False)
    _, plots = plot_area(text, 7)
    grid = dots(plots)
    hit = np.flatnonzero(grid.any(axis=1))
    assert list(hit) == [round(0.5 * 19)]


def test_many_points_per_column_are_averaged() -> None:
    # alternating 0 and 8: each column averages to ≈ 4 — one flat line, not a 0…8 band
    x = np.arange(10_000.0)
    y = np.where(np.arange(10_000) % 2 == 0, 0.0, 8.0)
    text = plot([Series.of("y", x, y)], 30, 7, y_range=(0, 10), legend=False, compact=False)
    _, plots = plot_area(text, 7)
    grid = dots(plots)
    assert list(np.flatnonzero(grid.any(axis=1))) == [round((10 - 4) / 10 * 19)]


def test_axis_labels_ticks_and_x_range() -> None:
    x = np.arange(1, 1201, dtype=float)
    text = plot([Series.of("loss", x, np.linspace(2.3, 0.1, 1200))], 60, 12,
                x_label="iteration", legend=False, compact=False)
    lines = text.plain.split("\n")
    assert lines[-2].lstrip().startswith("└")
    assert lines[-1].split()[0] == "1" and lines[-1].split()[-1] == "1,200"
    assert "iteration" in lines[-1]
    labels, _ = plot_area(text, 12)
    values = [float(v) for v in labels if v]
    assert values == sorted(values, reverse=True) and len(values) >= 3
    assert values[0] >= 2.3 and values[-1] <= 0.1  # the range covers the data


def test_compact_axis_writes_the_labels_into_the_axis_line() -> None:
    x = np.arange(1, 101, dtype=float)
    text = plot([Series.of("y", x, x)], 50, 6, x_label="epoch", legend=False)
    last = text.plain.split("\n")[-1]
    assert last.lstrip().startswith("└1 ") and last.rstrip().endswith(" 100")
    assert " epoch " in last
    assert len(text.plain.split("\n")) == 6


def test_log_scale_ticks_are_round_and_leave_out_non_positive_values() -> None:
    x = np.arange(5.0)
    y = np.array([2.0, 0.5, 0.0, -1.0, 0.01])
    text = plot([Series.of("loss", x, y)], 40, 12, log_y=True, compact=False)
    assert "(2 not drawn: ≤ 0 or NaN/Inf)" in text.plain.split("\n")[0]
    assert "log scale" in text.plain.split("\n")[0]
    labels, _ = plot_area(text, 12, legend=True)
    values = [float(v) for v in labels if v]
    for v in values:  # 1, 2 or 5 × 10^k
        m = v / 10 ** math.floor(math.log10(v))
        assert round(m, 6) in (1.0, 2.0, 5.0), v
    assert values[0] >= 2.0 and values[-1] <= 0.01


def test_nan_points_are_counted_in_the_legend_and_not_drawn() -> None:
    x = np.arange(6.0)
    y = np.array([1.0, np.nan, 2.0, np.inf, 3.0, 4.0])
    text = plot([Series.of("loss", x, y)], 40, 8)
    assert "(2 not drawn: NaN/Inf)" in text.plain.split("\n")[0]


def test_two_series_have_their_own_colours() -> None:
    x = np.arange(50.0)
    text = plot([Series.of("up", x, x, COLORS[0]), Series.of("down", x, 49 - x, COLORS[1])],
                40, 10, legend=True)
    colours = {str(span.style.color.name) for span in text.spans
               if hasattr(span.style, "color") and span.style.color is not None}
    assert {COLORS[0], COLORS[1]} <= {c.lower() for c in colours}
    first = text.plain.split("\n")[0]
    assert "━ up" in first and "━ down" in first


def test_single_point_and_flat_series_are_visible_within_limits() -> None:
    text = plot([Series.of("acc", [1.0], [97.5])], 30, 8, y_limits=(0, 100), legend=False)
    labels, plots = plot_area(text, 8, compact=True)
    assert dots(plots).sum() >= 2
    assert max(float(v) for v in labels if v) <= 100


@pytest.mark.parametrize("width,height", [(0, 0), (1, 1), (7, 3), (8, 2), (10, 3), (200, 60)])
def test_any_size_draws_something_without_error(width: int, height: int) -> None:
    x = np.arange(100.0)
    text = plot([Series.of("y", x, np.sin(x))], width, height)
    assert len(text.plain.split("\n")) <= max(1, height)


def test_empty_series_say_so() -> None:
    assert "no data yet" in plot([Series.of("y", [], [])], 40, 8).plain


@pytest.mark.parametrize("lo,hi", [(0.013, 0.69), (91.3, 98.7), (-3.2, 7.9), (5.0, 5.0),
                                   (1e-7, 3e-7), (0, 12000)])
def test_nice_bounds_cover_the_data_in_round_steps(lo: float, hi: float) -> None:
    a, b, step = nice_bounds(lo, hi, 4)
    assert a <= lo and b >= hi and b > a
    n = (b - a) / step
    assert abs(n - round(n)) < 1e-6 and 1 <= round(n) <= 6
    m = step / 10 ** math.floor(math.log10(step))
    assert round(m, 6) in (1.0, 2.0, 2.5, 5.0)


# -- sparkline ------------------------------------------------------------------------------------


def test_sparkline_ends() -> None:
    t = R.sparkline([5.0, 1.0, 3.0, 9.0], 10)
    # levels round((v - 1) / 8 · 7): 3.5 → 4, 0, 1.75 → 2, 7
    assert t.plain == "▅▁▃█"


def test_sparkline_constant_nan_empty() -> None:
    assert R.sparkline([2.0] * 5, 10).plain == "▄▄▄▄▄"
    t = R.sparkline([1.0, np.nan, 2.0], 10)
    assert t.plain == "▁!█"
    assert fg(t, 1) == R.NONFINITE
    assert R.sparkline([], 10).plain == ""
    assert R.sparkline([1.0], 0).plain == ""
    assert R.sparkline([np.inf, np.nan], 5).plain == "!!"


def test_sparkline_bucket_and_last() -> None:
    v = list(range(100))
    t = R.sparkline(v, 10)
    assert len(t.plain) == 10 and t.plain[0] == "▁" and t.plain[-1] == "█"
    t = R.sparkline([9.0] * 50 + [0.0, 1.0], 2, mode="last")
    assert t.plain == "▁█"
