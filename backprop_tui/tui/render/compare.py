"""An experiment's pictures (:class:`~backprop_tui.experiments.result.ExperimentResult` → rich
``Text``): what the compare view shows and ``train EXPERIMENT --plots DIR`` writes as SVG.

:func:`charts` lists an experiment's charts, each a :class:`Chart` that draws itself at any
size — the view and the SVG files draw the same function, so a file holds exactly the chart:

* **curves** — every run on one braille chart per metric (:func:`~.plot.plot`), a legend that
  names each run in its colour (wrapped, never cut), the x axis in the experiment's unit
  (iteration, epoch, step), accuracies in %, loss on a log axis where it spans more than a
  factor of 20 (``l`` in the view switches);
* **histograms** — one row per layer, one column per run (the book's Figures 6-10 to 6-14),
  each a small bar histogram in the run's colour with its range under it;
* **paths** — the optimizers' paths on the function's contours (Figure 6-8,
  :mod:`.contour`), one panel per optimizer when there is room, else all in one;
* **grid** — small multiples: one small chart per value of the setting the runs vary most
  (batch norm's 16 weight scales, Figure 6-19), the other runs of that value in it;
* **search** — the best runs of a random search, ranked by validation accuracy, in a table
  (lr, λ, accuracies) and on a chart (Figure 6-24).

:func:`runs_status` (each run: pending/running/done, how far, seconds) and
:func:`summary_text` (the measured result in words) are the view's other panes;
:func:`chart_svg` is a chart as an SVG file's text. numpy and rich only (no textual).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console
from rich.style import Style
from rich.text import Text

from ...safetext import printable
from ..monitor import fmt_duration
from .colors import COLORS
from .contour import MARKERS, paths_panel
from .numtext import count, first_fit, fmt, join_parts
from .plot import _tick_label, plot
from .series import Series

if TYPE_CHECKING:
    from ...experiments.result import ExperimentResult, RunResult

#: name and unit of each metric's axis
METRICS = {"loss": ("loss", "nats"), "train_acc": ("train accuracy", "%"),
           "test_acc": ("test accuracy", "%"), "val_acc": ("validation accuracy", "%"),
           "f": ("f(x, y)", "")}
#: a positive curve spanning more than this factor gets a log axis
LOG_SPAN = 20.0
#: histograms per chart when an experiment has more runs than fit side by side (the book's
#: figures show three settings each)
HISTOGRAM_RUNS = 3
#: runs drawn on a search's chart (the table lists more)
SEARCH_BEST = 5
#: a histogram bin more than this many times the next tallest is cut at CLIP × that one
CLIP = 4.0
STATUS_STYLE = {"pending": "dim", "running": "bold yellow", "done": "green",
                "stopped": "bold magenta"}
EIGHTHS = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Chart:
    """One picture of an experiment: ``key`` names its file (``init-compare-loss.svg``),
    ``title`` says what it shows; ``draw(width, height, log_y)`` draws it. A chart of curves
    has its ``metric`` (``m`` in the view moves between these) and, unless the metric is an
    accuracy (always linear, in %), ``auto_log``: whether its y axis is logarithmic when
    ``log_y`` is None (the chart decides); ``l`` switches from there."""

    key: str
    title: str
    draw: Callable[[int, int, bool | None], Text]
    metric: str | None = None
    auto_log: Callable[[], bool] | None = None

    @property
    def loggable(self) -> bool:
        return self.auto_log is not None


def color_of(index: int) -> str:
    return COLORS[index % len(COLORS)]


def metric_label(metric: str) -> str:
    name, unit = METRICS.get(metric, (metric.replace("_", " "), ""))
    return f"{name} ({unit})" if unit else name


def _is_accuracy(metric: str) -> bool:
    return METRICS.get(metric, ("", ""))[1] == "%"


# -- the list of charts -------------------------------------------------------------------------
def charts(result: ExperimentResult) -> list[Chart]:
    """The charts of ``result``, in the order the view shows them (``1`` … ``n``)."""
    out: list[Chart] = []
    runs = result.runs
    if result.kind == "histograms" or any(r.histograms for r in runs):
        groups = ([list(range(len(runs)))] if len(runs) <= HISTOGRAM_RUNS + 1 else
                  [list(range(i, min(i + HISTOGRAM_RUNS, len(runs))))
                   for i in range(0, len(runs), HISTOGRAM_RUNS)])
        for n, group in enumerate(groups):
            names = ", ".join(printable(runs[i].name) for i in group)
            key = "histograms" if len(groups) == 1 else f"histograms-{n + 1}"
            out.append(Chart(key, f"activations per layer: {names}",
                             _bind(histograms_text, result, group)))
    if result.kind == "paths" or any(r.path for r in runs):
        out.append(Chart("paths", "optimizer paths on the contours of f",
                         _bind(paths_text, result)))
    metrics = [m for m in result.metrics if any(m in r.curves for r in runs)] or \
        list(result.metrics)
    for metric in metrics:
        shown = ranked(result)[:SEARCH_BEST] if result.kind == "search" else range(len(runs))
        auto = None if _is_accuracy(metric) else _bind_log(result, metric, shown)
        if result.kind == "grid":
            out.append(Chart(f"{metric}-grid", f"{metric_label(metric)} per "
                             f"{_group_key(runs) or 'run'}",
                             _bind(grid_text, result, metric), metric, auto))
        elif result.kind == "search":
            out.append(Chart(f"{metric}-best", f"{metric_label(metric)}: the best "
                             f"{min(SEARCH_BEST, len(runs))} runs",
                             _bind(search_text, result, metric), metric, auto))
        else:
            out.append(Chart(metric, f"{metric_label(metric)} per {result.x_label}",
                             _bind(curves_text, result, metric), metric, auto))
    return out


def _bind_log(result: ExperimentResult, metric: str, indices: Sequence[int]
              ) -> Callable[[], bool]:
    return lambda: _auto_log(_series(result, metric, indices), metric, None)


def _bind(fn: Callable[..., Text], *args: object) -> Callable[[int, int, bool | None], Text]:
    def draw(width: int, height: int, log_y: bool | None = None) -> Text:
        return fn(*args, width, height, log_y)

    return draw


# -- pieces -------------------------------------------------------------------------------------
def legend(items: Sequence[tuple[str, str]], width: int, mark: str = "━") -> Text:
    """``━ name`` of each ``(name, colour)``, wrapped between items to ``width``."""
    return join_parts([(f"{mark} {printable(name)}", Style(color=color, bold=True))
                       for name, color in items], width, sep="  ")


def beside(blocks: Sequence[Text], widths: Sequence[int], gap: int = 2) -> Text:
    """Texts side by side, each padded to its width (a column per block)."""
    split = [b.split("\n", allow_blank=True) for b in blocks]
    rows = max((len(s) for s in split), default=0)
    out = Text(no_wrap=True, overflow="crop", end="")
    for r in range(rows):
        if r:
            out.append("\n")
        for i, (lines, w) in enumerate(zip(split, widths, strict=True)):
            line = lines[r].copy() if r < len(lines) else Text("")
            line.truncate(w, pad=True)
            if i:
                out.append(" " * gap)
            out.append_text(line)
    return out


def _stack(*parts: Text) -> Text:
    out = Text(no_wrap=True, overflow="crop", end="")
    for i, part in enumerate(p for p in parts if p.plain or p.spans):
        if i:
            out.append("\n")
        out.append_text(part)
    return out


def _lines(text: Text) -> int:
    return text.plain.count("\n") + 1 if text.plain else 0


def _series(result: ExperimentResult, metric: str, indices: Sequence[int],
            label: Callable[[RunResult], str] | None = None,
            colors: Sequence[str] | None = None) -> list[Series]:
    out = []
    for n, i in enumerate(indices):
        run = result.runs[i]
        c = run.curves.get(metric)
        x, y = (c.x, c.y) if c is not None else ([], [])
        ys = np.asarray(y, dtype=np.float64) * (100.0 if _is_accuracy(metric) else 1.0)
        out.append(Series.of(printable(label(run) if label else run.name), x, ys,
                             colors[n] if colors else color_of(i)))
    return out


def _auto_log(series: Sequence[Series], metric: str, log_y: bool | None) -> bool:
    if log_y is not None:
        return log_y and not _is_accuracy(metric)
    if _is_accuracy(metric):
        return False
    ys = np.concatenate([s.y for s in series]) if series else np.empty(0)
    ys = ys[np.isfinite(ys)]
    return bool(ys.size and ys.min() > 0 and ys.max() / ys.min() > LOG_SPAN)


def _chart(series: Sequence[Series], metric: str, x_label: str, width: int, height: int,
           log_y: bool | None, *, compact: bool | None = None, whole: bool = False) -> Text:
    """One plot without a legend; accuracy in 0 … 100 % (the whole range when ``whole``: small
    charts side by side compare at a glance only on the same axis)."""
    log = _auto_log(series, metric, log_y)
    acc = _is_accuracy(metric)
    return plot(series, width, height, x_label=x_label, log_y=log, legend=False,
                y_limits=(0.0, 100.0) if acc else None,
                y_range=(0.0, 100.0) if acc and whole else None, compact=compact)


# -- curves -------------------------------------------------------------------------------------
def curves_text(result: ExperimentResult, metric: str, width: int, height: int,
                log_y: bool | None = None) -> Text:
    """Every run's ``metric`` on one chart under a legend naming each run in its colour."""
    series = _series(result, metric, range(len(result.runs)))
    head = _head(metric_label(metric), series, metric, log_y, width)
    return _stack(head, _chart(series, metric, result.x_label, width, height - _lines(head),
                               log_y))


