"""The health pane: one block per layer (engine/health.py, drawn by render/health.py) — the
output's histogram and range, dead / saturated units, ‖dW‖ and ‖dx‖ on a log bar, ‖W‖, the
update/weight ratio against cs231n's 1e-3, NaN/Inf — and the initial-loss check. ↑ ↓ select a
dead unit: the pane then shows the weights into it; page up / page down scroll a long report
(z zooms the pane)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.text import Text
from textual.binding import Binding

from ...engine.health import HealthReport
from ..render.health import dead_window_note, report_text
from ..render.numtext import fmt
from .lines import CachedLines

#: ``(layer index, unit) -> (label, weights)`` or None: the weights into a unit
Weights = Callable[[int, int], tuple[str, np.ndarray] | None]
#: at most this many of a unit's weights are printed
SHOWN_WEIGHTS = 12


class HealthPane(CachedLines, can_focus=True):
    """The last report, or a hint when there is none yet."""

    BINDINGS = [
        Binding("up", "move(-1)", "dead unit up", show=False),
        Binding("down", "move(1)", "dead unit down", show=False),
        Binding("pageup", "scroll(-1)", "page up", show=False),
        Binding("pagedown", "scroll(1)", "page down", show=False),
    ]
    WRAP = True

    def __init__(self, *, id: str | None = None, hint: str = "") -> None:  # noqa: A002
        super().__init__(id=id)
        self.report: HealthReport | None = None
        self.weights: Weights | None = None
        self.hint = hint
        self.selected = 0  # index into dead_units()
        self.top = 0  # lines scrolled past (page up / page down)
        self.set_title_forms("Health · per layer: output, dead units, gradients, updates",
                             "Health · per layer", "Health")

    def set_report(self, report: HealthReport | None, weights: Weights | None = None) -> None:
        if report is self.report:
            return
        self.report = report
        self.weights = weights
        if report is not None:
            self.set_title_forms(
                f"Health · iteration {report.iteration} · per layer: output, dead units, "
                "gradients, updates", f"Health · iteration {report.iteration}", "Health")
        self.refresh()

    def dead_units(self) -> list[tuple[int, str, int]]:
        """``(layer index, layer name, unit)`` of every dead unit, top to bottom."""
        if self.report is None:
            return []
        return [(h.index, h.name, u) for h in self.report.layers for u in h.dead_units or ()]

    def selection(self) -> tuple[int, str, int] | None:
        dead = self.dead_units()
        return dead[min(self.selected, len(dead) - 1)] if dead else None

    def action_move(self, delta: int) -> None:
        dead = self.dead_units()
        if dead:
            self.selected = (min(self.selected, len(dead) - 1) + delta) % len(dead)
            self.refresh()

    def action_scroll(self, delta: int) -> None:
        self.top = max(0, self.top + delta * max(1, self.content_size.height - 2))
        self.refresh()

    def render(self) -> Text:
        if self.report is None:
            return Text(self.hint or "no health yet", style="dim")
        chosen = self.selection()
        head = self._unit_line(chosen)
        if note := dead_window_note(self.report):  # while training, as the CLI's header says
            head = Text.assemble((note, "dim"), "\n", head, end="")
        out = report_text(self.report, selected=chosen and chosen[0], head=head)
        lines = out.split("\n")
        self.top = min(self.top, max(0, len(lines) - 1))
        if self.top:
            lines = [Text(f"↑ {self.top} lines above (page up)", style="dim"),
                     *lines[self.top:]]
        return Text("\n").join(lines)

    def _unit_line(self, chosen: tuple[int, str, int] | None) -> Text:
        """The selected dead unit and the weights into it."""
        out = Text(end="")
        if chosen is None:
            out.append("no dead unit to select", style="dim")
            return out
        i, name, unit = chosen
        out.append(f"▸ {name} unit {unit} (↑ ↓ another dead unit): ", style="bold")
        found = self.weights(i, unit) if self.weights is not None else None
        if found is None:
            out.append("no weights before it", style="dim")
            return out
        label, w = found
        flat = np.asarray(w).ravel()
        shown = ", ".join(fmt(v) for v in flat[:SHOWN_WEIGHTS])
        more = f", … ({flat.size} weights)" if flat.size > SHOWN_WEIGHTS else ""
        out.append(f"weights in: {label} = [{shown}{more}]")
        return out
