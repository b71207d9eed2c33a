"""Pure drawing: numpy arrays → rich ``Text`` (heatmaps, bitmaps, half-block pictures, sparklines).

numpy and rich only — no textual — so every picture is testable without a terminal, and the
widgets stay thin: they choose *what* to show; this module decides *how* it looks.

Colour decisions (the legend always says which applies):

* **One diverging scale, centred at 0.** Sign is hue (blue −, red +), magnitude is saturation:
  a mid grey ``rgb(128,128,128)`` is exactly 0 and the ends are strongly saturated, so the ramp
  reads on light *and* dark backgrounds without a theme switch. The scale is symmetric, ±max|v|
  of the drawn values unless given, quantised to 32 levels per sign. A non-negative tensor (ReLU
  output, probabilities, a mask's mean) uses the same scale and so only its red half: a colour
  means the same number in every pane; ``legend(..., signed=False)`` then shows ``0 … +max``.
* **Non-finite values are never a colour of a finite one.** NaN is ``!!``, +Inf ``+∞``, −Inf
  ``-∞``, all on magenta (no finite value is magenta: the ramp runs blue → grey → red). With an
  explicit ``scale``, finite values beyond it are drawn at full colour *and* marked ``>>``/``<<``.
* **Text on a colour is black or white**, whichever has the higher WCAG contrast ratio on that
  colour (:func:`text_color`): ≥ 4.5:1 on every level of the ramp and on magenta, and the same
  on light and dark themes because the cell paints its own background. :func:`numbers` prints
  small tensors' values this way, on their heatmap colours.
* Pictures (``halfblock``/``image_grid``) are grayscale (black = vmin, white = vmax) or, with
  ``diverging=True``, the heatmap ramp; NaN/±Inf pixels are magenta there too (a pixel has no
  room for a glyph), the cursor pixel is yellow.

Geometry: ``layout`` turns any tensor into a 2-D grid of *cells* (a :class:`View`), downsampling
by whole blocks when it does not fit, and keeps the map cell → index into the original tensor.
``max_rows``/``max_cols`` count cells; a heatmap/bitmap cell is ``cell`` (default 2) characters
wide and one line high, and the blank gap between channel/filter tiles counts as one cell.

Numbers are printed by :func:`fmt`: 4 significant digits; trailing zeros are kept exactly when
the value was rounded (``0.3000`` is not exactly 0.3; ``0.3`` is), so the text never lies.

Speed (``PYTHONPATH=. .venv/bin/python benchmarks/render_speed.py --repeat 300``, this 2-core
box while other test suites ran, load ≈ 4; medians — the p95 under that load was 0.3–9 ms):
heatmap of a 32×200 tensor 1.4 ms · layout + heatmap of a (32,30,24,24) activation in 80×20
cells 0.35 ms (40×20: 0.16 ms) · halfblock 28×28 0.17 ms · image_grid of 30 filters 5×5
0.22 ms · tensor_stats (32,30,24,24) 0.6 ms · sparkline of 5000 points 0.3 ms · numbers of a
32×20 grid with labels 0.9 ms (its 640 ``fmt`` calls are most of it; 4×6: 0.06 ms) ·
numbers_window of a 20×20 matrix in 66×15 0.3 ms, plus 0.3 ms for ``number_strings`` of its
400 entries (64×64: 0.7 + 3.1 ms; timeit, best of 5, idle box). How: colour
levels are quantised with numpy, equal neighbours merge into one span, and the ``Text`` is built
in one go from the joined string and a list of ``Span`` with cached ``Style`` objects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Span, Text

__all__ = [
    "LEVELS",
    "NEUTRAL",
    "NEG_END",
    "POS_END",
    "NONFINITE",
    "NUMBERS_MIN",
    "CURSOR",
    "Stats",
    "View",
    "auto_scale",
    "bitmap",
    "contrast_ratio",
    "fmt",
    "fit_images",
    "format_stats",
    "halfblock",
    "heat_codes",
    "heatmap",
    "join_parts",
    "image_grid",
    "layout",
    "legend",
    "level_color",
    "luminance",
    "NumbersWindow",
    "numbers",
    "numbers_size",
    "numbers_widths",
    "numbers_window",
    "number_strings",
    "sparkline",
    "tensor_stats",
    "text_color",
]

# -- colours -------------------------------------------------------------------------------------
LEVELS = 32  #: colour levels per sign
NEUTRAL = (128, 128, 128)  #: exactly 0: a mid grey, visible on light and dark backgrounds
POS_END = (220, 20, 20)  #: +scale: saturated red
NEG_END = (20, 90, 235)  #: −scale: saturated blue
NONFINITE = (255, 0, 255)  #: NaN / ±Inf: magenta, not on the blue–grey–red ramp
CURSOR = (255, 215, 0)  #: the cursor pixel in pictures: yellow, not on either ramp


def level_color(level: int) -> tuple[int, int, int]:
    """RGB of a diverging level in ``-LEVELS..LEVELS`` (linear from grey to the saturated end)."""
    level = max(-LEVELS, min(LEVELS, int(level)))
    end = POS_END if level > 0 else NEG_END
    t = abs(level) / LEVELS
    return tuple(round(n + t * (e - n)) for n, e in zip(NEUTRAL, end, strict=True))  # type: ignore[return-value]


def _rgb(c: tuple[int, int, int]) -> Color:
    return Color.from_rgb(*c)


def luminance(c: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour: 0 (black) … 1 (white)."""

    def lin(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two colours: 1 (same) … 21 (black on white)."""
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


@lru_cache(maxsize=256)
def text_color(bg: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever has the higher WCAG contrast ratio on background ``bg``.

    The better of the two is always ≥ 4.58:1 (WCAG AA asks 4.5 for text), whatever ``bg``;
    and since the cell paints its own background, the pair reads the same on light and dark
    terminal themes.
    """
    black, white = (0, 0, 0), (255, 255, 255)
    return black if contrast_ratio(bg, black) >= contrast_ratio(bg, white) else white


def _contrast(c: tuple[int, int, int]) -> Color:
    """Black or white, whichever reads better on background ``c`` (see :func:`text_color`)."""
    return _rgb(text_color(tuple(c)))  # type: ignore[arg-type]


# Cell codes of the heatmap grid: 0..2L are levels −L..L, then the special cells.
_NL = 2 * LEVELS + 1
C_NAN, C_POSINF, C_NEGINF, C_CLIPHI, C_CLIPLO, C_GAP = range(_NL, _NL + 6)
_NCODES = _NL + 6  # cursor variants are code + _NCODES


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
    return glyphs, styles


# -- numbers -------------------------------------------------------------------------------------
def fmt(v: float) -> str:
    """A compact number with 4 significant digits that never lies.

    ``1.234e-07``, ``-0.5``, ``12.35``, ``1.2e+04``, ``nan``, ``inf``, ``-inf``. A value that the
    short form shows exactly (it parses back to the same float) is printed without trailing zeros
    (``0.5``, ``784``); a rounded one keeps them (``0.3000`` for 0.30000000000000004), so "0.5"
    always means exactly 0.5. float32/float16 scalars are judged at their own precision. A tiny
    non-zero never prints as ``0``.
    """
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    s = f"{x:.4g}"
    if isinstance(v, np.floating) and v.dtype.itemsize < 8:
        exact = v.dtype.type(float(s)) == v
    else:
        exact = float(s) == x
    if exact:
        return s
    s = f"{x:#.4g}"
    if math.isinf(float(s)):  # near the float max, rounding up would read back as inf
        mant, exp = f"{x:.6e}".split("e")
        s = f"{mant[:mant.index('.') + 4]}e{exp}"
    return s


def _pct(frac: float) -> str:
    """A percentage that never rounds a non-zero to 0% or a non-total to 100%."""
    if math.isnan(frac):
        return "n/a"
    p = 100.0 * frac
    if 0 < p < 0.05:
        return "<0.1%"
    if 99.95 <= p < 100:
        return ">99.9%"
    return f"{p:.1f}%"


def _dims(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


# -- statistics ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stats:
    """Summary of a tensor. min/max/mean/std/norm are over the *finite* entries (one NaN does not
    hide the rest); ``nan``/``inf`` count the others; ``zeros`` is the fraction of all entries
    that are exactly 0 (for bool: False). All float fields are NaN when there is no finite entry.
    """

    shape: tuple[int, ...]
    dtype: str
    size: int
    min: float
    max: float
    mean: float
    std: float
    zeros: float
    nan: int
    inf: int
    norm: float = math.nan  #: L2 norm of the finite entries

    @property
    def finite(self) -> int:
        return self.size - self.nan - self.inf


def tensor_stats(a: np.ndarray) -> Stats:
    """Shape, dtype, size, min, max, mean, std, fraction of zeros, NaN and Inf counts, L2 norm."""
    a = np.asarray(a)
    shape, dtype, size = tuple(a.shape), str(a.dtype), int(a.size)
    if size == 0:
        nan = math.nan
        return Stats(shape, dtype, 0, nan, nan, nan, nan, nan, 0, 0, nan)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.number):
        a = a.astype(np.float64)
    if np.iscomplexobj(a):
        a = np.abs(a)
    zeros = float(np.count_nonzero(a == 0)) / size
    if np.issubdtype(a.dtype, np.floating):
        fin = np.isfinite(a)
        nfin = int(np.count_nonzero(fin))
        if nfin == size:
            f = a
            n_nan = n_inf = 0
        else:
            n_nan = int(np.count_nonzero(np.isnan(a)))
            n_inf = size - nfin - n_nan
            f = a[fin]
    else:
        f, n_nan, n_inf, nfin = a, 0, 0, size
    if nfin == 0:
        nan = math.nan
        return Stats(shape, dtype, size, nan, nan, nan, nan, zeros, n_nan, n_inf, nan)
    f64 = f.astype(np.float64, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.mean(f64))
        std = float(np.std(f64))
        # Σx² = n(σ² + μ²): no extra pass (np.linalg.norm goes through BLAS, slow under load)
        norm = math.sqrt(nfin * (std * std + mean * mean))
        if not (math.isfinite(mean) and math.isfinite(std) and math.isfinite(norm)):
            # sums overflowed (values near the float max): the same statistics of x / max|x|
            big = float(np.max(np.abs(f64)))
            g = f64 / big
            mean, std = float(np.mean(g)) * big, float(np.std(g)) * big
            norm = math.sqrt(float(np.sum(g * g))) * big
    return Stats(shape, dtype, size, float(f64.min()), float(f64.max()), mean, std, zeros,
                 n_nan, n_inf, norm)


def format_stats(s: Stats, *, width: int | None = None, shape: bool = True) -> Text:
    """``shape 32×200 float64 · min … max … mean … std … · 41.2% zeros · NaN 0 · Inf 0``.

    NaN/Inf counts above 0 are bold magenta (the heatmap's non-finite colour). If ``width`` is
    given, the parts (shape · min…std · zeros · NaN · Inf) are packed into as few lines of at
    most ``width`` characters as they fit, breaking only between parts, so no count is cut off
    at the pane's edge; min…std is one part and stays on one line. ``shape=False`` leaves out
    the shape and dtype (a pane whose title already shows them, at 80×24), and splits min…std
    into min max and mean std if it is wider than ``width``.
    """
    head = f"shape {_dims(s.shape)} {s.dtype}"
    if s.size == 0:
        return Text(f"{head} · empty (0 entries)")
    nums = f"min {fmt(s.min)} max {fmt(s.max)} mean {fmt(s.mean)} std {fmt(s.std)}"
    if s.finite == 0:
        nums = "no finite entries"
    bad = Style(color=_rgb(NONFINITE), bold=True)
    nan = (f"NaN {s.nan}", bad if s.nan else "")
    inf = (f"Inf {s.inf}", bad if s.inf else "")
    zeros = (f"{_pct(s.zeros)} zeros", "")
    if not shape:
        spread = [(f"min {fmt(s.min)} max {fmt(s.max)}", ""),
                  (f"mean {fmt(s.mean)} std {fmt(s.std)}", "")]
        if s.finite == 0 or (width is not None and len(nums) <= width):
            spread = [(nums, "")]
        if len(spread) == 1:
            return join_parts([*spread, zeros, nan, inf], width)
        # "min … max … · 25.0% zeros" over "mean … std … · NaN 0 · Inf 0": two lines of 40
        return join_parts([spread[0], zeros, spread[1], nan, inf], width)
    order = [(head, ""), (nums, ""), zeros, nan, inf]
    if width is None:
        return join_parts(order, None)
    # the counts may ride on the shape's line when that saves a line (a 68-column pane:
    # "shape … float64 · NaN 0 · Inf 0" over "min … std … · 40.1% zeros")
    packed = [join_parts(order, width),
              join_parts([(head, ""), nan, inf, (nums, ""), zeros], width)]
    return min(packed, key=lambda t: t.plain.count("\n"))


def join_parts(parts: list[tuple[str, Style | str]], width: int | None, *,
               sep: str = " · ", style: Style | str = "") -> Text:
    """Join ``(text, style)`` parts with ``sep``, breaking lines between parts so each line
    is at most ``width`` characters (a part longer than that gets a line of its own, which
    the pane crops). ``style`` is the style of the whole text (the parts' own on top)."""
    t = Text(style=style)
    used = 0
    for i, (part, part_style) in enumerate(parts):
        if i:
            if width is not None and used + len(sep) + len(part) > width:
                t.append("\n")
                used = 0
            else:
                t.append(sep)
                used += len(sep)
        t.append(part, style=part_style)
        used += len(part)
    return t


# -- layout --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """How an N-D tensor is laid out as a 2-D grid of cells on screen.

    ``data[r, c]`` is what cell ``(r, c)`` draws; ``index_of(r, c)`` is the index into the
    original tensor that the cell stands for: the entry itself at full size, and when downsampled
    the entry whose value is drawn (``maxabs``, ``any``) or the block's first entry (``mean``);
    ``block_of(r, c)`` is the block of the original tensor the cell summarises, ready to index
    it (``view.source[view.block_of(r, c)]``): slices, or integer index arrays where the columns
    are several axes flattened (5-D+ tensors, too many tiles).
    ``tile``/``tiles``: for tiled channels/filters, the size of one tile in cells and the tile
    grid (rows, cols); the heatmap leaves a one-cell gap between tiles (not part of ``data``).
    """

    data: np.ndarray
    index_of: Callable[[int, int], tuple[int, ...]]
    row_label: str
    col_label: str
    how: str
    row_step: int = 1
    col_step: int = 1
    block_of: Callable[[int, int], tuple[slice | np.ndarray, ...]] | None = None
    tile: tuple[int, int] | None = None
    tiles: tuple[int, int] | None = None
    reduce: str = "none"  #: "none" (full size) | "mean" | "maxabs" | "any"
    source: np.ndarray | None = None  #: the original tensor (not a copy)

    @property
    def downsampled(self) -> bool:
        return self.reduce != "none"

    def tile_of(self, r: int, c: int) -> int | None:
        """Tile number (reading order) of cell ``(r, c)``: the channel, or filter·C + channel."""
        if self.tile is None or self.tiles is None:
            return None
        return (r // self.tile[0]) * self.tiles[1] + c // self.tile[1]

    def describe(self, r: int, c: int, name: str = "x") -> str:
        """The cell in words with its exact value: ``x[0, 3, 5, 7] = 0.1234``, or for a
        downsampled cell ``mean of x[0, 3, 4:8, 4:8] = 0.01 (16 entries)``."""
        idx = self.index_of(r, c)
        where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
        drawn = self.data[r, c]
        if self.reduce == "none" or self.block_of is None:
            return f"{where} = {fmt(drawn)}"
        blk = self.block_of(r, c)
        if all(isinstance(s, slice) for s in blk):
            sl = ", ".join(
                str(s.start) if s.stop - s.start == 1 else f"{s.start}:{s.stop}" for s in blk
            )
            n = math.prod(s.stop - s.start for s in blk)
        else:  # flattened axes: not a box; name the first and last entry
            n = int(np.asarray(blk[0]).size)
            first = ", ".join(str(int(np.asarray(v)[0])) for v in blk)
            last = ", ".join(str(int(np.asarray(v)[-1])) for v in blk)
            sl = f"{first}]…{name}[{last}"
        if self.reduce == "mean":
            return f"mean of {name}[{sl}] = {fmt(drawn)} ({n} entries)"
        if self.reduce == "maxabs":
            return f"largest |.| of {name}[{sl}]: {where} = {fmt(drawn)}"
        return f"any of {name}[{sl}] = {bool(drawn)}" + (f" (first at {where})" if drawn else "")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _starts(n: int, step: int) -> np.ndarray:
    return np.arange(0, n, step)


def _block_reduce(x: np.ndarray, steps: dict[int, int], reduce: str) -> np.ndarray:
    """Reduce blocks of ``steps[axis]`` entries along each axis (the last block may be partial).

    ``mean``: block mean (float64; NaN and Inf propagate, +Inf with −Inf gives NaN);
    ``maxabs``: the signed entry of largest magnitude (NaN wins; a tie goes to the positive one);
    ``any``: logical or.
    """
    steps = {ax: s for ax, s in steps.items() if s > 1}
    if not steps:
        return x
    if reduce == "any":
        out = x
        for ax, s in steps.items():
            out = np.logical_or.reduceat(out, _starts(out.shape[ax], s), axis=ax)
        return out
    if reduce == "maxabs":
        hi = lo = x
        for ax, s in steps.items():
            idx = _starts(hi.shape[ax], s)
            hi = np.maximum.reduceat(hi, idx, axis=ax)
            lo = np.minimum.reduceat(lo, idx, axis=ax)
        with np.errstate(invalid="ignore"):
            out = np.where(hi >= -lo, hi, lo)
        nan = np.isnan(hi) | np.isnan(lo) if np.issubdtype(out.dtype, np.floating) else None
        if nan is not None and nan.any():
            out = np.where(nan, np.nan, out)
        return out
    out = _block_mean(x, steps)
    if not np.isfinite(out).all() and np.issubdtype(x.dtype, np.floating) and np.isfinite(x).all():
        # the sums overflowed (values near the float max): average x / max|x| instead
        s = float(np.max(np.abs(x)))
        out = _block_mean(x / s, steps) * s
    return out


def _block_mean(x: np.ndarray, steps: dict[int, int]) -> np.ndarray:
    out = x
    counts = np.ones((1,) * x.ndim)
    for ax, s in steps.items():
        n = out.shape[ax]
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.add.reduceat(out, _starts(n, s), axis=ax, dtype=np.float64)
        sizes = np.minimum(s, n - _starts(n, s)).astype(np.float64)
        shape = [1] * x.ndim
        shape[ax] = sizes.size
        counts = counts * sizes.reshape(shape)
    with np.errstate(invalid="ignore", over="ignore"):
        return out / counts


def _pick(block: np.ndarray, value: object, reduce: str) -> int:
    """Flat index, inside ``block``, of the entry a ``maxabs``/``any`` cell draws."""
    flat = block.ravel()
    if reduce == "any":
        hits = np.flatnonzero(flat)
        return int(hits[0]) if hits.size else 0
    if isinstance(value, float | np.floating) and np.isnan(value):
        hits = np.flatnonzero(np.isnan(flat))
    else:
        hits = np.flatnonzero(flat == value)
    return int(hits[0]) if hits.size else 0


def _how_blocks(steps: list[tuple[int, int, int, str]], reduce: str) -> str:
    """``downsampled 784→98 columns, mean of 8`` from (before, after, step, axis-name) items."""
    parts = [f"{a}→{b} {name}" for a, b, s, name in steps if s > 1]
    if not parts:
        return "full size"
    sizes = [s for _, _, s, _ in steps if s > 1]
    what = {"mean": "mean", "maxabs": "largest |value|", "any": "any()"}[reduce]
    block = "×".join(str(s) for s in sizes)
    blocks = f"{block} blocks" if len(sizes) > 1 else f"{block}"
    return f"downsampled {' × '.join(parts)}, {what} of {blocks}"


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _plan_tiles(t: int, h: int, w: int, max_rows: int, max_cols: int,
                group: int = 1) -> tuple[int, int] | None:
    """Choose (k, tc): spatial downsampling factor and tiles per row for ``t`` tiles of h×w, with
    one-cell gaps, fitting max_rows×max_cols. Tiles per row divide ``t`` (no empty cells); the
    smallest ``k`` wins, then whole groups of ``group`` tiles per row (a filter's channels), then
    the widest row. None when tiles would have to shrink below 2×2 (or 1 along a 1-long axis).
    """
    for k in range(1, max(h, w) + 1):
        th, tw = _ceil_div(h, k), _ceil_div(w, k)
        if th < min(2, h) or tw < min(2, w):
            return None
        fits = [tc for tc in _divisors(t)
                if tc * tw + (tc - 1) <= max_cols and (t // tc) * th + (t // tc - 1) <= max_rows]
        if fits:
            grouped = [tc for tc in fits if tc % group == 0]
            return k, max(grouped or fits)
    return None


def _grid_view(m: np.ndarray, max_rows: int, max_cols: int, reduce: str,
               to_index: Callable[[int, int], tuple[int, ...]],
               row_label: str, col_label: str, source: np.ndarray, names=("rows", "columns"),
               prefix: str = "", rect: bool = True) -> View:
    """A 2-D matrix ``m`` drawn as is or block-downsampled; ``to_index`` maps (i, j) of ``m`` to
    the original tensor's index (it must also accept index arrays). ``rect=False`` when the
    columns of ``m`` are several axes flattened: a block is then not a box of the original
    tensor, and ``block_of`` returns integer index arrays instead of slices."""
    rows, cols = m.shape
    rs, cs = max(1, _ceil_div(rows, max_rows)), max(1, _ceil_div(cols, max_cols))
    data = _block_reduce(m, {0: rs, 1: cs}, reduce)
    red = "none" if rs == cs == 1 else reduce

    def block_of_ij(r: int, c: int) -> tuple[slice, slice]:
        return slice(r * rs, min((r + 1) * rs, rows)), slice(c * cs, min((c + 1) * cs, cols))

    def index_of(r: int, c: int) -> tuple[int, ...]:
        _check_cell(data, r, c)
        if red == "none":
            return _ints(to_index(r, c))
        bi, bj = block_of_ij(r, c)
        if red == "mean":
            return _ints(to_index(bi.start, bj.start))
        blk = m[bi, bj]
        fi = _pick(blk, data[r, c], red)
        i, j = divmod(fi, blk.shape[1])
        return _ints(to_index(bi.start + i, bj.start + j))

    def block_of(r: int, c: int) -> tuple[slice | np.ndarray, ...]:
        _check_cell(data, r, c)
        bi, bj = block_of_ij(r, c)
        if not rect:
            ii, jj = np.meshgrid(np.arange(bi.start, bi.stop), np.arange(bj.start, bj.stop),
                                 indexing="ij")
            idx = to_index(ii.ravel(), jj.ravel())
            return tuple(np.broadcast_to(np.asarray(v), ii.size).copy() for v in idx)
        a0 = _ints(to_index(bi.start, bj.start))
        a1 = _ints(to_index(bi.stop - 1, bj.stop - 1))
        return tuple(slice(p, q + 1) for p, q in zip(a0, a1, strict=True))

    how = _how_blocks([(rows, data.shape[0], rs, names[0]), (cols, data.shape[1], cs, names[1])],
                      reduce)
    return View(data, index_of, row_label, col_label, prefix + how, rs, cs, block_of,
                reduce=red, source=source)


def _ints(idx: tuple) -> tuple[int, ...]:
    return tuple(int(v) for v in idx)


def _check_cell(data: np.ndarray, r: int, c: int) -> None:
    if not (0 <= r < data.shape[0] and 0 <= c < data.shape[1]):
        raise IndexError(f"cell ({r}, {c}) outside the {data.shape[0]}×{data.shape[1]} grid")


def _tiled_view(x: np.ndarray, k: int, tc: int, reduce: str, lead: tuple[int, ...],
                split: int, row_label: str, col_label: str, how_prefix: str,
                source: np.ndarray) -> View:
    """``x`` is (T, H, W) tiles; tile t maps to original index ``lead + divmod(t, split) + (h, w)``
    (``split`` = channels per filter for weights; 0 means the tile number is one index)."""
    t, h, w = x.shape
    red_x = _block_reduce(x, {1: k, 2: k}, reduce)
    th, tw = red_x.shape[1], red_x.shape[2]
    tr = t // tc
    data = red_x.reshape(tr, tc, th, tw).transpose(0, 2, 1, 3).reshape(tr * th, tc * tw)
    red = "none" if k == 1 else reduce

    def tile_index(tile: int) -> tuple[int, ...]:
        return lead + (divmod(tile, split) if split else (tile,))

    def locate(r: int, c: int) -> tuple[int, int, int]:
        _check_cell(data, r, c)
        return (r // th) * tc + c // tw, r % th, c % tw

    def index_of(r: int, c: int) -> tuple[int, ...]:
        tile, i, j = locate(r, c)
        if red == "none":
            return tile_index(tile) + (i, j)
        bi = slice(i * k, min((i + 1) * k, h))
        bj = slice(j * k, min((j + 1) * k, w))
        if red == "mean":
            return tile_index(tile) + (bi.start, bj.start)
        blk = x[tile, bi, bj]
        fi = _pick(blk, data[r, c], red)
        di, dj = divmod(fi, blk.shape[1])
        return tile_index(tile) + (bi.start + di, bj.start + dj)

    def block_of(r: int, c: int) -> tuple[slice, ...]:
        tile, i, j = locate(r, c)
        head = tuple(slice(p, p + 1) for p in tile_index(tile))
        return head + (slice(i * k, min((i + 1) * k, h)), slice(j * k, min((j + 1) * k, w)))

    if k == 1:
        how = f"{how_prefix}; full size"
    else:
        what = {"mean": "mean", "maxabs": "largest |value|", "any": "any()"}[reduce]
        how = f"{how_prefix}; downsampled {h}×{w}→{th}×{tw} per tile, {what} of {k}×{k} blocks"
    return View(data, index_of, row_label, col_label, how, k, k, block_of, tile=(th, tw),
                tiles=(tr, tc), reduce=red, source=source)


def layout(a: np.ndarray, *, max_rows: int, max_cols: int, sample: int = 0,
           channel: int | None = None, reduce: str = "mean", kind: str = "activation") -> View:
    """Lay a tensor out as a 2-D grid of at most ``max_rows × max_cols`` cells.

    * 0-D: one cell. 1-D ``(D,)``: one row. 2-D ``(N, D)`` / ``(in, out)``: as is.
    * 3-D ``(C, H, W)``: channels tiled in reading order with one-cell gaps.
    * 4-D activations ``(N, C, H, W)`` (``kind="activation"``): sample ``sample``, its channels
      tiled (or only ``channel``, as one H×W picture).
    * 4-D conv weights ``(FN, C, FH, FW)`` (``kind="weight"``): every filter's channels tiled,
      tile ``t`` = filter ``t // C``, channel ``t % C`` (rows hold whole filters when they fit);
      ``channel`` picks one filter ``channel`` (its C channels tiled).
    * 5-D and more: rows = first axis, columns = the rest flattened (C order).

    Too large → downsampled by whole blocks: block mean (``reduce="mean"``), the entry of largest
    magnitude (``"maxabs"``, so a single spike is not averaged away), or ``any()`` for bool
    tensors (always). Spatial axes use the same factor along H and W (pictures keep their
    aspect); matrices use independent row/column factors. When tiles would have to shrink below
    2×2, the channels are drawn as rows of a matrix instead (``how`` says so).
    """
    a = np.asarray(a)
    max_rows, max_cols = max(1, int(max_rows)), max(1, int(max_cols))
    if a.dtype == np.bool_:
        reduce = "any"
    elif reduce not in ("mean", "maxabs"):
        raise ValueError(f"reduce must be 'mean' or 'maxabs' (any() is for bool), not {reduce!r}")
    if kind not in ("activation", "weight"):
        raise ValueError(f"kind must be 'activation' or 'weight', not {kind!r}")

    if a.size == 0:
        data = np.zeros((0, 0), dtype=a.dtype)

        def none(r: int, c: int) -> tuple[int, ...]:
            raise IndexError(f"empty tensor of shape {_dims(a.shape)} has no cells")

        return View(data, none, "", "", f"empty ({_dims(a.shape)}, 0 entries)", source=a)
    if a.ndim == 0:
        return View(a.reshape(1, 1), lambda r, c: (_check_cell(a.reshape(1, 1), r, c), ())[1],
                    "", "", "scalar", block_of=lambda r, c: (), source=a)
    if a.ndim == 1:
        return _grid_view(a.reshape(1, -1), max_rows, max_cols, reduce, lambda i, j: (j,),
                          "", "index i", a)
    if a.ndim == 2:
        return _grid_view(a, max_rows, max_cols, reduce, lambda i, j: (i, j), "row i",
                          "column j", a)

    if a.ndim == 3:
        return _spatial(a, a, (), 0, max_rows, max_cols, reduce, channel,
                        f"{a.shape[0]} channels", "channel c", a)
    if a.ndim == 4 and kind == "activation":
        n = a.shape[0]
        if not 0 <= sample < n:
            raise IndexError(f"sample {sample} outside 0..{n - 1}")
        return _spatial(a[sample], a, (sample,), 0, max_rows, max_cols, reduce, channel,
                        f"sample {sample} of {n}: {a.shape[1]} channels", "channel c", a)
    if a.ndim == 4:
        fn, c = a.shape[:2]
        if channel is not None:
            if not 0 <= channel < fn:
                raise IndexError(f"filter {channel} outside 0..{fn - 1}")
            return _spatial(a[channel], a, (channel,), 0, max_rows, max_cols, reduce, None,
                            f"filter {channel} of {fn}: {c} channels", "channel c", a)
        tiles = a.reshape(fn * c, *a.shape[2:])
        return _spatial(tiles, a, (), c, max_rows, max_cols, reduce, None,
                        f"{fn} filters × {c} channels", "filter f · channel c", a, group=c)
    # 5-D and more
    rest = a.shape[1:]
    m = a.reshape(a.shape[0], -1)
    return _grid_view(m, max_rows, max_cols, reduce,
                      lambda i, j: (i, *np.unravel_index(j, rest)),
                      "axis 0", f"axes 1…{a.ndim - 1} flattened", a, rect=False)


def _spatial(x: np.ndarray, a: np.ndarray, lead: tuple[int, ...], split: int, max_rows: int,
             max_cols: int, reduce: str, channel: int | None, what: str, tile_name: str,
             source: np.ndarray, group: int = 1) -> View:
    """Tiles of ``x`` (T, H, W) whose tile t is ``lead + (t,)`` (or ``divmod(t, split)``)."""
    t, h, w = x.shape
    if channel is not None:
        if not 0 <= channel < t:
            raise IndexError(f"channel {channel} outside 0..{t - 1}")
        img = x[channel]
        k = max(1, _ceil_div(h, max_rows), _ceil_div(w, max_cols))
        v = _tiled_view(img[None], k, 1, reduce, lead + (channel,), 0, "y", "x",
                        f"{what}, channel {channel}", source)
        # one picture: index_of already includes the channel via lead; drop the tile index 0
        inner_index, inner_block = v.index_of, v.block_of

        def index_of(r: int, c: int) -> tuple[int, ...]:
            idx = inner_index(r, c)
            return idx[:len(lead) + 1] + idx[len(lead) + 2:]

        def block_of(r: int, c: int) -> tuple[slice, ...]:
            blk = inner_block(r, c)  # type: ignore[misc]
            return blk[:len(lead) + 1] + blk[len(lead) + 2:]

        return View(v.data, index_of, "y", "x", v.how, k, k, block_of, reduce=v.reduce,
                    source=source)
    plan = _plan_tiles(t, h, w, max_rows, max_cols, group)
    if plan is not None:
        k, tc = plan
        tr = t // tc
        return _tiled_view(x, k, tc, reduce, lead, split, f"{tile_name} tile row · y",
                           f"{tile_name} tile column · x",
                           f"{what} as {tr}×{tc} tiles of {h}×{w} (reading order)", source)
    # too many tiles: a matrix, one row per channel (per filter for weights), the rest flattened
    if split:
        m = x.reshape(t // split, split * h * w)
        inner = (split, h, w)
        labels = ("filter f", f"channel·{h}×{w} flattened (c·{h * w} + y·{w} + x)")
        names, prefix = ("filters", "entries"), f"{what}, one row per filter; "
    else:
        m = x.reshape(t, h * w)
        inner = (h, w)
        labels = (tile_name, f"{h}×{w} flattened (y·{w} + x)")
        names, prefix = ("channels", "pixels"), f"{what}, one row per channel; "

    def to_index(i: int, j: int) -> tuple[int, ...]:
        return lead + (i,) + tuple(np.unravel_index(j, inner))

    return _grid_view(m, max_rows, max_cols, reduce, to_index, labels[0], labels[1], source,
                      names=names, prefix=prefix, rect=False)


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


def _with_gaps(codes: np.ndarray, tile: tuple[int, int] | None, gap_code: int,
               cursor: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Insert one gap row/column between tiles; move the cursor with the cells."""
    if tile is None or codes.size == 0:
        return codes, cursor
    th, tw = tile
    rows, cols = codes.shape
    rp = np.arange(rows) + np.arange(rows) // th
    cp = np.arange(cols) + np.arange(cols) // tw
    out = np.full((rp[-1] + 1, cp[-1] + 1), gap_code, dtype=codes.dtype)
    out[np.ix_(rp, cp)] = codes
    if cursor is not None:
        cursor = (int(rp[cursor[0]]), int(cp[cursor[1]]))
    return out, cursor


def _valid_cursor(cursor: tuple[int, int] | None, shape: tuple[int, ...]) -> bool:
    return (cursor is not None and len(shape) == 2 and 0 <= cursor[0] < shape[0]
            and 0 <= cursor[1] < shape[1])


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


def _as_grid(view_or_2d: View | np.ndarray) -> tuple[np.ndarray, tuple[int, int] | None]:
    if isinstance(view_or_2d, View):
        return view_or_2d.data, view_or_2d.tile
    d = np.asarray(view_or_2d)
    if d.ndim < 2:
        d = d.reshape(1, -1) if d.size else d.reshape(0, 0)
    elif d.ndim > 2:
        d = d.reshape(d.shape[0], -1)
    return d, None


def heatmap(view_or_2d: View | np.ndarray, *, scale: float | None = None,
            cursor: tuple[int, int] | None = None, cell: int = 2) -> Text:
    """A diverging-colour heatmap of a :class:`View` (or a 2-D array), ``cell`` chars per value.

    Colour level = ``round(v / scale · 32)`` on the blue–grey–red ramp; ``scale`` defaults to
    :func:`auto_scale` of the drawn values (pass the same number to :func:`legend`). NaN ``!!``,
    +Inf ``+∞``, −Inf ``-∞`` on magenta; beyond an explicit scale ``>>``/``<<``. The cursor cell
    (row, col of ``data``) shows ``[]`` on its colour (non-finite: reversed). Tiled views get a
    blank one-cell gap between tiles. An empty tensor gives ``(empty)``.
    """
    data, tile = _as_grid(view_or_2d)
    if data.size == 0:
        return Text("(empty)", style="dim", end="")
    glyphs, styles = _heat_palette(cell)
    codes = heat_codes(data, scale)
    cur = cursor if _valid_cursor(cursor, data.shape) else None
    codes, cur = _with_gaps(codes, tile, C_GAP, cur)
    if cur is not None:
        codes[cur] += _NCODES
    return _paint(codes, glyphs, styles, max(1, cell))


def legend(scale: float, width: int = 30, *, signed: bool = True, nonfinite: bool = True) -> Text:
    """The colour key: ``-0.53 ▕ramp▏ +0.53  diverging, 0 = grey  !! NaN ±∞``.

    ``width`` is the number of ramp characters. ``signed=False`` (a tensor with no negative
    values) shows only the grey → red half, ``0 … +max``, and says so. ``scale`` 0 (all zero, or
    no finite value) shows a single grey cell.
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
        t.append("  diverging, 0 = grey" if signed else "  all ≥ 0, 0 = grey")
    if nonfinite:
        t.append("  ")
        t.append("!!", style=Style(color=_contrast(NONFINITE), bgcolor=_rgb(NONFINITE), bold=True))
        t.append(" NaN ±∞")
    return t


# -- numbers grid --------------------------------------------------------------------------------
NUMBERS_MIN = 8  #: default (minimum) characters per cell of :func:`numbers`
_N_TRUE, _N_FALSE = 1, 0  # codes of a bool grid


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
            widths: Sequence[int] | None = None) -> Text:
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
    if tile is not None:
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
                   strings: list[list[str]] | None = None) -> NumbersWindow | None:
    """The numbers of a 1-D or 2-D tensor in ``max_width`` characters × ``max_lines`` lines:
    all of them if they fit, else a window of whole rows and columns that holds the cursor.

    * A matrix: the block around ``cursor`` (row, col), labelled with the true indices — rows
      ``n=5`` on the left, columns ``j=8`` above (``names`` = (row name, column name); no name:
      the bare index). Every column is as wide as its values need over *all* its rows, so it
      keeps its width while the rows scroll.
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
                                   scale, width)
    rows, cols = grid.shape
    r = min(max(int(cursor[0]), 0), rows - 1)
    c = min(max(int(cursor[1]), 0), cols - 1)
    row_names = d.ndim == 2
    lw = len(lab(rname, rows - 1)) + 1 if row_names else 0
    all_labels = [lab(cname, j) for j in range(cols)] if labels else None
    widths = _column_widths(strings, width, all_labels)
    if lw + max(widths) > max_width:
        return None
    r0, r1 = _scroll([1] * rows, body, r, start[0])
    c0, c1 = _scroll(widths, max_width - lw, c, start[1])
    text = numbers(grid[r0:r1, c0:c1], scale=scale, cursor=(r - r0, c - c0), width=width,
                   row_labels=[lab(rname, i).ljust(lw - 1) for i in range(r0, r1)]
                   if row_names else None,
                   col_labels=all_labels[c0:c1] if all_labels else None, widths=widths[c0:c1])
    return NumbersWindow(text, range(r0, r1), range(c0, c1), (rows, cols))


def _wrapped_window(d: np.ndarray, strings: list[str], max_width: int, body: int, j: int,
                    start: int, name: str, scale: float | None, width: int
                    ) -> NumbersWindow | None:
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
            row_labels=[line_label(line * per).ljust(lw - 1) for line in range(l0, full_end)]))
    if l1 > full_end:  # the last, shorter line
        rest = d[full_end * per:]
        if full_end > l0:
            out.append("\n")
        out.append_text(numbers(
            rest.reshape(1, -1), scale=scale, width=width, widths=widths[:rest.size],
            col_labels=None if full_end > l0 else col_labels[:rest.size],
            cursor=(0, j - full_end * per) if here == full_end else None,
            row_labels=[line_label(full_end * per).ljust(lw - 1)]))
    return NumbersWindow(out, range(l0, l1), range(per), (lines, per), per)


