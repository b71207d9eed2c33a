"""A small line chart in braille characters: one or two series, a y-axis scale, an x-axis.

Why an own widget rather than textual-plotext: the dashboard needs exactly one kind of chart
(a few thousand points, two series at most, repainted ≤ 10×/s), and a pure function
``ndarray → rich Text`` is testable without a terminal, adds no dependency and costs well under
a millisecond per frame.

The drawing is :func:`backprop_tui.tui.render.plot.plot` (braille dots, nice bounds, ticks) and
the data :mod:`backprop_tui.tui.render.series` (``Series``, and ``SeriesBuffer``, a long series
in bounded memory); :class:`LineChart` is the Textual widget: it holds the series and draws
them at its size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rich.text import Text
from textual.markup import escape
from textual.widget import Widget

from ..render.plot import int_label, plot
from ..render.series import Series


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
                 x_format: Callable[[float], str] = int_label,
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
