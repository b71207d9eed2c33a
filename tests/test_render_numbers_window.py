"""``render.numbers_window``: the true entries around the cursor, a window that moves only when
the cursor leaves it, columns that keep their widths, long vectors wrapped into lines."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backprop_tui.tui import render as R

# -- a window of numbers -------------------------------------------------------------------------


@st.composite
def window_cases(draw):
    """A 1-D or 2-D tensor (some of them bigger than any pane), a pane size, index names."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    kind = draw(st.sampled_from(["normal", "tiny", "float32", "int", "bool", "mixed"]))
    shape = (draw(st.integers(1, 70)),) if draw(st.booleans()) else (
        draw(st.integers(1, 25)), draw(st.integers(1, 25)))
    if kind == "bool":
        a = rng.random(shape) > 0.5
    elif kind == "int":
        a = rng.integers(-200, 20000, size=shape)
    else:
        a = rng.normal(size=shape) * {"tiny": 1e-7}.get(kind, 1.0)
        if kind == "mixed":  # exponents in some columns, NaN/Inf, exact zeros
            special = rng.random(shape)
            a[special < 0.05] = np.nan
            a[(special >= 0.05) & (special < 0.08)] = -np.inf
            a[(special >= 0.08) & (special < 0.2)] = 0
            a[(special >= 0.2) & (special < 0.25)] *= 1e-9
        if kind == "float32":
            a = a.astype(np.float32)
    names = draw(st.sampled_from([("n", "j"), ("i", "j"), ("", "")]))
    if a.ndim == 1:
        names = ("", names[1])
    return a, names, draw(st.integers(8, 130)), draw(st.integers(1, 22))


def _index(token: str, name: str) -> int:
    """The index a label says: ``j=12`` (or a bare ``12`` when the axis has no name)."""
    if name:
        assert token.startswith(f"{name}="), token
        token = token[len(name) + 1:]
    return int(token)


def read_window(win: R.NumbersWindow, a: np.ndarray, names: tuple[str, str],
                labels: bool) -> tuple[dict[tuple[int, ...], str], tuple[int, ...] | None]:
    """What a window prints, read back from its text through its *labels* alone:
    {true index: printed text}, and the index of the bracketed (cursor) cell."""
    lines = win.text.plain.split("\n")
    rname, cname = names
    wrapped = win.per_line > 0
    cells: dict[tuple[int, ...], str] = {}
    cursor = None
    if labels:
        head = lines.pop(0).split()
        cols = [int(t[1:]) for t in head] if wrapped else [_index(t, cname) for t in head]
        if wrapped:
            assert cols == list(range(len(cols)))  # +0 +1 … +k: the offsets in a line
    else:
        cols = list(win.cols)
    for line in lines:
        tokens = line.replace("[", " ").replace("]", " ").split()
        if labels and not wrapped and a.ndim == 2 and tokens and all(
                re.fullmatch(rf"{cname}=\d+" if cname else r"\d+", t) for t in tokens) \
                and len(tokens) < len(line) and not re.match(r"\S", line):
            cols = [_index(t, cname) for t in tokens]  # the next block of columns
            continue
        labelled = wrapped or a.ndim == 2
        first = _index(tokens.pop(0), cname if wrapped else rname) if labelled else 0
        assert len(tokens) <= len(cols)
        if "[" in line:
            k = len(line[:line.index("[")].split()) - labelled
            cursor = (first + cols[k],) if wrapped else (first, cols[k])
        for k, text in enumerate(tokens):
            idx = (first + cols[k],) if wrapped else (first, cols[k])
            assert idx not in cells
            cells[idx] = text
    if a.ndim == 1 and not wrapped:  # one line: the row "index" 0 is not an index of a
        cells = {(j,): t for (_, j), t in cells.items()}
        cursor = None if cursor is None else (cursor[1],)
    return cells, cursor