def number_strings(a: np.ndarray) -> list[list[str]]:
    """What every cell of :func:`numbers` prints (``fmt``, or ``True``/``False``), by row; a
    vector is one row. For callers that keep them while only the cursor moves."""
    d = np.asarray(a)
    return _cell_strings(d.reshape(1, -1) if d.ndim < 2 else d)


# -- bitmap --------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _bit_palette(cell: int) -> tuple[list[str], list[Style | None]]:
    cell = max(1, cell)
    on, off = "█" * cell, ("·" + " " * cell)[:cell]
    cur = ("[]" + " " * cell)[:cell] if cell > 1 else "X"
    glyphs = [off, on, " " * cell, cur, cur]
    styles: list[Style | None] = [None, None, None, Style(bold=True),
                                  Style(bold=True, reverse=True)]
    return glyphs, styles


def bitmap(mask_2d: View | np.ndarray, *, cursor: tuple[int, int] | None = None,
           cell: int = 2) -> Text:
    """A boolean mask: ``██`` True, ``· `` False, in the terminal's own colours (so it reads on
    any theme). The cursor shows ``[]``: reversed (solid) on True, plain on False. Non-bool input
    is taken as ``!= 0`` (NaN counts as True)."""
    data, tile = _as_grid(mask_2d)
    if data.size == 0:
        return Text("(empty)", style="dim", end="")
    codes = (np.asarray(data) != 0).astype(np.int64)
    cur = cursor if _valid_cursor(cursor, data.shape) else None
    codes, cur = _with_gaps(codes, tile, 2, cur)
    if cur is not None:
        codes[cur] += 3
    glyphs, styles = _bit_palette(cell)
    return _paint(codes, glyphs, styles, max(1, cell))


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
    h, w = px.shape
    if h == 0 or w == 0:
        return Text("(empty)", style="dim", end="")
    if h % 2:
        px = np.vstack([px, np.full((1, w), _P_BLANK, dtype=px.dtype)])
    pairs = px[0::2] * _PC + px[1::2]
    blank = _P_BLANK * _PC + _P_BLANK
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
             if (st := _pair_style(k, diverging)) is not None]
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
    hp = h + (h % 2)  # each tile padded to whole text lines
    rows = _ceil_div(k, cols)
    canvas = np.full((rows * hp + (rows - 1) * 2 * gap, cols * w + (cols - 1) * gap), _P_BLANK,
                     dtype=np.int64)
    for i in range(k):
        r, c = divmod(i, cols)
        y, xx = r * (hp + 2 * gap), c * (w + gap)
        canvas[y:y + h, xx:xx + w] = px[i]
    return _paint_pixels(canvas, diverging)


