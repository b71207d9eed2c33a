"""Colour pictures: RGB data (CIFAR-10's 3×32×32 inputs) and the conv filters that look at it,
as half-blocks in truecolor — ``▀`` with fg = the upper pixel's colour, bg = the lower's.

Channels 0, 1, 2 are red, green and blue. One linear scale maps every channel of every picture
drawn together: ``vmin`` → 0, ``vmax`` → 255 (default the finite min/max), so pixel data in
[0, 1] shows its true colours and a signed filter shows its most negative weight as black and
its most positive as white, as cs231n draws its first-layer filters. NaN/±Inf pixels are
magenta. Which tensors are colour is the session's to say (:func:`colour_shape`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from rich.style import Style
from rich.text import Text

from .blocks import _block_reduce
from .colors import NONFINITE, _rgb
from .pictures import paint_codes, tile_codes

if TYPE_CHECKING:
    from ..session import TensorItem

RGB_LEVELS = 64  #: levels per channel (6 bits: 262,144 colours, equal neighbours still merge)
_BLANK = RGB_LEVELS ** 3
_NONFINITE = _BLANK + 1
_BASE = _BLANK + 2  # a text cell's code is upper · _BASE + lower


def colour_shape(item: TensorItem) -> tuple[int, int, int] | None:
    """``(3, H, W)`` when the session marked ``item`` as colour pictures (its image shape has
    three channels), else None."""
    shape = item.image_shape
    if item.array is None or shape is None or len(shape) != 3 or shape[0] != 3:
        return None
    return (3, int(shape[1]), int(shape[2]))


def _codes(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(…, 3, H, W) values → (…, H, W) colour codes, ``lo`` → 0 and ``hi`` → 255."""
    d = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        if hi > lo:
            q = np.clip((d - lo) / (hi - lo), 0, 1) * (RGB_LEVELS - 1)
        else:  # a constant picture is mid grey
            q = np.full_like(d, (RGB_LEVELS - 1) / 2)
    q = np.rint(np.nan_to_num(q)).astype(np.int64)
    codes = (q[..., 0, :, :] * RGB_LEVELS + q[..., 1, :, :]) * RGB_LEVELS + q[..., 2, :, :]
    codes[~np.isfinite(d).all(axis=-3)] = _NONFINITE
    return codes


def _colour_of(code: int) -> tuple[int, int, int] | None:
    if code == _BLANK:
        return None
    if code == _NONFINITE:
        return NONFINITE
    rg, b = divmod(code, RGB_LEVELS)
    r, g = divmod(rg, RGB_LEVELS)
    step = 255 / (RGB_LEVELS - 1)
    return round(r * step), round(g * step), round(b * step)


@lru_cache(maxsize=20000)
def _pair_style(code: int) -> Style | None:
    up, lo = divmod(code, _BASE)
    fg, bg = _colour_of(up), _colour_of(lo)
    if fg is None and bg is None:
        return None
    return Style(color=_rgb(fg) if fg else None, bgcolor=_rgb(bg) if bg else None)


def colour_grid(images: np.ndarray, *, cols: int, gap: int = 1, vmin: float | None = None,
                vmax: float | None = None, factor: int = 1) -> Text:
    """(K, 3, H, W) colour pictures as half-block tiles, ``cols`` per row, on one scale (default
    over all K). ``factor`` > 1 draws the block mean of factor×factor pixels (say so next to the
    picture); sizes as :func:`~.pictures.image_grid`'s (W columns × ceil(H/2) lines a tile)."""
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"colour_grid wants (K, 3, H, W) pictures, got shape {x.shape}")
    if x.size == 0:
        return Text("(empty)", style="dim", end="")
    lo, hi = _bounds(x, vmin, vmax)  # the scale of the pictures as they are, before any mean
    if int(factor) > 1:
        x = _block_reduce(np.asarray(x, dtype=np.float64), {2: factor, 3: factor}, "mean")
    codes = _codes(x, lo, hi)
    px = tile_codes(codes, max(1, min(int(cols), len(x))), max(0, int(gap)), _BLANK)
    return paint_codes(px, _BLANK, _BASE, _pair_style)


def colour_picture(img: np.ndarray, *, vmin: float | None = None, vmax: float | None = None,
                   factor: int = 1) -> Text:
    """One (3, H, W) colour picture: W columns × ceil(H/2) lines (see :func:`colour_grid`)."""
    return colour_grid(np.asarray(img)[None], cols=1, gap=0, vmin=vmin, vmax=vmax,
                       factor=factor)


def _bounds(x: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    d = np.asarray(x, dtype=np.float64)
    fin = d[np.isfinite(d)]
    lo = vmin if vmin is not None else (float(fin.min()) if fin.size else 0.0)
    hi = vmax if vmax is not None else (float(fin.max()) if fin.size else 1.0)
    return lo, hi
