"""A small line chart in braille characters: one or two series, a y-axis scale, an x-axis.

Why an own widget rather than textual-plotext: the dashboard needs exactly one kind of chart
(a few thousand points, two series at most, repainted ≤ 10×/s), and a pure function
``ndarray → rich Text`` is testable without a terminal, adds no dependency and costs well under
a millisecond per frame.

* :func:`plot` draws the picture: each character cell holds 2×4 braille dots, so a 40×8 plot
  area has 80×32 dots. When a series has more points than dot columns, the points falling in a
  column are averaged (the curve of a noisy per-batch loss reads as its running mean);
  consecutive columns are joined by vertical strokes, so the line has no holes. Non-finite
  values (and, on a log scale, values ≤ 0) are left out and counted in the legend.
* The y range is widened to "nice" round bounds (0.01…1, 90…100) and labelled with ticks;
  the x axis is labelled with its first and last value and what it counts (iteration, epoch).
* :class:`SeriesBuffer` keeps a long series in bounded memory: past ``max_points`` it halves
  itself by averaging neighbours, so every stored point is the exact mean of ``stride``
  consecutive raw points.
* :class:`LineChart` is the Textual widget: it holds the series and draws them at its size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.markup import escape
from textual.widget import Widget

__all__ = ["LineChart", "Series", "SeriesBuffer", "nice_bounds", "plot"]

#: bit of each braille dot, indexed [dot row 0..3][dot column 0..1]
_DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint16)
BRAILLE_BASE = 0x2800

#: series colours that read on light and dark backgrounds
COLORS = ("#3b8eea", "#e5892b", "#2aa876", "#c94fd6")


@dataclass(frozen=True)
class Series:
    """One line: ``y[i]`` at ``x[i]`` (x ascending), drawn in ``color``."""

    label: str
    x: np.ndarray
    y: np.ndarray
    color: str = COLORS[0]

    @classmethod
    def of(cls, label: str, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
           color: str = COLORS[0]) -> Series:
        xs = np.asarray(x, dtype=np.float64).ravel()
        ys = np.asarray(y, dtype=np.float64).ravel()
        if xs.shape != ys.shape:
            raise ValueError(f"x has {xs.size} points but y has {ys.size}")
        return cls(label, xs, ys, color)


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


def _int_label(v: float) -> str:
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
    x_format: Callable[[float], str] = _int_label,
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


# -- bounded series ------------------------------------------------------------------------------
class SeriesBuffer:
    """An append-only (x, y) series in bounded memory.

    Points are stored as they come until ``max_points``; then neighbours are averaged in pairs
    and ``stride`` doubles, and later points are accumulated ``stride`` at a time. Every stored
    y is therefore the exact mean of ``stride`` consecutive raw values (x is the last x of the
    group), and the most recent, not yet complete group is included in :meth:`arrays`.
    """

    def __init__(self, max_points: int = 4096) -> None:
        if max_points < 2 or max_points % 2:
            raise ValueError("max_points must be an even number ≥ 2")
        self.max_points = int(max_points)
        self.stride = 1
        self.count = 0  #: raw points appended
        self._x = np.empty(self.max_points, dtype=np.float64)
        self._y = np.empty(self.max_points, dtype=np.float64)
        self._n = 0
        self._acc_sum = 0.0
        self._acc_n = 0
        self._acc_x = 0.0

    def __len__(self) -> int:
        return self._n + (1 if self._acc_n else 0)

    def append(self, x: float, y: float) -> None:
        self.extend(np.array([x], dtype=np.float64), np.array([y], dtype=np.float64))

    def extend(self, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> None:
        xs = np.asarray(x, dtype=np.float64).ravel()
        ys = np.asarray(y, dtype=np.float64).ravel()
        if xs.shape != ys.shape:
            raise ValueError(f"x has {xs.size} points but y has {ys.size}")
        self.count += xs.size
        i, n = 0, xs.size
        while i < n:
            s = self.stride
            if self._acc_n == 0 and self._n < self.max_points:
                g = min((n - i) // s, self.max_points - self._n)
                if g:  # whole groups in one vectorised go
                    block = ys[i : i + g * s].reshape(g, s)
                    self._y[self._n : self._n + g] = block[:, 0] if s == 1 else block.mean(1)
                    self._x[self._n : self._n + g] = xs[i + s - 1 : i + g * s : s]
                    self._n += g
                    i += g * s
                    continue
            if self._acc_n == 0 and self._n == self.max_points:
                self._halve()
                continue
            part = ys[i : i + s - self._acc_n]  # the open group takes what it lacks
            self._acc_sum += float(part.sum())
            self._acc_n += part.size
            self._acc_x = float(xs[i + part.size - 1])
            i += part.size
            if self._acc_n == s:
                if self._n == self.max_points:
                    self._halve()  # the full group is now half of an open group
                else:
                    self._x[self._n] = self._acc_x
                    self._y[self._n] = self._acc_sum / s
                    self._n += 1
                    self._acc_sum, self._acc_n = 0.0, 0

    def _halve(self) -> None:
        """Average neighbours in pairs (the buffer is full, and ``max_points`` is even); an
        open group of the old stride stays open, as the first half of a group of the new."""
        pairs = self._n // 2
        self._y[:pairs] = self._y[: 2 * pairs].reshape(pairs, 2).mean(axis=1)
        self._x[:pairs] = self._x[1 : 2 * pairs : 2]
        self.stride *= 2
        self._n = pairs

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the stored x and y (with the open group's mean last, if any)."""
        x, y = self._x[: self._n].copy(), self._y[: self._n].copy()
        if self._acc_n:
            x = np.append(x, self._acc_x)
            y = np.append(y, self._acc_sum / self._acc_n)
        return x, y


