"""A window of numbers: the numbers of a 1-D or 2-D tensor that does not fit its pane, as a block
of whole rows and columns around the cursor, labelled with the true indices, that moves only
when the cursor leaves it (:func:`numbers_window`); a long vector wraps into lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.text import Text

from .blocks import _ceil_div
from .heatmaps import auto_scale
from .numbers_grid import NUMBERS_MIN, _cell_strings, _column_widths, numbers


# -- a window of numbers -------------------------------------------------------------------------
@dataclass(frozen=True)
class NumbersWindow:
    """What :func:`numbers_window` drew: a block of a tensor's numbers around the cursor.

    ``rows``/``cols`` are the rows and columns of the grid (``grid`` = its rows, cols) shown.
    For a matrix (and a vector on one line, a 1×D grid) that grid is the tensor itself. A vector
    wrapped into lines of ``per_line`` values is a grid of lines: line ``l`` holds entries
    ``l·per_line`` … ``l·per_line + per_line − 1`` (the last line may be shorter), and every
    line is shown whole. Pass ``start`` back to the next call: the window then moves only when
    the cursor leaves it.
    """

    text: Text
    rows: range
    cols: range
    grid: tuple[int, int]
    per_line: int = 0  #: a wrapped vector's values per line; 0 when not wrapped
    blocks: int = 1  #: a whole matrix printed as this many blocks of columns, one under another

    @property
    def start(self) -> tuple[int, int]:
        return self.rows.start, self.cols.start

    @property
    def whole(self) -> bool:
        """Every entry of the tensor is shown."""
        return len(self.rows) == self.grid[0] and len(self.cols) == self.grid[1]


def _scroll(sizes: Sequence[int], avail: int, cursor: int, start: int) -> tuple[int, int]:
    """``[lo, hi)``: consecutive items (of ``sizes`` characters or lines) that fit ``avail`` and
    hold ``cursor``. Starts from ``start`` (the last window) and moves only as far as the cursor
    needs: left to the cursor, or right until the cursor is the last item; then takes in as many
    further items as fit (right first, then left), so no room is wasted at the end."""
    n = len(sizes)
    cursor = min(max(cursor, 0), n - 1)
    lo = min(max(start, 0), cursor)
    hi, used = lo, 0
    while hi < n and used + sizes[hi] <= avail:
        used += sizes[hi]
        hi += 1
    if cursor >= hi:  # the cursor is past the right edge: make it the last item
        lo, hi, used = cursor, cursor + 1, sizes[cursor]
        while lo > 0 and used + sizes[lo - 1] <= avail:
            lo -= 1
            used += sizes[lo]
    while hi < n and used + sizes[hi] <= avail:
        used += sizes[hi]
        hi += 1
    while lo > 0 and used + sizes[lo - 1] <= avail:
        lo -= 1
        used += sizes[lo]
    return lo, max(hi, lo + 1)


def numbers_window(a: np.ndarray, *, max_width: int, max_lines: int,
                   cursor: tuple[int, int] = (0, 0), start: tuple[int, int] = (0, 0),
                   names: tuple[str, str] = ("", ""), scale: float | None = None,
                   width: int = NUMBERS_MIN,
                   strings: list[list[str]] | None = None,
                   marks: np.ndarray | None = None) -> NumbersWindow | None:
    """The numbers of a 1-D or 2-D tensor in ``max_width`` characters × ``max_lines`` lines:
    all of them if they fit, else a window of whole rows and columns that holds the cursor.

    * A matrix: the block around ``cursor`` (row, col), labelled with the true indices — rows
      ``n=5`` on the left, columns ``j=8`` above (``names`` = (row name, column name); no name:
      the bare index). Every column is as wide as its values need over *all* its rows, so it
      keeps its width while the rows scroll. When the whole matrix fits as blocks of columns
      one under another (numpy's way with a wide array: xor's 2×6 dW at 80 columns), it is
      printed whole that way (:attr:`NumbersWindow.blocks`).
    * A vector (``cursor`` = (0, j)): one line with labels ``j=0`` … when it fits; else wrapped
      into lines of ``per_line`` values, numpy-like: each line labelled with the index of its
      first entry (``j=10``), the columns ``+0`` … above, so an entry's index is its line's
      label plus its column's. ``per_line`` is a multiple of 5 when that still shows the whole
      vector, else as many as fit. (With one line only: a window along the line.)

    The window starts at ``start`` (the last window's :attr:`NumbersWindow.start`) and moves
    only when the cursor leaves it, by as little as possible; it always shows as many rows and
    columns as fit. Colours use ``scale`` (default :func:`auto_scale` of the *whole* tensor), so
    a value keeps its colour while the window moves. ``strings`` (optional): what the cells
    print, as :func:`number_strings` gives them, when the caller has them already.
    ``marks`` (bool, the shape of ``a``): entries to point out (:func:`numbers`' ``marks``).

    None when not even the widest column (with the row labels) fits ``max_width``, or
    ``max_lines`` < 1. The column labels need a line: with ``max_lines`` = 1 there are none.
    """
    d = np.asarray(a)
    if d.ndim == 0:
        d = d.reshape(1)
    if d.ndim > 2 or d.size == 0:
        raise ValueError(f"numbers_window takes a non-empty 1-D or 2-D tensor, not {d.shape}")
    max_width, max_lines = int(max_width), int(max_lines)
    if max_lines < 1:
        return None
    if scale is None and d.dtype != np.bool_:
        scale = auto_scale(d) or None
    grid = d.reshape(1, -1) if d.ndim == 1 else d
    mk = None if marks is None else np.asarray(marks, dtype=bool).reshape(grid.shape)
    if strings is None:
        strings = _cell_strings(grid)
    labels = max_lines >= 2  # the column labels take a line of their own
    body = max_lines - labels
    rname, cname = names

    def lab(name: str, i: int) -> str:
        return f"{name}={i}" if name else str(i)

    if d.ndim == 1:
        col_labels = [lab(cname, j) for j in range(d.size)] if labels else None
        one_line = _column_widths(strings, width, col_labels)
        if sum(one_line) > max_width and labels:
            return _wrapped_window(d, strings[0], max_width, body, cursor[1], start[0], cname,
                                   scale, width, None if mk is None else mk[0])
    rows, cols = grid.shape
    r = min(max(int(cursor[0]), 0), rows - 1)
    c = min(max(int(cursor[1]), 0), cols - 1)
    row_names = d.ndim == 2
    lw = len(lab(rname, rows - 1)) + 1 if row_names else 0
    all_labels = [lab(cname, j) for j in range(cols)] if labels else None
    widths = _column_widths(strings, width, all_labels)
    if lw + max(widths) > max_width:
        return None
    if row_names and all_labels and lw + sum(widths) > max_width:
        blocks = _column_blocks(widths, max_width - lw)
        if 1 < len(blocks) and len(blocks) * (rows + 1) <= max_lines:
            text = Text(end="")
            for k, (c0, c1) in enumerate(blocks):  # all of it, as numpy prints a wide array
                if k:
                    text.append("\n")
                text.append_text(numbers(
                    grid[:, c0:c1], scale=scale, width=width, widths=widths[c0:c1],
                    cursor=(r, c - c0) if c0 <= c < c1 else None,
                    row_labels=[lab(rname, i).ljust(lw - 1) for i in range(rows)],
                    col_labels=all_labels[c0:c1],
                    marks=None if mk is None else mk[:, c0:c1]))
            return NumbersWindow(text, range(rows), range(cols), (rows, cols),
                                 blocks=len(blocks))
    r0, r1 = _scroll([1] * rows, body, r, start[0])
    c0, c1 = _scroll(widths, max_width - lw, c, start[1])
    text = numbers(grid[r0:r1, c0:c1], scale=scale, cursor=(r - r0, c - c0), width=width,
                   row_labels=[lab(rname, i).ljust(lw - 1) for i in range(r0, r1)]
                   if row_names else None,
                   col_labels=all_labels[c0:c1] if all_labels else None, widths=widths[c0:c1],
                   marks=None if mk is None else mk[r0:r1, c0:c1])
    return NumbersWindow(text, range(r0, r1), range(c0, c1), (rows, cols))


def _column_blocks(widths: Sequence[int], avail: int) -> list[tuple[int, int]]:
    """Consecutive columns in blocks of at most ``avail`` characters: ``[(c0, c1), …]``."""
    blocks, c0, used = [], 0, 0
    for j, w in enumerate(widths):
        if used + w > avail and j > c0:
            blocks.append((c0, j))
            c0, used = j, 0
        used += w
    blocks.append((c0, len(widths)))
    return blocks


def _wrapped_window(d: np.ndarray, strings: list[str], max_width: int, body: int, j: int,
                    start: int, name: str, scale: float | None, width: int,
                    marks: np.ndarray | None = None) -> NumbersWindow | None:
    """A vector in lines of ``per_line`` values (see :func:`numbers_window`)."""
    n = d.size
    j = min(max(int(j), 0), n - 1)
    lens = np.fromiter((len(s) for s in strings), dtype=np.int64, count=n)

    def line_label(first: int) -> str:
        return f"{name}={first}" if name else str(first)

    lw = len(line_label(n - 1)) + 1

    def widths_for(p: int) -> list[int]:  # column k holds entries k, k + p, k + 2p, …
        m = _ceil_div(n, p)
        padded = np.zeros(m * p, dtype=np.int64)
        padded[:n] = lens
        need = padded.reshape(m, p).max(axis=0) + 2
        return [max(width, 3, int(w), len(f"+{k}") + 2) for k, w in enumerate(need.tolist())]

    most = 0
    for p in range(min(n, max(1, (max_width - lw) // max(3, width))), 0, -1):
        if lw + sum(widths_for(p)) <= max_width:
            most = p
            break
    if most == 0:
        return None
    # a multiple of 5 reads better (j=0, j=5, j=10 …) when it still shows the whole vector
    nice = [p for p in range(5 * (most // 5), 0, -5) if _ceil_div(n, p) <= body]
    per = nice[0] if nice else most
    widths = widths_for(per)
    lines = _ceil_div(n, per)
    here = j // per
    l0, l1 = _scroll([1] * lines, body, here, start)
    col_labels = [f"+{k}" for k in range(per)]
    full_end = min(l1, n // per)  # lines l0 … full_end − 1 hold per values each
    out = Text(end="")
    if full_end > l0:
        block = d[l0 * per:full_end * per].reshape(-1, per)
        out.append_text(numbers(
            block, scale=scale, width=width, widths=widths, col_labels=col_labels,
            cursor=(here - l0, j % per) if here < full_end else None,
            row_labels=[line_label(line * per).ljust(lw - 1) for line in range(l0, full_end)],
            marks=None if marks is None else marks[l0 * per:full_end * per].reshape(-1, per)))
    if l1 > full_end:  # the last, shorter line
        rest = d[full_end * per:]
        if full_end > l0:
            out.append("\n")
        out.append_text(numbers(
            rest.reshape(1, -1), scale=scale, width=width, widths=widths[:rest.size],
            col_labels=None if full_end > l0 else col_labels[:rest.size],
            cursor=(0, j - full_end * per) if here == full_end else None,
            row_labels=[line_label(full_end * per).ljust(lw - 1)],
            marks=None if marks is None else marks[full_end * per:].reshape(1, -1)))
    return NumbersWindow(out, range(l0, l1), range(per), (lines, per), per)
