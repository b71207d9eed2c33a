"""Marked cells (the entries that feed an explained one): ``▸`` before the number in a numbers
grid and window (no column moves), ``◆`` in a heatmap; the cursor's brackets win."""

from __future__ import annotations

import numpy as np

from backprop_tui.tui import render as R


def test_numbers_mark_cells_without_moving_a_column() -> None:
    a = np.array([[0.5, -0.25, 1.0], [2.0, 0.125, -1.5]])
    marks = np.zeros(a.shape, dtype=bool)
    marks[0, 1] = marks[1, 2] = True
    plain = R.numbers(a).plain.split("\n")
    marked = R.numbers(a, marks=marks, cursor=(1, 2)).plain.split("\n")
    assert [len(line) for line in marked] == [len(line) for line in plain]
    assert "▸ -0.25 " in marked[0]
    assert marked[0].count("▸") == 1
    assert "-1.5]" in marked[1] and "▸" not in marked[1]  # the cursor wins on its cell
    # the marked number is bold and underlined
    text = R.numbers(a, marks=marks)
    at = text.plain.index("▸") + 2
    styles = [sp.style for sp in text.spans if sp.start <= at < sp.end]
    assert any(getattr(s, "underline", False) and s.bold for s in styles)


def test_numbers_window_marks_the_entries_it_shows() -> None:
    a = np.arange(60, dtype=float).reshape(6, 10) / 7
    marks = np.zeros(a.shape, dtype=bool)
    marks[:, 3] = True
    win = R.numbers_window(a, max_width=40, max_lines=4, cursor=(0, 0), marks=marks)
    assert win is not None and not win.whole
    lines = win.text.plain.split("\n")[1:]  # the column labels first
    assert all(line.count("▸") == (1 if 3 in win.cols else 0) for line in lines)
    vec = R.numbers_window(np.arange(40) / 3, max_width=40, max_lines=6, cursor=(0, 0),
                           marks=np.arange(40) == 17)
    assert vec is not None and vec.text.plain.count("▸") == 1


def test_heatmap_marks_cells_with_a_diamond() -> None:
    a = np.array([[0.5, -0.25], [2.0, 0.125]])
    marks = np.array([[False, True], [True, False]])
    t = R.heatmap(a, marks=marks, cursor=(1, 0))
    assert t.plain.count("◆") == 1  # [1, 0] is the cursor: brackets
    assert "[]" in t.plain
    assert "◆" not in R.heatmap(a).plain


def test_bitmap_marks_cells_with_a_diamond() -> None:
    m = np.array([[True, False, True], [False, True, False]])
    marks = np.array([[True, True, False], [False, False, False]])
    t = R.bitmap(m, marks=marks, cursor=(1, 1))
    assert t.plain.count("◆") == 2 and "[]" in t.plain
    assert "◆" not in R.bitmap(m).plain
    assert R.bitmap(m, marks=np.zeros_like(m)).plain == R.bitmap(m).plain
