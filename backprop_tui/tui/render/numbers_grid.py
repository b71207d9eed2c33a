"""Small tensors as numbers: :func:`numbers` prints every cell's ``fmt`` on its heatmap colour
(the same levels as :func:`.heatmaps.heatmap`), in black or white, whichever contrasts more;
:func:`numbers_widths`/:func:`numbers_size` say how much room that takes, so a caller can check
that the numbers fit before choosing them over a heatmap.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from rich.style import Style
from rich.text import Span, Text

from .colors import CURSOR, LEVELS, NONFINITE, _contrast, _rgb, level_color
from .grid import View, _as_grid, _valid_cursor, _with_gaps
from .heatmaps import _NCODES, _NL, C_CLIPHI, C_CLIPLO, C_NAN, C_NEGINF, C_POSINF, heat_codes
from .numtext import fmt

# -- numbers grid --------------------------------------------------------------------------------
NUMBERS_MIN = 8  #: default (minimum) characters per cell of :func:`numbers`


def _cell_strings(data: np.ndarray) -> list[list[str]]:
    """What each cell of :func:`numbers` prints: ``fmt`` of the value (``True``/``False`` for
    bool). float32/float16 values are judged at their own precision, as ``fmt`` does."""
    d = np.asarray(data)
    if d.dtype == np.bool_:
        return [["True" if v else "False" for v in row] for row in d.tolist()]
    if np.issubdtype(d.dtype, np.floating) and d.dtype.itemsize < 8:
        return [[fmt(v) for v in row] for row in d]  # numpy scalars keep their precision
    return [[fmt(v) for v in row] for row in d.tolist()]


def _column_widths(strings: list[list[str]], width: int,
                   col_labels: Sequence[str] | None) -> list[int]:
    """Characters per column: the longest value (or label) + a blank each side, ≥ ``width``."""
    widths = [max(int(width), 3)] * (len(strings[0]) if strings else 0)
    for row in strings:
        widths = [max(w, len(x) + 2) for w, x in zip(widths, row, strict=True)]
    if col_labels is not None:
        widths = [max(w, len(lab) + 2) for w, lab in zip(widths, col_labels, strict=True)]
    return widths


def numbers_widths(view_or_2d: View | np.ndarray, *, width: int = NUMBERS_MIN,
                   col_labels: Sequence[str] | None = None) -> list[int]:
    """Characters per column that :func:`numbers` uses for these values (untiled): ``width``,
    or more where a column's longest value (or its label) needs it, with one blank (or the
    cursor's bracket) on each side."""
    data, _ = _as_grid(view_or_2d)
    if data.size == 0:
        return []
    return _column_widths(_cell_strings(data), width, col_labels)


def numbers_size(view_or_2d: View | np.ndarray, *, width: int = NUMBERS_MIN,
                 row_labels: Sequence[str] | None = None,
                 col_labels: Sequence[str] | None = None) -> tuple[int, int]:
    """(characters, lines) that :func:`numbers` with these arguments draws (untiled), so a
    caller can check that the numbers fit before choosing them over a heatmap."""
    data, _ = _as_grid(view_or_2d)
    if data.size == 0:
        return len("(empty)"), 1
    lw = max(map(len, row_labels)) + 1 if row_labels else 0
    widths = numbers_widths(data, width=width, col_labels=col_labels)
    return lw + sum(widths), data.shape[0] + (col_labels is not None)


#: how a marked cell's number is drawn (on its own colour)
MARK = Style(bold=True, underline=True)


@lru_cache(maxsize=4)
def _number_styles(boolean: bool) -> tuple[list[Style | None], list[Style | None]]:
    """Styles per code of a numbers grid (heat codes, or 0/1 for bool), and their cursor
    variants: the cell inverted (reverse toggled), bold."""
    if boolean:
        base: list[Style | None] = [Style(dim=True), Style(reverse=True, bold=True)]
    else:
        base = []
        for code in range(_NCODES):
            if code < _NL:
                rgb = level_color(code - LEVELS)
                base.append(Style(color=_contrast(rgb), bgcolor=_rgb(rgb)))
            elif code in (C_NAN, C_POSINF, C_NEGINF):
                base.append(Style(color=_contrast(NONFINITE), bgcolor=_rgb(NONFINITE), bold=True))
            elif code in (C_CLIPHI, C_CLIPLO):
                rgb = level_color(LEVELS if code == C_CLIPHI else -LEVELS)
                base.append(Style(color=_contrast(rgb), bgcolor=_rgb(rgb), bold=True))
            else:  # C_GAP
                base.append(None)
    if boolean:  # both cells are already plain or inverted: the cursor is yellow
        mark = Style(color=_rgb((0, 0, 0)), bgcolor=_rgb(CURSOR), bold=True, dim=False,
                     reverse=False)
        return base, [st + mark for st in base if st is not None]
    cursor = [None if st is None else st + Style(bold=True, reverse=True) for st in base]
    return base, cursor


