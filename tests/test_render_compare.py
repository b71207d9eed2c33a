"""An experiment's pictures (tui/render/compare.py, contour.py): the legend names every run in its
colour, each run's curve is drawn in that colour, one histogram per layer per run, the paths
start at (−7, 2) on the drawing, the contour function cannot run code, and no number is cut or
line cropped at 80 and 120 columns."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from experiment_results import ALL, CONTOUR, curves, histograms, paths, saved, search
from rich.cells import cell_len
from rich.text import Text
from test_tui_cut_numbers import cut_numbers

from backprop_tui.tui.render.compare import (
    Chart,
    chart_svg,
    charts,
    color_of,
    histogram_cell,
    ranked,
    runs_status,
)
from backprop_tui.tui.render.contour import START, cell_of, function_of, paths_panel
from backprop_tui.tui.render.plot import BRAILLE_BASE

SIZES = [(80, 20), (120, 34)]


def chars_in_color(text: Text, color: str) -> str:
    """The characters drawn in ``color``."""
    out = []
    for span in text.spans:
        style = span.style
        c = getattr(style, "color", None)
        if c is not None and c.name.lower() == color.lower():
            out.append(text.plain[span.start:span.end])
    return "".join(out)


def braille(s: str) -> int:
    return sum(BRAILLE_BASE < ord(ch) <= BRAILLE_BASE + 0xFF for ch in s)


def chart(result, key: str) -> Chart:
    return next(c for c in charts(result) if c.key == key)


# -- curves -------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_curves_legend_names_every_run_and_each_curve_is_drawn_in_its_colour(size) -> None:
    r = curves()
    t = chart(r, "loss").draw(*size, None)
    for i, run in enumerate(r.runs):
        assert f"━ {run.name}" in chars_in_color(t, color_of(i))  # the legend, in its colour
        assert braille(chars_in_color(t, color_of(i))) > 20, run.name  # its curve


def test_loss_spanning_decades_gets_a_log_axis_and_l_switches_it() -> None:
    r = curves()
    auto = chart(r, "loss").draw(100, 24, None).plain
    assert "log scale" in auto  # 2.35 … 0.05: 47×
    assert "log scale" not in chart(r, "loss").draw(100, 24, False).plain
    assert chart(r, "loss").auto_log() is True
    acc = chart(r, "test_acc")
    assert not acc.loggable and acc.metric == "test_acc"
    text = acc.draw(100, 24, True).plain
    assert "log scale" not in text and "100┤" in text  # accuracy stays linear, in %


def test_charts_of_each_kind() -> None:
    assert [c.key for c in charts(curves())] == ["loss", "test_acc"]
    assert [c.key for c in charts(histograms())] == ["histograms-1", "histograms-2"]
    assert [c.key for c in charts(paths())] == ["paths", "f"]
    assert [c.key for c in charts(ALL["grid"]())] == ["train_acc-grid", "loss-grid"]
    assert [c.key for c in charts(search())] == ["val_acc-best", "train_acc-best"]


# -- histograms ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_one_histogram_per_layer_per_run_with_its_range(size) -> None:
    r = histograms()
    for c, group in zip(charts(r), ([0, 1, 2], [3, 4, 5]), strict=True):
        t = c.draw(*size, None)
        lines = t.plain.split("\n")
        for layer in range(1, 6):
            assert sum(line.startswith(f"layer {layer} ") for line in lines) == 1
        # one range line per layer, holding one "lo ─── hi" per run
        ranges = [line for line in lines if "─" in line]
        assert len(ranges) == 5
        assert all(len(re.findall(r"\S+ ─+ \S+", line)) == 3 for line in ranges)
        for i in group:
            assert r.runs[i].name in chars_in_color(t, color_of(i))
            assert any(ch in chars_in_color(t, color_of(i)) for ch in "▁▂▃▄▅▆▇█")


def test_sigmoid_std1_histogram_is_tallest_at_the_ends_and_std001_in_the_middle() -> None:
    r = histograms()
    wide = histogram_cell(r.runs[0].histograms[0].edges, r.runs[0].histograms[0].counts, 30,
                          1, "#ffffff").plain.split("\n")[0]
    assert wide[0] in "▇█" and wide[-1] in "▇█" and wide[15] in " ▁▂"
    mid = histogram_cell(r.runs[1].histograms[0].edges, r.runs[1].histograms[0].counts, 30,
                         1, "#ffffff").plain.split("\n")[0]
    assert mid[15] in "▇█" and mid[0] == " " and mid[-1] == " "


def test_histogram_cell_merges_or_widens_bins_to_its_width() -> None:
    edges, counts = [0.0, 0.5, 1.0], [1, 3]
    t = histogram_cell(edges, counts, 10, 2, "#ffffff").plain.split("\n")
    assert t[0] == "     █████" and t[1] == "▅▅▅▅▅█████"  # 1/3 of 16 eighths ≈ 5: ▅
    assert t[2] == "0 ────── 1"
    many = histogram_cell(list(np.linspace(0, 1, 61)), [1] * 60, 20, 1, "#ffffff")
    assert many.plain.split("\n")[0] == "█" * 20


# -- paths --------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(60, 16), (120, 34)])
def test_paths_start_at_minus7_2_on_the_drawing(size) -> None:
    r = paths()
    pts = [(run.path, color_of(i), "●") for i, run in enumerate(r.runs)]
    t = paths_panel(CONTOUR, pts, *size)
    lines = t.plain.split("\n")
    row, col = cell_of(CONTOUR, (-7.0, 2.0), *size)
    assert lines[row][col] == START
    # x = -7 is 3/20 of the way from the left, y = 2 is 3/10 of the way from the top
    gutter = lines[0].index("┤") + 1
    assert abs((col - gutter) / (size[0] - gutter) - 0.15) < 0.03
    assert abs(row / (size[1] - 2) - 0.3) < 0.1
    # each path is drawn in its colour; SGD's end point holds its marker
    for i in range(4):
        assert braille(chars_in_color(t, color_of(i))) + chars_in_color(t, color_of(i)).count(
            "●") > 5
    end_row, end_col = cell_of(CONTOUR, r.runs[0].path[-1], *size)
    assert lines[end_row][end_col] == "●"


def test_paths_chart_has_a_panel_per_optimizer_with_its_end_point() -> None:
    r = paths()
    t = chart(r, "paths").draw(120, 34, None)
    for i, run in enumerate(r.runs):
        assert run.name in chars_in_color(t, color_of(i))
    drawn = [line for line in t.plain.split("\n") if "→" not in line]  # not the titles
    assert sum(line.count(START) for line in drawn) == 4  # four panels, each with its start
    assert "SGD → (-0.3504, 0.08478) after 30 steps" in t.plain
    narrow = chart(r, "paths").draw(60, 16, None)  # no room for panels: one drawing
    drawn = [line for line in narrow.plain.split("\n") if "→" not in line]
    assert sum(line.count(START) for line in drawn) == 1


def test_contours_are_drawn_around_the_minimum() -> None:
    t = paths_panel(CONTOUR, [], 80, 20)
    lines = t.plain.split("\n")[:-2]
    row, col = cell_of(CONTOUR, (0.0, 0.0), 80, 20)
    assert braille(lines[row][:col]) and braille(lines[row][col + 1:])  # left and right of it


@pytest.mark.parametrize("expr", ["__import__('os').system('true')", "x.__class__",
                                  "(lambda: 1)()", "open('f')", "x if y else 1", "[x]",
                                  "y" * 300, "exp(x, y)"])
def test_the_contour_function_cannot_run_code(expr) -> None:
    with pytest.raises(ValueError, match="expression in x and y|at most"):
        function_of(expr)
    t = paths_panel({**CONTOUR, "f": expr}, [], 60, 16)
    assert t.plain.startswith("cannot draw the contours")


def test_contour_function_values() -> None:
    f = function_of("x**2/20 + y**2 - sqrt(abs(x)) + exp(-y) * 0")
    x, y = np.array([2.0, -4.0]), np.array([1.0, 0.5])
    np.testing.assert_allclose(f(x, y), x**2 / 20 + y**2 - np.sqrt(np.abs(x)))
    assert np.isinf(function_of("10**10**10 + x")(np.zeros(1), np.zeros(1))).all()


# -- search, status, sizes ----------------------------------------------------------------------
def test_search_lists_the_best_runs_first() -> None:
    r = search()
    order = ranked(r)
    vals = [r.runs[i].last("val_acc") for i in order]
    assert vals == sorted(vals, reverse=True)
    t = chart(r, "val_acc-best").draw(120, 34, None)
    best = r.runs[order[0]]
    first_row = next(line for line in t.plain.split("\n") if line.lstrip().startswith("1 "))
    assert best.name in first_row and f"{100 * best.last('val_acc'):.1f}" in first_row
    assert best.name in chars_in_color(t, color_of(0))  # in the legend, first colour


def test_runs_status_says_each_runs_state_and_progress() -> None:
    r = curves(status=("done", "running", "pending"))
    r.runs[2].curves.clear()
    t = runs_status(r, 60, 10).plain
    assert "1 pending · 1 running · 1 done" in t
    assert "std=0.01  done  iteration 1,990" in t
    assert "He  pending" in t


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", list(ALL))
def test_no_number_cut_and_every_line_fits(kind, size) -> None:
    r = ALL[kind]()
    for c in charts(r):
        for log in (None, True):
            t = c.draw(*size, log)
            assert not cut_numbers(t.plain), (c.key, t.plain)
            lines = t.plain.split("\n")
            wide = [line for line in lines if cell_len(line) > size[0]]
            assert not wide, (c.key, wide)
            assert len(lines) <= size[1], (c.key, len(lines))


def test_svg_holds_the_chart_text(tmp_path: Path) -> None:
    r = saved(curves(), tmp_path)
    svg = chart_svg(r, chart(r, "loss"), 100, 24)
    assert svg.startswith("<svg")
    plain = svg.replace("&#160;", " ")
    for run in r.runs:
        assert f"━ {run.name}" in plain
    assert "iteration" in plain and "He ends at the lowest loss" in plain


def test_a_bin_far_above_the_rest_is_cut_so_the_rest_shows() -> None:
    # ReLU's zeros: the first bin 100× the others; scaled to it the rest would be empty
    t = histogram_cell([0.0, 1.0, 2.0, 3.0], [1000, 10, 5], 3, 1, "#ffffff")
    assert t.plain.split("\n")[0] == "█▂▁"  # cut at 4 × 10: 10 → 2/8, 5 → 1/8
    t = histogram_cell([0.0, 1.0, 2.0, 3.0], [30, 10, 5], 3, 1, "#ffffff")
    assert t.plain.split("\n")[0] == "█▃▁"  # 3× the next: not cut