@settings(max_examples=300, deadline=None)
@given(window_cases(), st.data())
def test_numbers_window_shows_the_true_entries_around_the_cursor(case, data) -> None:
    a, names, max_width, max_lines = case
    grid = a.reshape(1, -1).shape if a.ndim == 1 else a.shape
    cursor = (data.draw(st.integers(0, grid[0] - 1)), data.draw(st.integers(0, grid[1] - 1)))
    start = (data.draw(st.integers(0, grid[0])), data.draw(st.integers(0, grid[1])))
    win = R.numbers_window(a, max_width=max_width, max_lines=max_lines, cursor=cursor,
                           start=start, names=names)
    strings = R.number_strings(a)
    if win is None:  # only when not even the widest column (and the row labels) fits
        labels = max_lines >= 2
        widest = max(8, *(len(s) + 2 for row in strings for s in row))
        if a.ndim == 2:
            name, last = names[0], grid[0] - 1
            if labels:
                widest = max(widest, *(len(f"{names[1]}={j}") + 2 for j in range(grid[1])))
        else:
            name, last = names[1], a.size - 1  # a wrapped vector's line labels
        label_w = len(f"{name}={last}" if name else str(last)) + 1 if a.ndim == 2 or labels \
            else 0
        assert label_w + widest > max_width
        return
    lines = win.text.plain.split("\n")
    assert len(lines) <= max_lines and max(map(len, lines)) <= max_width  # it fits
    labels = max_lines >= 2
    cells, cur = read_window(win, a, names, labels)
    # every shown cell prints exactly fmt() of the entry its labels name
    flat = strings[0] if a.ndim == 1 else None
    for idx, text in cells.items():
        assert text == (flat[idx[0]] if flat is not None else strings[idx[0]][idx[1]]), idx
    # the cursor is inside the window, on the entry it stands for
    want = (cursor[1],) if a.ndim == 1 else cursor
    assert want in cells
    if labels or a.ndim == 2 or win.per_line:
        assert cur == want
    # the window is a block of consecutive rows and columns (lines of a wrapped vector)
    if win.per_line:
        per = win.per_line
        shown = sorted(j for (j,) in cells)
        assert shown == list(range(win.rows.start * per, min(a.size, win.rows.stop * per)))
        assert win.rows.start <= cursor[1] // per < win.rows.stop
    else:
        r, c = cursor
        assert r in win.rows and c in win.cols
        assert set(cells) == {((i, j) if a.ndim == 2 else (j,))
                              for i in win.rows for j in win.cols}
    assert win.whole == (len(cells) == a.size)


@settings(max_examples=150, deadline=None)
@given(window_cases(), st.lists(st.tuples(st.integers(-3, 3), st.integers(-9, 9)),
                                min_size=1, max_size=25))
# found by CI: after scrolling right and back left, a narrower column before the cursor is
# taken in because room was left — the window stays full, the cursor is not its first column
@example(case=(np.random.default_rng(0).standard_normal((8, 7)), ("n", "j"), 31, 1),
         moves=[(0, 3), (0, -2)])
def test_numbers_window_moves_only_when_the_cursor_leaves_it(case, moves) -> None:
    a, names, max_width, max_lines = case
    grid = a.reshape(1, -1).shape if a.ndim == 1 else a.shape
    cursor = (0, 0)
    win = R.numbers_window(a, max_width=max_width, max_lines=max_lines, names=names)
    if win is None:
        return
    strings = R.number_strings(a)
    labels = [f"{names[1]}={j}" if names[1] else str(j) for j in range(grid[1])]
    widths = [max(8, len(lab) + 2 if max_lines >= 2 else 0, *(len(row[j]) + 2 for row in strings))
              for j, lab in enumerate(labels)]
    lw = len(f"{names[0]}={grid[0] - 1}" if names[0] else str(grid[0] - 1)) + 1 \
        if a.ndim == 2 else 0
    for dr, dc in moves:
        cursor = (min(max(cursor[0] + dr, 0), grid[0] - 1),
                  min(max(cursor[1] + dc, 0), grid[1] - 1))
        new = R.numbers_window(a, max_width=max_width, max_lines=max_lines, names=names,
                               cursor=cursor, start=win.start)
        assert new is not None
        if win.per_line:
            inside = cursor[1] // win.per_line in win.rows
        else:
            inside = cursor[0] in win.rows and cursor[1] in win.cols
        if inside:  # no scrolling while the cursor stays in view
            assert (new.rows, new.cols) == (win.rows, win.cols)
        else:  # the window moved to it, and no further than it had to
            line = cursor[1] // win.per_line if win.per_line else cursor[0]
            assert line in new.rows
            assert new.rows.start == win.rows.start or line in (new.rows.start,
                                                                new.rows.stop - 1)
            if not win.per_line:
                assert cursor[1] in new.cols
                if new.cols.start < win.cols.start:  # left: the cursor is the first column…
                    right_full = new.cols.stop == grid[1] or \
                        lw + sum(widths[new.cols.start:new.cols.stop + 1]) > max_width
                    # …unless room was left after filling to the right: then narrower columns
                    # before the cursor are taken in too, so no room is wasted
                    assert cursor[1] == new.cols.start or right_full
                elif new.cols.start > win.cols.start:  # right: one column less to the left
                    # would not have held the cursor (columns have their own widths)
                    need = lw + sum(widths[new.cols.start - 1:cursor[1] + 1])
                    assert need > max_width
        win = new