# -- sparkline -----------------------------------------------------------------------------------
SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int, *, mode: str = "bucket",
              style: str | Style = "") -> Text:
    """``▁▂▃▄▅▆▇█`` from min to max of the finite values, at most ``width`` characters.

    Longer series are bucketed (``mode="bucket"``: the mean of each of ``width`` consecutive
    buckets, the whole history stays visible) or cut to the last ``width`` points
    (``mode="last"``). A constant series is a flat ``▄`` line; NaN/Inf points are a magenta ``!``.
    """
    v = np.asarray(list(values), dtype=np.float64).ravel()
    width = int(width)
    if v.size == 0 or width <= 0:
        return Text("", end="")
    if v.size > width:
        if mode == "last":
            v = v[-width:]
        else:
            parts = np.array_split(v, width)
            with np.errstate(invalid="ignore"):
                v = np.array([p.mean() for p in parts])
    fin = np.isfinite(v)
    t = Text(end="", style=style)
    if not fin.any():
        t.append("!" * v.size, style=Style(color=_rgb(NONFINITE), bold=True))
        return t
    lo, hi = float(v[fin].min()), float(v[fin].max())
    if hi > lo:
        with np.errstate(invalid="ignore"):
            lv = np.rint((v - lo) / (hi - lo) * (len(SPARKS) - 1))
    else:
        lv = np.full(v.shape, 3.0)
    bad = Style(color=_rgb(NONFINITE), bold=True)
    for ok, level in zip(fin.tolist(), np.nan_to_num(lv).astype(int).tolist(), strict=True):
        if ok:
            t.append(SPARKS[level])
        else:
            t.append("!", style=bad)
    return t
