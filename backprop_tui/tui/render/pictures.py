"""Half-block pictures: two pixels per character (``▀``, fg = upper pixel, bg = lower pixel), in
grayscale or on the heatmap ramp; one picture (:func:`halfblock`) or a grid of filters or
feature maps on one scale (:func:`image_grid`, sized by :func:`fit_images`); and which tensors
can be drawn as pictures at all (:func:`image_kind`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from rich.style import Style
from rich.text import Span, Text

from .blocks import _block_reduce, _ceil_div
from .colors import CURSOR, LEVELS, NONFINITE, _rgb, level_color
from .grid import _valid_cursor
from .heatmaps import auto_scale

if TYPE_CHECKING:
    from ..session import TensorItem


# -- pictures ------------------------------------------------------------------------------------
GRAY_LEVELS = 64
_P_NONFINITE, _P_CURSOR, _P_BLANK = 100, 101, 102
_PC = 128  # pixel code space; a text cell's code is upper * _PC + lower


def _pixel_rgb(code: int, diverging: bool) -> tuple[int, int, int] | None:
    if code == _P_BLANK:
        return None
    if code == _P_NONFINITE:
        return NONFINITE
    if code == _P_CURSOR:
        return CURSOR
    if diverging:
        return level_color(code - LEVELS)
    g = round(code * 255 / (GRAY_LEVELS - 1))
    return (g, g, g)


@lru_cache(maxsize=20000)
def _pair_style(code: int, diverging: bool) -> Style | None:
    up, lo = divmod(code, _PC)
    fg, bg = _pixel_rgb(up, diverging), _pixel_rgb(lo, diverging)
    if fg is None and bg is None:
        return None
    return Style(color=_rgb(fg) if fg else None, bgcolor=_rgb(bg) if bg else None)


def _pixel_codes(img: np.ndarray, vmin: float | None, vmax: float | None,
                 diverging: bool) -> np.ndarray:
    d = np.asarray(img, dtype=np.float64)
    fin = np.isfinite(d)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if diverging:
            s = auto_scale(d) if vmax is None else float(vmax)
            if vmin is not None and vmax is None:
                s = abs(float(vmin))
            q = np.clip(d / s, -1, 1) * LEVELS if s > 0 else np.zeros_like(d)
            codes = np.rint(np.nan_to_num(q)).astype(np.int64) + LEVELS
        else:
            lo = float(np.min(d[fin])) if vmin is None and fin.any() else (vmin or 0.0)
            hi = float(np.max(d[fin])) if vmax is None and fin.any() else (
                vmax if vmax is not None else 1.0)
            if hi > lo:
                q = np.clip((d - lo) / (hi - lo), 0, 1) * (GRAY_LEVELS - 1)
            else:
                q = np.full_like(d, (GRAY_LEVELS - 1) / 2)
            codes = np.rint(np.nan_to_num(q)).astype(np.int64)
    codes[~fin] = _P_NONFINITE
    return codes


def _paint_pixels(px: np.ndarray, diverging: bool) -> Text:
    """Pixel codes (H, W) → half-block text: ``▀`` with fg = upper pixel, bg = lower pixel."""
    return paint_codes(px, _P_BLANK, _PC, lambda k: _pair_style(k, diverging))


def paint_codes(px: np.ndarray, blank_code: int, base: int,
                style_of: Callable[[int], Style | None]) -> Text:
    """Pixel codes (H, W), all below ``base`` → half-block text, two pixel rows per line: a
    text cell's code is ``upper · base + lower`` and ``style_of(code)`` its style; a cell of two
    ``blank_code`` pixels is a space. Equal neighbours share one span."""
    h, w = px.shape
    if h == 0 or w == 0:
        return Text("(empty)", style="dim", end="")
    if h % 2:
        px = np.vstack([px, np.full((1, w), blank_code, dtype=px.dtype)])
    pairs = px[0::2] * base + px[1::2]
    blank = blank_code * base + blank_code
    chars = np.where(pairs == blank, " ", "▀")
    plain = "\n".join("".join(row) for row in chars.tolist())
    rows, cols = pairs.shape
    flat = pairs.ravel()
    change = np.ones(pairs.shape, dtype=bool)
    change[:, 1:] = pairs[:, 1:] != pairs[:, :-1]
    starts = np.flatnonzero(change)
    ends = np.minimum(np.append(starts[1:], flat.size), (starts // cols + 1) * cols)
    s_char = (starts // cols) * (cols + 1) + starts % cols
    e_char = s_char + (ends - starts)
    spans = [Span(s, e, st) for s, e, k in zip(s_char.tolist(), e_char.tolist(),
                                               flat[starts].tolist(), strict=True)
             if (st := style_of(k)) is not None]
    return Text(plain, spans=spans, end="")


def halfblock(img_2d: np.ndarray, *, vmin: float | None = None, vmax: float | None = None,
              cursor: tuple[int, int] | None = None, diverging: bool = False) -> Text:
    """A picture with two pixels per character: ``▀`` with fg = upper pixel, bg = lower pixel.

    H×W pixels → W columns × ceil(H/2) lines (an odd last row has no background). Grayscale
    from ``vmin`` (black) to ``vmax`` (white), default the finite min/max, values outside
    clipped; a constant picture is mid grey. ``diverging=True`` uses the heatmap ramp with
    scale ``vmax`` (default max|v|). NaN/±Inf pixels are magenta, the cursor pixel (row, col)
    yellow.
    """
    d = np.asarray(img_2d)
    if d.ndim != 2:
        d = d.reshape(1, -1) if d.ndim < 2 else d.reshape(-1, d.shape[-1])
    if d.size == 0:
        return Text("(empty)", style="dim", end="")
    px = _pixel_codes(d, vmin, vmax, diverging)
    if _valid_cursor(cursor, px.shape):
        px[cursor] = _P_CURSOR  # type: ignore[index]
    return _paint_pixels(px, diverging)


def fit_images(k: int, h: int, w: int, *, max_rows: int, max_cols: int,
               gap: int = 1) -> tuple[int, int]:
    """``(cols, factor)`` for :func:`image_grid` so that k pictures of h×w pixels fit in
    ``max_rows`` lines × ``max_cols`` characters: the smallest downsampling factor (block mean of
    factor×factor pixels) for which some number of columns fits, with the most columns. If even
    1-pixel tiles do not fit, the densest layout (taller than ``max_rows``)."""
    k, h, w = max(1, k), max(1, h), max(1, w)
    max_rows, max_cols, gap = max(1, max_rows), max(1, max_cols), max(0, gap)
    for f in range(1, max(h, w) + 1):
        hh, ww = _ceil_div(h, f), _ceil_div(w, f)
        lines = _ceil_div(hh, 2)
        for cols in range(k, 0, -1):
            rows = _ceil_div(k, cols)
            if (cols * ww + (cols - 1) * gap <= max_cols
                    and rows * lines + (rows - 1) * gap <= max_rows):
                return cols, f
    f = max(h, w)
    return max(1, min(k, (max_cols + gap) // (1 + gap))), f


def image_grid(images: np.ndarray, *, cols: int, gap: int = 1, vmin: float | None = None,
               vmax: float | None = None, cursor: tuple[int, int, int] | None = None,
               diverging: bool = False, factor: int = 1) -> Text:
    """(K, H, W) pictures (filters, feature maps) as half-block tiles, ``cols`` per row.

    All tiles share one scale (default: over all K images), so brightness compares across tiles.
    ``gap`` blank columns between tiles and ``gap`` blank lines between tile rows; each tile is W
    columns × ceil(H/2) lines. ``cursor`` is (k, row, col) in original pixels. (K, 1, H, W) is
    accepted. ``factor`` > 1 draws the block mean of factor×factor pixels (see
    :func:`fit_images`; say so next to the picture).
    """
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"image_grid wants (K, H, W) images, got shape {x.shape}")
    if x.size == 0:
        return Text("(empty)", style="dim", end="")
    factor = max(1, int(factor))
    if factor > 1:
        x = _block_reduce(x, {1: factor, 2: factor}, "mean")
        if cursor is not None:
            cursor = (cursor[0], cursor[1] // factor, cursor[2] // factor)
    k, h, w = x.shape
    cols = max(1, min(int(cols), k))
    gap = max(0, int(gap))
    px = _pixel_codes(x, vmin, vmax, diverging)
    if cursor is not None and 0 <= cursor[0] < k and 0 <= cursor[1] < h and 0 <= cursor[2] < w:
        px[tuple(cursor)] = _P_CURSOR
    return _paint_pixels(tile_codes(px, cols, gap, _P_BLANK), diverging)


def tile_codes(px: np.ndarray, cols: int, gap: int, blank_code: int) -> np.ndarray:
    """(K, H, W) pixel codes laid out ``cols`` tiles per row on a ``blank_code`` canvas: ``gap``
    blank columns between tiles, ``gap`` blank text lines between tile rows (each tile padded
    to whole text lines)."""
    k, h, w = px.shape
    hp = h + (h % 2)
    rows = _ceil_div(k, cols)
    canvas = np.full((rows * hp + (rows - 1) * 2 * gap, cols * w + (cols - 1) * gap),
                     blank_code, dtype=np.int64)
    for i in range(k):
        r, c = divmod(i, cols)
        y, xx = r * (hp + 2 * gap), c * (w + gap)
        canvas[y:y + h, xx:xx + w] = px[i]
    return canvas


def image_kind(item: TensorItem) -> str | None:
    """How ``item`` can be drawn as pictures: ``maps`` (N, C, H, W), ``filters`` (FN, C, FH,
    FW), ``flat`` (N, H·W with a known picture shape), or None."""
    a = item.array
    if a is None or a.dtype == np.bool_:
        return None
    if a.ndim == 4 and a.shape[2] >= 3 and a.shape[3] >= 3:
        return "filters" if item.role in ("param", "delta") or item.key in ("dW",) else "maps"
    if a.ndim == 2 and item.image_shape is not None and a.shape[1] == math.prod(item.image_shape):
        return "flat"
    return None
