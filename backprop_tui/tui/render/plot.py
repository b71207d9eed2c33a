"""Series as text: a braille line chart (:func:`plot`) and a one-line :func:`sparkline`.

* :func:`plot` draws the picture: each character cell holds 2×4 braille dots, so a 40×8 plot
  area has 80×32 dots. When a series has more points than dot columns, the points falling in a
  column are averaged (the curve of a noisy per-batch loss reads as its running mean);
  consecutive columns are joined by vertical strokes, so the line has no holes. Non-finite
  values (and, on a log scale, values ≤ 0) are left out and counted in the legend.
* The y range is widened to "nice" round bounds (0.01…1, 90…100) and labelled with ticks;
  the x axis is labelled with its first and last value and what it counts (iteration, epoch).
* :func:`sparkline`: ``▁▂▃▄▅▆▇█`` from min to max, in ``width`` characters: the whole series
  bucketed, or its last ``width`` points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from rich.style import Style
from rich.text import Text

from .colors import NONFINITE, _rgb
from .series import Series

#: bit of each braille dot, indexed [dot row 0..3][dot column 0..1]
_DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint16)
BRAILLE_BASE = 0x2800


# -- scales --------------------------------------------------------------------------------------
def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ ``raw``."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    exp = math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = m * 10.0**exp
        if step >= raw * (1 - 1e-12):
            return step
    return 10.0 ** (exp + 1)


def nice_bounds(lo: float, hi: float, ticks: int = 4) -> tuple[float, float, float]:
    """Round ``[lo, hi]`` outward to multiples of a nice step; returns ``(lo, hi, step)``.
    A flat range (lo == hi) is widened around the value so the line sits in the middle."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"bounds must be finite, got {lo}, {hi}")
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = _nice_step((hi - lo) / max(1, ticks - 1))
    nlo = math.floor(lo / step + 1e-9) * step
    nhi = math.ceil(hi / step - 1e-9) * step
    if nhi <= nlo:
        nhi = nlo + step
    return nlo, nhi, step


def _tick_label(v: float) -> str:
    if v == 0:
        return "0"
    s = f"{v:.3g}"
    return s.replace("e-0", "e-").replace("e+0", "e")


def int_label(v: float) -> str:
    return f"{v:,.0f}"


_MANTISSAS = (1.0, 2.0, 5.0)


