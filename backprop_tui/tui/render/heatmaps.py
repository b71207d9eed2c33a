"""The heatmap: one cell per value on the diverging ramp of :mod:`.colors`, glyphs for NaN, ±Inf,
values beyond an explicit scale and the cursor; its legend; and the bitmap of a boolean mask.

Speed: colour levels are quantised with numpy (:func:`heat_codes`), equal neighbours merge
into one span, and the ``Text`` is built in one go from the joined string and a list of
``Span`` with cached ``Style`` objects (:func:`_paint`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from rich.style import Style
from rich.text import Span, Text

from .colors import LEVELS, NEUTRAL, NONFINITE, _contrast, _rgb, level_color
from .grid import View, _as_grid, _valid_cursor, _with_gaps
from .numtext import fmt

# Cell codes of the heatmap grid: 0..2L are levels −L..L, then the special cells.
_NL = 2 * LEVELS + 1
C_NAN, C_POSINF, C_NEGINF, C_CLIPHI, C_CLIPLO, C_GAP = range(_NL, _NL + 6)
_NCODES = _NL + 6  # cursor variants are code + _NCODES, marked cells code + 2·_NCODES


@lru_cache(maxsize=16)
def _heat_palette(cell: int) -> tuple[list[str], list[Style | None]]:
    """Glyphs and Styles per heatmap code (and cursor variants), built once per cell width."""
    cell = max(1, cell)

    def pad(s: str) -> str:  # centred, so wide cells (the app widens small tensors) look right
        return s.center(cell)[:cell]

    glyphs: list[str] = [" " * cell] * _NL
    styles: list[Style | None] = [Style(bgcolor=_rgb(level_color(k - LEVELS))) for k in range(_NL)]
    mag = _rgb(NONFINITE)
    white = _contrast(NONFINITE)
    special = {
        C_NAN: "!!" if cell > 1 else "!",
        C_POSINF: "+∞" if cell > 1 else "+",
        C_NEGINF: "-∞" if cell > 1 else "-",
        C_CLIPHI: ">>" if cell > 1 else ">",
        C_CLIPLO: "<<" if cell > 1 else "<",
    }
    for code in (C_NAN, C_POSINF, C_NEGINF):
        glyphs.append(pad(special[code]))
        styles.append(Style(color=white, bgcolor=mag, bold=True))
    for code, lv in ((C_CLIPHI, LEVELS), (C_CLIPLO, -LEVELS)):
        rgb = level_color(lv)
        glyphs.append(pad(special[code]))
        styles.append(Style(color=_contrast(rgb), bgcolor=_rgb(rgb), bold=True))
    glyphs.append(" " * cell)  # gap between tiles: unstyled
    styles.append(None)
    # cursor variants
    cur = "[]" if cell > 1 else "X"
    for code in range(_NCODES):
        if code < _NL:
            rgb = level_color(code - LEVELS)
            glyphs.append(pad(cur))
            styles.append(Style(color=_contrast(rgb), bgcolor=_rgb(rgb), bold=True))
        elif code == C_GAP:
            glyphs.append(" " * cell)
            styles.append(None)
        else:
            glyphs.append(glyphs[code])
            styles.append((styles[code] or Style()) + Style(reverse=True))
    # marked variants (the entries that feed an explained one): ◆ on the cell's colour
    for code in range(_NCODES):
        if code < _NL:
            rgb = level_color(code - LEVELS)
            glyphs.append(pad("◆"))
            styles.append(Style(color=_contrast(rgb), bgcolor=_rgb(rgb), bold=True))
        else:
            glyphs.append(glyphs[code])
            styles.append(styles[code])
    return glyphs, styles


# -- heatmap -------------------------------------------------------------------------------------
def auto_scale(data: np.ndarray) -> float:
    """The heatmap's default scale: max |v| over the finite values (0.0 if there are none)."""
    d = np.asarray(data)
    if d.size == 0:
        return 0.0
    if d.dtype == np.bool_:
        return 1.0 if d.any() else 0.0
    d = d.astype(np.float64, copy=False)
    fin = np.isfinite(d)
    if not fin.all():
        d = d[fin]
        if d.size == 0:
            return 0.0
    return float(np.max(np.abs(d)))


