"""What the tensor pane prints for a tensor: every number (:class:`NumbersPlan`, with the most
index labels that fit), a window onto the numbers (:class:`WindowPlan`, when it shows a fair
part of the tensor: :func:`window_pays`), or colours only; the index names of a tensor's axes as
in the book (:func:`index_names`), and the words that say which part a window shows
(:func:`window_words`). Decided from the shape and the cell strings only: no textual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text

from .numbers_grid import NUMBERS_MIN, _column_widths
from .numbers_window import NumbersWindow

if TYPE_CHECKING:
    from ..session import TensorItem


#: When a numbers *window* (a block of rows and columns around the cursor) beats the heatmap.
#: A window is for reading entries; it pays while it shows a fair part of the tensor. Below
#: ~5% a student pages through 20 and more windows and never sees the whole, while the heatmap
#: shows the tensor's structure at a glance and its cursor line still prints any entry exactly.
#: And never above 4096 entries (a 64×64 matrix; MNIST's activations and weights are far
#: bigger): the window measures every column over all its rows, so that columns keep their
#: widths while the rows scroll, and that is ``fmt`` of every entry once per step: 3 ms for
#: 4096 entries (``render.number_strings`` of a 64×64 matrix on this 2-core box), a step's
#: budget is 50 ms.
WINDOW_MIN_SHARE = 0.05
WINDOW_MAX_ENTRIES = 4096


def window_pays(a: np.ndarray, width: int, rows: int, rname: str, cname: str) -> bool:
    """Whether a numbers window of ``width`` × ``rows`` would show at least
    :data:`WINDOW_MIN_SHARE` of ``a``: an estimate from the shape alone at typical column
    widths, so that deciding costs no ``fmt`` and does not flip while the cursor moves."""
    if a.size > WINDOW_MAX_ENTRIES or rows < 2:  # one line for the column labels
        return False
    if a.dtype == np.bool_:
        typical = 7  # "False" and a blank each side
    elif np.issubdtype(a.dtype, np.integer):
        typical = 5
    else:
        typical = 9  # "-0.1234"
    if a.ndim == 2:
        n_rows, n_cols = a.shape
        lw = len(f"{rname}={n_rows - 1}") + 1
        shown = min(n_rows, rows - 1) * min(n_cols, max(0, (width - lw) // typical))
    else:
        lw = len(f"{cname}={a.size - 1}") + 1
        shown = min(a.size, (rows - 1) * max(0, (width - lw) // typical))
    return shown >= max(1.0, WINDOW_MIN_SHARE * a.size)


@dataclass(frozen=True)
class WindowPlan:
    """Print a window onto the tensor's numbers (see :func:`.numbers_window.numbers_window`)."""

    width: int  #: least characters per cell
    names: tuple[str, str]  #: index names of the rows and columns (``n``, ``j``)
    axes: str  #: the index names in words


@dataclass(frozen=True)
class NumbersPlan:
    """How the tensor pane prints a small tensor's numbers (see :func:`.numbers_grid.numbers`)."""

    width: int  #: least characters per cell (a column is as wide as its values need)
    row_labels: list[str] | None
    col_labels: list[str] | None
    axes: str  #: the index names in words: ``y[n, j] · rows: n sample · cols: j unit``


def index_names(it: TensorItem, items: list[TensorItem], ndim: int) -> tuple[tuple[str, str],
                                                                       tuple[str, str]]:
    """Index names (and what they count) of a 1-D or 2-D tensor's rows and columns, as in the
    book's ``y[n, j] = Σᵢ x[n, i]·W[i, j] + b[j]``: n samples, i input units, j output units,
    k classes (the loss row)."""
    keys = {x.key for x in items}
    param_like = it.role in ("param", "delta") or (
        it.role == "gradient" and it.key not in ("dout", "dx", "dscores"))
    if "dscores" in keys:  # the loss row: samples × classes; targets per sample
        if ndim == 1:
            return ("", ""), ("n", "sample")
        return ("n", "sample"), ("k", "class")
    if param_like:
        if ndim == 1:
            return ("", ""), ("j", "output unit")
        return ("i", "input unit"), ("j", "output unit")
    if ndim == 1:
        return ("", ""), ("j", "unit")
    if it.key in ("x", "dx"):
        return ("n", "sample"), ("i", "input unit")
    return ("n", "sample"), ("j", "unit")