def numbers(view_or_2d: View | np.ndarray, *, scale: float | None = None,
            cursor: tuple[int, int] | None = None, width: int = NUMBERS_MIN,
            row_labels: Sequence[str] | None = None,
            col_labels: Sequence[str] | None = None,
            widths: Sequence[int] | None = None,
            marks: np.ndarray | None = None) -> Text:
    """A heatmap whose cells print their values: for small tensors, where the numbers are the
    point (a student compares them with a notebook).

    Every cell is ``fmt(value)`` right-aligned between one blank on each side, on the cell's
    heatmap colour (same levels as :func:`heatmap`, same ``scale``) in black or white, whichever
    contrasts more (:func:`text_color`: ≥ 4.5:1 on every colour). A column is ``width``
    characters wide, or as wide as its longest value (or label) needs (:func:`numbers_widths`:
    a number is never cut, and one tiny gradient in exponent form widens only its own column).
    NaN/±Inf print ``nan``/``inf``/``-inf`` bold on the heatmap's magenta. Bool grids
    print numpy's ``True``/``False`` (not ✓/·: a ReLU mask is True where the unit is *blocked*),
    True cells inverted (solid, in the theme's own colours) and False dim, so the pattern reads
    at a glance. The cursor cell (row, col of ``data``) is bracketed (``[ 0.5]``: the brackets
    take the blanks, so no column moves), bold and inverted (text colour as background, the
    heat colour as text); in a bool grid, where inverted already means True, it is black on
    the pictures' cursor yellow.

    ``col_labels`` (one per column) are printed right-aligned above the numbers, ``row_labels``
    (one per row) in a column on the left; both dim, and only for untiled grids. Tiled views get
    two blank columns (one blank line) between tiles. An empty tensor gives ``(empty)``.

    ``widths`` (one per column, untiled grids): columns at least this wide. A window onto a
    bigger tensor passes the widths of its whole columns, so that a column keeps its width
    while the rows scroll (a column is never narrower than its own values need).

    ``marks`` (bool, the shape of the grid): cells to point out (the entries that feed the one
    explained): ``▸`` takes the left blank (no column moves) and the number is bold and
    underlined; the cursor's brackets win on the cursor cell.
    """
    data, tile = _as_grid(view_or_2d)
    if data.size == 0:
        return Text("(empty)", style="dim", end="")
    rows, cols = data.shape
    boolean = data.dtype == np.bool_
    strings = _cell_strings(data)
    if tile is not None:
        row_labels = col_labels = None
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"{len(row_labels)} row labels for {rows} rows")
    if col_labels is not None and len(col_labels) != cols:
        raise ValueError(f"{len(col_labels)} column labels for {cols} columns")
    at_least = widths
    widths = _column_widths(strings, width, col_labels)
    if at_least is not None and tile is None:
        if len(at_least) != cols:
            raise ValueError(f"{len(at_least)} widths for {cols} columns")
        widths = [max(w, int(m)) for w, m in zip(widths, at_least, strict=True)]
    codes = np.asarray(data, dtype=np.int64) if boolean else heat_codes(data, scale)
    cur = cursor if _valid_cursor(cursor, data.shape) else None
    gap = -1
    marked = None if marks is None else np.asarray(marks, dtype=bool).reshape(data.shape)
    if tile is not None:
        if marked is not None:
            marked, _ = _with_gaps(marked, tile, False, None)
        codes, cur = _with_gaps(codes, tile, gap, cur)
        rp = np.arange(rows) + np.arange(rows) // tile[0]
        cp = np.arange(cols) + np.arange(cols) // tile[1]
        grid: list[list[str]] = [[""] * codes.shape[1] for _ in range(codes.shape[0])]
        for r, rr in enumerate(rp.tolist()):
            for c, cc in enumerate(cp.tolist()):
                grid[rr][cc] = strings[r][c]
        strings = grid
        gw = [2] * codes.shape[1]
        for c, cc in enumerate(cp.tolist()):
            gw[cc] = widths[c]
        widths = gw
    base, curs = _number_styles(bool(boolean))
    lw = max(len(s) for s in row_labels) + 1 if row_labels else 0
    lines: list[str] = []
    spans: list[Span] = []
    pos = 0
    if col_labels is not None:
        head = " " * lw + "".join(f" {lab:>{w - 2}} " for lab, w in zip(col_labels, widths,
                                                                         strict=True))
        spans.append(Span(0, len(head), Style(dim=True)))
        lines.append(head)
        pos = len(head) + 1
    for r, (row_codes, row_str) in enumerate(zip(codes.tolist(), strings, strict=True)):
        parts = []
        if row_labels:
            label = row_labels[r].ljust(lw - 1) + " "
            parts.append(label)
            spans.append(Span(pos, pos + lw, Style(dim=True)))
        x = pos + lw
        run_start, run_style = x, None
        for c, (code, s, w) in enumerate(zip(row_codes, row_str, widths, strict=True)):
            if code == gap:
                parts.append(" " * w)
                st = None
            elif cur is not None and (r, c) == cur:
                parts.append(f"[{s:>{w - 2}}]")
                st = curs[code]
            elif marked is not None and marked[r, c]:
                parts.append(f"▸{s:>{w - 2}} ")
                st = (base[code] or Style()) + MARK
            else:
                parts.append(f" {s:>{w - 2}} ")
                st = base[code]
            if st is not run_style:
                if run_style is not None:
                    spans.append(Span(run_start, x, run_style))
                run_start, run_style = x, st
            x += w
        if run_style is not None:
            spans.append(Span(run_start, x, run_style))
        line = "".join(parts)
        lines.append(line)
        pos += len(line) + 1
    return Text("\n".join(lines), spans=spans, end="")


def number_strings(a: np.ndarray) -> list[list[str]]:
    """What every cell of :func:`numbers` prints (``fmt``, or ``True``/``False``), by row; a
    vector is one row. For callers that keep them while only the cursor moves."""
    d = np.asarray(a)
    return _cell_strings(d.reshape(1, -1) if d.ndim < 2 else d)