def test_numbers_window_columns_keep_their_widths_while_the_rows_scroll() -> None:
    a = np.full((30, 12), 0.5)
    a[25, 3] = -1.2345678e-7  # a long value far below the first rows
    labels = [f"j={j}" for j in range(12)]
    top = R.numbers_window(a, max_width=200, max_lines=6, names=("n", "j"))
    assert top.rows == range(0, 5) and top.cols == range(0, 12)
    assert not top.whole
    # column 3 is as wide as its longest value needs, though that value is not shown yet
    head = top.text.plain.split("\n")[0]
    assert head == " " * 5 + "".join(
        f" {lab:>{(12 if j == 3 else 8) - 2}} " for j, lab in enumerate(labels))
    bottom = R.numbers_window(a, max_width=200, max_lines=6, names=("n", "j"),
                              cursor=(25, 3), start=top.start)
    assert bottom.rows == range(21, 26)  # the cursor's row became the last one
    assert bottom.text.plain.split("\n")[0] == head
    line = bottom.text.plain.split("\n")[-1]
    assert line.startswith("n=25 ") and "[-1.235e-07]" in line
    # colours: the whole tensor's scale, whichever part is shown
    assert R.numbers_window(a * [[1.0] * 11 + [10.0]], max_width=40, max_lines=6,
                            names=("n", "j")).text.spans == R.numbers(
        a[:5, :3], scale=5.0, width=8, col_labels=labels[:3],
        row_labels=[f"n={i}".ljust(4) for i in range(5)], cursor=(0, 0),
        widths=[8, 8, 8]).spans


def test_numbers_window_wraps_a_long_vector_into_lines_of_five() -> None:
    b = np.arange(23) / 4  # 0, 0.25 … 5.5
    win = R.numbers_window(b, max_width=60, max_lines=8, names=("", "j"), cursor=(0, 12))
    assert win.per_line == 5 and win.whole and win.rows == range(5)
    assert win.text.plain.split("\n") == [
        "     " + "".join(f" {f'+{k}':>6} " for k in range(5)),
        "j=0 " + " " + "".join(f" {R.fmt(v):>6} " for v in b[0:5]),
        "j=5 " + " " + "".join(f" {R.fmt(v):>6} " for v in b[5:10]),
        "j=10" + " " + "".join(f" {R.fmt(v):>6} " if k != 2 else f"[{R.fmt(v):>6}]"
                               for k, v in enumerate(b[10:15])),
        "j=15" + " " + "".join(f" {R.fmt(v):>6} " for v in b[15:20]),
        "j=20" + " " + "".join(f" {R.fmt(v):>6} " for v in b[20:23]),
    ]
    # fits on one line: no wrapping, labels j=0 …
    one = R.numbers_window(b[:4], max_width=60, max_lines=8, names=("", "j"))
    assert one.per_line == 0 and one.text.plain.split("\n")[0].split() == [
        "j=0", "j=1", "j=2", "j=3"]
    # too long for the lines: as many values a line as fit, the lines scroll
    win = R.numbers_window(b, max_width=40, max_lines=3, names=("", "j"), cursor=(0, 22))
    assert win.per_line == 4 and win.rows == range(4, 6) and not win.whole
    assert win.text.plain.split("\n")[-2:] == [
        "j=16 " + "".join(f" {R.fmt(v):>6} " for v in b[16:20]),
        "j=20 " + "      5    5.25 [   5.5]"]


def test_numbers_window_refuses_what_does_not_fit() -> None:
    a = np.full((3, 3), -1.2345678e-7)  # columns of 12 characters, row labels of 4
    assert R.numbers_window(a, max_width=15, max_lines=5, names=("n", "j")) is None
    win = R.numbers_window(a, max_width=16, max_lines=5, names=("n", "j"), cursor=(2, 2))
    assert win is not None and win.cols == range(2, 3) and win.rows == range(0, 3)
    assert R.numbers_window(a, max_width=80, max_lines=0) is None
    with pytest.raises(ValueError):
        R.numbers_window(np.zeros((2, 2, 2)), max_width=80, max_lines=5)


def test_a_wide_matrix_that_fits_in_blocks_of_columns_prints_whole() -> None:
    from backprop_tui.tui.render.numbers_window import numbers_window

    a = np.arange(12, dtype=float).reshape(2, 6) / 7 - 0.5
    win = numbers_window(a, max_width=32, max_lines=6, names=("i", "j"))
    assert win is not None and win.whole and win.blocks == 2
    lines = win.text.plain.split("\n")
    assert len(lines) == 6 and all(len(line) <= 32 for line in lines)
    assert lines[0].split() == ["j=0", "j=1", "j=2"] and lines[3].split()[0] == "j=3"
    # one line short of two blocks: a window that scrolls, as before
    win = numbers_window(a, max_width=32, max_lines=5, names=("i", "j"))
    assert win is not None and not win.whole and win.blocks == 1