def _head(title: str, series: Sequence[Series], metric: str, log_y: bool | None,
          width: int) -> Text:
    """The y axis' name and unit (and ``log scale``), then the legend."""
    t = Text(title, style="bold", end="")
    if _auto_log(series, metric, log_y):
        t.append(" · log scale", style="dim")
    return _stack(t, legend([(s.label, s.color) for s in series], width))


# -- histograms ---------------------------------------------------------------------------------
def histogram_cell(edges: Sequence[float], counts: Sequence[int], width: int, rows: int,
                   color: str) -> Text:
    """One histogram: ``rows`` lines of bars (eighth blocks, the tallest bin full; a bin over
    :data:`CLIP` times the next tallest is cut, so the rest stays visible) across ``width``
    columns (bins merged or widened to fit), then its range ``lo ── hi``."""
    c = np.asarray(counts, dtype=np.float64)
    out = Text(no_wrap=True, overflow="crop", end="")
    if c.size == 0 or width < 3:
        out.append("–", style="dim")
        return out
    if c.size >= width:
        starts = np.linspace(0, c.size, width + 1).astype(np.int64)[:-1]
        cols = np.add.reduceat(c, starts)
    else:
        cols = c[(np.arange(width) * c.size) // width]
    top = cols.max()
    if cols.size > 2:  # one bin far above the rest (ReLU's zeros) is cut, as the book's ylim does
        second = np.partition(cols, -2)[-2]
        if second > 0 and top > CLIP * second:
            top = CLIP * second
    eighths = np.rint(np.minimum(cols / top, 1.0) * rows * 8).astype(np.int64) if top > 0 else \
        np.zeros(width, dtype=np.int64)
    style = Style(color=color)
    for r in range(rows):
        base = (rows - 1 - r) * 8
        line = "".join(EIGHTHS[int(min(8, max(0, e - base)))] for e in eighths)
        out.append(line, style=style)
        out.append("\n")
    lo, hi = _tick_label(float(edges[0])), _tick_label(float(edges[-1]))
    fill = width - len(lo) - len(hi) - 2
    if fill >= 1:
        out.append(f"{lo} {'─' * fill} {hi}", style="dim")
    else:
        out.append(f"{lo}…{hi}"[:width] if len(lo) + len(hi) + 1 <= width else "",
                   style="dim")
    return out


def histograms_text(result: ExperimentResult, indices: Sequence[int], width: int,
                    height: int, _log_y: bool | None = None) -> Text:
    """Activation histograms: one row per layer, one column per run of ``indices``."""
    runs = [result.runs[i] for i in indices]
    layers: list[str] = []
    for r in runs:
        layers += [h.layer for h in r.histograms if h.layer not in layers]
    out = Text(no_wrap=True, overflow="crop", end="")
    if not layers:
        out.append("no histograms yet: they appear as each run finishes", style="dim")
        return out
    label_w = max(len(printable(name)) for name in layers) + 1
    gap = 2
    col_w = (width - label_w - gap * (len(runs) - 1)) // max(1, len(runs))
    per_layer = (height - 1) // len(layers)
    if col_w < 6 or per_layer < 2:
        out.append(f"(enlarge to see {count(len(layers), 'layer')} × "
                   f"{count(len(runs), 'run')} of histograms)", style="dim")
        return out
    heads = [Text(printable(r.name), style=Style(color=color_of(i), bold=True))
             for i, r in zip(indices, runs, strict=True)]
    out.append_text(beside([Text(""), *heads], [label_w, *[col_w] * len(runs)], gap=0))
    for layer in layers:
        cells = []
        for i, r in zip(indices, runs, strict=True):
            h = next((h for h in r.histograms if h.layer == layer), None)
            cells.append(histogram_cell(h.edges, h.counts, col_w - gap, per_layer - 1,
                                        color_of(i)) if h else
                         Text(STATUS_WORDS.get(r.status, r.status), style="dim"))
        name = Text(printable(layer), style="bold")
        out.append("\n")
        out.append_text(beside([name, *cells], [label_w, *[col_w] * len(runs)], gap=0))
    return out


STATUS_WORDS = {"pending": "not run yet", "running": "running…", "done": "–",
                "stopped": "stopped"}


# -- paths --------------------------------------------------------------------------------------
def paths_text(result: ExperimentResult, width: int, height: int,
               _log_y: bool | None = None) -> Text:
    """Each run's path on the contours: a panel per run (2 × 2 for four optimizers) when
    each gets at least 30 × 8 cells, else all paths in one drawing under a legend."""
    contour = result.contour or {}
    runs = [(i, r) for i, r in enumerate(result.runs)]
    paths = [(r.path or [], color_of(i), MARKERS[i % len(MARKERS)]) for i, r in runs]
    n = len(runs)
    cols = 2 if n == 4 else min(n, 3)
    rows = -(-n // max(1, cols))
    pw = (width - 2 * (cols - 1)) // max(1, cols)
    ph = height // max(1, rows) - 1
    if n > 1 and pw >= 30 and ph >= 10:
        out = Text(no_wrap=True, overflow="crop", end="")
        for row in range(rows):
            blocks, widths = [], []
            for i, r in runs[row * cols:(row + 1) * cols]:
                name = (f"{MARKERS[i % len(MARKERS)]} {printable(r.name)}",
                        Style(color=color_of(i), bold=True))
                title = first_fit([[name, (_end(r), "dim")], [name, (_end(r, False), "dim")],
                                   [name]], pw)
                blocks.append(_stack(title, paths_panel(contour, [paths[i]], pw, ph)))
                widths.append(pw)
            if row:
                out.append("\n")
            out.append_text(beside(blocks, widths))
        return out
    items = [(f"{printable(r.name)}{_end(r)}", color_of(i)) for i, r in runs]
    head = join_parts([(f"{MARKERS[i % len(MARKERS)]} {name}", Style(color=c, bold=True))
                       for i, (name, c) in enumerate(items)], width, sep="  ")
    return _stack(head, paths_panel(contour, paths, width, height - _lines(head)))


def _end(run: RunResult, steps: bool = True) -> str:
    """Where a path ended (`` → (-0.35, 0.085) after 30 steps``), or the run's state."""
    if not run.path:
        return f" · {run.status}"
    x, y = run.path[-1]
    after = f" after {count(len(run.path) - 1, 'step')}" if steps else ""
    return f" → ({fmt(x)}, {fmt(y)}){after}"


# -- grid of small charts -----------------------------------------------------------------------
def _value(v: object) -> str:
    """A setting's value in a label: numbers to 3 significant digits (``w=0.0316``)."""
    if isinstance(v, float):
        return _tick_label(v)
    return printable(v)


def _numeric(runs: Sequence[RunResult], key: str) -> bool:
    return all(isinstance(r.settings.get(key), int | float) for r in runs)


def _group_key(runs: Sequence[RunResult]) -> str | None:
    """The numeric setting with the most distinct values across ``runs`` (None if none
    varies)."""
    keys = {k for r in runs for k in r.settings if _numeric(runs, k)}
    best = max(sorted(keys), key=lambda k: len({str(r.settings.get(k)) for r in runs}),
               default=None)
    if best is None or len({str(r.settings.get(best)) for r in runs}) < 2:
        return None
    return best


def grid_text(result: ExperimentResult, metric: str, width: int, height: int,
              log_y: bool | None = None) -> Text:
    """A small chart per value of the setting the runs vary most; in each, that value's runs
    (coloured by their place in the group, named once in the legend)."""
    runs = result.runs
    key = _group_key(runs)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        groups.setdefault(str(r.settings.get(key, "")) if key else "", []).append(i)
    # what tells a group's runs apart: the other numeric settings that vary (batchnorm=1/0)
    others = sorted({k for r in runs for k in r.settings if k != key and _numeric(runs, k)
                     and len({str(q.settings.get(k)) for q in runs}) > 1})

    # names like "batch norm, w=0.1" / "plain, w=0.1": the part before the group's shared rest
    named = all(", " in r.name for r in runs) and all(
        len({runs[i].name.split(", ", 1)[1] for i in idx}) == 1 for idx in groups.values())

    def role(r: RunResult) -> str:
        if named:
            return r.name.split(", ", 1)[0]
        return ", ".join(f"{k}={_value(r.settings.get(k))}" for k in others) or r.name

    first = next(iter(groups.values()))
    roles = [role(runs[i]) for i in first]
    top = Text(f"{metric_label(metric)} per {result.x_label}, one chart per {key or 'run'}",
               style="bold", end="")
    if _auto_log(_series(result, metric, range(len(runs))), metric, log_y):
        top.append(" · log scale", style="dim")
    head = _stack(top,
                  legend([(name, color_of(n)) for n, name in enumerate(roles)], width))
    room = height - _lines(head)
    cols = max(1, min(len(groups), width // 25))  # charts 23 columns wide at least
    ph = max(5, room // -(-len(groups) // cols))  # 5 lines: a title, 3 of plot, the axis
    pw = (width - 2 * (cols - 1)) // cols
    shown = min(len(groups), (room // ph) * cols)
    out = head
    items = list(groups.values())
    for row in range(-(-shown // cols)):
        blocks = []
        for idx in items[row * cols:(row + 1) * cols]:
            colors = [color_of(n) for n in range(len(idx))]
            series = _series(result, metric, idx, colors=colors)
            title = Text(f"{key}={_value(runs[idx[0]].settings.get(key))}" if key else
                         printable(runs[idx[0]].name),
                         style="bold")
            blocks.append(_stack(title, _chart(series, metric, result.x_label, pw, ph - 1,
                                               log_y, compact=True, whole=True)))
        out.append("\n")
        out.append_text(beside(blocks, [pw] * len(blocks)))
    if shown < len(groups):
        out.append("\n")
        out.append(f"({len(groups) - shown} more charts: enlarge the window)", style="dim")
    return out


# -- search -------------------------------------------------------------------------------------
def ranked(result: ExperimentResult) -> list[int]:
    """Run indices, best first: by the last validation (else test, else train) accuracy, runs
    without one last."""
    metric = next((m for m in ("val_acc", "test_acc", "train_acc")
                   if any(m in r.curves for r in result.runs)), None)

    def score(i: int) -> float:
        v = result.runs[i].last(metric) if metric else math.nan
        return -v if math.isfinite(v) else math.inf

    return sorted(range(len(result.runs)), key=score)


def search_table(result: ExperimentResult, n: int, width: int) -> Text:
    """The ``n`` best runs: rank, their settings and last accuracies."""
    order = [i for i in ranked(result) if result.runs[i].status != "pending"][:n]
    out = Text(no_wrap=True, overflow="crop", end="")
    if not order:
        out.append("no trial finished yet", style="dim")
        return out
    acc = [m for m in ("val_acc", "train_acc", "test_acc")
           if any(m in result.runs[i].curves for i in order)]
    keys = sorted(k for k in {k for r in result.runs for k in r.settings}  # what was searched
                  if len({repr(r.settings.get(k)) for r in result.runs}) > 1
                  and all(isinstance(result.runs[i].settings.get(k), float) for i in order))
    head = ["#", *keys, *(f"{METRICS[m][0].split()[0]} %" for m in acc)]
    rows = [[str(rank + 1), *(fmt(float(result.runs[i].settings.get(k, math.nan)))
                              for k in keys),
             *(f"{100 * result.runs[i].last(m):.1f}" for m in acc)]
            for rank, i in enumerate(order)]
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(head)]
    out.append("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)), style="bold")
    for rank, (i, row) in enumerate(zip(order, rows, strict=True)):
        out.append("\n")
        line = "  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True))
        out.append(line, style=Style(color=color_of(rank)) if rank < SEARCH_BEST else "")
        out.append(f"  {printable(result.runs[i].name)}", style="dim")
    return out


def search_text(result: ExperimentResult, metric: str, width: int, height: int,
                log_y: bool | None = None) -> Text:
    """The best runs in a table, then their ``metric`` on a chart."""
    best = ranked(result)[:SEARCH_BEST]
    table = search_table(result, min(SEARCH_BEST, max(1, (height - 8) // 2)), width)
    colors = [color_of(n) for n in range(len(best))]
    series = _series(result, metric, best, colors=colors)
    head = _head(f"{metric_label(metric)} of the best runs", series, metric, log_y, width)
    top = _stack(table, head)
    return _stack(top, _chart(series, metric, result.x_label, width, height - _lines(top),
                              log_y))


# -- status and summary -------------------------------------------------------------------------
def runs_status(result: ExperimentResult, width: int, height: int) -> Text:
    """One line per run: its colour, name, status, how far its curves went and its time. More
    runs than lines: counts per status, then the running and last finished ones."""
    runs = result.runs
    tally = {s: sum(r.status == s for r in runs) for s in STATUS_STYLE}
    out = Text(no_wrap=True, overflow="crop", end="")
    parts = [(f"{tally[s]} {s}", STATUS_STYLE[s]) for s in STATUS_STYLE if tally[s]]
    out.append_text(join_parts(parts, width))
    shown = list(range(len(runs)))
    room = height - 1
    if len(shown) > room:
        live = [i for i in shown if runs[i].status in ("running", "stopped")]
        done = [i for i in shown if runs[i].status == "done"]
        keep = live + done[-max(0, room - len(live)):] if room > len(live) else live
        shown = sorted(keep)[-max(0, room):] if room > 0 else []
    for i in shown:
        r = runs[i]
        out.append("\n")
        mark = ("━ ", Style(color=color_of(i), bold=True))
        name = (printable(r.name), "")
        state = (f"  {r.status}{r.diverged}",
                 "bold red" if r.diverged else STATUS_STYLE.get(r.status, ""))
        where = _progress(result, r)
        took = (f"  {fmt_duration(r.seconds)}" if r.seconds else "", "dim")
        # what does not fit goes, least useful first: the time, then how far it got
        out.append_text(first_fit([[mark, name, state, (f"  {where}", ""), took],
                                   [mark, name, state, (f"  {where}", "")],
                                   [mark, name, state]], width))
    return out


def _progress(result: ExperimentResult, run: RunResult) -> str:
    """How far a run got: the last x of its curves (``iteration 840``), or its path's steps."""
    xs = [c.x[-1] for c in run.curves.values() if c.x]
    if xs:
        return f"{result.x_label} {max(xs):,.0f}"
    if run.path:
        return count(len(run.path) - 1, "step")
    return ""


def summary_text(result: ExperimentResult, width: int) -> Text:
    """The experiment's measured result in words, a line each (wrapped at words)."""
    out = Text(end="")
    if not result.summary:
        out.append("the measured result appears here when the runs are done", style="dim")
        return out
    for i, line in enumerate(result.summary):
        if i:
            out.append("\n")
        out.append(printable(line))
    return out


# -- files --------------------------------------------------------------------------------------
def chart_text(result: ExperimentResult, chart: Chart, width: int, height: int,
               log_y: bool | None = None) -> Text:
    """A chart as a file shows it: the experiment's title and the chart's, the chart drawn
    ``height`` lines high, the summary lines under it."""
    title = Text(f"{printable(result.title)} · {printable(chart.title)}", style="bold")
    summary = summary_text(result, width) if result.summary else None
    return _stack(title, chart.draw(width, height, log_y),
                  *((Text(" "), summary) if summary is not None else ()))


def chart_svg(result: ExperimentResult, chart: Chart, width: int = 120, height: int = 36,
              log_y: bool | None = None) -> str:
    """The SVG of :func:`chart_text`, the chart ``width`` × ``height`` (rich's export: the
    text in its colours, in a terminal window titled with the chart's name)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system="truecolor",
                      force_terminal=True, legacy_windows=False)
    text = chart_text(result, chart, width, height, log_y)
    console.print(text, crop=True, soft_wrap=False)
    return console.export_svg(title=printable(f"{result.name} · {chart.title}"))
