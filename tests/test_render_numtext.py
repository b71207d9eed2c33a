"""Numbers and statistics as text (``render.numtext``): ``fmt`` never lies, statistics ignore
NaN/Inf but count them, the stats line fits its pane's width."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_render_colors import fg

from backprop_tui.tui import render as R

# -- stats and numbers ----------------------------------------------------------------------------


def test_stats_ignore_nan_and_inf_but_count_them() -> None:
    a = np.array([[1.0, 0.0, np.nan], [np.inf, -3.0, 0.0]])
    s = R.tensor_stats(a)
    assert (s.shape, s.dtype, s.size) == ((2, 3), "float64", 6)
    assert (s.min, s.max) == (-3.0, 1.0)
    assert s.mean == pytest.approx(np.mean([1.0, 0.0, -3.0, 0.0]))
    assert s.std == pytest.approx(np.std([1.0, 0.0, -3.0, 0.0]))
    assert s.norm == pytest.approx(math.sqrt(10))
    assert s.zeros == pytest.approx(2 / 6)
    assert (s.nan, s.inf, s.finite) == (1, 1, 4)
    text = R.format_stats(s)
    assert text.plain == ("shape 2×3 float64 · min -3 max 1 mean -0.5 std 1.5 · 33.3% zeros · "
                          "NaN 1 · Inf 1")
    nan_at = text.plain.index("NaN 1")
    assert fg(text, nan_at) == R.NONFINITE


def test_format_stats_two_lines_when_narrow_and_clean_counts_unstyled() -> None:
    s = R.tensor_stats(np.arange(6.0).reshape(2, 3))
    t = R.format_stats(s, width=40)
    assert t.plain.split("\n")[0] == "shape 2×3 float64"
    assert t.spans == [] or all(sp.style == "" for sp in t.spans)


def test_stats_percent_never_rounds_to_0_or_100() -> None:
    a = np.ones(10_000)
    a[0] = 0
    assert "<0.1% zeros" in R.format_stats(R.tensor_stats(a)).plain
    assert ">99.9% zeros" in R.format_stats(R.tensor_stats(1 - a)).plain


def test_stats_edge_cases() -> None:
    e = R.tensor_stats(np.zeros((0, 3)))
    assert e.size == 0 and math.isnan(e.mean)
    assert "empty" in R.format_stats(e).plain
    z = R.tensor_stats(np.float64(2.5))
    assert (z.shape, z.min, z.max, z.std) == ((), 2.5, 2.5, 0.0)
    b = R.tensor_stats(np.array([True, False, False, False]))
    assert (b.mean, b.zeros) == (0.25, 0.75)
    n = R.tensor_stats(np.array([np.nan, np.nan]))
    assert n.nan == 2 and math.isnan(n.min) and "no finite entries" in R.format_stats(n).plain
    h = R.tensor_stats(np.array([1e308, 1e308, -1e308, 1e308]))
    assert h.mean == pytest.approx(5e307) and math.isfinite(h.std)
    i = R.tensor_stats(np.array([1, 0, 3], dtype=np.int32))
    assert (i.min, i.max, i.zeros) == (0.0, 3.0, pytest.approx(1 / 3))


@pytest.mark.parametrize(
    ("v", "s"),
    [
        (1.234e-07, "1.234e-07"),
        (-0.5, "-0.5"),
        (12.345678, "12.35"),
        (12.35, "12.35"),
        (12000.0, "1.2e+04"),
        (12001.0, "1.200e+04"),
        (784, "784"),
        (0.0, "0"),
        (-0.0, "0"),
        (1e-300, "1e-300"),
        (0.1 + 0.2, "0.3000"),  # rounded: trailing zeros say so
        (0.3, "0.3"),
        (1.0, "1"),
        (0.99999, "1.000"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (np.float32(0.1), "0.1"),  # judged at float32 precision
        (np.float64(np.float32(0.1)), "0.1000"),
        (np.int64(7), "7"),
        (1.7975e308, "1.797e+308"),  # rounding up would print a number that parses as inf
        (-1.7976931348623157e308, "-1.797e+308"),
    ],
)
def test_fmt(v: float, s: str) -> None:
    assert R.fmt(v) == s


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_fmt_is_short_and_close(v: float) -> None:
    s = R.fmt(v)
    assert len(s) <= 11  # -1.234e+100
    if v != 0:
        assert float(s) != 0  # a non-zero never prints as 0
        assert math.isfinite(float(s))  # the largest floats do not round up to inf
        assert abs(float(s) - v) <= 1e-3 * abs(v)
        if float(s) != v:  # rounded: exactly 4 significant digits shown, trailing zeros kept
            digits = s.split("e")[0].lstrip("-").replace(".", "").lstrip("0")
            assert len(digits) == 4, s


@pytest.mark.parametrize("width", [20, 30, 40, 50, 60, 66, 80, 200])
def test_format_stats_lines_fit_the_width_and_keep_every_part(width: int) -> None:
    """The stats line once ran past a 68-column pane and cut off 'Inf 0': every line fits
    (or is one indivisible part) and every part is there, whole."""
    s = R.tensor_stats(np.array([[0.1257302, 0.0, 1.43], [0.2572, -0.4306, 0.0]]))
    t = R.format_stats(s, width=width)
    lines = t.plain.split("\n")
    parts = [p for line in lines for p in line.split(" · ")]
    one_line = R.format_stats(s).plain.split(" · ")
    assert one_line[0] == "shape 2×3 float64" and one_line[1].startswith("min -0.4306 max 1.43 ")
    assert one_line[2:] == ["33.3% zeros", "NaN 0", "Inf 0"]
    assert sorted(parts) == sorted(one_line)  # the same parts, whole (the counts may move up)
    assert lines[0].startswith("shape 2×3 float64")
    for line in lines:
        assert len(line) <= width or " · " not in line
    if width >= len(t.plain):
        assert len(lines) == 1
    if width == 66:  # the xor relu1 pane at 120×40: two lines, not three
        assert len(lines) == 2


def test_format_stats_counts_join_the_shape_line_rather_than_take_a_third() -> None:
    a = np.linspace(-3.7321, 3.6601, 32 * 30 * 24 * 24).reshape(32, 30, 24, 24)
    t = R.format_stats(R.tensor_stats(a), width=66)
    first, second = t.plain.split("\n")
    assert first == "shape 32×30×24×24 float64 · NaN 0 · Inf 0"
    assert second.startswith("min -3.732 max 3.660 ") and second.endswith(" zeros")


def test_format_stats_without_shape_fits_two_lines_of_a_narrow_pane() -> None:
    """At 80×24 the tensor pane is ~40 columns and its title shows the shape: every statistic
    is still there, in two lines, none cut off."""
    a = np.array([[0.6404, 0.1049, -0.5357, 0.3616], [-0.7037, -1.265, -0.6233, 0.04133],
                  [0.0, 0.0, 0.0, 0.0], [1.430, 0.8150, 0.0, 0.4029]])
    t = R.format_stats(R.tensor_stats(a), width=40, shape=False)
    lines = t.plain.split("\n")
    assert len(lines) == 2 and all(len(line) <= 40 for line in lines)
    assert lines[0].startswith("min -1.265 max 1.43") and lines[0].endswith("zeros")
    assert lines[1].startswith("mean ") and lines[1].endswith("NaN 0 · Inf 0")
    assert "shape" not in t.plain and "float64" not in t.plain
    assert R.format_stats(R.tensor_stats(a), width=200, shape=False).plain.count("\n") == 0


def test_clip_words_never_cuts_a_number_and_marks_what_it_left_out() -> None:
    from rich.text import Text

    from backprop_tui.tui.render.numtext import clip_words

    t = Text("cursor W[0, 0] = 0.1257   exact 0.1257302210933933\nshort")
    out = clip_words(t, 40)
    assert out.plain.split("\n") == ["cursor W[0, 0] = 0.1257   exact …", "short"]
    fits = Text("all of it fits")
    assert clip_words(fits, 40) is fits
    # a single word wider than the line is cut, but says so
    assert clip_words(Text("abcdefghij"), 5).plain == "abcd…"
    # parts end whole: no dangling separator before the mark
    assert clip_words(Text("numbers · columns j=0…3 of 6 · ←→ scroll"), 30).plain == \
        "numbers · columns j=0…3 of 6 …"
    assert clip_words(Text("alpha · beta · gamma"), 11).plain == "alpha …"


def test_short_path_keeps_the_end_of_a_path() -> None:
    from backprop_tui.tui.render.numtext import short_path

    assert short_path("/tmp/runs/iris-3", 40) == "/tmp/runs/iris-3"
    assert short_path("/very/long/folder/name/runs/iris-3", 16) == "…/runs/iris-3"
    assert len(short_path("/a/" + "x" * 50, 20)) == 20


def test_first_fit_takes_the_longest_wording_that_fits() -> None:
    from backprop_tui.tui.render.numtext import first_fit

    forms = [[("cursor ", "dim"), ("W[0, 0] = 0.1257", "bold")], [("W[0, 0] = 0.1257", "")]]
    assert first_fit(forms, 30).plain == "cursor W[0, 0] = 0.1257"
    assert first_fit(forms, 20).plain == "W[0, 0] = 0.1257"
    assert first_fit(forms, 5).plain == "W[0, 0] = 0.1257"  # the last, for the clip to mark
