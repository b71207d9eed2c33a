"""The heatmap, its legend and the bitmap (``render.heatmaps``): exact colours and glyphs at
known values, NaN/Inf, clipping, the cursor, tile gaps."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.text import Text
from test_render_colors import bg, style_at

from backprop_tui.tui import render as R


# -- helpers -------------------------------------------------------------------------------------
def cell_offset(r: int, c: int, cols: int, cell: int = 2) -> int:
    """Character offset of grid cell (r, c) in an untiled heatmap of ``cols`` columns."""
    return r * (cols * cell + 1) + c * cell


def render_ansi(text: Text) -> str:
    console = Console(force_terminal=True, color_system="truecolor", width=400)
    with console.capture() as cap:
        console.print(text)
    return cap.get()


# -- heatmap ---------------------------------------------------------------------------------------
def test_heatmap_exact_colours_at_known_values() -> None:
    a = np.array([[0.0, 2.0, -2.0, 1.0, -1.0]])
    t = R.heatmap(a)
    assert t.plain == " " * 10
    assert bg(t, cell_offset(0, 0, 5)) == R.NEUTRAL
    assert bg(t, cell_offset(0, 1, 5)) == R.POS_END
    assert bg(t, cell_offset(0, 2, 5)) == R.NEG_END
    assert bg(t, cell_offset(0, 3, 5)) == R.level_color(R.LEVELS // 2)
    assert bg(t, cell_offset(0, 4, 5)) == R.level_color(-R.LEVELS // 2)
    # both characters of a cell carry the colour
    assert bg(t, cell_offset(0, 1, 5) + 1) == R.POS_END


def test_heatmap_levels_round_to_the_nearest() -> None:
    # 0.99 · 32 = 31.7 → level 32; 0.01 · 32 = 0.3 → level 0 (grey, as 0 itself)
    t = R.heatmap(np.array([[1.0, 0.99, -0.99, 0.01, 0.02]]))
    assert [bg(t, 2 * c) for c in range(5)] == [R.POS_END, R.POS_END, R.NEG_END, R.NEUTRAL,
                                                R.level_color(1)]


def test_heatmap_scale_is_symmetric_max_abs() -> None:
    # max |v| is the negative one: +0.5 gets exactly half the red levels
    t = R.heatmap(np.array([[0.5, -1.0]]))
    assert bg(t, 0) == R.level_color(R.LEVELS // 2)
    assert bg(t, 2) == R.NEG_END
    assert R.auto_scale(np.array([0.5, -1.0, np.nan, np.inf])) == 1.0


def test_heatmap_explicit_scale_marks_clipped_values() -> None:
    t = R.heatmap(np.array([[3.0, -3.0, 1.0]]), scale=1.0)
    assert t.plain == ">><<  "
    assert bg(t, 0) == R.POS_END and bg(t, 2) == R.NEG_END
    assert bg(t, 4) == R.POS_END  # exactly +scale: full red, no marker


def test_heatmap_nan_and_inf_glyphs() -> None:
    t = R.heatmap(np.array([[np.nan, np.inf, -np.inf, 0.0]]))
    assert t.plain == "!!+∞-∞  "
    for c in range(3):
        assert bg(t, 2 * c) == R.NONFINITE
    assert bg(t, 6) == R.NEUTRAL


def test_heatmap_all_nonfinite_or_all_zero_does_not_fail() -> None:
    t = R.heatmap(np.full((2, 2), np.nan))
    assert t.plain == "!!!!\n!!!!"
    z = R.heatmap(np.zeros((1, 3)))
    assert [bg(z, i) for i in range(0, 6, 2)] == [R.NEUTRAL] * 3


def test_heatmap_cell_width() -> None:
    t = R.heatmap(np.array([[1.0, np.nan]]), cell=3)
    assert t.plain == "    !!"
    t = R.heatmap(np.array([[np.nan, 1.0]]), cell=4, cursor=(0, 1))
    assert t.plain == " !!  [] "
    t1 = R.heatmap(np.array([[1.0, np.nan, np.inf, -np.inf]]), cell=1)
    assert t1.plain == " !+-"


def test_heatmap_cursor_shows_brackets_on_its_colour() -> None:
    a = np.array([[0.0, 1.0], [-1.0, np.nan]])
    t = R.heatmap(a, cursor=(1, 0))
    off = cell_offset(1, 0, 2)
    assert t.plain[off:off + 2] == "[]"
    assert bg(t, off) == R.NEG_END
    t2 = R.heatmap(a, cursor=(1, 1))
    off = cell_offset(1, 1, 2)
    assert t2.plain[off:off + 2] == "!!"
    assert style_at(t2, off).reverse
    # a cursor outside the grid is ignored
    assert R.heatmap(a, cursor=(5, 5)).plain == R.heatmap(a).plain


def test_heatmap_renders_on_a_console() -> None:
    out = render_ansi(R.heatmap(np.array([[1.0, -1.0]])))
    assert "48;2;220;20;20" in out  # truecolor background of the +max cell


# -- legend --------------------------------------------------------------------------------------


def test_legend_shows_the_scale_numbers_and_ramp() -> None:
    t = R.legend(0.53, width=21)
    assert t.plain.startswith("-0.53 ▕")
    assert "▏ +0.53" in t.plain
    assert "diverging" in t.plain and "0 = grey" in t.plain
    assert "!! NaN ±∞" in t.plain
    start = len("-0.53 ▕")
    assert bg(t, start) == R.NEG_END
    assert bg(t, start + 10) == R.NEUTRAL
    assert bg(t, start + 20) == R.POS_END
    assert t.plain[start + 21] == "▏"


def test_legend_for_non_negative_tensors_says_so() -> None:
    t = R.legend(2.5, width=9, signed=False)
    assert t.plain.startswith("0 ▕")
    assert "+2.5" in t.plain and "all ≥ 0" in t.plain
    assert bg(t, 3) == R.NEUTRAL and bg(t, 3 + 8) == R.POS_END


def test_legend_zero_scale() -> None:
    t = R.legend(0.0, nonfinite=False)
    assert "no non-zero finite values" in t.plain
    assert "NaN" not in t.plain


def test_heatmap_cursor_in_a_tiled_view_skips_the_gaps() -> None:
    a = np.random.default_rng(5).normal(size=(1, 4, 3, 3))
    v = R.layout(a, max_rows=10, max_cols=8)
    assert v.tiles == (2, 2) and v.tile == (3, 3)
    t = R.heatmap(v, cursor=(4, 5))  # tile row 1, tile col 1
    lines = t.plain.split("\n")
    assert len(lines) == 7 and lines[3].strip() == ""
    row = lines[4 + 1]
    assert row[(5 + 1) * 2:(5 + 1) * 2 + 2] == "[]"
    assert row.count("[]") == 1


# -- bitmap --------------------------------------------------------------------------------------


def test_bitmap_characters() -> None:
    t = R.bitmap(np.array([[True, False], [False, True]]))
    assert t.plain == "██· \n· ██"
    assert t.spans == []  # the terminal's own colours: readable on any theme


def test_bitmap_cursor() -> None:
    m = np.array([[True, False]])
    t = R.bitmap(m, cursor=(0, 0))
    assert t.plain == "[]· "
    assert style_at(t, 0).reverse
    t = R.bitmap(m, cursor=(0, 1))
    assert t.plain == "██[]"
    assert not style_at(t, 2).reverse


def test_bitmap_of_a_downsampled_mask_uses_any() -> None:
    m = np.zeros((4, 64), dtype=bool)
    m[2, 17] = True
    v = R.layout(m, max_rows=4, max_cols=8)
    assert v.how == "downsampled 64→8 columns, any() of 8"
    t = R.bitmap(v)
    assert t.plain.splitlines()[2] == "· · ██· · · · · "
    assert v.index_of(2, 2) == (2, 17)
    assert v.describe(2, 2, "mask") == "any of mask[2, 16:24] = True (first at mask[2, 17])"
