"""Max-pool switches as one arrow per window (render.winners): the winner read off the switches
is the engine's own argmax, ties are found from the input, and the layout maps every cell back
to its window."""

from __future__ import annotations

import numpy as np

from backprop_tui.engine.conv import MaxPool2D
from backprop_tui.tui.render.winners import (
    window_ties,
    winner_glyphs,
    winner_grid,
    winners,
    winners_legend,
    winners_view,
)


def pooled(x: np.ndarray, size: int = 2, stride: int | None = None, pad: int = 0) -> MaxPool2D:
    pool = MaxPool2D(size, stride, pad)
    pool.forward(x)
    return pool


def test_switches_read_back_as_the_engines_argmax() -> None:
    x = np.random.default_rng(0).normal(size=(3, 4, 8, 6))
    pool = pooled(x)
    from_switches = winner_grid(pool.cache["switches"], (2, 2, 0))
    assert from_switches is not None
    np.testing.assert_array_equal(from_switches, pool.cache["argmax"])
    np.testing.assert_array_equal(winner_grid(pool.cache["argmax"], (2, 2, 0)),
                                  pool.cache["argmax"])


def test_overlapping_windows_cannot_be_read_off_the_switches() -> None:
    pool = pooled(np.random.default_rng(1).normal(size=(1, 1, 7, 7)), 3, 2)
    assert winner_grid(pool.cache["switches"], (3, 2, 0)) is None
    assert winner_grid(pool.cache["argmax"], (3, 2, 0)) is not None


def test_ties_are_windows_whose_max_is_reached_twice() -> None:
    x = np.arange(16, dtype=float).reshape(1, 4, 4)
    x[0, :2, :2] = 0.0  # all four equal: a tie
    x[0, 2, 2] = x[0, 3, 3] = 99.0  # the max twice
    np.testing.assert_array_equal(window_ties(x, (2, 2, 0)), [[[True, False], [False, True]]])
    # padding never ties with a real entry
    assert not window_ties(np.ones((1, 3, 3)) * -5, (2, 2, 1))[0, 0, 0]


def test_every_window_gets_the_arrow_of_its_winner_at_full_size() -> None:
    x = np.random.default_rng(2).normal(size=(2, 3, 8, 8))
    pool = pooled(x)
    grid = pool.cache["argmax"]
    wv = winners_view(grid, 1, 0, max_rows=10, max_cols=30)
    assert (wv.first, wv.count, wv.crop) == (0, 3, None)  # 3 tiles of 4×4 side by side
    lines = winners(wv, 2).plain.split("\n")
    glyphs = winner_glyphs(2)
    for r, line in enumerate(lines):
        cells = line[0::2]  # a cell is the glyph and a space
        for c, ch in enumerate(cells.rstrip()):
            if ch == " ":  # the gap between channels
                continue
            n, chan, i, j = wv.view.index_of(r, c - c // 5)  # the view has no gap cells
            assert (n, chan, j) == (1, c // 5, c % 5) and ch == glyphs[grid[n, chan, i, j]]


def test_a_pane_too_small_for_one_channel_shows_the_part_around_the_cursor() -> None:
    grid = np.random.default_rng(3).integers(0, 4, size=(1, 5, 12, 12))
    wv = winners_view(grid, 0, 2, max_rows=4, max_cols=20, cursor=(9, 1))
    assert wv.crop == (7, 0, 4, 12) and wv.count == 1
    assert wv.view.index_of(2, 5) == (0, 2, 9, 5)
    assert "channel 2 of 5" in wv.view.how and "window rows 7–10 of 12" in wv.view.how


def test_ties_draw_a_dot_and_the_legend_fits_its_width() -> None:
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 3, 3] = 1.0
    pool = pooled(x)
    ties = window_ties(x[0], (2, 2, 0))
    wv = winners_view(pool.cache["argmax"], 0, 0, max_rows=5, max_cols=10, ties=ties)
    assert winners(wv, 2).plain.split("\n") == ["· · ", "· ↘ "]
    for width in (40, 66, 120):
        legend = winners_legend(2, width).plain
        assert len(legend) <= width and legend.startswith("↖ ↗ ↙ ↘") and "tie" in legend