def heat_codes(data: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Heatmap code of every value: ``code - LEVELS`` is its colour level in ``-32..32`` for finite
    values; special codes for NaN, ±Inf and values beyond an explicit ``scale``."""
    d = np.asarray(data, dtype=np.float64)
    s = auto_scale(d) if scale is None else float(scale)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if s > 0 and math.isfinite(s):
            lv = np.rint(np.clip(d / s, -1.0, 1.0) * LEVELS)
        else:
            lv = np.zeros_like(d)
        codes = np.nan_to_num(lv, nan=0.0).astype(np.int64) + LEVELS
        if scale is not None and s >= 0:
            codes[d > s] = C_CLIPHI
            codes[d < -s] = C_CLIPLO
    codes[np.isnan(d)] = C_NAN
    codes[np.isposinf(d)] = C_POSINF
    codes[np.isneginf(d)] = C_NEGINF
    return codes


def _paint(codes: np.ndarray, glyphs: Sequence[str], styles: Sequence[Style | None],
           cell: int) -> Text:
    """Text of a grid of codes: one line per row, one span per run of equal codes."""
    rows, cols = codes.shape
    if rows == 0 or cols == 0:
        return Text("")
    garr = np.asarray(glyphs, dtype=object)
    lines = ["".join(garr[row].tolist()) for row in codes]
    plain = "\n".join(lines)
    flat = codes.ravel()
    change = np.ones(codes.shape, dtype=bool)
    change[:, 1:] = codes[:, 1:] != codes[:, :-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], flat.size)
    ends = np.minimum(ends, (starts // cols + 1) * cols)
    line = cols * cell + 1
    s_char = (starts // cols) * line + (starts % cols) * cell
    e_char = s_char + (ends - starts) * cell
    spans = [Span(s, e, st) for s, e, k in zip(s_char.tolist(), e_char.tolist(),
                                               flat[starts].tolist(), strict=True)
             if (st := styles[k]) is not None]
    return Text(plain, spans=spans, end="")


def heatmap(view_or_2d: View | np.ndarray, *, scale: float | None = None,
            cursor: tuple[int, int] | None = None, cell: int = 2,
            marks: np.ndarray | None = None) -> Text:
    """A diverging-colour heatmap of a :class:`View` (or a 2-D array), ``cell`` chars per value.

    Colour level = ``round(v / scale · 32)`` on the blue–grey–red ramp; ``scale`` defaults to
    :func:`auto_scale` of the drawn values (pass the same number to :func:`legend`). NaN ``!!``,
    +Inf ``+∞``, −Inf ``-∞`` on magenta; beyond an explicit scale ``>>``/``<<``. The cursor cell
    (row, col of ``data``) shows ``[]`` on its colour (non-finite: reversed). Tiled views get a
    blank one-cell gap between tiles. ``marks`` (bool, the grid's shape): cells to point out,
    drawn ``◆`` on their colour. An empty tensor gives ``(empty)``.
    """
    data, tile = _as_grid(view_or_2d)
    if data.size == 0:
        return Text("(empty)", style="dim", end="")
    glyphs, styles = _heat_palette(cell)
    codes = heat_codes(data, scale)
    cur = cursor if _valid_cursor(cursor, data.shape) else None
    if marks is not None:
        codes = np.where(np.asarray(marks, dtype=bool).reshape(codes.shape),
                         codes + 2 * _NCODES, codes)
    codes, cur = _with_gaps(codes, tile, C_GAP, cur)
    if cur is not None:
        codes[cur] = codes[cur] % _NCODES + _NCODES
    return _paint(codes, glyphs, styles, max(1, cell))


def legend(scale: float, width: int = 30, *, signed: bool = True, nonfinite: bool = True,
           words: bool = True) -> Text:
    """The colour key: ``-0.53 ▕ramp▏ +0.53  diverging, 0 = grey  !! NaN ±∞``.

    ``width`` is the number of ramp characters. ``signed=False`` (a tensor with no negative
    values) shows only the grey → red half, ``0 … +max``, and says so (``words=False``: the
    ramp and its ends only, for a narrow pane). ``scale`` 0 (all zero, or no finite value) shows
    a single grey cell.
    """
    width = max(3, int(width))
    t = Text(end="")
    if not (scale > 0 and math.isfinite(scale)):
        t.append("  ", style=Style(bgcolor=_rgb(NEUTRAL)))
        t.append(" = 0 (no non-zero finite values)")
    else:
        lo = -LEVELS if signed else 0
        levels = np.rint(np.linspace(lo, LEVELS, width)).astype(int)
        t.append(f"{fmt(-scale) if signed else '0'} ▕")
        for lv in levels.tolist():
            t.append(" ", style=Style(bgcolor=_rgb(level_color(lv))))
        t.append(f"▏ +{fmt(scale)}")
        if words:
            t.append("  diverging, 0 = grey" if signed else "  all ≥ 0, 0 = grey")
    if nonfinite:
        t.append("  ")
        t.append("!!", style=Style(color=_contrast(NONFINITE), bgcolor=_rgb(NONFINITE), bold=True))
        t.append(" NaN ±∞")
    return t


# -- bitmap --------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _bit_palette(cell: int) -> tuple[list[str], list[Style | None]]:
    cell = max(1, cell)
    on, off = "█" * cell, ("·" + " " * cell)[:cell]
    cur = ("[]" + " " * cell)[:cell] if cell > 1 else "X"
    mark = ("◆" + " " * cell)[:cell]
    glyphs = [off, on, " " * cell, cur, cur, mark, mark]
    styles: list[Style | None] = [None, None, None, Style(bold=True),
                                  Style(bold=True, reverse=True), Style(bold=True),
                                  Style(bold=True, reverse=True)]
    return glyphs, styles


def bitmap(mask_2d: View | np.ndarray, *, cursor: tuple[int, int] | None = None,
           cell: int = 2, marks: np.ndarray | None = None) -> Text:
    """A boolean mask: ``██`` True, ``· `` False, in the terminal's own colours (so it reads on
    any theme). The cursor shows ``[]``: reversed (solid) on True, plain on False; ``marks``
    (bool, the grid's shape) show ``◆`` the same way. Non-bool input is taken as ``!= 0`` (NaN
    counts as True)."""
    data, tile = _as_grid(mask_2d)
    if data.size == 0:
        return Text("(empty)", style="dim", end="")
    codes = (np.asarray(data) != 0).astype(np.int64)
    if marks is not None:
        codes = np.where(np.asarray(marks, dtype=bool).reshape(codes.shape), codes + 5, codes)
    cur = cursor if _valid_cursor(cursor, data.shape) else None
    codes, cur = _with_gaps(codes, tile, 2, cur)
    if cur is not None:
        codes[cur] = codes[cur] % 5 + 3
    glyphs, styles = _bit_palette(cell)
    return _paint(codes, glyphs, styles, max(1, cell))
