"""Half-block pictures (``render.pictures``): pixel pairs, gray levels, the diverging ramp,
NaN and the cursor, image grids and their downsampling."""

from __future__ import annotations

import math

import numpy as np
from test_render_colors import bg, fg

from backprop_tui.tui import render as R

# -- half-block pictures --------------------------------------------------------------------------


def test_halfblock_pairs_pixels_upper_fg_lower_bg() -> None:
    img = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # odd height: 3 rows → 2 lines
    t = R.halfblock(img, vmin=0, vmax=1)
    assert t.plain == "▀▀\n▀▀"
    black, white = (0, 0, 0), (255, 255, 255)
    assert (fg(t, 0), bg(t, 0)) == (black, white)
    assert (fg(t, 1), bg(t, 1)) == (white, black)
    # the padded last line: upper pixel only, no background
    assert (fg(t, 3), bg(t, 3)) == (white, None)
    assert (fg(t, 4), bg(t, 4)) == (white, None)


def test_halfblock_mnist_size() -> None:
    img = np.random.default_rng(0).random((28, 28))
    lines = R.halfblock(img).plain.split("\n")
    assert len(lines) == 14 and all(len(line) == 28 for line in lines)


def test_halfblock_gray_levels_nan_and_cursor() -> None:
    img = np.array([[0.0, 0.5, np.nan, 2.0], [1.0, 1.0, 1.0, 1.0]])
    t = R.halfblock(img, vmin=0, vmax=1, cursor=(1, 0))
    assert fg(t, 0) == (0, 0, 0)
    mid = fg(t, 1)
    assert mid[0] == mid[1] == mid[2] and abs(mid[0] - 128) <= 3
    assert fg(t, 2) == R.NONFINITE
    assert fg(t, 3) == (255, 255, 255)  # above vmax: clipped to white
    assert bg(t, 0) == R.CURSOR


def test_halfblock_default_range_and_constant_image() -> None:
    t = R.halfblock(np.array([[2.0], [4.0]]))
    assert (fg(t, 0), bg(t, 0)) == ((0, 0, 0), (255, 255, 255))
    c = R.halfblock(np.full((2, 1), 7.0))
    assert fg(c, 0) == bg(c, 0) and fg(c, 0)[0] not in (0, 255)


def test_halfblock_diverging_uses_the_heatmap_ramp() -> None:
    t = R.halfblock(np.array([[-2.0], [2.0]]), diverging=True)
    assert (fg(t, 0), bg(t, 0)) == (R.NEG_END, R.POS_END)


def test_image_grid_layout_gap_and_shared_scale() -> None:
    imgs = np.zeros((5, 3, 2))
    imgs[4] = 1.0  # the last image is white, the others black: one scale for all
    t = R.image_grid(imgs, cols=2, gap=1)
    lines = t.plain.split("\n")
    # 3 tile rows of 2 lines each (3 px → 2 lines) + 2 gap lines; width 2+1+2
    assert len(lines) == 3 * 2 + 2
    assert lines[0] == "▀▀ ▀▀" and lines[2] == "     "
    assert lines[6] == "▀▀   "
    assert fg(t, 0) == (0, 0, 0)
    last = t.plain.index(lines[6], len("\n".join(lines[:6])))
    assert fg(t, last) == (255, 255, 255)


def test_image_grid_cursor_and_4d_input() -> None:
    imgs = np.zeros((2, 1, 2, 2))
    t = R.image_grid(imgs, cols=2, gap=1, cursor=(1, 1, 0))
    assert t.plain == "▀▀ ▀▀"
    assert bg(t, 3) == R.CURSOR and fg(t, 3) != R.CURSOR


def test_fit_images_mnist_feature_maps() -> None:
    ceil = math.ceil

    def fits(cols: int, f: int) -> bool:
        rows, side = ceil(30 / cols), ceil(24 / f)
        return cols * side + cols - 1 <= 80 and rows * ceil(side / 2) + rows - 1 <= 20

    # 30 maps of 24×24 (12 lines each) in 80×20: full size fits 3 per row but only 1 row
    cols, f = R.fit_images(30, 24, 24, max_rows=20, max_cols=80)
    assert f > 1 and fits(cols, f)
    assert not any(fits(c, f - 1) for c in range(1, 31))  # the smallest factor that fits
    assert not any(fits(c, f) for c in range(cols + 1, 31))  # with the most columns
    t = R.image_grid(np.random.default_rng(0).random((30, 24, 24)), cols=cols, factor=f)
    out = t.plain.split("\n")
    assert len(out) <= 20 and max(map(len, out)) <= 80
    assert R.fit_images(1, 28, 28, max_rows=14, max_cols=28) == (1, 1)


def test_image_grid_factor_is_a_block_mean() -> None:
    imgs = np.zeros((1, 4, 4))
    imgs[0, :2, :2] = 1.0
    imgs[0, 0, 2] = 1.0  # the top-right block has mean 0.25
    t = R.image_grid(imgs, cols=1, factor=2, vmin=0, vmax=1)
    assert t.plain == "▀▀"
    assert fg(t, 0) == (255, 255, 255) and bg(t, 0) == (0, 0, 0)
    quarter = round(round(0.25 * 63) * 255 / 63)
    assert fg(t, 1) == (quarter,) * 3