# -- the widget ----------------------------------------------------------------------------------
class LineChart(Widget):
    """Draws :func:`plot` of its series at its own size; :meth:`set_series` replaces them.

    The border title is ``title`` followed by the legend (``━ label`` in each series' colour),
    so the plot keeps every line of the widget."""

    DEFAULT_CSS = """
    LineChart {
        height: 1fr;
        min-height: 4;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(self, *, title: str = "", short_title: str = "", x_label: str = "",
                 log_y: bool = False,
                 y_range: tuple[float, float] | None = None,
                 y_limits: tuple[float, float] | None = None,
                 x_format: Callable[[float], str] = _int_label,
                 empty: str = "no data yet",
                 id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.series: list[Series] = []
        self.title = title
        self.short_title = short_title or title
        self.x_label = x_label
        self.log_y = log_y
        self.y_range = y_range
        self.y_limits = y_limits
        self.x_format = x_format
        self.empty = empty
        #: how many times the chart was drawn (the dashboard's repaint-rate measurement)
        self.renders = 0

    def on_mount(self) -> None:
        self._set_title()

    def _set_title(self) -> None:
        """Title and legend, shortened until they fit the top border: first without
        "log scale", then with the series' first words only (``train (batch)`` → ``train``),
        then with ``short_title``."""
        room = self.size.width - 4 if self.size.width else 10**6

        def build(short: bool, log_note: bool, tiny: bool = False) -> tuple[str, int]:
            name = self.short_title if tiny else self.title
            parts = [f"[b]{escape(name)}[/b]"] if name else []
            plain = [name] if name else []
            for s in self.series:
                label = s.label.split(" (")[0] if short else s.label
                part = f"[b {s.color}]━[/] {escape(label)}"
                text = f"━ {label}"
                bad = int((~np.isfinite(s.y)).sum())
                if self.log_y:
                    bad += int((np.isfinite(s.y) & (s.y <= 0)).sum())
                if bad:
                    part += f" [b magenta]({bad} not drawn)[/]"
                    text += f" ({bad} not drawn)"
                parts.append(part)
                plain.append(text)
            if self.log_y and log_note:
                parts.append("[dim]log scale[/]")
                plain.append("log scale")
            sep = "  " if not short else " "
            return sep.join(parts), len(sep.join(plain)) + 2

        for short, log_note, tiny in ((False, True, False), (False, False, False),
                                      (True, False, False), (True, False, True)):
            title, width = build(short, log_note, tiny)
            if width <= room:
                break
        self.border_title = title

    def on_resize(self) -> None:
        self._set_title()

    def set_series(self, series: Sequence[Series]) -> None:
        self.series = list(series)
        self._set_title()
        self.refresh()

    def set_log(self, log_y: bool) -> None:
        self.log_y = log_y
        self._set_title()
        self.refresh()

    def render(self) -> Text:
        self.renders += 1
        size = self.content_size
        if not any(s.y.size for s in self.series):
            return Text(self.empty, style="dim", no_wrap=True, overflow="ellipsis")
        return plot(self.series, size.width, size.height, x_label=self.x_label,
                    log_y=self.log_y, y_range=self.y_range, y_limits=self.y_limits,
                    x_format=self.x_format, legend=False)