def numbers_plan(a: np.ndarray, it: TensorItem, items: list[TensorItem], width: int, rows: int,
                 zoomed: tuple[int, int], strings: Callable[[np.ndarray], list[list[str]]]
                 ) -> NumbersPlan | WindowPlan | str | None:
    """How to print the tensor's numbers in ``width`` × ``rows``: all of them (with the
    most labels that fit), or a window onto them; else None, or a hint when zooming the
    pane (to ``zoomed`` = (width, rows); (0, 0) when it is zoomed already) would show them.
    Only 0-, 1- and 2-D tensors. ``items`` are the row's tensors (they say which axis is
    which, :func:`index_names`); ``strings(a)`` gives what the cells print
    (:func:`.numbers_grid.number_strings`), asked only when all the numbers may fit."""
    if a.ndim > 2 or a.size == 0 or \
            not (a.dtype == np.bool_ or np.issubdtype(a.dtype, np.number)):
        return None
    full = a.reshape(1, -1) if a.ndim < 2 else a
    n_rows, n_cols = full.shape
    integral = a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer)
    min_w = 3 if integral else NUMBERS_MIN
    (rname, rwhat), (cname, cwhat) = index_names(it, items, a.ndim)
    if a.ndim == 0:
        rname = cname = ""
    idx = f"{rname}, {cname}" if rname else cname
    axes = f"{it.key}[{idx}] · " + (f"rows: {rname} {rwhat} · " if rname else "") + \
        f"cols: {cname} {cwhat}" if cname else f"{it.key}: scalar"
    # all of them, when they fit (cheap tests first: no fmt() of tensors that cannot)
    if n_cols * min_w <= width and n_rows <= rows:
        base = _column_widths(strings(a), min_w, None)
        if sum(base) <= width:
            return _full_plan(n_rows, n_cols, base, min_w, rname, cname, width, rows, axes)
    if a.ndim == 1:
        axes = f"{it.key}[{cname}] · {cname}: {cwhat}"
    if window_pays(a, width, rows, rname, cname):
        return WindowPlan(min_w, (rname, cname), axes)
    zw, zr = zoomed
    if zw and window_pays(a, zw, zr, rname, cname):
        return "numbers: tab, z zooms"
    return None


def _full_plan(n_rows: int, n_cols: int, base: list[int], min_w: int, rname: str, cname: str,
               width: int, rows: int, axes: str) -> NumbersPlan:
    """Every number, with the most labels that fit: n=0 … and j=0 …, then bare numbers,
    then fewer."""
    rl = [f"{rname}={i}" for i in range(n_rows)] if rname else None
    cl = [f"{cname}={j}" for j in range(n_cols)] if cname else None
    bare = [str(j) for j in range(n_cols)] if cname else None
    short = [str(i) for i in range(n_rows)] if rname else None
    for row_labels, col_labels in ((rl, cl), (rl, bare), (short, cl), (short, bare),
                                   (None, cl), (None, bare), (None, None)):
        widths = base if col_labels is None else [
            max(w, len(lab) + 2) for w, lab in zip(base, col_labels, strict=True)]
        lw = max(map(len, row_labels)) + 1 if row_labels else 0
        if lw + sum(widths) <= width:
            break
    if n_rows + 1 > rows:
        col_labels = None
    return NumbersPlan(min_w, row_labels, col_labels, axes)


def window_words(win: NumbersWindow, plan: WindowPlan, a: np.ndarray) -> Text:
    """`` · columns j=8…15 of 20 · ←→ scroll``: which part of the tensor the window shows,
    with the true indices."""
    rname, cname = plan.names

    def lab(name: str, i: int) -> str:
        return f"{name}={i}" if name else str(i)

    t = Text(end="")
    if win.per_line:
        n, per = a.size, win.per_line
        first, last = win.rows.start * per, min(n, win.rows.stop * per) - 1
        if win.whole:
            t.append(f" · all {n}, {per} a line", style="dim")
        else:
            t.append(f" · {lab(cname, first)}…{last} of {n}, {per} a line")
            t.append(" · ↑↓ scroll", style="dim")
        t.append(f" · {cname or 'index'} = line + column", style="dim")
        return t
    rows, cols = win.grid
    if win.blocks > 1:
        t.append(f" · all {rows * cols}, {win.blocks} blocks", style="dim")
        return t
    parts = []
    if len(win.rows) < rows:
        parts.append(f"rows {lab(rname, win.rows.start)}…{win.rows.stop - 1} of {rows}")
    if len(win.cols) < cols:
        parts.append(f"columns {lab(cname, win.cols.start)}…{win.cols.stop - 1} of {cols}")
    if parts:
        t.append(" · " + " · ".join(parts))
        keys = "arrows" if len(parts) == 2 else ("↑↓" if len(win.rows) < rows else "←→")
        t.append(f" · {keys} scroll", style="dim")
    return t