def _log_ticks(lo: float, hi: float, wanted: int) -> tuple[float, float, list[float]]:
    """Bounds and ticks of a log axis, in log10 units, at 1-2-5 × 10^k values: the bounds are
    the nearest such values around the data, the ticks every such value between (or every
    decade, when that would be too many)."""
    def below(v: float) -> float:
        k = math.floor(v + 1e-12)
        m = max(m for m in _MANTISSAS if math.log10(m) + k <= v + 1e-12)
        return k + math.log10(m)

    def above(v: float) -> float:
        k = math.floor(v - 1e-12)
        for m in (*_MANTISSAS, 10.0):
            if math.log10(m) + k >= v - 1e-12:
                return k + math.log10(m)
        return k + 1.0

    y0, y1 = below(lo), above(hi)
    if y1 <= y0:
        y1 = above(y0 + 1e-6)
    values = [k + math.log10(m) for k in range(math.floor(y0), math.ceil(y1) + 1)
              for m in _MANTISSAS]
    values = [v for v in values if y0 - 1e-9 <= v <= y1 + 1e-9]
    if len(values) > wanted:
        decades = [v for v in values if abs(v - round(v)) < 1e-9]
        values = [y0, *decades, y1] if len(decades) + 2 <= wanted + 1 else decades
        if len(values) > wanted:
            step = -(-len(values) // wanted)
            values = values[::step]
    return y0, y1, values


# -- drawing -------------------------------------------------------------------------------------
def _columns(x: np.ndarray, y: np.ndarray, x0: float, x1: float, ncols: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Dot columns that hold data, and the mean y of the points in each."""
    if x1 > x0:
        col = np.rint((x - x0) / (x1 - x0) * (ncols - 1)).astype(np.int64)
    else:
        col = np.zeros(x.shape, dtype=np.int64)
    col = np.clip(col, 0, ncols - 1)
    counts = np.bincount(col, minlength=ncols)
    sums = np.bincount(col, weights=y, minlength=ncols)
    present = np.flatnonzero(counts)
    return present, sums[present] / counts[present]


def _dots(cols: np.ndarray, rows: np.ndarray, nrows: int, ncols: int) -> np.ndarray:
    """A (nrows, ncols) bool grid with the polyline through ``(cols, rows)`` (dot units)."""
    grid = np.zeros((nrows, ncols), dtype=bool)
    if cols.size == 0:
        return grid
    if cols.size == 1:  # one point: a 2×2 blob, a lone dot is too easy to miss
        c, r = int(cols[0]), int(rows[0])
        grid[max(0, r - 1) : r + 1, c : min(ncols, c + 2)] = True
        return grid
    span = np.arange(cols[0], cols[-1] + 1)
    r = np.interp(span, cols, rows)
    nxt = np.append(r[1:], r[-1])
    lo = np.rint(np.minimum(r, nxt)).astype(np.int64)
    hi = np.rint(np.maximum(r, nxt)).astype(np.int64)
    # a stroke joins each column to the next one halfway, so slopes have no gaps
    mid_lo = np.minimum(lo, np.rint((r + nxt) / 2).astype(np.int64))
    rr = np.arange(nrows)[:, None]
    grid[:, span] = (rr >= np.minimum(lo, mid_lo)[None, :]) & (rr <= hi[None, :])
    return grid


def plot(
    series: Sequence[Series],
    width: int,
    height: int,
    *,
    x_label: str = "",
    log_y: bool = False,
    y_range: tuple[float, float] | None = None,
    x_range: tuple[float, float] | None = None,
    x_format: Callable[[float], str] = int_label,
    legend: bool = True,
    y_limits: tuple[float, float] | None = None,
    compact: bool | None = None,
) -> Text:
    """Draw ``series`` in a ``width`` × ``height`` character box (axes and labels included).

    ``log_y`` plots log10(y) (values ≤ 0 are left out); ``y_range``/``x_range`` fix the axes
    instead of fitting the data (y is still rounded to nice bounds); ``y_limits`` caps the
    rounded bounds (accuracy never goes past 0…100). The first line is a legend
    (``━ label`` in each series' colour, and how many points were not drawn) unless
    ``legend=False``. The x axis takes two lines (the axis, then its labels), or one with the
    labels written into the axis line when ``compact`` (default: when ``height`` < 10)."""
    width, height = int(width), int(height)
    out = Text(no_wrap=True, overflow="crop", end="")
    if legend:
        _legend(out, series, log_y)
        height -= 1
        if height > 0:
            out.append("\n")
    ys_all: list[np.ndarray] = []
    xs_all: list[np.ndarray] = []
    clean: list[tuple[Series, np.ndarray, np.ndarray]] = []
    for s in series:
        ok = np.isfinite(s.x) & np.isfinite(s.y)
        if log_y:
            ok &= s.y > 0
        x, y = s.x[ok], s.y[ok]
        if log_y:
            y = np.log10(y)
        clean.append((s, x, y))
        xs_all.append(x)
        ys_all.append(y)
    xs = np.concatenate(xs_all) if xs_all else np.empty(0)
    ys = np.concatenate(ys_all) if ys_all else np.empty(0)
    if height < 3 or width < 8:
        if height > 0:
            out.append("(enlarge to see the chart)", style="dim")
        return out
    if ys.size == 0:
        out.append("no data yet", style="dim")
        return out
    # -- y scale ---------------------------------------------------------------------------------
    if compact is None:
        compact = height < 10
    plot_h = height - (1 if compact else 2)  # the x axis (and its labels)
    if y_range is not None:
        lo, hi = (math.log10(v) if log_y else v for v in y_range)
    else:
        lo, hi = float(ys.min()), float(ys.max())
    ticks_wanted = max(2, min(5, plot_h // 2 + 1))
    if log_y:
        y0, y1, tick_values = _log_ticks(lo, hi, ticks_wanted)
    else:
        y0, y1, ystep = nice_bounds(lo, hi, ticks_wanted)
        if y_limits is not None:
            y0, y1 = max(y0, y_limits[0]), min(y1, y_limits[1])
            if y1 <= y0:
                y0, y1 = y_limits
        n_ticks = int(round((y1 - y0) / ystep)) + 1
        tick_values = [y0 + k * ystep for k in range(n_ticks)]
        if y_limits is not None and tick_values[-1] < y1:
            tick_values.append(y1)
    ndots_r = 4 * plot_h
    ticks: dict[int, str] = {}
    for v in tick_values:
        dot = round((y1 - v) / (y1 - y0) * (ndots_r - 1))
        row = min(plot_h - 1, max(0, dot // 4))
        ticks.setdefault(row, _tick_label(10.0**v if log_y else v))
    gutter = max(len(t) for t in ticks.values()) + 1
    plot_w = width - gutter
    if plot_w < 4:
        out.append("(enlarge to see the chart)", style="dim")
        return out
    ndots_c = 2 * plot_w
    if x_range is not None:
        x0, x1 = float(x_range[0]), float(x_range[1])
    else:
        x0, x1 = float(xs.min()), float(xs.max())
    # -- dots per series, then braille cells -----------------------------------------------------
    bits = np.zeros((plot_h, plot_w), dtype=np.uint16)
    owner = np.full((plot_h, plot_w), -1, dtype=np.int64)
    for k, (_s, x, y) in enumerate(clean):
        if x.size == 0:
            continue
        cols, means = _columns(x, y, x0, x1, ndots_c)
        rows = np.clip((y1 - means) / (y1 - y0) * (ndots_r - 1), 0, ndots_r - 1)
        grid = _dots(cols, rows, ndots_r, ndots_c)
        cell = (grid.reshape(plot_h, 4, plot_w, 2) * _DOT_BITS[None, :, None, :]).sum(
            axis=(1, 3), dtype=np.uint16)
        bits |= cell
        owner[cell > 0] = k
    axis_style = Style(dim=True)
    styles = [Style(color=s.color) for s in series]
    for r in range(plot_h):
        label = ticks.get(r)
        out.append(f"{label:>{gutter - 1}}┤" if label else " " * (gutter - 1) + "│",
                   style=axis_style)
        row_bits, row_owner = bits[r], owner[r]
        start = 0
        while start < plot_w:  # one span per run of cells with the same owner
            end = start + 1
            while end < plot_w and row_owner[end] == row_owner[start]:
                end += 1
            chars = "".join(chr(BRAILLE_BASE + int(b)) if b else " "
                            for b in row_bits[start:end])
            k = int(row_owner[start])
            out.append(chars, style=styles[k] if k >= 0 else None)
            start = end
        out.append("\n")
    left, right = x_format(x0), x_format(x1)
    if x1 == x0:
        right = ""
    middle = x_label
    if compact:  # └1 ───── iteration ───── 2,666
        room = plot_w - len(left) - len(right) - 2
        if len(middle) + 4 > room:
            middle = ""
        fill = max(0, room - len(middle) - (2 if middle else 0))
        mid = f" {middle} " if middle else ""
        line = (left + " " + "─" * (fill // 2) + mid + "─" * (fill - fill // 2) + " "
                + right)
        out.append(" " * (gutter - 1) + "└", style=axis_style)
        out.append(line[:plot_w], style=axis_style)
        return out
    out.append(" " * (gutter - 1) + "└" + "─" * plot_w + "\n", style=axis_style)
    room = plot_w - len(left) - len(right)
    if len(middle) + 2 > room:
        middle = ""
    pad = max(0, room - len(middle))
    line = left + " " * (pad // 2) + middle + " " * (pad - pad // 2) + right
    out.append(" " * gutter + line[:plot_w], style=axis_style)
    return out


def _legend(out: Text, series: Sequence[Series], log_y: bool) -> None:
    first = True
    for s in series:
        if not first:
            out.append("  ")
        first = False
        out.append("━ ", style=Style(color=s.color, bold=True))
        out.append(s.label)
        bad = int((~np.isfinite(s.y)).sum())
        if log_y:
            bad += int((np.isfinite(s.y) & (s.y <= 0)).sum())
        if bad:
            out.append(f" ({bad} not drawn: {'≤ 0 or ' if log_y else ''}NaN/Inf)",
                       style="bold magenta")
    if log_y:
        out.append("  · log scale", style="dim")


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
