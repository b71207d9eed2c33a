"""Max-pool switches a student can read: one arrow per pooling window pointing at the entry that
won it (``↖ ↗ ↙ ↘`` for 2×2 windows, ``↖ ↑ ↗ ← • → ↙ ↓ ↘`` for 3×3, ``r,c`` beyond), ``·``
where the window was a tie (all its entries equal — all 0 after a ReLU — so the first one took
the gradient only because it came first).

:func:`winner_grid` turns what the layer cached (``argmax``: the index inside each window, or
``switches``: True at the winner, in the input's shape) into that index per window;
:func:`window_ties` finds the ties from the pool's input; :func:`winners_view` lays one sample's
channels out at full size — one cell per window, as many channels as fit, or a crop of one
channel that follows the cursor in a small pane — and :func:`winners` paints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from rich.style import Style
from rich.text import Text

from .grid import View, _check_cell, _valid_cursor, _with_gaps
from .heatmaps import _paint

Window = tuple[int, int, int]  #: (size, stride, pad) of square pooling windows


def winner_glyphs(size: int) -> list[str]:
    """The glyph of each position inside a ``size``×``size`` window, in window order (row by
    row): arrows for 2×2 and 3×3, ``r,c`` for larger windows."""
    if size == 1:
        return ["•"]
    if size == 2:
        return ["↖", "↗", "↙", "↘"]
    if size == 3:
        return ["↖", "↑", "↗", "←", "•", "→", "↙", "↓", "↘"]
    return [f"{r},{c}" for r in range(size) for c in range(size)]


def winner_words(size: int, q: int) -> str:
    """Where position ``q`` of a window is, in words: ``top-left``, ``row 1, col 3``."""
    r, c = divmod(int(q), size)
    if size in (2, 3):
        vert = "top" if r == 0 else ("bottom" if r == size - 1 else "middle")
        horiz = "left" if c == 0 else ("right" if c == size - 1 else "centre")
        return "centre" if vert == "middle" and horiz == "centre" else f"{vert}-{horiz}"
    return f"row {r}, col {c}"


def winner_grid(a: np.ndarray, window: Window) -> np.ndarray | None:
    """The index inside each window of the entry that won, ``(N, C, OH, OW)``: ``argmax`` as it
    is; ``switches`` (bool, the input's shape) read block by block when the windows tile the
    input. None when that cannot be read off the switches alone (overlapping or padded windows:
    an entry may be True because it won a neighbouring window)."""
    size, stride, pad = window
    if a.ndim != 4:
        return None
    if a.dtype != np.bool_:
        return a.astype(np.intp, copy=False)
    n, c, h, w = a.shape
    if pad or stride != size or h % size or w % size:
        return None
    oh, ow = h // size, w // size
    blocks = a.reshape(n, c, oh, size, ow, size).transpose(0, 1, 2, 4, 3, 5)
    return blocks.reshape(n, c, oh, ow, size * size).argmax(axis=-1)


def window_ties(x: np.ndarray, window: Window) -> np.ndarray:
    """True for the windows of ``x`` (C, H, W) — one sample of the pool's input — whose maximum
    was reached more than once (NaN windows count as ties: no entry is the max)."""
    size, stride, pad = window
    x = np.asarray(x, dtype=np.float64)
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    v = sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    m = v.max(axis=(-2, -1), keepdims=True)
    return (v == m).sum(axis=(-2, -1)) != 1


@dataclass(frozen=True)
class WinnersView:
    """What :func:`winners_view` laid out: the cell grid (a :class:`View` whose ``index_of``
    gives the window ``(n, c, i, j)``), the channels shown, and whether it is a crop of one."""

    view: View
    first: int  #: first channel shown
    count: int  #: channels shown (1 when cropped)
    channels: int  #: channels of the sample
    per_page: int  #: channels a page holds (the step of paging)
    crop: tuple[int, int, int, int] | None  #: (top, left, rows, cols) of a cropped channel
    ties: np.ndarray | None = None  #: True for the cells whose window was a tie
    words: tuple[str, ...] = ()  #: what is shown, in short parts (``view.how`` joins them)


def winners_view(grid: np.ndarray, sample: int, first: int, *, max_rows: int, max_cols: int,
                 cursor: tuple[int, int] = (0, 0), ties: np.ndarray | None = None
                 ) -> WinnersView:
    """Lay out sample ``sample`` of a ``(N, C, OH, OW)`` winner grid (or of just that sample,
    ``(1, C, OH, OW)``: ``sample`` then only names it) at full size in
    ``max_rows`` × ``max_cols`` cells (a one-cell gap between channels): the channels from
    ``first`` on that fit, in reading order; when not even one channel fits, the part of channel
    ``first`` around ``cursor`` (a window position in that channel). ``ties`` (C, OH, OW) of
    this sample (:func:`window_ties`) is laid out the same way."""
    n, c, oh, ow = grid.shape
    g = grid[0] if n == 1 else grid[sample]  # (C, OH, OW)
    first = max(0, min(first, c - 1))
    per_row = max(0, (max_cols + 1) // (ow + 1))
    tile_rows = max(0, (max_rows + 1) // (oh + 1))
    per_page = min(c, per_row * tile_rows)
    if per_page >= 1:
        count = min(per_page, c - first)
        cols = min(per_row, count)
        rows = -(-count // cols)
        tiles = np.full((rows * cols, oh, ow), -1, dtype=np.intp)
        tiles[:count] = g[first:first + count]

        def arrange(t: np.ndarray) -> np.ndarray:
            return t.reshape(rows, cols, oh, ow).transpose(0, 2, 1, 3).reshape(rows * oh,
                                                                               cols * ow)

        data = arrange(tiles)
        tied = None
        if ties is not None:
            tt = np.zeros((rows * cols, oh, ow), dtype=bool)
            tt[:count] = ties[first:first + count]
            tied = arrange(tt)

        def index_of(r: int, col: int) -> tuple[int, ...]:
            _check_cell(data, r, col)
            t = (r // oh) * cols + col // ow
            if t >= count:
                raise IndexError(f"cell ({r}, {col}) is past the last channel")
            return (sample, first + t, r % oh, col % ow)

        words = (f"channels {first}–{first + count - 1} of {c}", "one cell per window")
        how = ", ".join(words)
        view = View(data, index_of, "channel tile row · window row",
                    "channel tile column · window column", how, tile=(oh, ow),
                    tiles=(rows, cols), source=grid)
        return WinnersView(view, first, count, c, per_page, None, tied, words)
    rows, cols = max(1, min(oh, max_rows)), max(1, min(ow, max_cols))
    top = max(0, min(cursor[0] - rows // 2, oh - rows))
    left = max(0, min(cursor[1] - cols // 2, ow - cols))
    data = g[first, top:top + rows, left:left + cols]

    def crop_index(r: int, col: int) -> tuple[int, ...]:
        _check_cell(data, r, col)
        return (sample, first, top + r, left + col)

    words = (f"channel {first} of {c}", f"window rows {top}–{top + rows - 1} of {oh}")
    if cols < ow:
        words += (f"columns {left}–{left + cols - 1} of {ow}",)
    how = ", ".join(words)
    view = View(data, crop_index, "window row", "window column", how, source=grid)
    tied = ties[first, top:top + rows, left:left + cols] if ties is not None else None
    return WinnersView(view, first, 1, c, 1, (top, left, rows, cols), tied, words)


@lru_cache(maxsize=16)
def _palette(size: int, cell: int) -> tuple[list[str], list[Style | None]]:
    """Glyphs and styles by code: the window positions, each as a tie (dim ``·``), the gap,
    then all of them again under the cursor."""
    k2 = size * size
    pos = [g.center(cell)[:cell] for g in winner_glyphs(size)]
    tie = ["·".center(cell)[:cell]] * k2
    glyphs = pos + tie + [" " * cell]
    styles: list[Style | None] = [Style(bold=True)] * k2 + [Style(dim=True)] * k2 + [None]
    cur_glyphs = [g if g.strip() else "[]".center(cell)[:cell] for g in glyphs]
    glyphs = glyphs + cur_glyphs
    styles = styles + [Style(bold=True, reverse=True)] * len(cur_glyphs)
    return glyphs, styles


def winners(wv: WinnersView, size: int, *, cursor: tuple[int, int] | None = None) -> Text:
    """Paint a :func:`winners_view`: each window's arrow (bold), ``·`` for a tie (dim), the
    cursor reversed. Cells are :func:`winners_cell` characters wide (arrows: 2, so a 2×2
    window reads square)."""
    view, ties = wv.view, wv.ties
    data = view.data
    if data.size == 0:
        return Text("(empty)", style="dim", end="")
    k2 = size * size
    cell = winners_cell(size)
    glyphs, styles = _palette(size, cell)
    gap = 2 * k2
    codes = np.where(data < 0, gap, np.clip(data, 0, k2 - 1))
    if ties is not None:
        codes = np.where((data >= 0) & ties, codes + k2, codes)
    cur = cursor if _valid_cursor(cursor, data.shape) else None
    codes, cur = _with_gaps(codes, view.tile, gap, cur)
    if cur is not None:
        codes[cur] += gap + 1
    return _paint(codes, glyphs, styles, cell)


def winners_cell(size: int) -> int:
    """Characters per window cell of :func:`winners`."""
    return max(len(g) for g in winner_glyphs(size)) + 1


def winners_legend(size: int, width: int) -> Text:
    """``↖ ↗ ↙ ↘ where the max of each 2×2 window was (it takes the gradient)  · a tie…``: the
    longest wording that fits ``width``."""
    glyphs = " ".join(winner_glyphs(size)) if size <= 3 else "r,c"
    wordings = [
        (f" where the max of each {size}×{size} window was (it takes the gradient)",
         " a tie: the first entry took it"),
        (f" where each {size}×{size} window's max was", " tie: first taken"),
        (f" max of each {size}×{size} window", " tie"),
    ]
    for what, tie in wordings:
        if len(glyphs) + len(what) + 3 + len(tie) <= width:
            break
    t = Text(end="")
    t.append(glyphs, style="bold")
    t.append(what, style="dim")
    t.append("  ·", style="bold")
    t.append(tie, style="dim")
    return t
