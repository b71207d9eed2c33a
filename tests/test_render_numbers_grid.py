"""``render.numbers``: every cell prints ``fmt`` of its value on its heatmap colour, with text
that contrasts, column widths that fit the longest value, the cursor, masks, tiled views."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text
from test_render_colors import bg, style_at

from backprop_tui.tui import render as R

# -- numbers grid ---------------------------------------------------------------------------------


def number_cells(t: Text, widths: list[int], rows: int, *, header: bool = False,
                 label_w: int = 0) -> list[list[str]]:
    """The cell strings of a :func:`R.numbers` grid with columns ``widths`` wide."""
    lines = t.plain.split("\n")[1 if header else 0:]
    assert len(lines) == rows
    assert all(len(line) == label_w + sum(widths) for line in lines)
    edges = np.cumsum([label_w, *widths]).tolist()
    return [[line[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)] for line in lines]


@st.composite
def small_tensors(draw):
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    kind = draw(st.sampled_from(["normal", "tiny", "huge", "float32", "int", "bool", "round"]))
    if kind == "bool":
        return rng.random((rows, cols)) > 0.5
    if kind == "int":
        return rng.integers(-20, 200, size=(rows, cols))
    a = rng.normal(size=(rows, cols))
    a *= {"tiny": 1e-7, "huge": 1e12}.get(kind, 1.0)
    if kind == "round":
        a = np.round(a * 4) / 4  # exact short values: 0.25, -1.5, 0
    if kind == "float32":
        a = a.astype(np.float32)
    special = rng.random((rows, cols))
    a[special < 0.08] = np.nan
    a[(special >= 0.08) & (special < 0.12)] = np.inf
    a[(special >= 0.12) & (special < 0.15)] = -np.inf
    a[(special >= 0.15) & (special < 0.25)] = 0
    return a


def _fmt_cell(v: object) -> str:
    if isinstance(v, np.bool_ | bool):
        return str(bool(v))
    return R.fmt(v)


@settings(max_examples=200, deadline=None)
@given(small_tensors(), st.booleans(), st.integers(3, 12))
def test_numbers_every_cell_prints_fmt_of_its_value(a, labels, width) -> None:
    rows, cols = a.shape
    row_labels = [f"n={i}" for i in range(rows)] if labels else None
    col_labels = [f"j={j}" for j in range(cols)] if labels else None
    t = R.numbers(a, width=width, row_labels=row_labels, col_labels=col_labels)
    label_w = max(map(len, row_labels)) + 1 if row_labels else 0
    widths = R.numbers_widths(a, width=width, col_labels=col_labels)
    assert R.numbers_size(a, width=width, row_labels=row_labels, col_labels=col_labels) == (
        label_w + sum(widths), rows + labels)
    cells = number_cells(t, widths, rows, header=labels, label_w=label_w)
    for c in range(cols):  # as wide as the column's longest value needs, and ≥ width
        longest = max(len(_fmt_cell(v)) for v in a[:, c])
        assert widths[c] == max(width, 3, longest + 2, len(col_labels[c]) + 2 if labels else 0)
    for r in range(rows):
        for c in range(cols):
            cell = cells[r][c]
            assert cell[0] == " " and cell[-1] == " "  # one blank each side: room for [ ]
            assert cell.strip() == _fmt_cell(a[r, c])  # exactly fmt(value), never cut
            assert cell[1:-1] == cell.strip().rjust(widths[c] - 2)  # right-aligned
    if labels:  # column labels end where the numbers end; row labels start each line
        head = t.plain.split("\n")[0]
        end = label_w
        for c in range(cols):
            end += widths[c]
            assert head[:end].rstrip() == head[:end - 1] and head[:end - 1].endswith(f"j={c}")
        assert [line[:label_w].strip() for line in t.plain.split("\n")[1:]] == row_labels
    # a cursor anywhere brackets its cell and moves nothing
    rng = np.random.default_rng(rows * 31 + cols)
    cur = (int(rng.integers(rows)), int(rng.integers(cols)))
    tc = R.numbers(a, width=width, cursor=cur, row_labels=row_labels, col_labels=col_labels)
    ccells = number_cells(tc, widths, rows, header=labels, label_w=label_w)
    for r in range(rows):
        for c in range(cols):
            if (r, c) == cur:
                assert ccells[r][c] == "[" + cells[r][c][1:-1] + "]"
            else:
                assert ccells[r][c] == cells[r][c]


def _cell_styles(t: Text, a: np.ndarray) -> dict:
    """Styles of every character of every cell of an unlabelled numbers grid of ``a``."""
    rows, _ = a.shape
    widths = R.numbers_widths(a)
    edges = np.cumsum([0, *widths]).tolist()
    line = sum(widths) + 1
    return {(r, c): [style_at(t, r * line + k) for k in range(edges[c], edges[c + 1])]
            for r in range(rows) for c in range(len(widths))}


def test_numbers_colours_are_the_heatmaps_and_text_contrasts_on_every_level() -> None:
    # one value per colour level, and the special values
    vals = np.arange(-R.LEVELS, R.LEVELS + 1) / R.LEVELS
    a = np.concatenate([vals, [np.nan, np.inf, -np.inf]]).reshape(1, -1)
    t = R.numbers(a)
    h = R.heatmap(a, cell=1)
    styles = _cell_styles(t, a)
    for c in range(a.shape[1]):
        cell = styles[0, c]
        assert len({(s.color, s.bgcolor, s.bold) for s in cell}) == 1  # the whole cell, blanks too
        back = tuple(cell[0].bgcolor.triplet)
        text = tuple(cell[0].color.triplet)
        if c < vals.size:
            assert back == bg(h, c) == R.level_color(c - R.LEVELS)  # same colour as the heatmap
        else:
            assert back == R.NONFINITE and cell[0].bold
        assert text in {(0, 0, 0), (255, 255, 255)}
        assert text == R.text_color(back)
        # WCAG AA for text (4.5:1) on every level, so it reads in light and dark themes alike
        assert R.contrast_ratio(text, back) >= 4.5
        other = (255, 255, 255) if text == (0, 0, 0) else (0, 0, 0)
        assert R.contrast_ratio(text, back) >= R.contrast_ratio(other, back)
    # the ends: white on saturated red and blue, black on the mid grey of 0
    assert R.text_color(R.POS_END) == R.text_color(R.NEG_END) == (255, 255, 255)
    assert R.text_color(R.NEUTRAL) == (0, 0, 0)


def test_numbers_nan_inf_and_an_explicit_scale() -> None:
    a = np.array([[np.nan, np.inf, -np.inf, 0.5, 3.0, -3.0]])
    t = R.numbers(a, scale=1.0)
    cells = number_cells(t, R.numbers_widths(a), 1)
    assert [c.strip() for c in cells[0]] == ["nan", "inf", "-inf", "0.5", "3", "-3"]
    styles = _cell_styles(t, a)
    for c in range(3):
        assert tuple(styles[0, c][0].bgcolor.triplet) == R.NONFINITE and styles[0, c][0].bold
    assert tuple(styles[0, 3][0].bgcolor.triplet) == R.level_color(R.LEVELS // 2)
    # beyond the scale: the full colour, bold (the number says how far beyond)
    assert tuple(styles[0, 4][0].bgcolor.triplet) == R.POS_END and styles[0, 4][0].bold
    assert tuple(styles[0, 5][0].bgcolor.triplet) == R.NEG_END and styles[0, 5][0].bold
    # all NaN: still every value printed, nothing raises
    assert R.numbers(np.full((2, 2), np.nan)).plain.split() == ["nan"] * 4


def test_numbers_cursor_is_inverted_bold_and_bracketed() -> None:
    a = np.array([[0.0, 1.0], [-1.0, np.nan]])
    w = 8  # all values short: every column the default width
    assert R.numbers_widths(a) == [w, w]
    for cur in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        t = R.numbers(a, cursor=cur)
        plain = R.numbers(a).plain
        off = cur[0] * (2 * w + 1) + cur[1] * w
        assert t.plain[off] == "[" and t.plain[off + w - 1] == "]"
        assert t.plain[:off] + t.plain[off + w:] == plain[:off] + plain[off + w:]
        plain_style = _cell_styles(R.numbers(a), a)[cur][0]
        s = style_at(t, off + 1)
        assert s.reverse and s.bold
        assert (s.color, s.bgcolor) == (plain_style.color, plain_style.bgcolor)
        # the other cells are not reversed
        for other in {(0, 0), (0, 1), (1, 0), (1, 1)} - {cur}:
            assert not _cell_styles(t, a)[other][0].reverse
    # outside the grid: ignored
    assert R.numbers(a, cursor=(5, 0)).plain == R.numbers(a).plain


def test_numbers_of_a_mask_prints_true_false_and_the_cursor_is_yellow() -> None:
    m = np.array([[True, False, True]])
    assert R.numbers_widths(m) == [8, 8, 8]  # at least `width`
    widths = R.numbers_widths(m, width=3)
    assert widths == [6, 7, 6]  # "True"/"False" + a blank each side
    t = R.numbers(m, width=3)
    cells = number_cells(t, widths, 1)
    assert [c.strip() for c in cells[0]] == ["True", "False", "True"]
    assert style_at(t, 0).reverse and style_at(t, 0).bold  # True: inverted (solid)
    assert style_at(t, 6).dim and not style_at(t, 6).reverse  # False: dim
    for cur, off in [((0, 0), 0), ((0, 1), 6)]:
        tc = R.numbers(m, cursor=cur, width=3)
        s = style_at(tc, off + 1)
        assert tuple(s.bgcolor.triplet) == R.CURSOR and tuple(s.color.triplet) == (0, 0, 0)
        assert not s.reverse and not s.dim and s.bold
        assert tc.plain[off] == "["


def test_numbers_columns_grow_to_their_longest_value_and_views_work() -> None:
    a = np.array([[1.0, -1.2345678e-7], [0.5, 2.0]])
    # only the column with the long value is wider
    assert R.numbers_widths(a) == [8, len("-1.235e-07") + 2]
    assert R.numbers(a).plain == "      1  -1.235e-07 \n    0.5           2 "
    assert R.numbers_widths(np.array([[1, 2]]), width=3) == [3, 3]
    # labels widen their column too, and are never cut
    assert R.numbers_widths(np.array([[1, 2]]), width=3, col_labels=["j=0", "j=10"]) == [5, 6]
    assert R.numbers_size(a, row_labels=["n=0", "n=1"], col_labels=["0", "1"]) == (4 + 20, 3)
    # a full-size View from layout: same as the array
    v = R.layout(a, max_rows=5, max_cols=5)
    assert R.numbers(v).plain == R.numbers(a).plain and not v.downsampled
    # 1-D is one row; empty draws (empty)
    assert R.numbers(np.array([0.5, 2.0])).plain == "    0.5       2 "
    assert R.numbers(np.zeros((0, 3))).plain == "(empty)"
    with pytest.raises(ValueError, match="row labels"):
        R.numbers(a, row_labels=["a"])


def test_numbers_of_a_tiled_view_leaves_a_blank_cell_between_tiles() -> None:
    x = np.arange(2 * 2 * 2, dtype=float).reshape(1, 2, 2, 2)  # 1 sample, 2 channels of 2×2
    v = R.layout(x, max_rows=10, max_cols=10)
    assert v.tile == (2, 2)
    t = R.numbers(v, row_labels=["x"] * 9)  # labels are ignored for tiles
    w = 8
    lines = t.plain.split("\n")
    assert [line[2 * w:2 * w + 2] for line in lines] == ["  ", "  "]  # the gap column
    assert all(len(line) == 4 * w + 2 for line in lines)
    assert lines[0].split() == ["0", "1", "4", "5"]
    assert lines[1].split() == ["2", "3", "6", "7"]
